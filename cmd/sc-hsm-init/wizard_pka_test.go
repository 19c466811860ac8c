package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/teststack"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/virtualcard"
)

// startWizardStack starts a stack with a blank virtual card of its own and
// returns the environment of its commands.
func startWizardStack(t *testing.T) []string {
	t.Helper()
	vc, err := virtualcard.New(virtualcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stack := teststack.Start(t, teststack.WithCard(vc))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := stack.WaitCardPresent(ctx); err != nil {
		t.Fatal(err)
	}
	return envWith(stack.Env, secretEnv())
}

// TestWizardPublicKeysTwoOfThree registers three rehearsal custodians
// through the wizard's screens, and two of them authenticate in the
// provisioning session. Then pka status, sc-hsm-tool and the ceremony
// record must agree.
func TestWizardPublicKeysTwoOfThree(t *testing.T) {
	cs := newCustodians(t, "alice", "bob", "carol")
	env := startWizardStack(t)
	dir := t.TempDir()

	term := startTerminal(t, env, dir, "wizard")
	term.expect("blank")
	term.answer("User PIN:", "")
	term.answer("New user PIN", testPIN)
	term.answer("Again, to check", testPIN)
	term.answer("SO-PIN (security officer PIN)", "")
	term.expect("Your new SO-PIN")
	term.answer("Written down?", "")
	term.answer("User PIN retries", "")
	term.answer("Device key encryption key", "")
	term.answer("Public keys for public key authentication", "3")
	term.answer("Public keys required to authenticate", "2")
	term.answer("Allow the SO-PIN to unblock", "")
	term.answer("only reset the error counter", "")
	term.answer("transport PIN?", "")
	term.answer("May registered public keys be replaced", "")
	term.answer("Require the user PIN and the public key quorum", "")
	for i, c := range cs {
		term.answer("Registration file of public key "+strconv.Itoa(i+1)+" of 3", c.regPath)
		term.expect(c.chr)
	}
	for i, c := range cs[:2] {
		term.answer("Key file of custodian "+strconv.Itoa(i+1), c.keyPath)
		term.answer("Registration file of this custodian's key", "") // the file next to the key
		term.expect("Custodian " + strconv.Itoa(i+1) + ": " + c.chr)
	}
	term.answer("Key file of custodian 3", "")
	term.answer("Token label", "")
	term.expect("Summary")
	term.expect("the quorum is reached")
	term.answer("Initialize the token now?", "")
	term.expect("token initialized and verified")
	term.answer("Ceremony record file:", "")
	term.answer("Save these answers", "n")
	if code := term.wait(); code != 0 {
		t.Fatalf("wizard exited %d\n%s", code, term.plain())
	}

	st, r := pkaStatusWithEnv(t, env)
	checkThreeKeysTwoRequired(t, st, r, cs)

	tool := runWithEnv(t, env, "/usr/bin/sc-hsm-tool", "--public-key-auth-status")
	if tool.code != 0 {
		t.Fatalf("sc-hsm-tool --public-key-auth-status exited %d\n%s", tool.code, tool.output())
	}
	for field, want := range map[string]int{
		"Number of public keys":     st.Status.Total,
		"Missing public keys":       st.Status.Missing,
		"Required pubkeys for auth": st.Status.Required,
		"Authenticated public keys": st.Status.Authenticated,
	} {
		if got, _ := lineValue(tool.stdout, field+":"); got != strconv.Itoa(want) {
			t.Errorf("sc-hsm-tool %s = %q, pka status %d", field, got, want)
		}
	}

	records, _ := filepath.Glob(filepath.Join(dir, "ceremony-*.json"))
	if len(records) != 1 {
		t.Fatalf("ceremony records = %q, want one", records)
	}
	data, err := os.ReadFile(records[0])
	if err != nil {
		t.Fatal(err)
	}
	var rec ceremonyRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatalf("decoding the ceremony record: %v\n%s", err, data)
	}
	pk := rec.PublicKeys
	if pk == nil {
		t.Fatalf("ceremony record lacks public_keys:\n%s", data)
	}
	if want := []string{cs[0].chr, cs[1].chr, cs[2].chr}; !slices.Equal(pk.RegisteredNow, want) {
		t.Errorf("record registered_now = %v, want %v", pk.RegisteredNow, want)
	}
	if want := []string{cs[0].chr, cs[1].chr}; !slices.Equal(pk.Custodians, want) {
		t.Errorf("record custodians = %v, want %v", pk.Custodians, want)
	}
	if pk.QuorumReached == nil || !*pk.QuorumReached {
		t.Errorf("record quorum_reached = %v, want true", pk.QuorumReached)
	}
	if pk.Registered != 3 || pk.Total != 3 || pk.Required != 2 {
		t.Errorf("record public keys %d of %d, %d required; want 3 of 3, 2 required", pk.Registered, pk.Total, pk.Required)
	}
	if strings.Contains(string(data), "PRIVATE KEY") || strings.Contains(string(data), testPIN) {
		t.Error("ceremony record contains key material or the PIN")
	}
}

// pkaStatusWithEnv runs pka status --json on the stack of env.
func pkaStatusWithEnv(t *testing.T, env []string) (pkaOutput, result) {
	t.Helper()
	r := runWithEnv(t, env, binaryPath, "pka", "status", "--json")
	var doc pkaOutput
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("decoding the JSON of pka status: %v\n%s", err, r.output())
	}
	return doc, r
}

// TestWizardInterruptExitCode presses Ctrl-C at the first question: the
// wizard exits 130 and the token stays blank.
func TestWizardInterruptExitCode(t *testing.T) {
	env := startWizardStack(t)
	term := startTerminal(t, env, t.TempDir(), "wizard")
	term.expect("User PIN:")
	time.Sleep(50 * time.Millisecond) // let survey switch the terminal to raw mode
	term.send("\x03")
	if code := term.wait(); code != exitInterrupted {
		t.Errorf("exit code after Ctrl-C = %d, want %d\n%s", code, exitInterrupted, term.plain())
	}
	if !strings.Contains(term.plain(), "nothing was sent to the token") {
		t.Errorf("the message does not say that the token is untouched:\n%s", term.plain())
	}
	st := runWithEnv(t, env, binaryPath, "status")
	if state, _ := lineValue(st.stdout, "State:"); state != "not initialized" {
		t.Errorf("status after Ctrl-C shows state %q, want not initialized:\n%s", state, st.output())
	}
}

// TestWizardWrongSharePasswordBeforeSummary imports a share file with a
// wrong password first: the wizard stops the progress display, asks again
// and shows the summary only after the share decrypted.
func TestWizardWrongSharePasswordBeforeSummary(t *testing.T) {
	env := startWizardStack(t)
	dir := t.TempDir()
	var share [32]byte
	share[0] = 0x5A
	const password = "share password 51"
	file, err := dkek.Encrypt(share, []byte(password), [8]byte{8, 7, 6, 5, 4, 3, 2, 1})
	if err != nil {
		t.Fatal(err)
	}
	sharePath := filepath.Join(dir, "existing.pbe")
	if err := dkek.WriteFile(sharePath, file); err != nil {
		t.Fatal(err)
	}

	const down = "\x1b[B"
	term := startTerminal(t, env, dir, "wizard", "--no-verify")
	term.expect("blank")
	term.answer("User PIN:", "")
	term.answer("New user PIN", testPIN)
	term.answer("Again, to check", testPIN)
	term.answer("SO-PIN (security officer PIN)", "")
	term.expect("Your new SO-PIN")
	term.answer("Written down?", "")
	term.answer("User PIN retries", "")
	term.answer("Device key encryption key", down+down)
	term.answer("Number of DKEK shares", "")
	term.answer("Public keys for public key authentication", "")
	term.answer("Key domains", "")
	term.answer("Allow the SO-PIN to unblock", "")
	term.answer("only reset the error counter", "")
	term.answer("transport PIN?", "")
	term.answer("Token label", "")
	term.answer("DKEK share 1 of 1:", down)
	term.answer("Share file:", sharePath)
	term.answer("Password of "+sharePath, "wrong password 1")
	term.expect("key derivation finished")
	term.expect("is wrong")
	term.answer("Password of "+sharePath, password)
	term.expect("Summary")
	term.answer("Initialize the token now?", "")
	term.expect("token initialized")
	term.answer("Ceremony record file:", "")
	term.answer("Save these answers", "n")
	if code := term.wait(); code != 0 {
		t.Fatalf("wizard exited %d\n%s", code, term.plain())
	}
	if strings.Contains(term.raw(), password) {
		t.Error("the share password was echoed")
	}
}
