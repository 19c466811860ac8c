package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRehearsalCustodianOutput(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{name: "written", args: []string{"pka", "rehearsal-custodian", "alice", "--dir", dir}, wantCode: exitOK},
		{name: "files exist", args: []string{"pka", "rehearsal-custodian", "alice", "--dir", dir}, wantCode: exitUsage},
		{name: "public key missing", args: []string{"pka", "rehearsal-custodian", "bob", "--dir", dir, "--pkcs11-key", "module=/nonexistent.so,key-label=K"}, wantCode: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			a := newApp(strings.NewReader(""), &stdout, &stderr)
			a.secrets.isTTY = func() bool { return false }
			err := a.execute(tt.args)
			if code := exitCodeOf(err); code != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d\n%s%s", code, err, tt.wantCode, stdout.String(), stderr.String())
			}

			out := stdout.String()
			if strings.Contains(out, "Registered:") {
				t.Errorf("output labels the key as registered:\n%s", out)
			}
			notePrinted := strings.Contains(out, "give no security")
			if tt.wantCode == exitOK {
				if !strings.Contains(out, "Custodian key: ") || !strings.Contains(out, "not registered yet") {
					t.Errorf("output lacks the custodian key line:\n%s", out)
				}
				if !notePrinted {
					t.Errorf("output lacks the rehearsal note:\n%s", out)
				}
				return
			}
			if notePrinted {
				t.Errorf("the rehearsal note is printed on failure:\n%s", out)
			}
		})
	}
}
