package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/teststack"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/virtualcard"
)

// stepTimeout bounds every wait for the wizard's screen. Provisioning and
// the PKCS#11 check take a few seconds on a 2-core VM.
const stepTimeout = 60 * time.Second

// terminal is a pseudo-terminal running the wizard. It records the screen
// output and answers survey's cursor position query (ESC [6n) with
// ESC [row;colR, as a terminal emulator does.
type terminal struct {
	t   *testing.T
	pty *os.File
	cmd *exec.Cmd

	mu       sync.Mutex
	out      bytes.Buffer
	answered int // cursor queries answered
	matched  int // offset in the plain screen text after the last match
	done     chan struct{}
}

var ansiSequence = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[78]|\r`)

func startTerminal(t *testing.T, env []string, dir string, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(binaryPath, args...)
	cmd.Env = env
	cmd.Dir = dir
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		t.Fatalf("starting the wizard in a pseudo-terminal: %v", err)
	}
	term := &terminal{t: t, pty: f, cmd: cmd, done: make(chan struct{})}
	go term.read()
	t.Cleanup(func() {
		cmd.Process.Kill()
		f.Close()
	})
	return term
}

func (term *terminal) read() {
	defer close(term.done)
	buf := make([]byte, 4096)
	for {
		n, err := term.pty.Read(buf)
		if n > 0 {
			term.mu.Lock()
			term.out.Write(buf[:n])
			queries := bytes.Count(term.out.Bytes(), []byte("\x1b[6n"))
			for ; term.answered < queries; term.answered++ {
				fmt.Fprintf(term.pty, "\x1b[%d;1R", 10)
			}
			term.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// raw returns everything the wizard wrote.
func (term *terminal) raw() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// plain returns the screen output without escape sequences.
func (term *terminal) plain() string { return ansiSequence.ReplaceAllString(term.raw(), "") }

// expect waits until text appears after the previous match.
func (term *terminal) expect(text string) {
	term.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		screen := term.plain()
		term.mu.Lock()
		from := term.matched
		term.mu.Unlock()
		if i := strings.Index(screen[min(from, len(screen)):], text); i >= 0 {
			term.mu.Lock()
			term.matched = from + i + len(text)
			term.mu.Unlock()
			return
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the wizard did not show %q within %v; screen after the last match:\n%s", text, stepTimeout, screen[min(from, len(screen)):])
		}
		select {
		case <-term.done:
			if !strings.Contains(term.plain()[min(from, len(term.plain())):], text) {
				term.t.Fatalf("the wizard ended before showing %q; screen after the last match:\n%s", text, term.plain()[min(from, len(term.plain())):])
			}
		case <-time.After(20 * time.Millisecond): // poll interval, bounded by the deadline
		}
	}
}

// send types keys.
func (term *terminal) send(keys string) {
	term.t.Helper()
	if _, err := term.pty.Write([]byte(keys)); err != nil {
		term.t.Fatalf("typing into the pseudo-terminal: %v", err)
	}
}

// answer waits for a question and types the answer followed by Enter.
func (term *terminal) answer(question, keys string) {
	term.t.Helper()
	term.expect(question)
	time.Sleep(50 * time.Millisecond) // let survey switch the terminal to raw mode
	term.send(keys + "\r")
}

// wait waits for the wizard to exit and returns its exit code.
func (term *terminal) wait() int {
	term.t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- term.cmd.Wait() }()
	select {
	case err := <-exited:
		var exitErr *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &exitErr):
			return exitErr.ExitCode()
		default:
			term.t.Fatalf("waiting for the wizard: %v", err)
		}
	case <-time.After(stepTimeout):
		term.t.Fatalf("the wizard did not exit within %v; screen:\n%s", stepTimeout, term.plain())
	}
	return -1
}

func TestWizardNeedsTerminal(t *testing.T) {
	r := run(t, "wizard")
	if r.code != exitUsage {
		t.Errorf("exit code = %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	if !strings.Contains(r.stderr, "needs a terminal") || !strings.Contains(r.stderr, "sc-hsm-init init") {
		t.Errorf("message does not point to init:\n%s", r.stderr)
	}
}

var generatedSOPIN = regexp.MustCompile(`as 8 characters \(pypicohsm, PicoKey tools\): +(\S{8})\s+as 16 hex digits \(sc-hsm-tool, pkcs11-tool\): +([0-9A-F]{16})`)

// TestWizardDefaultsOnBlankCard provisions a blank virtual card through the
// survey screens, pressing Enter for everything but the user PIN, and
// checks the token with OpenSC's tools, the ceremony record, the config
// file and the screen for secrets. It then replays the config with init.
func TestWizardDefaultsOnBlankCard(t *testing.T) {
	vc, err := virtualcard.New(virtualcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stack := teststack.Start(t, teststack.WithCard(vc))
	env := envWith(stack.Env, secretEnv())
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := stack.WaitCardPresent(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	term := startTerminal(t, env, dir, "wizard")
	term.expect("blank")
	term.answer("User PIN:", "")
	term.answer("New user PIN", testPIN)
	term.answer("Again, to check", testPIN)
	term.answer("SO-PIN (security officer PIN)", "")
	term.expect("Your new SO-PIN")
	term.answer("Written down?", "")
	term.answer("User PIN retries (1 to 3)", "")
	term.answer("Device key encryption key", "")
	term.answer("Public keys for public key authentication", "")
	term.answer("Allow the SO-PIN to unblock", "")
	term.answer("only reset the error counter", "")
	term.answer("transport PIN?", "")
	term.answer("Token label", "")
	term.expect("Summary")
	term.answer("Initialize the token now?", "")
	term.expect("token initialized and verified")
	term.answer("Ceremony record file:", "")
	term.answer("Save these answers", "")
	term.answer("Config file:", "")
	if code := term.wait(); code != 0 {
		t.Fatalf("wizard exited %d\n%s", code, term.plain())
	}

	screen := term.plain()
	m := generatedSOPIN.FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("the generated SO-PIN is not on the screen:\n%s", screen)
	}
	soChars, soHex := m[1], m[2]

	t.Run("no secret on screen", func(t *testing.T) {
		raw := term.raw()
		if strings.Contains(raw, testPIN) {
			t.Error("the user PIN was echoed")
		}
		for _, so := range []string{soChars, soHex} {
			if n := strings.Count(raw, so); n != 1 {
				t.Errorf("the generated SO-PIN appears %d times on the screen, want once (when it is shown to be written down)", n)
			}
		}
	})

	t.Run("OpenSC agrees", func(t *testing.T) {
		st := runWithEnv(t, env, "/usr/bin/sc-hsm-tool")
		for _, want := range []string{"User PIN tries left  : 3", "User PIN reset with SO-PIN enabled", "SO-PIN tries left    : 15"} {
			if !strings.Contains(st.stdout, want) {
				t.Errorf("sc-hsm-tool lacks %q:\n%s", want, st.output())
			}
		}
		login := runWithEnv(t, env, "/usr/bin/pkcs11-tool", "--module", pkcs11Module, "--login", "--pin", testPIN, "--list-objects")
		if login.code != 0 {
			t.Errorf("pkcs11-tool --login exited %d\n%s", login.code, login.output())
		}
		so := runWithEnv(t, env, "/usr/bin/pkcs11-tool", "--module", pkcs11Module, "--login", "--login-type", "so", "--so-pin", soHex, "--list-objects")
		if so.code != 0 {
			t.Errorf("pkcs11-tool SO login with the generated SO-PIN exited %d\n%s", so.code, so.output())
		}
	})

	records, _ := filepath.Glob(filepath.Join(dir, "ceremony-*.json"))
	configPath := filepath.Join(dir, "sc-hsm-init-config.json")
	t.Run("files without secrets", func(t *testing.T) {
		if len(records) != 1 {
			t.Fatalf("ceremony records = %q, want one", records)
		}
		for _, path := range []string{records[0], configPath} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %04o, want 0600", filepath.Base(path), fi.Mode().Perm())
			}
			data, _ := os.ReadFile(path)
			for _, secret := range []string{testPIN, soChars, soHex} {
				if strings.Contains(string(data), secret) {
					t.Errorf("%s contains a secret", filepath.Base(path))
				}
			}
		}
		rec, _ := os.ReadFile(records[0])
		for _, want := range []string{`"reader": "Virtual PCD 00 00"`, `"ok": true`, `"so_pin_generated": true`, `"options_read_back": "0001"`, `"verification"`} {
			if !strings.Contains(string(rec), want) {
				t.Errorf("ceremony record lacks %s:\n%s", want, rec)
			}
		}
	})

	t.Run("config replays with init", func(t *testing.T) {
		before := runWithEnv(t, env, binaryPath, "status")
		soEnv := append(envWith(stack.Env, secretEnv()), "SCHSM_TEST_GENERATED_SOPIN="+soHex)
		r := runWithEnv(t, soEnv, binaryPath, "init", "--config", configPath, "--force", "--so-pin", "env:SCHSM_TEST_GENERATED_SOPIN", "--pin", "env:"+envPIN)
		if r.code != 0 {
			t.Fatalf("init --config exited %d\n%s", r.code, r.output())
		}
		after := runWithEnv(t, env, binaryPath, "status")
		for _, line := range []string{"Options:", "User PIN:", "SO-PIN:", "DKEK:"} {
			b, _ := lineValue(before.stdout, line)
			a, _ := lineValue(after.stdout, line)
			if a != b {
				t.Errorf("%s after init --config = %q, after the wizard %q", line, a, b)
			}
		}
	})
}
