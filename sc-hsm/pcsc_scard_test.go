//go:build cgo || windows

package schsm

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ebfe/scard"
)

func TestEstablishContextWithoutService(t *testing.T) {
	if os.Getenv("SCHSM_TEST_PCSC") == "1" {
		t.Skip("libpcsclite keeps the socket name of the first context, which the stack test needs")
	}
	t.Setenv("PCSCLITE_CSOCK_NAME", filepath.Join(t.TempDir(), "no-pcscd.comm"))
	ctx, err := EstablishContext()
	if err == nil {
		ctx.Release()
		t.Fatal("EstablishContext without pcscd: no error")
	}
	t.Logf("error: %v", err)
	if !errors.Is(err, ErrServiceUnavailable) {
		t.Errorf("EstablishContext error = %v, want ErrServiceUnavailable", err)
	}
}

func TestMapSCardError(t *testing.T) {
	tests := []struct {
		in   error
		want error
	}{
		{scard.ErrNoService, ErrServiceUnavailable},
		{scard.ErrServiceStopped, ErrServiceUnavailable},
		{scard.ErrNoReadersAvailable, ErrNoReader},
		{scard.ErrUnknownReader, ErrNoReader},
		{scard.ErrSharingViolation, ErrSharingViolation},
		{scard.ErrNoSmartcard, ErrNoToken},
		{scard.ErrRemovedCard, ErrNoToken},
	}
	for _, tt := range tests {
		err := mapSCardError(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("mapSCardError(%v) = %v, want %q", tt.in, err, tt.want)
		}
		if !errors.Is(err, tt.in) {
			t.Errorf("mapSCardError(%v) = %v, lost the scard error", tt.in, err)
		}
	}
	if mapSCardError(nil) != nil {
		t.Error("mapSCardError(nil) is not nil")
	}
	if err := mapSCardError(scard.ErrProtoMismatch); !errors.Is(err, scard.ErrProtoMismatch) {
		t.Errorf("mapSCardError(ErrProtoMismatch) = %v, want it unchanged", err)
	}
}
