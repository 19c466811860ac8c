package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestInitWithShare initializes the card with one DKEK share and checks the
// result with OpenSC alone: sc-hsm-tool, opensc-tool and pkcs11-tool.
func TestInitWithShare(t *testing.T) {
	own, tool := shares(t)
	tests := []struct {
		name  string
		share shareFixture
	}{
		{"share from dkek create", own},
		{"share from sc-hsm-tool", tool},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := initCard(t, "--dkek-shares", "1", "--dkek-share", tt.share.path, "--password", "env:"+envPassword)
			if r.code != exitOK {
				t.Fatalf("init exited %d, want 0\n%s", r.code, r.output())
			}

			wantKCV := kcvHex(tt.share.share)
			dkekLine, _ := lineValue(r.stdout, "DKEK:")
			_, printed, ok := strings.Cut(dkekLine, "key check value ")
			if !ok {
				t.Fatalf("init printed no key check value\n%s", r.stdout)
			}
			if n := strings.Count(r.stdout, wantKCV); n != 1 {
				t.Errorf("init printed the key check value %d times, want once\n%s", n, r.stdout)
			}
			if got := strings.Fields(printed)[0]; got != wantKCV {
				t.Errorf("init printed key check value %s, want %s (SHA-256 of the decrypted share)", got, wantKCV)
			}

			st := runTool(t, "sc-hsm-tool")
			if st.code != 0 {
				t.Fatalf("sc-hsm-tool exited %d\n%s", st.code, st.output())
			}
			for _, want := range []string{
				"SO-PIN tries left    : 15",
				"User PIN tries left  : 3",
				"User PIN reset with SO-PIN enabled",
				"DKEK shares          : 1",
				"DKEK key check value : " + wantKCV,
			} {
				if !strings.Contains(st.stdout, want) {
					t.Errorf("sc-hsm-tool output lacks %q\n%s", want, st.stdout)
				}
			}

			tag85 := selectTag85(t)
			if want := []byte{0x00, 0x01, 0x00, 0x04, 0x01}; !bytes.Equal(tag85, want) {
				t.Errorf("SELECT tag 85 = % X, want % X (options 0001, type 00, version 4.1)", tag85, want)
			}

			login := runTool(t, "pkcs11-tool", "--module", pkcs11Module, "--login", "--pin", testPIN, "-O")
			if login.code != 0 {
				t.Errorf("pkcs11-tool --login -O exited %d\n%s", login.code, login.output())
			}
		})
	}
}

// TestInitOptions checks that each option flag reaches the card, as
// sc-hsm-tool and the SELECT response of the applet show it.
func TestInitOptions(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantCode    int
		wantOptions uint16
		remaining   string   // text of a "Remaining:" line, if any
		toolHas     []string // lines sc-hsm-tool prints
		toolLacks   []string // lines sc-hsm-tool must not print
	}{
		{
			name:        "transport PIN",
			args:        []string{"--transport-pin"},
			wantCode:    exitStepsRemain,
			wantOptions: 0x0003,
			remaining:   "change the transport PIN",
			toolHas:     []string{"Transport-PIN mode enabled"},
		},
		{
			name:        "no reset retry counter",
			args:        []string{"--no-rrc"},
			wantCode:    exitOK,
			wantOptions: 0x0000,
			toolLacks:   []string{"User PIN reset with SO-PIN enabled"},
		},
		{
			name:        "reset counter only",
			args:        []string{"--no-pin-reset"},
			wantCode:    exitOK,
			wantOptions: 0x0021,
			toolHas:     []string{"User PIN reset with SO-PIN enabled"},
		},
		{
			name:        "five retries",
			args:        []string{"--pin", "env:" + envPIN7, "--pin-retry", "5"},
			wantCode:    exitOK,
			wantOptions: 0x0001,
			toolHas:     []string{"User PIN tries left  : 5"},
		},
		{
			name:        "public key authentication",
			args:        []string{"--public-key-auth", "3", "--required-pub-keys", "2"},
			wantCode:    exitStepsRemain,
			wantOptions: 0x0001,
			remaining:   "register 3 public keys",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := initCard(t, tt.args...)
			if r.code != tt.wantCode {
				t.Fatalf("init exited %d, want %d\n%s", r.code, tt.wantCode, r.output())
			}

			remaining, hasRemaining := lineValue(r.stdout, "Remaining:")
			switch {
			case tt.remaining == "" && hasRemaining:
				t.Errorf("init printed a remaining step %q, want none", remaining)
			case tt.remaining != "" && !strings.Contains(remaining, tt.remaining):
				t.Errorf("remaining step = %q, want it to contain %q\n%s", remaining, tt.remaining, r.stdout)
			}

			tag85 := selectTag85(t)
			if got := uint16(tag85[0])<<8 | uint16(tag85[1]); got != tt.wantOptions {
				t.Errorf("SELECT options = %04X, want %04X", got, tt.wantOptions)
			}

			st := runTool(t, "sc-hsm-tool")
			if st.code != 0 {
				t.Fatalf("sc-hsm-tool exited %d\n%s", st.code, st.output())
			}
			for _, want := range tt.toolHas {
				if !strings.Contains(st.stdout, want) {
					t.Errorf("sc-hsm-tool output lacks %q\n%s", want, st.stdout)
				}
			}
			for _, unwanted := range tt.toolLacks {
				if strings.Contains(st.stdout, unwanted) {
					t.Errorf("sc-hsm-tool output contains %q\n%s", unwanted, st.stdout)
				}
			}
		})
	}
}

// TestInitOptionBitRRCOnly checks bit 0x0020 on its own, because
// sc-hsm-tool 0.23 does not print it.
func TestInitOptionBitRRCOnly(t *testing.T) {
	mustInit(t, "--no-pin-reset")
	tag85 := selectTag85(t)
	if tag85[1]&0x20 == 0 {
		t.Errorf("SELECT options low byte = %02X, want bit 20 set", tag85[1])
	}
}

// initJSON is the part of the init JSON document the tests read.
type initJSON struct {
	OK           bool   `json:"ok"`
	ExitCode     int    `json:"exit_code"`
	Error        string `json:"error"`
	Reader       string `json:"reader"`
	Provisioning struct {
		Steps []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"steps"`
		Remaining []string `json:"remaining"`
	} `json:"provisioning"`
}

func TestInitJSON(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOK   bool
	}{
		{"success", nil, exitOK, true},
		{"steps remain", []string{"--transport-pin"}, exitStepsRemain, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := initCard(t, append([]string{"--json"}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Errorf("init --json exited %d, want %d\n%s", r.code, tt.wantCode, r.output())
			}

			var doc initJSON
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
				t.Fatalf("standard output is not one JSON document: %v\n%s", err, r.stdout)
			}
			if doc.OK != tt.wantOK {
				t.Errorf("ok = %t, want %t", doc.OK, tt.wantOK)
			}
			if doc.ExitCode != tt.wantCode {
				t.Errorf("exit_code = %d, want %d", doc.ExitCode, tt.wantCode)
			}
			if doc.Reader != "Virtual PCD 00 00" {
				t.Errorf("reader = %q, want %q", doc.Reader, "Virtual PCD 00 00")
			}
			if len(doc.Provisioning.Steps) < 3 {
				t.Fatalf("provisioning.steps has %d entries, want at least 3", len(doc.Provisioning.Steps))
			}
			for i, s := range doc.Provisioning.Steps {
				if s.Name == "" {
					t.Errorf("provisioning.steps[%d] has no name", i)
				}
				if s.Status != "done" && s.Status != "skipped" {
					t.Errorf("provisioning.steps[%d] (%s) status = %q, want done or skipped", i, s.Name, s.Status)
				}
			}
			if !tt.wantOK && doc.Error == "" {
				t.Errorf("error is empty for a failed init")
			}
			if !tt.wantOK && len(doc.Provisioning.Remaining) == 0 {
				t.Errorf("provisioning.remaining is empty with steps remaining")
			}
		})
	}
}

// TestInitUsageErrorJSON checks that a usage error in JSON mode is still one
// JSON document with the exit code.
func TestInitUsageErrorJSON(t *testing.T) {
	r := run(t, "init", "--json", "--so-pin", "env:"+envSOPIN, "--pin", "env:"+envUnset)
	if r.code != exitUsage {
		t.Errorf("exit code = %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	var doc initJSON
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("standard output is not one JSON document: %v\n%s", err, r.stdout)
	}
	if doc.OK {
		t.Errorf("ok = true for a usage error")
	}
	if doc.ExitCode != exitUsage {
		t.Errorf("exit_code = %d, want %d", doc.ExitCode, exitUsage)
	}
	if !strings.Contains(doc.Error, envUnset) {
		t.Errorf("error %q does not name %s", doc.Error, envUnset)
	}
}

// TestInitNoVerifyResult checks that init does not claim a verification it
// skipped.
func TestInitNoVerifyResult(t *testing.T) {
	r := mustInit(t, "--no-verify")
	result, _ := lineValue(r.stdout, "Result:")
	if strings.Contains(result, "verified") {
		t.Errorf("Result line %q claims a verification that --no-verify skipped", result)
	}
}

// TestReinitWrongSOPIN checks that a rejected INITIALIZE is reported as a
// failure with the SO-PIN tries left, and that sc-hsm-tool reports the spent try.
func TestReinitWrongSOPIN(t *testing.T) {
	mustInit(t)

	r := run(t, "init", "--force", "--so-pin", "env:"+envWrongSO, "--pin", "env:"+envPIN)
	if r.code != exitCardRefused {
		t.Errorf("init with a wrong SO-PIN exited %d, want %d\n%s", r.code, exitCardRefused, r.output())
	}
	if !strings.Contains(r.output(), "SO-PIN tries left: 14") {
		t.Errorf("output does not show 14 SO-PIN tries left\n%s", r.output())
	}
	if strings.Contains(r.stdout, "Result:") {
		t.Errorf("output reports a result line for a failed init\n%s", r.stdout)
	}

	st := runTool(t, "sc-hsm-tool")
	if !strings.Contains(st.stdout, "SO-PIN tries left    : 14") {
		t.Errorf("sc-hsm-tool does not show 14 SO-PIN tries left\n%s", st.output())
	}

	// The correct SO-PIN gives the counter its 15 tries back for the tests
	// that follow.
	mustInit(t)
}

// TestReinitWithoutForce checks that an initialized card is left alone
// without --force: exit 8, SO-PIN tries shown, no INITIALIZE sent.
func TestReinitWithoutForce(t *testing.T) {
	mustInit(t)

	mark := card.mark()
	r := run(t, append([]string{"init"}, secretArgs...)...)
	sent := card.since(mark)

	if r.code != exitAlreadyInitialized {
		t.Errorf("init without --force exited %d, want %d\n%s", r.code, exitAlreadyInitialized, r.output())
	}
	if !strings.Contains(r.output(), "SO-PIN tries left: 15") {
		t.Errorf("output does not show the SO-PIN tries left\n%s", r.output())
	}
	for _, a := range sent {
		if a.CLA == 0x80 && a.INS == 0x50 {
			t.Errorf("init without --force sent INITIALIZE DEVICE (80 50 %02X %02X)", a.P1, a.P2)
		}
	}
	if len(sent) == 0 {
		t.Errorf("init sent no APDU, want the status read that finds the card initialized")
	}
}

// TestDryRun checks that --dry-run sends nothing and masks both PINs.
func TestDryRun(t *testing.T) {
	waitCard(t)
	mark := card.mark()
	r := run(t, append([]string{"init", "--dry-run", "--dkek-shares", "1"}, secretArgs...)...)
	sent := card.since(mark)

	if r.code != exitOK {
		t.Fatalf("init --dry-run exited %d, want 0\n%s", r.code, r.output())
	}
	if len(sent) != 0 {
		t.Errorf("init --dry-run sent %d APDUs, want 0", len(sent))
	}

	var initialize string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "80 50 00 00") {
			initialize = strings.TrimSpace(line)
		}
	}
	if initialize == "" {
		t.Fatalf("dry run lists no INITIALIZE DEVICE (80 50 00 00)\n%s", r.stdout)
	}
	if !strings.Contains(initialize, "81 06 ** ** ** ** ** **") {
		t.Errorf("INITIALIZE %q does not mask the 6 PIN bytes of tag 81", initialize)
	}
	if !strings.Contains(initialize, "82 08 ** ** ** ** ** ** ** **") {
		t.Errorf("INITIALIZE %q does not mask the 8 SO-PIN bytes of tag 82", initialize)
	}
	if !strings.Contains(initialize, "92 01 01") {
		t.Errorf("INITIALIZE %q lacks tag 92 for one DKEK share", initialize)
	}
}

// TestDryRunWithoutPCSC checks that a dry run needs no PC/SC service.
func TestDryRunWithoutPCSC(t *testing.T) {
	env := envWith(secretEnv(), []string{"PCSCLITE_CSOCK_NAME=" + t.TempDir() + "/missing.comm"})
	r := runWithEnv(t, env, binaryPath, append([]string{"init", "--dry-run"}, secretArgs...)...)
	if r.code != exitOK {
		t.Errorf("init --dry-run without pcscd exited %d, want 0\n%s", r.code, r.output())
	}
}
