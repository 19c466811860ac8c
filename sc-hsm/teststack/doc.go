// Package teststack starts an isolated PC/SC stack for integration tests: a
// private pcscd with the vsmartcard vpcd reader driver, and a virtual card
// connected to it with package vpcd.
//
// Isolation: pcscd always creates its socket and pid file in /run/pcscd and
// loads USB reader drivers from /usr/lib/pcsc/drivers. Each stack therefore
// runs pcscd in its own mount namespace (unshare -m). There a private
// directory is bind-mounted over /run/pcscd and a tmpfs hides the USB
// drivers, so the test daemon opens no USB reader and leaves a system pcscd
// alone. The vpcd driver is bind-mounted in from the host
// and configured through a private reader.conf on a free port pair. Clients
// (OpenSC tools, ebfe/scard) reach the daemon through PCSCLITE_CSOCK_NAME,
// which Stack.Env sets.
//
// A test either starts its own stack:
//
//	stack := teststack.Start(t, teststack.WithCard(card))
//	if err := stack.WaitCardPresent(ctx); err != nil { ... }
//	out, _, err := stack.Run(t, "opensc-tool", "-a")
//
// or a test binary shares one stack through TestMain, which is the way to
// use ebfe/scard in-process because the client library takes the socket
// name from the process environment:
//
//	func TestMain(m *testing.M) { os.Exit(teststack.Main(m)) }
//	func TestX(t *testing.T) { stack := teststack.Shared(t); ... }
//
// When pcscd, unshare, the vpcd driver or opensc-tool is missing, Start and
// Shared skip the test, unless SCHSM_REQUIRE_STACK=1 is set (make test sets
// it), in which case they fail it.
package teststack
