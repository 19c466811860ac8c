package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pinSecretAPDUs returns the APDUs of sent that present or set a PIN: a
// VERIFY with data (an empty VERIFY has 4 or 5 bytes), CHANGE REFERENCE
// DATA and RESET RETRY COUNTER.
func pinSecretAPDUs(sent []apduRecord) []string {
	var out []string
	for _, a := range sent {
		switch {
		case a.INS == 0x20 && a.Len > 5:
			out = append(out, fmt.Sprintf("VERIFY %02X with data", a.P2))
		case a.INS == 0x24:
			out = append(out, fmt.Sprintf("CHANGE REFERENCE DATA %02X", a.P2))
		case a.INS == 0x2C:
			out = append(out, fmt.Sprintf("RESET RETRY COUNTER P1 %02X", a.P1))
		}
	}
	return out
}

// spendUserPINTries presents a wrong PIN n times through pin change.
func spendUserPINTries(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		r := run(t, "pin", "change", "--pin", "env:"+envWrongPIN, "--new-pin", "env:"+envPIN7, "--force")
		if r.code != exitCardRefused {
			t.Fatalf("pin change with a wrong PIN exited %d, want %d\n%s", r.code, exitCardRefused, r.output())
		}
	}
}

// pinJSON is the part of the pin command JSON document the tests read.
type pinJSON struct {
	OK       bool   `json:"ok"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error"`
	Done     string `json:"done"`
	UserPIN  *struct {
		TriesLeft    int  `json:"tries_left"`
		Blocked      bool `json:"blocked"`
		TransportPIN bool `json:"transport_pin"`
	} `json:"user_pin"`
	SOPIN *struct {
		TriesLeft int `json:"tries_left"`
	} `json:"so_pin"`
	ResetRetryCounter string `json:"reset_retry_counter"`
}

func parsePINJSON(t *testing.T, r result) pinJSON {
	t.Helper()
	var doc pinJSON
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("standard output is not one JSON document: %v\n%s", err, r.output())
	}
	return doc
}

// TestPINStatusMatchesTool compares pin status with sc-hsm-tool and checks
// that it presents no PIN.
func TestPINStatusMatchesTool(t *testing.T) {
	mustInit(t)

	mark := card.mark()
	r := run(t, "pin", "status")
	if r.code != exitOK {
		t.Fatalf("pin status exited %d\n%s", r.code, r.output())
	}
	if bad := pinSecretAPDUs(card.since(mark)); len(bad) > 0 {
		t.Errorf("pin status sent %q", bad)
	}
	for _, want := range []string{"User PIN:      3 tries left", "SO-PIN:        15 tries left", "PIN reset:     the SO-PIN can set a new user PIN"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("pin status lacks %q\n%s", want, r.stdout)
		}
	}

	tool := runTool(t, "sc-hsm-tool")
	for _, want := range []string{"User PIN tries left  : 3", "SO-PIN tries left    : 15"} {
		if !strings.Contains(tool.stdout, want) {
			t.Errorf("sc-hsm-tool lacks %q\n%s", want, tool.stdout)
		}
	}

	doc := parsePINJSON(t, run(t, "pin", "status", "--json"))
	if !doc.OK || doc.UserPIN == nil || doc.UserPIN.TriesLeft != 3 || doc.SOPIN == nil || doc.SOPIN.TriesLeft != 15 {
		t.Errorf("pin status --json = %+v, want ok with 3 user PIN and 15 SO-PIN tries", doc)
	}
	if doc.ResetRetryCounter != "new PIN" {
		t.Errorf("reset_retry_counter = %q, want %q", doc.ResetRetryCounter, "new PIN")
	}
}

// TestPINChangeWrongOldPIN checks that a wrong current PIN costs exactly one
// try and is reported with the tries left, and that the right one works.
func TestPINChangeWrongOldPIN(t *testing.T) {
	mustInit(t)

	r := run(t, "pin", "change", "--pin", "env:"+envWrongPIN, "--new-pin", "env:"+envPIN7)
	if r.code != exitCardRefused {
		t.Errorf("pin change with a wrong PIN exited %d, want %d\n%s", r.code, exitCardRefused, r.output())
	}
	if !strings.Contains(r.stderr, "2 tries left") {
		t.Errorf("pin change does not report 2 tries left\n%s", r.output())
	}
	if got := userPINStatus(t); got != "2 tries left" {
		t.Errorf("status after a wrong PIN shows %q, want %q", got, "2 tries left")
	}

	r = run(t, "pin", "change", "--json", "--pin", "env:"+envPIN, "--new-pin", "env:"+envPIN7)
	doc := parsePINJSON(t, r)
	if r.code != exitOK || !doc.OK {
		t.Fatalf("pin change exited %d, ok %t\n%s", r.code, doc.OK, r.output())
	}
	if doc.Done != "user PIN changed" {
		t.Errorf("done = %q, want %q", doc.Done, "user PIN changed")
	}

	login := runTool(t, "pkcs11-tool", "--module", pkcs11Module, "--login", "--pin", testPIN7, "-O")
	if login.code != 0 {
		t.Errorf("pkcs11-tool login with the new PIN exited %d\n%s", login.code, login.output())
	}
}

// TestPINChangeInvalidNewPIN checks that a bad new PIN is rejected before
// the token is touched.
func TestPINChangeInvalidNewPIN(t *testing.T) {
	waitCard(t)
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("12345\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	mark := card.mark()
	r := run(t, "pin", "change", "--pin", "env:"+envPIN, "--new-pin", "file:"+short)
	if r.code != exitUsage {
		t.Errorf("pin change with a 5-character PIN exited %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	if n := len(card.since(mark)); n != 0 {
		t.Errorf("pin change sent %d APDUs, want 0", n)
	}
}

// TestOneTryLeftNeedsForce checks that with one try left a script gets
// exit 2 naming --force and no PIN is presented, and that --force goes on.
func TestOneTryLeftNeedsForce(t *testing.T) {
	mustInit(t)
	spendUserPINTries(t, 2)

	mark := card.mark()
	r := run(t, "pin", "change", "--pin", "env:"+envPIN, "--new-pin", "env:"+envPIN7)
	if r.code != exitUsage {
		t.Errorf("pin change with one try left exited %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	if !strings.Contains(r.stderr, "--force") {
		t.Errorf("the message does not name --force\n%s", r.output())
	}
	if bad := pinSecretAPDUs(card.since(mark)); len(bad) > 0 {
		t.Errorf("pin change with one try left sent %q", bad)
	}
	if got := userPINStatus(t); got != "1 try left" {
		t.Errorf("status shows %q, want %q", got, "1 try left")
	}

	r = run(t, "pin", "change", "--pin", "env:"+envPIN, "--new-pin", "env:"+envPIN7, "--force")
	if r.code != exitOK {
		t.Errorf("pin change --force exited %d, want 0\n%s", r.code, r.output())
	}
}

// TestPINUnblockNewPIN blocks the user PIN and sets a new one with the SO-PIN.
func TestPINUnblockNewPIN(t *testing.T) {
	mustInit(t)
	spendUserPINTries(t, 3)
	if got := userPINStatus(t); got != "blocked" {
		t.Fatalf("status shows %q, want blocked", got)
	}

	mark := card.mark()
	r := run(t, "pin", "change", "--pin", "env:"+envPIN, "--new-pin", "env:"+envPIN7)
	if r.code != exitCardRefused || !strings.Contains(r.stderr, "pin unblock") {
		t.Errorf("pin change of a blocked PIN exited %d, want %d and a hint to pin unblock\n%s", r.code, exitCardRefused, r.output())
	}
	if bad := pinSecretAPDUs(card.since(mark)); len(bad) > 0 {
		t.Errorf("pin change of a blocked PIN sent %q", bad)
	}

	r = run(t, "pin", "unblock", "--so-pin", "env:"+envSOPIN, "--new-pin", "env:"+envPIN7)
	if r.code != exitOK {
		t.Fatalf("pin unblock exited %d, want 0\n%s", r.code, r.output())
	}
	if !strings.Contains(r.stderr, "SO-PIN tries left: 15") {
		t.Errorf("pin unblock does not show the SO-PIN tries before using it\n%s", r.output())
	}
	if got := userPINStatus(t); got != "3 tries left" {
		t.Errorf("status after unblock shows %q, want %q", got, "3 tries left")
	}
	login := runTool(t, "pkcs11-tool", "--module", pkcs11Module, "--login", "--pin", testPIN7, "-O")
	if login.code != 0 {
		t.Errorf("pkcs11-tool login with the new PIN exited %d\n%s", login.code, login.output())
	}
}

// TestPINUnblockCounterOnly unblocks on a token initialized with
// --no-pin-reset, which rejects a new PIN.
func TestPINUnblockCounterOnly(t *testing.T) {
	mustInit(t, "--no-pin-reset")
	spendUserPINTries(t, 3)

	mark := card.mark()
	r := run(t, "pin", "unblock", "--so-pin", "env:"+envSOPIN, "--new-pin", "env:"+envPIN7)
	if r.code != exitUsage || !strings.Contains(r.stderr, "--counter-only") {
		t.Errorf("pin unblock --new-pin exited %d, want %d and a hint to --counter-only\n%s", r.code, exitUsage, r.output())
	}
	if bad := pinSecretAPDUs(card.since(mark)); len(bad) > 0 {
		t.Errorf("a rejected pin unblock sent %q", bad)
	}

	r = run(t, "pin", "unblock", "--json", "--so-pin", "env:"+envSOPIN, "--counter-only")
	doc := parsePINJSON(t, r)
	if r.code != exitOK || !doc.OK {
		t.Fatalf("pin unblock --counter-only exited %d\n%s", r.code, r.output())
	}
	if doc.UserPIN == nil || doc.UserPIN.TriesLeft != 3 || doc.UserPIN.Blocked {
		t.Errorf("user_pin after unblock = %+v, want 3 tries left", doc.UserPIN)
	}
	login := runTool(t, "pkcs11-tool", "--module", pkcs11Module, "--login", "--pin", testPIN, "-O")
	if login.code != 0 {
		t.Errorf("pkcs11-tool login with the kept PIN exited %d\n%s", login.code, login.output())
	}
}

// TestPINUnblockModeChecks checks the refusals that the token options
// decide: nothing beyond status queries reaches the card.
func TestPINUnblockModeChecks(t *testing.T) {
	tests := []struct {
		name     string
		initArgs []string
		args     []string
		wantCode int
		wantText string
	}{
		{"no-rrc with new PIN", []string{"--no-rrc"}, []string{"--new-pin", "env:" + envPIN7}, exitCardRefused, "initializing the token again"},
		{"no-rrc counter only", []string{"--no-rrc"}, []string{"--counter-only"}, exitCardRefused, "initializing the token again"},
		{"counter only without option", nil, []string{"--counter-only"}, exitUsage, "--new-pin"},
		{"both modes", nil, []string{"--counter-only", "--new-pin", "env:" + envPIN7}, exitUsage, "exclude each other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustInit(t, tt.initArgs...)
			mark := card.mark()
			r := run(t, append([]string{"pin", "unblock", "--so-pin", "env:" + envSOPIN}, tt.args...)...)
			sent := card.since(mark)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.wantText) {
				t.Errorf("pin unblock exited %d, want %d and %q\n%s", r.code, tt.wantCode, tt.wantText, r.output())
			}
			if bad := pinSecretAPDUs(sent); len(bad) > 0 {
				t.Errorf("pin unblock sent %q", bad)
			}
			for _, a := range sent {
				if a.INS != 0xA4 {
					t.Errorf("pin unblock sent INS %02X, want only SELECT", a.INS)
				}
			}
		})
	}
}

// TestTransportPINChangedInInit replaces the transport PIN in the init
// session, so the token is usable at once.
func TestTransportPINChangedInInit(t *testing.T) {
	r := initCard(t, "--transport-pin", "--new-pin", "env:"+envPIN7)
	if r.code != exitOK {
		t.Fatalf("init --transport-pin --new-pin exited %d, want 0\n%s", r.code, r.output())
	}
	if _, ok := lineValue(r.stdout, "Remaining:"); ok {
		t.Errorf("init lists a remaining step\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "change transport PIN") {
		t.Errorf("init does not list the change transport PIN step\n%s", r.stdout)
	}

	tool := runTool(t, "sc-hsm-tool")
	if strings.Contains(tool.stdout, "Transport-PIN") {
		t.Errorf("sc-hsm-tool still reports a transport PIN\n%s", tool.stdout)
	}
	login := runTool(t, "pkcs11-tool", "--module", pkcs11Module, "--login", "--pin", testPIN7, "-O")
	if login.code != 0 {
		t.Errorf("pkcs11-tool login with the new PIN exited %d\n%s", login.code, login.output())
	}
}

// TestTransportPINReported checks status, pin status and verify on a token
// in transport-PIN mode, and that pin change ends the mode.
func TestTransportPINReported(t *testing.T) {
	if r := initCard(t, "--transport-pin"); r.code != exitStepsRemain {
		t.Fatalf("init --transport-pin exited %d, want %d\n%s", r.code, exitStepsRemain, r.output())
	}
	const want = "transport PIN active: change it before use"
	if got := userPINStatus(t); got != want {
		t.Errorf("status shows %q, want %q", got, want)
	}
	if r := run(t, "pin", "status"); !strings.Contains(r.stdout, want) {
		t.Errorf("pin status lacks %q\n%s", want, r.output())
	}

	mark := card.mark()
	r := run(t, "verify", "--pin", "env:"+envPIN)
	if r.code != exitStepsRemain || !strings.Contains(r.stderr, "transport PIN active") {
		t.Errorf("verify exited %d, want %d and the transport PIN message\n%s", r.code, exitStepsRemain, r.output())
	}
	if bad := pinSecretAPDUs(card.since(mark)); len(bad) > 0 {
		t.Errorf("verify sent %q", bad)
	}

	r = run(t, "pin", "change", "--pin", "env:"+envPIN, "--new-pin", "env:"+envPIN7)
	if r.code != exitOK || !strings.Contains(r.stdout, "transport PIN replaced") {
		t.Fatalf("pin change exited %d, want 0 and the transport PIN replaced\n%s", r.code, r.output())
	}
	tool := runTool(t, "sc-hsm-tool")
	if strings.Contains(tool.stdout, "Transport-PIN") {
		t.Errorf("sc-hsm-tool still reports a transport PIN\n%s", tool.stdout)
	}
	login := runTool(t, "pkcs11-tool", "--module", pkcs11Module, "--login", "--pin", testPIN7, "-O")
	if login.code != 0 {
		t.Errorf("pkcs11-tool login with the new PIN exited %d\n%s", login.code, login.output())
	}
}

// TestSOPINChangeThenReinit changes the SO-PIN and initializes again with
// the new one; the old one then spends a try.
func TestSOPINChangeThenReinit(t *testing.T) {
	mustInit(t)

	r := run(t, "so-pin", "change", "--so-pin", "env:"+envSOPIN, "--new-so-pin", "env:"+envNewSO)
	if r.code != exitOK {
		t.Fatalf("so-pin change exited %d, want 0\n%s", r.code, r.output())
	}
	if !strings.Contains(r.stderr, "SO-PIN tries left: 15") {
		t.Errorf("so-pin change does not show the SO-PIN tries before using it\n%s", r.output())
	}
	t.Cleanup(func() {
		// Give the card the test SO-PIN back for the tests that follow.
		r := run(t, "so-pin", "change", "--so-pin", "env:"+envNewSO, "--new-so-pin", "env:"+envSOPIN, "--force")
		if r.code != exitOK {
			t.Errorf("restoring the SO-PIN exited %d\n%s", r.code, r.output())
		}
	})

	r = run(t, "init", "--force", "--so-pin", "env:"+envSOPIN, "--pin", "env:"+envPIN)
	if r.code != exitCardRefused || !strings.Contains(r.output(), "SO-PIN tries left: 14") {
		t.Errorf("init with the old SO-PIN exited %d, want %d and 14 tries left\n%s", r.code, exitCardRefused, r.output())
	}

	r = run(t, "init", "--force", "--so-pin", "env:"+envNewSO, "--pin", "env:"+envPIN)
	if r.code != exitOK {
		t.Errorf("init with the new SO-PIN exited %d, want 0\n%s", r.code, r.output())
	}
	tool := runTool(t, "sc-hsm-tool")
	if !strings.Contains(tool.stdout, "SO-PIN tries left    : 15") {
		t.Errorf("sc-hsm-tool does not show 15 SO-PIN tries\n%s", tool.stdout)
	}
}

// TestReinitPreflightCounts writes a data object through PKCS#11 and checks
// that init --force names it before erasing.
func TestReinitPreflightCounts(t *testing.T) {
	mustInit(t)
	object := filepath.Join(t.TempDir(), "object.bin")
	if err := os.WriteFile(object, []byte("preflight test object"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := runTool(t, "pkcs11-tool", "--module", pkcs11Module, "--login", "--pin", testPIN,
		"--write-object", object, "--type", "data", "--label", "preflight")
	if w.code != 0 {
		t.Skipf("pkcs11-tool --write-object --type data failed on the virtual card (exit %d), so there is no object to count\n%s", w.code, w.output())
	}

	r := initCard(t)
	if r.code != exitOK {
		t.Fatalf("init --force exited %d\n%s", r.code, r.output())
	}
	for _, want := range []string{"Initializing again erases 0 keys, 0 certificates and 1 data object.", "SO-PIN tries left: 15"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("init --force lacks %q\n%s", want, r.stderr)
		}
	}

	r = initCard(t, "--json")
	var doc struct {
		Provisioning struct {
			Erased *struct {
				Objects struct {
					DataObjects int `json:"data_objects"`
				} `json:"objects"`
				Counted bool `json:"counted"`
			} `json:"erased"`
		} `json:"provisioning"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("init --json output: %v\n%s", err, r.stdout)
	}
	erased := doc.Provisioning.Erased
	if erased == nil || !erased.Counted || erased.Objects.DataObjects != 0 {
		t.Errorf("provisioning.erased = %+v, want counted with 0 data objects after the previous init", erased)
	}
}

// TestStatusCommandsSendNoPIN runs every command that only reads state and
// checks that none presents or sets a PIN.
func TestStatusCommandsSendNoPIN(t *testing.T) {
	mustInit(t)
	for _, args := range [][]string{
		{"status"},
		{"status", "--json"},
		{"pin", "status"},
		{"pin", "status", "--json"},
		append([]string{"init", "--dry-run", "--transport-pin", "--new-pin", "env:" + envPIN7}, secretArgs...),
		append([]string{"init"}, secretArgs...), // rejected: already initialized
	} {
		mark := card.mark()
		r := run(t, args...)
		if bad := pinSecretAPDUs(card.since(mark)); len(bad) > 0 {
			t.Errorf("%s sent %q (exit %d)", strings.Join(args, " "), bad, r.code)
		}
	}
}
