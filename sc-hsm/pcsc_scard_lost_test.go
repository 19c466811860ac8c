//go:build cgo || windows

package schsm

import (
	"errors"
	"testing"

	"github.com/ebfe/scard"
)

func TestMapConnectedError(t *testing.T) {
	tests := []struct {
		in   error
		want error
	}{
		{scard.ErrCommError, ErrServiceUnavailable},         // "RPC transport error." after pcscd stopped
		{scard.ErrSecurityViolation, ErrServiceUnavailable}, // "Access denied." after pcscd stopped
		{scard.ErrInvalidHandle, ErrServiceUnavailable},
		{scard.ErrNoService, ErrServiceUnavailable},
		{scard.ErrServiceStopped, ErrServiceUnavailable},
		{scard.ErrRemovedCard, ErrTokenNotResponding},
		{scard.ErrResetCard, ErrTokenNotResponding},
		{scard.ErrNotTransacted, ErrTokenNotResponding}, // "Transaction failed."
		{scard.ErrUnresponsiveCard, ErrTokenNotResponding},
		{scard.ErrUnpoweredCard, ErrTokenNotResponding},
		{scard.ErrSharingViolation, ErrSharingViolation},
	}
	for _, tt := range tests {
		err := mapConnectedError(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("mapConnectedError(%v) = %v, want %q", tt.in, err, tt.want)
		}
		if !errors.Is(err, tt.in) {
			t.Errorf("mapConnectedError(%v) = %v, lost the scard error", tt.in, err)
		}
	}
	if mapConnectedError(nil) != nil {
		t.Error("mapConnectedError(nil) is not nil")
	}
}
