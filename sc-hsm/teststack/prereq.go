package teststack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// RequireEnv names the environment variable that turns a missing PC/SC
// stack from a skipped test into a failed one.
const RequireEnv = "SCHSM_REQUIRE_STACK"

// errUnavailable marks errors caused by missing software or privileges, which
// skip a test unless RequireEnv is set.
var errUnavailable = errors.New("PC/SC test stack unavailable")

// Driver locations of the Debian packages pcscd and vsmartcard-vpcd.
const (
	pcscDriverDir = "/usr/lib/pcsc/drivers"
	vpcdDriver    = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
)

// tools holds absolute paths of the programs a stack runs.
type tools struct {
	pcscd, unshare, sh, openscTool string
	userNamespace                  bool
}

var (
	findToolsOnce sync.Once
	foundTools    tools
	findToolsErr  error
)

// findTools locates the programs and the driver once per process.
func findTools() (tools, error) {
	findToolsOnce.Do(func() { foundTools, findToolsErr = lookupTools() })
	return foundTools, findToolsErr
}

func lookupTools() (tools, error) {
	var t tools
	var missing []string

	lookup := func(name string, fallbacks ...string) string {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
		// pcscd lives in /usr/sbin, which a non-root PATH may lack.
		for _, path := range fallbacks {
			if _, err := os.Stat(path); err == nil {
				return path
			}
		}
		missing = append(missing, name)
		return ""
	}
	t.pcscd = lookup("pcscd", "/usr/sbin/pcscd")
	t.unshare = lookup("unshare", "/usr/bin/unshare")
	t.sh = lookup("sh", "/bin/sh")
	t.openscTool = lookup("opensc-tool", "/usr/bin/opensc-tool")
	if _, err := os.Stat(vpcdDriver); err != nil {
		missing = append(missing, vpcdDriver+" (package vsmartcard-vpcd)")
	}
	if len(missing) > 0 {
		return tools{}, fmt.Errorf("%w: missing %v (run scripts/install-deps.sh)", errUnavailable, missing)
	}

	// Without root, the mount namespace needs a user namespace that maps
	// the caller to root.
	if os.Geteuid() != 0 {
		t.userNamespace = true
		out, err := exec.Command(t.unshare, "-r", "-m", "true").CombinedOutput()
		if err != nil {
			return tools{}, fmt.Errorf("%w: not root and unprivileged user namespaces are unavailable (unshare -r -m: %v: %s)", errUnavailable, err, out)
		}
	}
	return t, nil
}

// required reports whether RequireEnv requires a failure instead of a skip.
func required() bool {
	return os.Getenv(RequireEnv) == "1"
}

// skipOrFail ends the test for err: a skip when the stack is unavailable and
// not required, a failure otherwise.
func skipOrFail(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, errUnavailable) && !required() {
		tb.Skipf("skipping: %v; set %s=1 to fail instead", err, RequireEnv)
	}
	tb.Fatalf("starting PC/SC test stack: %v", err)
}
