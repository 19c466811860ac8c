package wizard

import (
	"fmt"
	"strings"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// TokenInfo is one token found before the questions, as the caller read it
// over PC/SC without presenting a PIN.
type TokenInfo struct {
	Reader string
	Status schsm.DeviceStatus
	// Objects counts the keys, certificates and data objects that
	// initializing the token erases; nil when they could not be counted.
	Objects *schsm.ObjectCounts
}

// Pico reports whether the token runs the Pico HSM firmware.
func (t TokenInfo) Pico() bool { return t.Status.Info.Family == schsm.FamilyPicoHSM }

// keepsTransportPIN reports whether the token is a Pico HSM whose firmware
// (6.x and earlier) keeps transport-PIN mode after the PIN is changed, so
// that every later user PIN VERIFY fails with SW 6984.
func (t TokenInfo) keepsTransportPIN() bool {
	return t.Pico() && t.Status.Info.VersionMajor <= 6
}

// Describe returns one line with the reader, family, firmware version,
// state and PIN tries left.
func (t TokenInfo) Describe() string {
	st := t.Status
	parts := []string{fmt.Sprintf("%s: %s %s", t.Reader, st.Info.Family, st.Info.Version())}
	if st.Serial != "" {
		parts = append(parts, "serial "+st.Serial)
	}
	if !st.Initialized {
		parts = append(parts, "blank")
		return strings.Join(parts, ", ")
	}
	parts = append(parts, "initialized")
	parts = append(parts, "user PIN "+describeTries(st.UserPIN), "SO-PIN "+describeTries(st.SOPIN))
	return strings.Join(parts, ", ")
}

func describeTries(p schsm.PINStatus) string {
	switch {
	case !p.Initialized:
		return "not set"
	case p.Blocked:
		return "blocked"
	case p.TransportPIN:
		return "transport PIN"
	case p.KnownTriesLeft() >= 0:
		return fmt.Sprintf("%d %s left", p.TriesLeft, plural(p.TriesLeft, "try", "tries"))
	default:
		return "tries unknown"
	}
}

// describeObjects names what initializing the token erases.
func (t TokenInfo) describeObjects() string {
	if !t.Status.Initialized {
		return "nothing: the token is blank"
	}
	if t.Objects == nil {
		return "every key, certificate and data object on the token (they could not be counted)"
	}
	o := t.Objects
	return fmt.Sprintf("%d %s, %d %s and %d data %s, the DKEK and the PINs",
		o.Keys, plural(o.Keys, "key", "keys"), o.Certificates, plural(o.Certificates, "certificate", "certificates"),
		o.DataObjects, plural(o.DataObjects, "object", "objects"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
