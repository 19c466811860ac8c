package teststack

import (
	"fmt"
	"os"
	"testing"
)

var (
	shared    *Stack
	sharedErr error
	mainRan   bool
)

// Main starts one stack for a test binary, sets PCSCLITE_CSOCK_NAME in the
// process environment so that in-process clients such as ebfe/scard use it,
// runs the tests and stops the stack. Tests get the stack with Shared. Use it
// from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(teststack.Main(m)) }
//
// When the stack cannot start, the tests still run and Shared skips or
// fails them.
func Main(m *testing.M, opts ...Option) int {
	mainRan = true
	shared, sharedErr = newStack(opts)
	if sharedErr == nil {
		os.Setenv(socketEnv, shared.SocketPath)
	}

	code := m.Run()

	if shared != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "pcscd log (%s):\n%s\ncard log:\n%s\n", shared.pcscdLogPath(), shared.PCSCDLog(), shared.CardLog())
		}
		if err := shared.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping PC/SC test stack: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Shared returns the stack that Main started. It skips or fails tb like
// Start when the stack could not start, and fails tb when TestMain does not
// call Main.
func Shared(tb testing.TB) *Stack {
	tb.Helper()
	if !mainRan {
		tb.Fatalf("teststack.Shared needs TestMain to call teststack.Main")
	}
	if sharedErr != nil {
		skipOrFail(tb, sharedErr)
	}
	return shared
}
