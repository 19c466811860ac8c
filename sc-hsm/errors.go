package schsm

import (
	"errors"
	"fmt"
)

// Sentinel errors for the status words of the SmartCard-HSM command set.
// A *StatusError or *WrongPINError matches them with errors.Is.
var (
	ErrWrongPIN               = errors.New("wrong PIN")
	ErrPINBlocked             = errors.New("PIN blocked")
	ErrTransportPIN           = errors.New("transport PIN active, change the PIN first")
	ErrReferenceNotFound      = errors.New("reference data not found")
	ErrSecurityStatus         = errors.New("security status not satisfied")
	ErrConditionsNotSatisfied = errors.New("conditions of use not satisfied")
	ErrCommandNotAllowed      = errors.New("command not allowed")
	ErrWrongLength            = errors.New("wrong length")
	ErrWrongData              = errors.New("incorrect data")
	ErrFileNotFound           = errors.New("file or application not found")
	ErrIncorrectP1P2          = errors.New("incorrect parameters P1-P2")
	ErrWrongP1P2              = errors.New("wrong parameters P1-P2")
	ErrINSNotSupported        = errors.New("instruction not supported")
	ErrCLANotSupported        = errors.New("class not supported")
	ErrNoFreePKASlot          = errors.New("no free public key authentication slot")
	ErrKeyDomainNotEmpty      = errors.New("key domain still contains keys")
	ErrExecution              = errors.New("execution error")
	ErrMemoryFailure          = errors.New("memory failure")
)

// ErrNotInitialized is the SW 6A88 sentinel under the name that fits a PIN
// status query: the PIN, and so the device, was never initialized.
var ErrNotInitialized = ErrReferenceNotFound

// statusSentinels maps exact status words to their sentinel errors.
var statusSentinels = map[uint16]error{
	SWPINBlocked:             ErrPINBlocked,
	SWTransportPIN:           ErrTransportPIN,
	SWReferenceNotFound:      ErrReferenceNotFound,
	SWSecurityStatus:         ErrSecurityStatus,
	SWConditionsNotSatisfied: ErrConditionsNotSatisfied,
	SWCommandNotAllowed:      ErrCommandNotAllowed,
	SWCommandNotAllowedBase:  ErrCommandNotAllowed,
	SWWrongLength:            ErrWrongLength,
	SWWrongData:              ErrWrongData,
	SWFileNotFound:           ErrFileNotFound,
	SWIncorrectP1P2:          ErrIncorrectP1P2,
	SWWrongP1P2:              ErrWrongP1P2,
	SWINSNotSupported:        ErrINSNotSupported,
	SWCLANotSupported:        ErrCLANotSupported,
	SWNoFreeSlot:             ErrNoFreePKASlot,
	SWKeyDomainNotEmpty:      ErrKeyDomainNotEmpty,
	SWExecutionError:         ErrExecution,
	SWMemoryFailure:          ErrMemoryFailure,
}

// StatusError is a status word other than 9000 or 9001 returned by the card.
type StatusError struct {
	SW uint16
}

// Error names the status word and, when known, its meaning.
func (e *StatusError) Error() string {
	if s := sentinelFor(e.SW); s != nil {
		return fmt.Sprintf("card returned SW %04X (%v)", e.SW, s)
	}
	return fmt.Sprintf("card returned SW %04X", e.SW)
}

// Status returns the status word.
func (e *StatusError) Status() uint16 { return e.SW }

// Is reports whether target is the sentinel error of the status word.
func (e *StatusError) Is(target error) bool {
	s := sentinelFor(e.SW)
	return s != nil && s == target
}

func sentinelFor(sw uint16) error {
	if sw&0xFFF0 == 0x63C0 {
		return ErrWrongPIN
	}
	return statusSentinels[sw]
}

// WrongPINError is SW 63Cx: the PIN was wrong, or a status query found it
// not yet verified, and TriesLeft tries remain.
type WrongPINError struct {
	SW        uint16
	TriesLeft int
}

func (e *WrongPINError) Error() string {
	return fmt.Sprintf("wrong PIN, %d %s left (SW %04X)", e.TriesLeft, plural(e.TriesLeft, "try", "tries"), e.SW)
}

// Status returns the status word.
func (e *WrongPINError) Status() uint16 { return e.SW }

// Is reports whether target is ErrWrongPIN.
func (e *WrongPINError) Is(target error) bool { return target == ErrWrongPIN }

// CheckSW returns nil for 9000 and 9001, a *WrongPINError for 63Cx and a
// *StatusError for every other status word.
func CheckSW(sw uint16) error {
	switch {
	case sw == SWOK || sw == SWOKAuthenticated:
		return nil
	case sw&0xFFF0 == 0x63C0:
		return &WrongPINError{SW: sw, TriesLeft: int(sw & 0x0F)}
	default:
		return &StatusError{SW: sw}
	}
}
