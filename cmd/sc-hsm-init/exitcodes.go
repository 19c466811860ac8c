package main

import "errors"

// Exit codes. Each failure class has its own code so that scripts can tell
// them apart; the README lists the same table.
const (
	exitOK                 = 0
	exitInternal           = 1 // an unexpected failure inside the tool
	exitUsage              = 2 // bad flags, bad input files or settings that fail validation
	exitPCSCUnavailable    = 3 // the PC/SC service (pcscd) is not running or not reachable
	exitNoToken            = 4 // no reader, no SmartCard-HSM token, or several tokens and no --reader
	exitCardRefused        = 5 // the card answered a command with an error status word
	exitStepsRemain        = 6 // the token was provisioned but settings still need a later step
	exitVerifyFailed       = 7 // provisioning succeeded but a PKCS#11 check failed
	exitAlreadyInitialized = 8 // the token is initialized and --force was not given
)

// exitInterrupted is the exit code after Ctrl-C at a wizard question:
// 128 + SIGINT, as shells report a command that SIGINT ended.
const exitInterrupted = 130

// exitError carries the exit code for an error up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withExit attaches an exit code to err, keeping a code set deeper down.
func withExit(code int, err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: code, err: err}
}

// exitCodeOf returns the exit code attached to err, or exitInternal.
func exitCodeOf(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitInternal
}
