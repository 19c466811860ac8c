package teststack

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Ports are taken from below Linux's default ephemeral range (32768-60999),
// so that outgoing connections rarely hold them. Only even ports start a
// pair, so the pairs of two stacks never overlap.
const (
	minPort       = 20000
	maxPort       = 32000
	portAttempts  = 200
	lockDirPrefix = "schsm-teststack-ports-"
)

// portLease is a reserved vpcd port pair: Port for "Virtual PCD 00 00" and
// Port+1 for "Virtual PCD 00 01".
type portLease struct {
	Port int
	lock *os.File
}

// Release frees the reservation. The lock file stays for reuse.
func (l *portLease) Release() {
	if l.lock != nil {
		l.lock.Close()
		l.lock = nil
	}
}

// leasePortPair picks a port pair that is free on 127.0.0.1 and locks it
// with flock, so that stacks of test binaries running in parallel never pick
// the same pair between the probe and pcscd's bind.
func leasePortPair() (*portLease, error) {
	dir := filepath.Join(os.TempDir(), lockDirPrefix+strconv.Itoa(os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating port lock directory: %w", err)
	}

	for range portAttempts {
		port := minPort + 2*rand.IntN((maxPort-minPort)/2)

		lock, err := lockPort(dir, port)
		if err != nil {
			if errors.Is(err, syscall.EWOULDBLOCK) {
				continue
			}
			return nil, err
		}
		if portFree(port) && portFree(port+1) {
			return &portLease{Port: port, lock: lock}, nil
		}
		lock.Close()
	}
	return nil, fmt.Errorf("no free TCP port pair in %d-%d after %d attempts", minPort, maxPort, portAttempts)
}

func lockPort(dir string, port int) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening port lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// portFree reports whether a listener can bind port on 127.0.0.1. Linux
// rejects that bind while a socket listens on the port on 0.0.0.0 too.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}
