package teststack

import (
	"fmt"
	"testing"
)

// recordingTB records how skipOrFail ends a test instead of ending it.
type recordingTB struct {
	testing.TB
	ended string
}

type endTest struct{}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.ended = "skip: " + fmt.Sprintf(format, args...)
	panic(endTest{})
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.ended = "fail: " + fmt.Sprintf(format, args...)
	panic(endTest{})
}

func runSkipOrFail(t *testing.T, err error) string {
	tb := &recordingTB{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil && r != (endTest{}) {
				panic(r)
			}
		}()
		skipOrFail(tb, err)
	}()
	return tb.ended
}

func TestSkipOrFail(t *testing.T) {
	missing := fmt.Errorf("%w: missing [pcscd]", errUnavailable)
	broken := fmt.Errorf("pcscd exited during start")

	tests := []struct {
		name       string
		require    string
		err        error
		wantPrefix string
	}{
		{name: "missing tools skip", require: "", err: missing, wantPrefix: "skip: "},
		{name: "missing tools fail when required", require: "1", err: missing, wantPrefix: "fail: "},
		{name: "start failure fails", require: "", err: broken, wantPrefix: "fail: "},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(RequireEnv, tt.require)
			got := runSkipOrFail(t, tt.err)
			if len(got) < len(tt.wantPrefix) || got[:len(tt.wantPrefix)] != tt.wantPrefix {
				t.Errorf("skipOrFail ended the test with %q, want prefix %q", got, tt.wantPrefix)
			}
		})
	}
}
