package schsm

import (
	"errors"
	"fmt"
)

// PIN references of VERIFY and related commands.
const (
	PINRefUser  byte = 0x81
	PINRefSOPIN byte = 0x88
)

// PINStatus is the state of a PIN as an empty VERIFY reports it.
type PINStatus struct {
	SW           uint16
	Initialized  bool // the PIN was set; false after SW 6A88
	Verified     bool // SW 9000: verified in this session
	Blocked      bool // SW 6983, or 63C0
	TransportPIN bool // SW 6984: the transport PIN must be changed first
	TriesLeft    int  // x of SW 63Cx, else 0
}

// PINStatus queries PIN ref (PINRefUser or PINRefSOPIN) with a VERIFY that
// carries no data, which spends no try. For a status word with no PIN
// meaning it returns the PINStatus with only SW set, and a *StatusError.
func (c *Card) PINStatus(ref byte) (PINStatus, error) {
	cmd := Command{CLA: claISO, INS: insVerify, P1: 0x00, P2: ref}
	resp, err := c.Transmit(cmd)
	if err != nil {
		return PINStatus{}, fmt.Errorf("querying status of PIN %02X: %w", ref, err)
	}
	st, err := pinStatusFromSW(resp.SW)
	if err != nil {
		return st, fmt.Errorf("querying status of PIN %02X: %w", ref, err)
	}
	return st, nil
}

// KnownTriesLeft returns the tries left, or -1 when the status word carried
// no count (9000 after a verified session, 6984, or an unknown status word).
func (p PINStatus) KnownTriesLeft() int {
	switch {
	case p.Blocked:
		return 0
	case p.SW&0xFFF0 == 0x63C0:
		return p.TriesLeft
	default:
		return -1
	}
}

func pinStatusFromSW(sw uint16) (PINStatus, error) {
	st := PINStatus{SW: sw}
	switch {
	case sw == SWOK:
		st.Initialized, st.Verified = true, true
	case sw&0xFFF0 == 0x63C0:
		st.Initialized = true
		st.TriesLeft = int(sw & 0x0F)
		st.Blocked = st.TriesLeft == 0
	case sw == SWPINBlocked:
		st.Initialized, st.Blocked = true, true
	case sw == SWTransportPIN:
		st.Initialized, st.TransportPIN = true, true
	case sw == SWReferenceNotFound:
		// Not initialized: every field but SW stays false.
	default:
		return st, CheckSW(sw)
	}
	return st, nil
}

// VerifyPIN verifies PIN ref. A wrong PIN returns a *WrongPINError with the
// tries left; a blocked PIN or an active transport PIN match ErrPINBlocked
// and ErrTransportPIN. The error never contains the PIN.
func (c *Card) VerifyPIN(ref byte, pin []byte) error {
	if len(pin) == 0 {
		return errors.New("verifying PIN: the PIN is empty")
	}
	cmd := Command{CLA: claISO, INS: insVerify, P1: 0x00, P2: ref, Data: pin}
	if _, err := c.run(cmd); err != nil {
		return fmt.Errorf("verifying PIN %02X: %w", ref, err)
	}
	return nil
}
