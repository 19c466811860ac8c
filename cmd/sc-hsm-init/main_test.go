package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/teststack"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/virtualcard"
)

// The integration tests run the built binary and OpenSC's tools against one
// shared stack: an isolated pcscd with the vpcd driver and a virtual
// SmartCard-HSM served in this process. They share the card, so none of them
// calls t.Parallel, and each one initializes the card again as it needs.

// Test secrets. They differ from the defaults of OpenSC and sc-hsm-tool
// (648219, 3537363231383830), so that the leak check finds only what the
// tool under test printed. The PIN contains a letter that is no hex digit,
// so it cannot turn up by chance in a hex dump of card data.
const (
	testPIN           = "48Q291"
	testPIN7          = "48Q2917"
	testSOPINHex      = "516D372376583270" // the 8 bytes of testSOPINChars
	testSOPINChars    = "Qm7#vX2p"
	testSharePassword = "correct horse 42"
	wrongPIN          = "93Z114"
	wrongSOPINHex     = "1111111111111111"
	newSOPINHex       = "7A3C5E1B9D2F4A68" // for so-pin change; not printable, so it has no 8-character form
)

// Environment variables that carry the test secrets to the binary, which
// reads them through env:NAME sources such as --pin env:SCHSM_TEST_PIN.
const (
	envPIN      = "SCHSM_TEST_PIN"
	envPIN7     = "SCHSM_TEST_PIN7"
	envSOPIN    = "SCHSM_TEST_SOPIN"
	envPassword = "SCHSM_TEST_SHARE_PASSWORD"
	envWrongPIN = "SCHSM_TEST_WRONG_PIN"
	envWrongSO  = "SCHSM_TEST_WRONG_SOPIN"
	envNewSO    = "SCHSM_TEST_NEW_SOPIN"
	envUnset    = "SCHSM_TEST_UNSET_VARIABLE"
)

// pkcs11Module is OpenSC's PKCS#11 module from the Debian package
// opensc-pkcs11.
const pkcs11Module = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"

// selectApplet is the SELECT of the SmartCard-HSM applet as opensc-tool -s
// takes it.
const selectApplet = "00A404000BE82B0601040181C31F020100"

// commandTimeout bounds one run of the binary or an OpenSC tool. The slowest
// run, sc-hsm-tool deriving a share key with 10,000,000 MD5 rounds, took
// about 9 s on a 2-core VM.
const commandTimeout = 90 * time.Second

var (
	binaryPath string        // the sc-hsm-init binary built by TestMain
	workDir    string        // temporary folder for the binary and share files
	card       *countingCard // the card of the shared stack
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	var err error
	workDir, err = os.MkdirTemp("", "sc-hsm-init-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "creating the test folder: %v\n", err)
		return 1
	}
	defer os.RemoveAll(workDir)

	binaryPath = filepath.Join(workDir, "sc-hsm-init")
	build := exec.Command("go", "build", "-o", binaryPath, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sc-hsm-init: %v\n%s", err, out)
		return 1
	}

	vc, err := virtualcard.New(virtualcard.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "creating the virtual card: %v\n", err)
		return 1
	}
	card = &countingCard{card: vc}
	return teststack.Main(m, teststack.WithCard(card))
}

// apduRecord is the header and length of one command APDU that reached the
// card. The data is not kept, because it may carry a PIN.
type apduRecord struct {
	CLA, INS, P1, P2 byte
	Len              int
}

// countingCard wraps the virtual card and records every command APDU, so
// that tests can check how many APDUs, and which, a command sent.
type countingCard struct {
	card *virtualcard.Card

	mu    sync.Mutex
	apdus []apduRecord
}

func (c *countingCard) ATR() []byte { return c.card.ATR() }
func (c *countingCard) PowerOn()    { c.card.PowerOn() }
func (c *countingCard) PowerOff()   { c.card.PowerOff() }
func (c *countingCard) Reset()      { c.card.Reset() }

func (c *countingCard) Transmit(apdu []byte) []byte {
	rec := apduRecord{Len: len(apdu)}
	if len(apdu) >= 4 {
		rec.CLA, rec.INS, rec.P1, rec.P2 = apdu[0], apdu[1], apdu[2], apdu[3]
	}
	c.mu.Lock()
	c.apdus = append(c.apdus, rec)
	c.mu.Unlock()
	return c.card.Transmit(apdu)
}

// mark returns the number of APDUs so far, for a later since.
func (c *countingCard) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.apdus)
}

// since returns the APDUs received after mark returned m.
func (c *countingCard) since(m int) []apduRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]apduRecord(nil), c.apdus[m:]...)
}

// result is the outcome of one child process.
type result struct {
	stdout, stderr string
	code           int
}

// output returns standard output and standard error together.
func (r result) output() string { return r.stdout + r.stderr }

// secretEnv returns the variables that carry the test secrets.
func secretEnv() []string {
	return []string{
		envPIN + "=" + testPIN,
		envPIN7 + "=" + testPIN7,
		envSOPIN + "=" + testSOPINHex,
		envPassword + "=" + testSharePassword,
		envWrongPIN + "=" + wrongPIN,
		envWrongSO + "=" + wrongSOPINHex,
		envNewSO + "=" + newSOPINHex,
		"SC_HSM_INIT_PKCS11_MODULE=" + pkcs11Module,
	}
}

// stackEnv returns the environment of a child process that uses the shared
// stack: the test's own environment, the pcscd socket and the secrets.
func stackEnv(t *testing.T) []string {
	t.Helper()
	stack := teststack.Shared(t)
	return envWith(stack.Env, secretEnv())
}

// envWith returns os.Environ with the given variables set, replacing any
// earlier value, and envUnset removed.
func envWith(sets ...[]string) []string {
	override := map[string]bool{envUnset: true}
	for _, set := range sets {
		for _, kv := range set {
			name, _, _ := strings.Cut(kv, "=")
			override[name] = true
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !override[name] {
			env = append(env, kv)
		}
	}
	for _, set := range sets {
		env = append(env, set...)
	}
	return env
}

// runWithEnv runs name with env and standard input from /dev/null, which is
// no terminal. The arguments are not logged because OpenSC tools take PINs
// on their command line. It does not use t.Context, which ends before
// cleanup functions run, so that cleanups can run commands too.
func runWithEnv(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()

	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		res.code = exitErr.ExitCode()
	default:
		t.Fatalf("running %s: %v\n%s", filepath.Base(name), err, res.output())
	}
	return res
}

// run runs the sc-hsm-init binary on the shared stack.
func run(t *testing.T, args ...string) result {
	t.Helper()
	return runWithEnv(t, stackEnv(t), binaryPath, args...)
}

// runTool runs an OpenSC tool on the shared stack.
func runTool(t *testing.T, name string, args ...string) result {
	t.Helper()
	return runWithEnv(t, stackEnv(t), "/usr/bin/"+name, args...)
}

// secretArgs are the flags that give init the test SO-PIN and PIN.
var secretArgs = []string{"--so-pin", "env:" + envSOPIN, "--pin", "env:" + envPIN}

// initCard initializes the shared card with the test secrets, --force and
// extra, and returns the result without checking it.
func initCard(t *testing.T, extra ...string) result {
	t.Helper()
	waitCard(t)
	args := append([]string{"init", "--force"}, secretArgs...)
	return run(t, append(args, extra...)...)
}

// mustInit initializes the shared card and fails the test unless init
// exits 0.
func mustInit(t *testing.T, extra ...string) result {
	t.Helper()
	r := initCard(t, extra...)
	if r.code != exitOK {
		t.Fatalf("init exited %d, want 0\n%s", r.code, r.output())
	}
	return r
}

// waitCard waits until the shared card is present in its reader.
func waitCard(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := teststack.Shared(t).WaitCardPresent(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitReader polls "opensc-tool -l" until reader shows a card (present) or
// none, and fails the test after 20 s.
func waitReader(t *testing.T, env []string, reader string, present bool) {
	t.Helper()
	want := "No"
	if present {
		want = "Yes"
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := runWithEnv(t, env, "/usr/bin/opensc-tool", "-l")
		if readerState(r.stdout, reader) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader %q did not show card state %s within 20 s; opensc-tool -l:\n%s", reader, want, r.output())
		}
		time.Sleep(50 * time.Millisecond) // poll interval, bounded by the deadline above
	}
}

// readerState returns the "Card" column (Yes or No) of reader in the
// output of "opensc-tool -l" (OpenSC 0.23), or "" when the reader is not
// listed.
func readerState(listing, reader string) string {
	for _, line := range strings.Split(listing, "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 2 && strings.HasSuffix(strings.TrimSpace(line), reader) {
			return fields[1]
		}
	}
	return ""
}

// lineValue returns the text after prefix on the first line of out that
// starts with prefix, trimmed, and whether such a line exists.
func lineValue(out, prefix string) (string, bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// selectTag85 sends SELECT of the applet with opensc-tool and returns the
// value of tag 85 (options high, options low, type, major, minor version)
// of the response.
func selectTag85(t *testing.T) []byte {
	t.Helper()
	r := runTool(t, "opensc-tool", "-s", selectApplet)
	if r.code != 0 {
		t.Fatalf("opensc-tool -s exited %d\n%s", r.code, r.output())
	}
	resp, err := parseOpenSCToolResponse(r.stdout)
	if err != nil {
		t.Fatalf("parsing the SELECT response: %v\n%s", err, r.stdout)
	}
	v, err := fcpTag(resp, 0x85)
	if err != nil {
		t.Fatalf("SELECT response % X: %v", resp, err)
	}
	return v
}

// parseOpenSCToolResponse collects the response bytes that "opensc-tool -s"
// prints after "Received": 16 hex bytes per line, followed by an ASCII
// column.
func parseOpenSCToolResponse(out string) ([]byte, error) {
	_, after, ok := strings.Cut(out, "Received")
	if !ok {
		return nil, errors.New(`no "Received" line`)
	}
	lines := strings.Split(after, "\n")[1:]
	var resp []byte
	for _, line := range lines {
		if len(line) > 48 {
			line = line[:48]
		}
		for _, f := range strings.Fields(line) {
			b, err := hex.DecodeString(f)
			if err != nil || len(b) != 1 {
				break
			}
			resp = append(resp, b[0])
		}
	}
	if len(resp) == 0 {
		return nil, errors.New("no response bytes")
	}
	return resp, nil
}

// fcpTag returns the value of tag inside an FCP template (tag 62) with
// one-byte tags and lengths, which is what SmartCard-HSM SELECT returns.
func fcpTag(fcp []byte, tag byte) ([]byte, error) {
	if len(fcp) < 2 || fcp[0] != 0x62 || int(fcp[1]) > len(fcp)-2 {
		return nil, errors.New("not an FCP template")
	}
	body := fcp[2 : 2+int(fcp[1])]
	for len(body) >= 2 {
		t, n := body[0], int(body[1])
		if n > len(body)-2 {
			return nil, fmt.Errorf("tag %02X overruns the template", t)
		}
		if t == tag {
			return body[2 : 2+n], nil
		}
		body = body[2+n:]
	}
	return nil, fmt.Errorf("no tag %02X", tag)
}

// shareFixture is a DKEK share file and its content, decrypted offline.
type shareFixture struct {
	path    string
	share   [32]byte
	created result // the run that created the file
}

var (
	sharesOnce sync.Once
	ownShare   shareFixture // created by "sc-hsm-init dkek create"
	toolShare  shareFixture // created by "sc-hsm-tool --create-dkek-share"
	sharesErr  error
)

// shares creates the two share files once per test binary. Each costs a
// key derivation of several seconds, as does decrypting it, so the two
// creations run at the same time and their files are reused by every test.
func shares(t *testing.T) (own, tool shareFixture) {
	t.Helper()
	waitCard(t)
	env := stackEnv(t)
	sharesOnce.Do(func() {
		ownShare.path = filepath.Join(workDir, "own-share.pbe")
		toolShare.path = filepath.Join(workDir, "tool-share.pbe")

		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() {
			defer wg.Done()
			ownShare.created, errs[0] = runQuiet(env, binaryPath, "dkek", "create", ownShare.path, "--password", "env:"+envPassword)
			if errs[0] == nil {
				ownShare.share, errs[0] = decryptShare(ownShare.path)
			}
		}()
		go func() {
			defer wg.Done()
			toolShare.created, errs[1] = runQuiet(env, "/usr/bin/sc-hsm-tool", "--create-dkek-share", toolShare.path, "--password", testSharePassword)
			if errs[1] == nil {
				toolShare.share, errs[1] = decryptShare(toolShare.path)
			}
		}()
		wg.Wait()
		sharesErr = errors.Join(errs...)
	})
	if sharesErr != nil {
		t.Fatalf("creating the DKEK share files: %v", sharesErr)
	}
	return ownShare, toolShare
}

// runQuiet runs a command outside a test, for fixtures shared by tests. It
// returns an error when the command cannot run or exits non-zero.
func runQuiet(env []string, name string, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	if cmd.ProcessState != nil {
		res.code = cmd.ProcessState.ExitCode()
	}
	if err != nil {
		return res, fmt.Errorf("%s exited with %v\n%s", filepath.Base(name), err, res.output())
	}
	return res, nil
}

// decryptShare decrypts a share file with the test password.
func decryptShare(path string) ([32]byte, error) {
	data, err := dkek.ReadFile(path)
	if err != nil {
		return [32]byte{}, err
	}
	return dkek.Decrypt(data, []byte(testSharePassword))
}

// kcvHex returns the key check value of a single-share DKEK in the
// uppercase hex that both tools print.
func kcvHex(share [32]byte) string {
	kcv := dkek.KCV(share)
	return strings.ToUpper(hex.EncodeToString(kcv[:]))
}
