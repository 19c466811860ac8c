package schsm

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckSWSentinels(t *testing.T) {
	tests := []struct {
		sw   uint16
		want error
	}{
		{0x63C2, ErrWrongPIN},
		{0x6983, ErrPINBlocked},
		{0x6984, ErrTransportPIN},
		{0x6A88, ErrReferenceNotFound},
		{0x6A88, ErrNotInitialized},
		{0x6982, ErrSecurityStatus},
		{0x6985, ErrConditionsNotSatisfied},
		{0x6986, ErrCommandNotAllowed},
		{0x6900, ErrCommandNotAllowed},
		{0x6700, ErrWrongLength},
		{0x6A80, ErrWrongData},
		{0x6A82, ErrFileNotFound},
		{0x6A86, ErrIncorrectP1P2},
		{0x6B00, ErrWrongP1P2},
		{0x6D00, ErrINSNotSupported},
		{0x6E00, ErrCLANotSupported},
		{0x6A84, ErrNoFreePKASlot},
		{0x6A89, ErrKeyDomainNotEmpty},
		{0x6400, ErrExecution},
		{0x6581, ErrMemoryFailure},
	}
	for _, tt := range tests {
		err := CheckSW(tt.sw)
		if !errors.Is(err, tt.want) {
			t.Errorf("CheckSW(%04X) = %v, want it to match %q", tt.sw, err, tt.want)
		}
		if !strings.Contains(err.Error(), strings.ToUpper(hexWord(tt.sw))) {
			t.Errorf("CheckSW(%04X).Error() = %q, want the status word in it", tt.sw, err)
		}
		var withStatus interface{ Status() uint16 }
		if !errors.As(err, &withStatus) || withStatus.Status() != tt.sw {
			t.Errorf("CheckSW(%04X) has no Status() returning the status word", tt.sw)
		}
	}
}

func hexWord(sw uint16) string {
	return hexByte(byte(sw>>8)) + hexByte(byte(sw))
}

func TestCheckSWSuccess(t *testing.T) {
	for _, sw := range []uint16{0x9000, 0x9001} {
		if err := CheckSW(sw); err != nil {
			t.Errorf("CheckSW(%04X) = %v, want nil", sw, err)
		}
	}
}

func TestCheckSWWrongPINTries(t *testing.T) {
	for x := 0; x <= 15; x++ {
		sw := uint16(0x63C0 + x)
		var wrong *WrongPINError
		if !errors.As(CheckSW(sw), &wrong) {
			t.Fatalf("CheckSW(%04X) is no *WrongPINError", sw)
		}
		if wrong.TriesLeft != x {
			t.Errorf("CheckSW(%04X).TriesLeft = %d, want %d", sw, wrong.TriesLeft, x)
		}
	}
}

func TestStatusErrorUnknownSW(t *testing.T) {
	err := CheckSW(0x6F00)
	var se *StatusError
	if !errors.As(err, &se) || se.SW != 0x6F00 {
		t.Fatalf("CheckSW(6F00) = %v, want *StatusError with SW 6F00", err)
	}
	for _, sentinel := range []error{ErrWrongPIN, ErrPINBlocked, ErrFileNotFound, ErrExecution} {
		if errors.Is(err, sentinel) {
			t.Errorf("SW 6F00 matches %q", sentinel)
		}
	}
}

func TestStatusErrorDoesNotMatchOtherSentinel(t *testing.T) {
	if errors.Is(CheckSW(0x6A82), ErrReferenceNotFound) {
		t.Error("SW 6A82 matches ErrReferenceNotFound")
	}
	if errors.Is(CheckSW(0x6983), ErrWrongPIN) {
		t.Error("SW 6983 matches ErrWrongPIN")
	}
}
