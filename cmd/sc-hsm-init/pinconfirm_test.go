package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

func TestConfirmLastTry(t *testing.T) {
	oneLeft := schsm.PINStatus{SW: 0x63C1, Initialized: true, TriesLeft: 1}
	twoLeft := schsm.PINStatus{SW: 0x63C2, Initialized: true, TriesLeft: 2}
	unknown := schsm.PINStatus{SW: 0x9000, Initialized: true, Verified: true}
	tests := []struct {
		name     string
		status   schsm.PINStatus
		tty      bool
		input    string
		force    bool
		wantCode int // exitOK: no error
	}{
		{"two tries left", twoLeft, false, "", false, exitOK},
		{"tries unknown", unknown, false, "", false, exitOK},
		{"script without force", oneLeft, false, "", false, exitUsage},
		{"script with force", oneLeft, false, "", true, exitOK},
		{"terminal yes", oneLeft, true, "yes\n", false, exitOK},
		{"terminal y", oneLeft, true, "y\n", false, exitOK},
		{"terminal no", oneLeft, true, "n\n", false, exitUsage},
		{"terminal empty line", oneLeft, true, "\n", false, exitUsage},
		{"terminal end of input", oneLeft, true, "", false, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			a := newApp(strings.NewReader(tt.input), &bytes.Buffer{}, &stderr)
			a.secrets.isTTY = func() bool { return tt.tty }

			err := a.confirmLastTry(tt.status, "user PIN", tt.force)
			if got := exitCodeOf(err); got != tt.wantCode {
				t.Errorf("exit code = %d (%v), want %d", got, err, tt.wantCode)
			}
			if tt.wantCode == exitUsage && !tt.tty && !strings.Contains(err.Error(), "--force") {
				t.Errorf("error %q does not name --force", err)
			}
			if tt.tty && !strings.Contains(stderr.String(), "[y/N]") {
				t.Errorf("no prompt on standard error: %q", stderr.String())
			}
		})
	}
}

func TestRRCMode(t *testing.T) {
	tests := []struct {
		options uint16
		want    string
	}{
		{0x0000, "disabled"},
		{0x0020, "disabled"},
		{0x0001, "new PIN"},
		{0x0003, "new PIN"},
		{0x0021, "counter only"},
	}
	for _, tt := range tests {
		if got := rrcMode(tt.options); got != tt.want {
			t.Errorf("rrcMode(%04X) = %q, want %q", tt.options, got, tt.want)
		}
	}
}

func TestWrongPINError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"tries left", &schsm.WrongPINError{SW: 0x63C2, TriesLeft: 2}, "the SO-PIN is wrong: 2 tries left (SW 63C2)"},
		{"one try left", &schsm.WrongPINError{SW: 0x63C1, TriesLeft: 1}, "the SO-PIN is wrong: 1 try left (SW 63C1)"},
		{"now blocked", &schsm.WrongPINError{SW: 0x63C0}, "the SO-PIN is wrong, and it is now blocked (SW 63C0)"},
		{"blocked", &schsm.StatusError{SW: 0x6983}, "the SO-PIN is blocked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := wrongPINError("SO-PIN", tt.err)
			if exitCodeOf(err) != exitCardRefused {
				t.Errorf("exit code = %d, want %d", exitCodeOf(err), exitCardRefused)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to start with %q", err, tt.want)
			}
			if !errors.Is(err, tt.err) && !errors.Is(err, schsm.ErrPINBlocked) {
				t.Errorf("error %q does not wrap the card error", err)
			}
		})
	}
}
