package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/teststack"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/virtualcard"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/vpcd"
)

// The tests in this file cover init and verify failures that a new user
// met: a bad --module, a lost token or pcscd in the middle of init, copies
// of share files, and the shape of the output.

func TestInitBadModuleSendsNothing(t *testing.T) {
	waitCard(t)
	m := card.mark()
	args := append([]string{"init", "--force"}, secretArgs...)
	r := run(t, append(args, "--module", filepath.Join(workDir, "no-such-module.so"))...)
	if r.code != exitUsage {
		t.Errorf("exit code = %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	if !strings.Contains(r.stderr, "finding the PKCS#11 module") {
		t.Errorf("error does not name the module\n%s", r.output())
	}
	if sent := card.since(m); len(sent) != 0 {
		t.Errorf("init sent %d APDUs before it checked --module", len(sent))
	}
}

func TestInitVerifiesWithSharesMissing(t *testing.T) {
	own, _ := shares(t)
	r := initCard(t, "--dkek-shares", "2", "--dkek-share", own.path, "--password", "env:"+envPassword)
	if r.code != exitStepsRemain {
		t.Errorf("exit code = %d, want %d\n%s", r.code, exitStepsRemain, r.output())
	}
	if !strings.Contains(r.stdout, "PKCS#11 module:") || strings.Contains(r.stdout, "verification skipped") {
		t.Errorf("init skipped the PKCS#11 verification although the PIN logs in\n%s", r.output())
	}
	if !strings.Contains(r.stdout, "import the other 1 of 2 DKEK shares") {
		t.Errorf("output does not list the missing share\n%s", r.stdout)
	}
}

func TestInitDuplicateShareFile(t *testing.T) {
	own, _ := shares(t)
	data, err := os.ReadFile(own.path)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "copy.pbe")
	if err := os.WriteFile(copyPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	m := card.mark()
	r := initCard(t, "--dkek-shares", "2", "--dkek-share", own.path, "--dkek-share", copyPath, "--password", "env:"+envPassword)
	if r.code != exitUsage {
		t.Errorf("exit code = %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	want := "the same DKEK share was given twice (" + own.path + " and " + copyPath + ")"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("error lacks %q\n%s", want, r.output())
	}
	if sent := card.since(m); len(sent) != 0 {
		t.Errorf("init sent %d APDUs for a duplicate share", len(sent))
	}
}

func TestInitMissingShareNamedOnce(t *testing.T) {
	path := filepath.Join(workDir, "no-such-share.pbe")
	r := initCard(t, "--dkek-shares", "1", "--dkek-share", path, "--password", "env:"+envPassword)
	if r.code != exitUsage {
		t.Errorf("exit code = %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	if n := strings.Count(r.stderr, path); n != 1 {
		t.Errorf("error names %s %d times, want once\n%s", path, n, r.stderr)
	}
}

func TestInitRefusedJSONHasNoAfter(t *testing.T) {
	mustInit(t, "--no-verify")
	r := run(t, append([]string{"init", "--json"}, secretArgs...)...)
	if r.code != exitAlreadyInitialized {
		t.Fatalf("exit code = %d, want %d\n%s", r.code, exitAlreadyInitialized, r.output())
	}
	var doc struct {
		Provisioning map[string]json.RawMessage `json:"provisioning"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("standard output is not JSON: %v\n%s", err, r.stdout)
	}
	if got := string(doc.Provisioning["after"]); got != "null" {
		t.Errorf("provisioning.after = %s, want null", got)
	}
	if got := string(doc.Provisioning["before"]); got == "null" || got == "" {
		t.Errorf("provisioning.before = %q, want the status read before the refusal", got)
	}
}

func TestStatusJSONSnakeCase(t *testing.T) {
	mustInit(t, "--no-verify")
	r := run(t, "status", "--json")
	if r.code != exitOK {
		t.Fatalf("status --json exited %d\n%s", r.code, r.output())
	}
	var doc struct {
		Status struct {
			Info struct {
				Options string `json:"options"`
				FCP     string `json:"fcp"`
			} `json:"info"`
			UserPIN struct {
				SW        string `json:"sw"`
				TriesLeft int    `json:"tries_left"`
			} `json:"user_pin"`
			SOPIN struct {
				TriesLeft int `json:"tries_left"`
			} `json:"so_pin"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("standard output is not JSON: %v\n%s", err, r.stdout)
	}
	st := doc.Status
	if st.Info.Options != "0001" || st.UserPIN.SW != "63C3" || st.UserPIN.TriesLeft != 3 || st.SOPIN.TriesLeft != 15 {
		t.Errorf("status = %+v, want options 0001, user PIN SW 63C3 with 3 tries, SO-PIN 15 tries\n%s", st, r.stdout)
	}
	if !strings.HasPrefix(st.Info.FCP, "62") {
		t.Errorf("info.fcp = %q, want the FCP template in hex", st.Info.FCP)
	}
}

func TestReaderIndexAndUnknownName(t *testing.T) {
	waitCard(t)
	r := run(t, "status", "--reader", "0")
	if r.code != exitOK {
		t.Errorf("status --reader 0 exited %d\n%s", r.code, r.output())
	}
	if v, _ := lineValue(r.stdout, "Reader:"); v != "Virtual PCD 00 00" {
		t.Errorf("status --reader 0 used reader %q", v)
	}

	r = run(t, "status", "--reader", "nonexist")
	if r.code != exitNoToken {
		t.Errorf("status --reader nonexist exited %d, want %d\n%s", r.code, exitNoToken, r.output())
	}
	if !strings.Contains(r.stderr, `no reader matches "nonexist"; readers: 0: "Virtual PCD 00 00"`) {
		t.Errorf("error does not list the readers\n%s", r.stderr)
	}
}

func TestReinitShowsSOPINTriesBeforeAndAfter(t *testing.T) {
	mustInit(t, "--no-verify")
	r := mustInit(t, "--no-verify")
	if !strings.Contains(r.stderr, "SO-PIN tries left: 15") {
		t.Errorf("init --force did not show the SO-PIN tries before erasing\n%s", r.stderr)
	}
	if v, _ := lineValue(r.stdout, "SO-PIN:"); v != "15 tries left" {
		t.Errorf("SO-PIN line after init = %q, want 15 tries left\n%s", v, r.stdout)
	}
}

func TestVerifyShowsPINTries(t *testing.T) {
	mustInit(t, "--no-verify")
	r := run(t, "verify", "--pin", "env:"+envPIN)
	if r.code != exitOK {
		t.Fatalf("verify exited %d\n%s", r.code, r.output())
	}
	if v, _ := lineValue(r.stdout, "User PIN:"); v != "3 tries left" {
		t.Errorf("User PIN line = %q, want 3 tries left\n%s", v, r.stdout)
	}
}

func TestDKEKCreateJSONExitCode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "json-share.pbe")
	r := runWithEnv(t, envWith(secretEnv()), binaryPath, "dkek", "create", path, "--no-token", "--json", "--password", "env:"+envPassword)
	if r.code != exitOK {
		t.Fatalf("dkek create --json exited %d\n%s", r.code, r.output())
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("standard output is not JSON: %v\n%s", err, r.stdout)
	}
	if code, ok := doc["exit_code"]; !ok || code != float64(exitOK) {
		t.Errorf("exit_code = %v, want 0\n%s", code, r.stdout)
	}
}

// failingCard wraps a virtual card and, at the first IMPORT DKEK SHARE,
// calls onImport and returns no response, as the vpcd driver does for a
// card that is gone.
type failingCard struct {
	*virtualcard.Card
	once     sync.Once
	onImport func()
}

func (c *failingCard) Transmit(apdu []byte) []byte {
	if len(apdu) > 5 && apdu[0] == 0x80 && apdu[1] == 0x52 && apdu[2] == 0x00 {
		fired := false
		c.once.Do(func() { fired = true })
		if fired {
			c.onImport()
			return nil
		}
	}
	return c.Card.Transmit(apdu)
}

func newFailingStack(t *testing.T, onImport func(*teststack.Stack)) (*teststack.Stack, []string) {
	t.Helper()
	vc, err := virtualcard.New(virtualcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fc := &failingCard{Card: vc}
	stack := teststack.Start(t, teststack.WithCard(fc))
	fc.onImport = func() { onImport(stack) }
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := stack.WaitCardPresent(ctx); err != nil {
		t.Fatal(err)
	}
	return stack, envWith(stack.Env, secretEnv())
}

func TestInitTokenLostDuringImport(t *testing.T) {
	own, _ := shares(t)
	vc, err := virtualcard.New(virtualcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The card is served here rather than by the stack, so that the test
	// can drop its vpcd connection as a pulled token would.
	stack := teststack.Start(t, teststack.WithoutCard())
	serveCtx, disconnect := context.WithCancel(context.Background())
	served := make(chan error, 1)
	fc := &failingCard{Card: vc, onImport: func() {
		disconnect()
		time.Sleep(200 * time.Millisecond) // vpcd.Serve closes the connection before the response goes out
	}}
	go func() { served <- vpcd.Serve(serveCtx, stack.Addr(), fc, nil) }()
	t.Cleanup(func() {
		disconnect()
		<-served
	})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := stack.WaitCardPresent(ctx); err != nil {
		t.Fatal(err)
	}

	args := append([]string{"init", "--force", "--dkek-shares", "2", "--dkek-share", own.path, "--password", "env:" + envPassword}, secretArgs...)
	r := runWithEnv(t, envWith(stack.Env, secretEnv()), binaryPath, args...)
	if r.code != exitNoToken {
		t.Errorf("exit code = %d, want %d\n%s", r.code, exitNoToken, r.output())
	}
	for _, want := range []string{"the token was removed or is not responding", "the token is initialized, with 2 of 2 DKEK shares missing", "run sc-hsm-init status"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("error lacks %q\n%s", want, r.stderr)
		}
	}
}

func TestInitPCSCDStopsDuringImport(t *testing.T) {
	own, _ := shares(t)
	stopped := make(chan struct{})
	_, env := newFailingStack(t, func(s *teststack.Stack) {
		go func() {
			defer close(stopped)
			s.RestartPCSCD(t)
		}()
		time.Sleep(time.Second) // lets pcscd go away before the response
	})
	args := append([]string{"init", "--force", "--dkek-shares", "2", "--dkek-share", own.path, "--password", "env:" + envPassword}, secretArgs...)
	r := runWithEnv(t, env, binaryPath, args...)
	<-stopped
	if r.code != exitPCSCUnavailable && r.code != exitNoToken {
		t.Errorf("exit code = %d, want %d (or %d when pcscd reported the card first)\n%s", r.code, exitPCSCUnavailable, exitNoToken, r.output())
	}
	if !strings.Contains(r.stderr, "run sc-hsm-init status") {
		t.Errorf("error does not say the token may be half-initialized\n%s", r.stderr)
	}
}
