package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParsePKCS11KeySpec(t *testing.T) {
	tests := []struct {
		name, spec       string
		needRegistration bool
		wantErr          string
	}{
		{"complete", "module=/m.so,token-label=T,key-label=K,key-id=0A01,registration=r.pka,pin=env:P", true, ""},
		{"serial and id", "module=/m.so,token-serial=123,key-id=01,registration=r.pka", true, ""},
		{"no registration for rehearsal-custodian", "module=/m.so,key-label=K", false, ""},
		{"no module", "token-label=T,key-label=K,registration=r.pka", true, "module=PATH is required"},
		{"no key", "module=/m.so,registration=r.pka", true, "key-label=LABEL or key-id=HEX is required"},
		{"no registration", "module=/m.so,key-label=K", true, "registration=FILE is required"},
		{"bad id", "module=/m.so,key-id=XY,registration=r.pka", true, "not hex"},
		{"unknown key", "module=/m.so,key-label=K,colour=red", false, `unknown key "colour"`},
		{"no value", "module=/m.so,key-label", false, "is not key=value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parsePKCS11KeySpec(tt.spec, tt.needRegistration)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if p.cfg.ModulePath != "/m.so" {
					t.Errorf("module %q", p.cfg.ModulePath)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestParsePKCS11KeySpecPIN(t *testing.T) {
	p, err := parsePKCS11KeySpec("module=/m.so,key-label=K,pin=env:CUSTODIAN_PIN", false)
	if err != nil {
		t.Fatal(err)
	}
	if !p.pinGiven || p.pin != "env:CUSTODIAN_PIN" {
		t.Errorf("pin source %q given %v", p.pin, p.pinGiven)
	}
}

func FuzzParsePKCS11KeySpec(f *testing.F) {
	f.Add("module=/m.so,token-label=T,key-label=K,registration=r.pka,pin=prompt")
	f.Add("module=,=,,key-id=zz")
	f.Fuzz(func(t *testing.T, spec string) {
		p, err := parsePKCS11KeySpec(spec, true)
		if err == nil && (p.cfg.ModulePath == "" || p.registration == "") {
			t.Errorf("accepted %q without module or registration", spec)
		}
	})
}

func TestPCSCUsers(t *testing.T) {
	proc := t.TempDir()
	write := func(pid, comm, maps string) {
		dir := filepath.Join(proc, pid)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "comm"), []byte(comm+"\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "maps"), []byte(maps), 0o644)
	}
	pcsc := "7f00-7f10 r-xp 00000000 08:01 42 /usr/lib/x86_64-linux-gnu/libpcsclite.so.1.0.0\n"
	write("100", "scdaemon", pcsc)
	write("200", "pcscd", pcsc)
	write("300", "bash", "7f00-7f10 r-xp 00000000 08:01 43 /usr/lib/x86_64-linux-gnu/libc.so.6\n")
	write("400", "sc-hsm-init", pcsc)
	os.Mkdir(filepath.Join(proc, "self"), 0o755)

	got := pcscUsers(proc, 400)
	want := []string{"scdaemon (pid 100)"}
	if !slices.Equal(got, want) {
		t.Errorf("pcscUsers = %q, want %q", got, want)
	}
}
