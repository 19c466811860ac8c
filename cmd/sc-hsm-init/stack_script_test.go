package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStackScriptPrivateLogsAndPort runs scripts/stack.sh twice in one
// folder: the logs, which may hold PIN bytes with STACK_PCSCD_APDU_LOG=1,
// must be mode 0600 even when an earlier log was not, and the second start
// must reuse the first start's port so that a running simulate reconnects.
func TestStackScriptPrivateLogsAndPort(t *testing.T) {
	script, err := filepath.Abs("../../scripts/stack.sh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("pcscd"); err != nil {
		if _, statErr := os.Stat("/usr/sbin/pcscd"); statErr != nil {
			if os.Getenv("SCHSM_REQUIRE_STACK") == "1" {
				t.Fatal("pcscd is not installed")
			}
			t.Skip("pcscd is not installed")
		}
	}
	dir, err := os.MkdirTemp("", "stack-script-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })

	stackCmd := func(args ...string) {
		t.Helper()
		out, err := exec.Command(script, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("stack.sh %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	readPort := func() string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "port"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}

	stackCmd("start", dir)
	t.Cleanup(func() { exec.Command(script, "stop", dir).Run() })
	first := readPort()
	stackCmd("stop", dir)

	logPath := filepath.Join(dir, "pcscd.log")
	if err := os.Chmod(logPath, 0o644); err != nil {
		t.Fatal(err)
	}
	stackCmd("start", dir)
	if second := readPort(); second != first {
		t.Errorf("second start used port %s, want the first start's %s", second, first)
	}
	info, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("pcscd.log has mode %04o, want 0600", mode)
	}
	stackCmd("stop", dir)
}
