package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestVerifyPasses(t *testing.T) {
	mustInit(t)

	r := run(t, "verify", "--pin", "env:"+envPIN)
	if r.code != exitOK {
		t.Fatalf("verify exited %d, want 0\n%s", r.code, r.output())
	}
	if !strings.Contains(r.stdout, "Result:        all PKCS#11 checks passed") {
		t.Errorf("verify does not report that all checks passed\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "FAILED") {
		t.Errorf("verify lists a failed check\n%s", r.stdout)
	}
	if got, _ := lineValue(r.stdout, "Serial:"); got != card.card.Serial() {
		t.Errorf("verify shows serial %q, want %q", got, card.card.Serial())
	}
}

func TestVerifyJSON(t *testing.T) {
	mustInit(t)

	r := run(t, "verify", "--json", "--pin", "env:"+envPIN)
	if r.code != exitOK {
		t.Fatalf("verify --json exited %d, want 0\n%s", r.code, r.output())
	}
	var doc struct {
		OK           bool   `json:"ok"`
		ExitCode     int    `json:"exit_code"`
		Serial       string `json:"serial"`
		Verification *struct {
			Checks []struct {
				Name   string `json:"name"`
				Passed bool   `json:"passed"`
			} `json:"checks"`
		} `json:"verification"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("standard output is not one JSON document: %v\n%s", err, r.stdout)
	}
	if !doc.OK {
		t.Errorf("ok = false")
	}
	if doc.Serial != card.card.Serial() {
		t.Errorf("serial = %q, want %q", doc.Serial, card.card.Serial())
	}
	if doc.Verification == nil || len(doc.Verification.Checks) == 0 {
		t.Fatalf("verification lists no checks\n%s", r.stdout)
	}
}

// TestVerifyWrongPIN spends the user PIN tries down to the last one and
// checks that verify then rejects presenting the PIN without --force-last-try.
func TestVerifyWrongPIN(t *testing.T) {
	mustInit(t)

	r := run(t, "verify", "--pin", "env:"+envWrongPIN)
	if r.code != exitVerifyFailed {
		t.Errorf("verify with a wrong PIN exited %d, want %d\n%s", r.code, exitVerifyFailed, r.output())
	}
	if !strings.Contains(r.output(), "PIN incorrect") {
		t.Errorf("verify does not report the wrong PIN\n%s", r.output())
	}
	if got := userPINStatus(t); got != "2 tries left" {
		t.Errorf("status after one wrong PIN shows %q, want %q", got, "2 tries left")
	}

	r = run(t, "verify", "--pin", "env:"+envWrongPIN)
	if r.code != exitVerifyFailed {
		t.Errorf("second verify with a wrong PIN exited %d, want %d\n%s", r.code, exitVerifyFailed, r.output())
	}
	if got := userPINStatus(t); got != "1 try left" {
		t.Fatalf("status after two wrong PINs shows %q, want %q", got, "1 try left")
	}

	// With one try left the correct PIN is not presented either.
	mark := card.mark()
	r = run(t, "verify", "--pin", "env:"+envPIN)
	sent := card.since(mark)
	if r.code != exitVerifyFailed {
		t.Errorf("verify with one try left exited %d, want %d\n%s", r.code, exitVerifyFailed, r.output())
	}
	if !strings.Contains(r.output(), "only one user PIN try is left") {
		t.Errorf("verify does not give one try left as the reason\n%s", r.output())
	}
	for _, a := range sent {
		// An empty VERIFY (4 or 5 bytes) only queries the counter.
		if a.INS == 0x20 && a.P2 == 0x81 && a.Len > 5 {
			t.Errorf("verify presented the user PIN with one try left")
		}
	}
	if got := userPINStatus(t); got != "1 try left" {
		t.Errorf("status after the refused verify shows %q, want %q", got, "1 try left")
	}

	r = run(t, "verify", "--pin", "env:"+envPIN, "--force-last-try")
	if r.code != exitOK {
		t.Errorf("verify --force-last-try exited %d, want 0\n%s", r.code, r.output())
	}
	if got := userPINStatus(t); got != "3 tries left" {
		t.Errorf("status after a correct PIN shows %q, want %q", got, "3 tries left")
	}
}

// userPINStatus returns the "User PIN:" line of sc-hsm-init status.
func userPINStatus(t *testing.T) string {
	t.Helper()
	r := run(t, "status")
	if r.code != exitOK {
		t.Fatalf("status exited %d\n%s", r.code, r.output())
	}
	v, ok := lineValue(r.stdout, "User PIN:")
	if !ok {
		t.Fatalf("status prints no user PIN line\n%s", r.stdout)
	}
	return v
}
