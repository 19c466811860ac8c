package pkcs11bridge

import (
	"fmt"
	"log/slog"
	"strings"
)

// Request is the input of one verification. It travels to the child process
// as JSON on standard input, so the PIN never appears on a command line or in
// an environment variable.
type Request struct {
	// ModulePath is the PKCS#11 module file to load (see FindModule).
	ModulePath string `json:"module_path"`
	// Reader is the PC/SC reader name. OpenSC uses it as the slot description.
	Reader string `json:"reader"`
	// Serial is the token serial as OpenSC reports it: the CHR of the device
	// certificate without its last 5 characters.
	Serial string `json:"serial"`
	// PIN is the user PIN. It is never logged and never copied into a Report.
	PIN []byte `json:"pin"`
	// UserPINTriesLeft is the user PIN retry counter read from the card, or -1
	// when unknown.
	UserPINTriesLeft int `json:"user_pin_tries_left"`
	// Force presents the PIN even when only one try is left.
	Force bool `json:"force"`
}

// String formats the request without the PIN.
func (r Request) String() string {
	return fmt.Sprintf("pkcs11bridge.Request{ModulePath: %q, Reader: %q, Serial: %q, PIN: %s, UserPINTriesLeft: %d, Force: %t}",
		r.ModulePath, r.Reader, r.Serial, redactedPIN(r.PIN), r.UserPINTriesLeft, r.Force)
}

// GoString formats the request for %#v without the PIN.
func (r Request) GoString() string { return r.String() }

// LogValue keeps the PIN out of slog output.
func (r Request) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("module", r.ModulePath),
		slog.String("reader", r.Reader),
		slog.String("serial", r.Serial),
		slog.String("pin", redactedPIN(r.PIN)),
		slog.Int("user_pin_tries_left", r.UserPINTriesLeft),
		slog.Bool("force", r.Force),
	)
}

func redactedPIN(pin []byte) string {
	if len(pin) == 0 {
		return "(empty)"
	}
	return "(redacted)"
}

// SlotInfo describes one slot that holds a token.
type SlotInfo struct {
	ID           uint     `json:"id"`
	Description  string   `json:"description"`
	Manufacturer string   `json:"manufacturer"`
	Flags        []string `json:"flags"`
	TokenLabel   string   `json:"token_label"`
	TokenSerial  string   `json:"token_serial"`
}

// TokenInfo is the token information of the matched slot (C_GetTokenInfo).
type TokenInfo struct {
	Label        string `json:"label"`
	Manufacturer string `json:"manufacturer"`
	Model        string `json:"model"`
	Serial       string `json:"serial"`
	// Flags holds the CKF_ names of the set token flags; RawFlags the bits.
	Flags           []string `json:"flags"`
	RawFlags        uint     `json:"raw_flags"`
	MinPINLen       uint     `json:"min_pin_len"`
	MaxPINLen       uint     `json:"max_pin_len"`
	HardwareVersion string   `json:"hardware_version"`
	FirmwareVersion string   `json:"firmware_version"`
}

// ObjectInfo is one object visible in the session: CKO_ class name, label and
// CKA_ID in lowercase hex.
type ObjectInfo struct {
	Class string `json:"class"`
	Label string `json:"label"`
	ID    string `json:"id"`
}

// Check is the outcome of one verification step.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Reason string `json:"reason"`
}

// Names of the checks that Verify records, in the order it runs them.
const (
	CheckModule     = "module"
	CheckSlot       = "slot"
	CheckToken      = "token"
	CheckMechanisms = "mechanisms"
	CheckLogin      = "login"
	CheckObjects    = "objects"
	CheckLogout     = "logout"
)

// Report is the result of Verify. It contains no secret.
type Report struct {
	Module     string       `json:"module"`
	Slots      []SlotInfo   `json:"slots"`
	Slot       *SlotInfo    `json:"slot,omitempty"`
	Token      *TokenInfo   `json:"token,omitempty"`
	Mechanisms []string     `json:"mechanisms"`
	Objects    []ObjectInfo `json:"objects"`
	// URI is the RFC 7512 PKCS#11 URI of the matched token.
	URI    string  `json:"uri,omitempty"`
	Checks []Check `json:"checks"`
}

// Passed reports whether at least one check ran and every check passed.
func (r Report) Passed() bool {
	if len(r.Checks) == 0 {
		return false
	}
	for _, c := range r.Checks {
		if !c.Passed {
			return false
		}
	}
	return true
}

// Check returns the check with the given name, if Verify recorded it.
func (r Report) Check(name string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

func (r *Report) pass(name, reason string) {
	r.Checks = append(r.Checks, Check{Name: name, Passed: true, Reason: reason})
}

func (r *Report) fail(name, reason string) {
	r.Checks = append(r.Checks, Check{Name: name, Passed: false, Reason: reason})
}

// TokenURI builds the RFC 7512 URI that names a token by its token,
// manufacturer, serial and model attributes.
func TokenURI(t TokenInfo) string {
	attrs := []struct{ name, value string }{
		{"token", t.Label},
		{"manufacturer", t.Manufacturer},
		{"serial", t.Serial},
		{"model", t.Model},
	}
	parts := make([]string, 0, len(attrs))
	for _, a := range attrs {
		parts = append(parts, a.name+"="+escapeURIValue(a.value))
	}
	return "pkcs11:" + strings.Join(parts, ";")
}

// escapeURIValue percent-encodes every byte that RFC 7512 does not allow
// unescaped in a path attribute value. Allowed are the unreserved characters
// of RFC 3986 and ":[]@!$'()*+,=".
func escapeURIValue(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isURIPathChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0F])
	}
	return b.String()
}

func isURIPathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:[]@!$'()*+,=", c) >= 0
}
