package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/provision"
)

func TestExitCodeOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitOK},
		{"plain error", errors.New("boom"), exitInternal},
		{"usage", withExit(exitUsage, errors.New("bad flag")), exitUsage},
		{"wrapped", fmt.Errorf("step: %w", withExit(exitCardRefused, errors.New("6982"))), exitCardRefused},
		{"inner code kept", withExit(exitInternal, withExit(exitNoToken, errors.New("no token"))), exitNoToken},
		{"inner code kept through wrap", withExit(exitUsage, fmt.Errorf("x: %w", withExit(exitVerifyFailed, errors.New("login")))), exitVerifyFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCodeOf(tt.err); got != tt.want {
				t.Errorf("exitCodeOf = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestWithExitNil(t *testing.T) {
	if err := withExit(exitUsage, nil); err != nil {
		t.Errorf("withExit(nil) = %v, want nil", err)
	}
}

func TestWithExitKeepsMessageAndChain(t *testing.T) {
	inner := errors.New("inner")
	err := withExit(exitUsage, fmt.Errorf("outer: %w", inner))
	if err.Error() != "outer: inner" {
		t.Errorf("message = %q, want %q", err, "outer: inner")
	}
	if !errors.Is(err, inner) {
		t.Errorf("errors.Is does not find the wrapped error")
	}
}

func TestClassifyPCSC(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"service unavailable", fmt.Errorf("connecting: %w", schsm.ErrServiceUnavailable), exitPCSCUnavailable},
		{"no reader", fmt.Errorf("choosing: %w", schsm.ErrNoReader), exitNoToken},
		{"no token", fmt.Errorf("choosing: %w", schsm.ErrNoToken), exitNoToken},
		{"ambiguous reader", fmt.Errorf("choosing: %w", schsm.ErrAmbiguousReader), exitNoToken},
		{"sharing violation", fmt.Errorf("connecting: %w", schsm.ErrSharingViolation), exitNoToken},
		{"several tokens", fmt.Errorf("choosing: %w", &schsm.SeveralTokensError{Readers: []string{"a", "b"}}), exitNoToken},
		{"status word", fmt.Errorf("reading: %w", &schsm.StatusError{SW: 0x6982}), exitCardRefused},
		{"wrong PIN", fmt.Errorf("verifying: %w", &schsm.WrongPINError{SW: 0x63C2, TriesLeft: 2}), exitCardRefused},
		{"other", errors.New("something else"), exitInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCodeOf(classifyPCSC(tt.err)); got != tt.want {
				t.Errorf("exit code = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestReportInitErrorCodes checks the exit codes of provisioning errors and
// that the JSON document carries the same code.
func TestReportInitErrorCodes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"validation", &schsm.ValidationError{Problems: []schsm.Problem{{Field: "pin", Message: "too short"}}}, exitUsage},
		{"already initialized", &provision.AlreadyInitializedError{SOPINTriesLeft: 15}, exitAlreadyInitialized},
		{"SO-PIN blocked", fmt.Errorf("initializing: %w", provision.ErrSOPINBlocked), exitCardRefused},
		{"initialize refused", &provision.InitializeRefusedError{Err: &schsm.WrongPINError{SW: 0x63CE, TriesLeft: 14}, SOPINTriesLeft: 14}, exitCardRefused},
		{"KCV mismatch", fmt.Errorf("checking: %w", provision.ErrKCVMismatch), exitVerifyFailed},
		{"options mismatch", fmt.Errorf("reading back: %w", provision.ErrOptionsMismatch), exitVerifyFailed},
		{"PC/SC gone", fmt.Errorf("transmitting: %w", schsm.ErrServiceUnavailable), exitPCSCUnavailable},
		{"card status word", fmt.Errorf("importing: %w", &schsm.StatusError{SW: 0x6A80}), exitCardRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			a := newApp(strings.NewReader(""), &stdout, &stderr)
			a.jsonOut = true

			err := a.reportInitError(&initOutput{Reader: "Virtual PCD 00 00"}, tt.err)
			if got := exitCodeOf(err); got != tt.want {
				t.Errorf("exit code = %d, want %d", got, tt.want)
			}
			if !a.reported {
				t.Errorf("the error is not marked as reported, so main would print it twice")
			}

			var doc struct {
				OK       bool   `json:"ok"`
				ExitCode int    `json:"exit_code"`
				Error    string `json:"error"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
			}
			if doc.OK {
				t.Errorf("ok = true for an error")
			}
			if doc.ExitCode != tt.want {
				t.Errorf("exit_code = %d, want %d", doc.ExitCode, tt.want)
			}
			if doc.Error != tt.err.Error() {
				t.Errorf("error = %q, want %q", doc.Error, tt.err.Error())
			}
		})
	}
}

func TestPrintErrorJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(""), &stdout, &stderr)
	a.jsonOut = true
	a.printError(withExit(exitNoToken, errors.New("no token")))

	var doc map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if doc["exit_code"] != float64(exitNoToken) {
		t.Errorf("exit_code = %v, want %d", doc["exit_code"], exitNoToken)
	}
	if stderr.Len() != 0 {
		t.Errorf("JSON mode wrote to standard error: %q", stderr.String())
	}
}

func TestOptionNames(t *testing.T) {
	tests := []struct {
		opts uint16
		want []string
	}{
		{0x0000, []string{"none"}},
		{schsm.OptionResetRetryCounter, []string{"reset retry counter"}},
		{0x0003, []string{"reset retry counter", "transport PIN"}},
		{0x0021, []string{"reset retry counter", "reset retry counter resets the counter only"}},
		{schsm.OptionSessionPIN | schsm.OptionPKAReplaceable | schsm.OptionCombinedPINPKA,
			[]string{"session PIN", "public keys replaceable", "PIN and public keys combined"}},
		{schsm.OptionPicoButton | schsm.OptionPicoKeyCounter | schsm.OptionPicoSecureLock,
			[]string{"Pico: press-to-confirm button", "Pico: key usage counter", "Pico: secure lock"}},
		{0x8000, []string{"none"}}, // a bit without a name
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%04X", tt.opts), func(t *testing.T) {
			if got := optionNames(tt.opts); !slices.Equal(got, tt.want) {
				t.Errorf("optionNames(%04X) = %q, want %q", tt.opts, got, tt.want)
			}
		})
	}
}
