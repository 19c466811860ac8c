package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/provision"
)

// runInProcess runs the command line args in this process, with standard
// input that is no terminal, and returns its output and exit code. Use it
// only for commands that fail or finish before they open a reader.
func runInProcess(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(""), &stdout, &stderr)
	a.secrets.isTTY = func() bool { return false }
	err := a.execute(args)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: exitCodeOf(err)}
}

func TestUsageErrorsExit2(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown command", []string{"nosuchcmd"}},
		{"version is no command", []string{"version"}},
		{"status with an argument", []string{"status", "extra-arg"}},
		{"dkek create without FILE", []string{"dkek", "create"}},
		{"dkek create with two files", []string{"dkek", "create", "a.pbe", "b.pbe"}},
		{"unknown flag", []string{"status", "--bogus"}},
		{"unknown dkek subcommand", []string{"dkek", "nosuchcmd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runInProcess(t, tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit code = %d, want %d\n%s", r.code, exitUsage, r.output())
			}
			if !strings.Contains(r.stderr, "sc-hsm-init: ") {
				t.Errorf("standard error %q lacks the error", r.stderr)
			}
		})
	}
}

func TestUsageErrorJSONDocument(t *testing.T) {
	for _, args := range [][]string{
		{"nosuchcmd", "--json"},
		{"status", "--json", "--bogus"},
		{"--json=true", "status", "extra-arg"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runInProcess(t, args...)
			var doc struct {
				OK       bool   `json:"ok"`
				ExitCode int    `json:"exit_code"`
				Error    string `json:"error"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
				t.Fatalf("standard output is not one JSON document: %v\n%s", err, r.output())
			}
			if doc.OK || doc.ExitCode != exitUsage || doc.Error == "" {
				t.Errorf("document = %+v, want ok false, exit_code %d and an error", doc, exitUsage)
			}
		})
	}
}

func TestWantsJSON(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"status", "--json"}, true},
		{[]string{"--json=false", "status"}, false},
		{[]string{"--json=1"}, true},
		{[]string{"simulate", "--", "--json"}, false},
		{[]string{"status"}, false},
	}
	for _, tt := range tests {
		if got := wantsJSON(tt.args); got != tt.want {
			t.Errorf("wantsJSON(%q) = %t, want %t", tt.args, got, tt.want)
		}
	}
}

func TestDryRunPicoOptions(t *testing.T) {
	t.Setenv(envSOPIN, testSOPINHex)
	t.Setenv(envPIN, testPIN)
	r := runInProcess(t, "init", "--dry-run", "--pico-options", "01", "--so-pin", "env:"+envSOPIN, "--pin", "env:"+envPIN)
	if r.code != exitOK {
		t.Fatalf("init --dry-run --pico-options 01 exited %d\n%s", r.code, r.output())
	}
	if !strings.Contains(r.stdout, "Pico HSM") {
		t.Errorf("output does not say the plan is for a Pico HSM:\n%s", r.stdout)
	}
}

func TestDryRunJSONExitCode(t *testing.T) {
	t.Setenv(envSOPIN, testSOPINHex)
	t.Setenv(envPIN, testPIN)
	r := runInProcess(t, "init", "--dry-run", "--json", "--so-pin", "env:"+envSOPIN, "--pin", "env:"+envPIN)
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("standard output is not one JSON document: %v\n%s", err, r.output())
	}
	if code, ok := doc["exit_code"]; !ok || code != float64(exitOK) {
		t.Errorf("exit_code = %v, want 0\n%s", code, r.stdout)
	}
}

func TestDKEKCreateChecksFolderFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "share.pbe")
	// No --password: a prompt, or the error of a missing password, would
	// come first if the folder were checked last.
	start := time.Now()
	r := runInProcess(t, "dkek", "create", path, "--no-token")
	if r.code != exitUsage {
		t.Errorf("exit code = %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	if !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("error %q does not name %s as missing its folder", r.stderr, path)
	}
	if strings.Contains(r.stderr, "password") {
		t.Errorf("error %q is about the password, so the folder was checked too late", r.stderr)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v; a key derivation ran before the folder check", d)
	}
}

func TestSimulateRejectsHostFirst(t *testing.T) {
	state := filepath.Join(t.TempDir(), "card.json")
	r := runInProcess(t, "simulate", "--host", "10.0.0.1", "--state", state)
	if r.code != exitUsage {
		t.Errorf("exit code = %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	if _, err := os.Stat(state); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state file exists after the refusal (stat: %v)", err)
	}
	if strings.Contains(r.stderr, "connecting to vpcd") {
		t.Errorf("output %q claims a connection to a non-loopback host", r.stderr)
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "127.1.2.3": true, "10.0.0.1": false, "example.org": false, "": false} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %t, want %t", host, got, want)
		}
	}
}

func TestInterruptedInitError(t *testing.T) {
	settings := schsm.DefaultSettings()
	settings.DKEKShares = 2
	steps := []provision.StepResult{
		{Name: provision.StepReadStatus, Status: provision.StepDone},
		{Name: provision.StepInitialize, Status: provision.StepDone},
		{Name: provision.StepVerifyPIN, Status: provision.StepDone},
		{Name: provision.ImportStepName(1, 2), Status: provision.StepDone},
		{Name: provision.ImportStepName(2, 2), Status: provision.StepFailed},
	}
	tests := []struct {
		name     string
		err      error
		steps    []provision.StepResult
		wantCode int
		want     string
	}{
		{"card lost during import", schsm.ErrTokenNotResponding, steps, exitNoToken, "the token is initialized, with 1 of 2 DKEK shares missing"},
		{"pcscd stopped during import", schsm.ErrServiceUnavailable, steps, exitPCSCUnavailable, "run sc-hsm-init status to see the token state"},
		{"pcscd stopped during INITIALIZE", schsm.ErrServiceUnavailable, []provision.StepResult{
			{Name: provision.StepReadStatus, Status: provision.StepDone},
			{Name: provision.StepInitialize, Status: provision.StepFailed},
		}, exitPCSCUnavailable, "INITIALIZE was sent"},
		{"pcscd stopped before INITIALIZE", schsm.ErrServiceUnavailable, []provision.StepResult{
			{Name: provision.StepReadStatus, Status: provision.StepFailed},
		}, exitPCSCUnavailable, "INITIALIZE was not sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := interruptedInitError(&provision.StepError{Step: "x", Err: tt.err}, provision.Result{Steps: tt.steps}, settings)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			if got := exitCodeOf(classifyPCSC(err)); got != tt.wantCode {
				t.Errorf("exit code = %d, want %d", got, tt.wantCode)
			}
		})
	}
	plain := errors.New("other")
	if got := interruptedInitError(plain, provision.Result{Steps: steps}, settings); got != plain {
		t.Errorf("interruptedInitError changed an unrelated error to %v", got)
	}
}

func TestPINUsableAfterInit(t *testing.T) {
	pin := schsm.SecretFromString(testPIN)
	tests := []struct {
		name   string
		modify func(*schsm.Settings)
		newPIN schsm.Secret
		want   bool
	}{
		{"DKEK shares missing", func(s *schsm.Settings) { s.DKEKShares = 2 }, schsm.Secret{}, true},
		{"transport PIN", func(s *schsm.Settings) { s.TransportPIN = true }, schsm.Secret{}, false},
		{"transport PIN replaced", func(s *schsm.Settings) { s.TransportPIN = true }, pin, true},
		{"no PIN", func(s *schsm.Settings) { s.UserPIN = schsm.Secret{} }, schsm.Secret{}, false},
		{"public key authentication", func(s *schsm.Settings) { s.PKATotal = 1 }, schsm.Secret{}, false},
	}
	for _, tt := range tests {
		s := schsm.DefaultSettings()
		s.UserPIN = pin
		tt.modify(&s)
		if got := pinUsableAfterInit(s, tt.newPIN); got != tt.want {
			t.Errorf("%s: pinUsableAfterInit = %t, want %t", tt.name, got, tt.want)
		}
	}
}
