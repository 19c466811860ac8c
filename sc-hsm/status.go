package schsm

import (
	"errors"
	"fmt"
)

// DeviceStatus summarizes a device the way sc-hsm-tool prints it.
type DeviceStatus struct {
	Info        DeviceInfo
	Initialized bool // the SO-PIN was set, so INITIALIZE ran at least once
	UserPIN     PINStatus
	SOPIN       PINStatus
	DKEK        *DKEKStatus // nil when the card returns no DKEK status for key domain 0
	PKA         *PKAStatus  // nil when public key authentication is not configured
	Serial      string      // token serial as OpenSC derives it; "" when EF.C_DevAut is unreadable
}

// Status selects the applet, which resets the security state, and collects
// the PIN, DKEK and public key authentication state and the serial number.
// Status words that only mean "not configured" are not errors.
func (c *Card) Status() (DeviceStatus, error) {
	var st DeviceStatus
	var err error

	if st.Info, err = c.SelectApplet(); err != nil {
		return DeviceStatus{}, err
	}

	// NOTE: with public key authentication configured, the real card responds
	// to the user PIN query with a status word that has no PIN meaning (which one
	// is not documented). It is kept in UserPIN.SW instead of failing.
	st.UserPIN, err = c.PINStatus(PINRefUser)
	var statusErr *StatusError
	if err != nil && !errors.As(err, &statusErr) {
		return DeviceStatus{}, fmt.Errorf("querying user PIN status: %w", err)
	}

	if st.SOPIN, err = c.PINStatus(PINRefSOPIN); err != nil {
		return DeviceStatus{}, fmt.Errorf("querying SO-PIN status: %w", err)
	}
	st.Initialized = st.SOPIN.Initialized

	dkek, err := c.DKEKStatus(0)
	switch {
	case err == nil:
		st.DKEK = &dkek
	case errors.Is(err, ErrReferenceNotFound), errors.Is(err, ErrWrongP1P2), errors.Is(err, ErrINSNotSupported):
		// No DKEK configured, or no DKEK support in the applet.
	default:
		return DeviceStatus{}, fmt.Errorf("querying DKEK status: %w", err)
	}

	pka, err := c.PKAStatus()
	switch {
	case err == nil:
		st.PKA = &pka
	case errors.Is(err, ErrIncorrectP1P2), errors.Is(err, ErrFileNotFound), errors.Is(err, ErrINSNotSupported):
		// Public key authentication not configured or not supported.
	default:
		return DeviceStatus{}, fmt.Errorf("querying public key authentication status: %w", err)
	}

	chr, err := c.DeviceCHR()
	switch {
	case err == nil:
		st.Serial = SerialFromCHR(chr)
	case errors.As(err, &statusErr), errors.Is(err, ErrMalformedCVC), errors.Is(err, ErrNoDeviceCertificate):
		// EF.C_DevAut is missing or unreadable, so there is no serial.
	default:
		return DeviceStatus{}, fmt.Errorf("reading serial number: %w", err)
	}

	return st, nil
}
