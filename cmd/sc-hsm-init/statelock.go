package main

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockStateFile takes an exclusive lock on STATE.lock for as long as the
// simulate process runs. Two virtual cards sharing one state file would
// overwrite each other's PINs and counters. The lock lives in a separate
// file because the state file itself is replaced by rename on every save.
func lockStateFile(state string) (unlock func(), err error) {
	path := state + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("--state %s is in use by another sc-hsm-init simulate process; give each virtual card its own state file", state)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
