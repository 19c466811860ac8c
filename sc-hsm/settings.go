package schsm

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Defaults and limits of the initialization settings.
const (
	DefaultRetries = 3
	MaxRetries     = 10

	// NoDKEK as Settings.DKEKShares omits tag 92, so the device gets no
	// DKEK and cannot wrap or unwrap keys. This is what sc-hsm-tool does
	// without --dkek-shares. A count of 0 requests a random DKEK made by
	// the device, which can never be exported.
	NoDKEK         = -1
	MaxDKEKShares  = 10 // pypicohsm's limit
	MaxPKATotal    = 90 // sc-hsm-tool's limit for N and M
	PicoMaxPKA     = 8  // the Pico HSM firmware stores at most 8 public keys
	MaxKeyDomains  = 16 // the Pico HSM firmware's table size
	ToolKeyDomains = 8  // pypicohsm and the PicoKey tools offer 1 to 8

	// OpenSCMaxPINLength is the longest PIN OpenSC's PKCS#11 module accepts
	// at login for a SmartCard-HSM, one less than the card takes.
	OpenSCMaxPINLength = 15

	// MaxLabelLength is the size of a PKCS#11 token label in bytes.
	MaxLabelLength = 32
	// OpenSCLabelLength is the longest label OpenSC's PKCS#11 module shows
	// whole, because it appends " (UserPIN)" within 32 bytes. A longer label
	// shows as its first OpenSCLabelShown bytes followed by "..." and
	// " (UserPIN)" (seen with OpenSC 0.23.0).
	OpenSCLabelLength = MaxLabelLength - len(" (UserPIN)")
	OpenSCLabelShown  = OpenSCLabelLength - len("...")
)

// Bits of the Pico HSM high option byte that Settings.OptionsHigh may set:
// the press-to-confirm button and the key usage counter. The secure lock
// bit is set up by pico-hsm-tool together with its host secret, not here.
const allowedOptionsHigh = byte(OptionPicoButton>>8) | byte(OptionPicoKeyCounter>>8)

// Names of the settings, as Problem.Field reports them. They match the
// flag names of the init command.
const (
	FieldUserPIN            = "pin"
	FieldSOPIN              = "so-pin"
	FieldRetries            = "pin-retry"
	FieldDKEKShares         = "dkek-shares"
	FieldPKATotal           = "public-key-auth"
	FieldPKARequired        = "required-pub-keys"
	FieldKeyDomains         = "key-domains"
	FieldResetRetryCounter  = "no-rrc"
	FieldTransportPIN       = "transport-pin"
	FieldPKAReplaceable     = "replace-key-allowed"
	FieldCombinedPINAndPKA  = "require-pka-and-pin"
	FieldRRCResetsCountOnly = "no-pin-reset"
	FieldOptionsHigh        = "pico-options"
	FieldLabel              = "label"
	FieldShareFiles         = "dkek-share"
)

// Settings is the complete request to initialize a device. The wizard, the
// command-line flags and a configuration file all produce it, and Validate
// checks it before anything is sent to the card.
//
// The zero value is not the default: start from DefaultSettings, which sets
// 3 retries, no DKEK and reset retry counter enabled.
type Settings struct {
	// UserPIN is the initial user PIN, or the transport PIN with
	// TransportPIN. It may be empty only with public key authentication.
	UserPIN Secret `json:"pin"`

	// SOPIN is the SO-PIN. It is nil until one is given, and INITIALIZE
	// cannot run without it.
	SOPIN *SOPIN `json:"so_pin,omitempty"`

	Retries    int `json:"retries"`     // user PIN retry counter, 1 to 10
	DKEKShares int `json:"dkek_shares"` // NoDKEK, 0 for a random DKEK, or 1 to 10 shares

	// PKATotal is the number of public keys for n-of-m public key
	// authentication (0 turns it off) and PKARequired how many of them must
	// authenticate.
	PKATotal    int `json:"pka_total,omitempty"`
	PKARequired int `json:"pka_required,omitempty"`

	// KeyDomains is the number of key domains, 0 for none. Each domain is
	// created after INITIALIZE with its own DKEK share count.
	KeyDomains int `json:"key_domains,omitempty"`

	ResetRetryCounter    bool  `json:"reset_retry_counter"`        // option 0001: the SO-PIN can unblock the user PIN
	TransportPIN         bool  `json:"transport_pin,omitempty"`    // option 0002: UserPIN must be changed before use
	PKAReplaceable       bool  `json:"pka_replaceable,omitempty"`  // option 0008
	CombinedPINAndPKA    bool  `json:"combined_pin_pka,omitempty"` // option 0010: login needs the PIN and the PKA quorum
	RRCResetsCounterOnly bool  `json:"rrc_counter_only,omitempty"` // option 0020: RESET RETRY COUNTER cannot set a new PIN
	OptionsHigh          *byte `json:"pico_options,omitempty"`     // Pico HSM high option byte; nil keeps the device's

	// Label is the token label. INITIALIZE does not carry it.
	Label string `json:"label,omitempty"`

	// ShareFiles are the DKEK share files to import after INITIALIZE, at
	// most DKEKShares of them.
	ShareFiles []string `json:"share_files,omitempty"`

	// Force allows initializing a device that is already initialized,
	// which erases its keys.
	Force bool `json:"force,omitempty"`
}

// DefaultSettings returns the settings sc-hsm-tool uses when only the PINs
// are given: 3 retries, reset retry counter enabled and no DKEK.
func DefaultSettings() Settings {
	return Settings{
		Retries:           DefaultRetries,
		DKEKShares:        NoDKEK,
		ResetRetryCounter: true,
	}
}

// ErrInvalidSettings is matched by every *ValidationError.
var ErrInvalidSettings = errors.New("invalid settings")

// Problem is one reason why settings are invalid. Message names the setting
// and the fix and never contains a secret.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every problem Validate found.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return "invalid settings: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalidSettings) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidSettings }

// Validate checks every setting and how the settings fit together. It
// returns warnings about valid but risky choices, and a *ValidationError
// listing all problems when any setting is invalid.
func (s Settings) Validate() (warnings []string, err error) {
	var problems []Problem
	add := func(field string, err error) {
		if err != nil {
			problems = append(problems, Problem{Field: field, Message: err.Error()})
		}
	}
	pka := s.PKATotal != 0 || s.PKARequired != 0

	// PINs.
	switch {
	case !s.UserPIN.IsZero():
		add(FieldUserPIN, ValidateUserPIN(s.UserPIN))
		if s.UserPIN.Len() > OpenSCMaxPINLength && s.UserPIN.Len() <= MaxUserPINLength {
			warnings = append(warnings, fmt.Sprintf("the user PIN has %d characters, but OpenSC's PKCS#11 module accepts at most %d at login; "+
				"choose 6 to %d characters to use the token through PKCS#11", s.UserPIN.Len(), OpenSCMaxPINLength, OpenSCMaxPINLength))
		}
	case !pka:
		add(FieldUserPIN, errors.New("the user PIN is missing; set 6 to 16 characters, or configure public key authentication to work without a PIN"))
	}
	if s.SOPIN == nil {
		add(FieldSOPIN, errors.New("the SO-PIN is missing; set 16 hex digits or 8 characters, and keep it safe"))
	} else if *s.SOPIN == DefaultSOPIN {
		warnings = append(warnings, "the SO-PIN is the well-known default from the sc-hsm-tool and PicoKey documentation; anyone can re-initialize "+
			"or unblock the device with it, so choose another one")
	}
	add(FieldRetries, ValidateRetries(utf8.RuneCount(s.UserPIN.Bytes()), s.Retries))

	// DKEK and key domains.
	add(FieldDKEKShares, ValidateDKEKShares(s.DKEKShares))
	add(FieldKeyDomains, ValidateKeyDomains(s.KeyDomains))
	if s.KeyDomains > ToolKeyDomains && s.KeyDomains <= MaxKeyDomains {
		warnings = append(warnings, fmt.Sprintf("%d key domains: the Pico HSM tools offer at most %d and the SmartCard-HSM's limit is not documented",
			s.KeyDomains, ToolKeyDomains))
	}
	if s.KeyDomains > 0 && s.DKEKShares != NoDKEK {
		warnings = append(warnings, "with key domains, INITIALIZE leaves every domain undefined, domain 0 included; "+
			"domain 0 must be created with its share count before DKEK shares can be imported")
	}
	problems = append(problems, s.shareFileProblems()...)
	if n := len(s.ShareFiles); n > 0 && n < s.DKEKShares && s.KeyDomains == 0 {
		warnings = append(warnings, fmt.Sprintf("%d of %d DKEK shares %s given; the device cannot wrap or unwrap keys until the other %d %s imported",
			n, s.DKEKShares, plural(n, "is", "are"), s.DKEKShares-n, plural(s.DKEKShares-n, "is", "are")))
	}

	// Public key authentication.
	if pka {
		add(FieldPKATotal, ValidatePKATotal(s.PKATotal))
		if s.PKATotal >= 1 && s.PKATotal <= MaxPKATotal {
			add(FieldPKARequired, ValidatePKARequired(s.PKATotal, s.PKARequired))
		}
		if s.PKATotal > PicoMaxPKA && s.PKATotal <= MaxPKATotal {
			warnings = append(warnings, fmt.Sprintf("%d public keys for authentication: a Pico HSM stores at most %d", s.PKATotal, PicoMaxPKA))
		}
	}

	// Options and how they depend on each other.
	if !s.ResetRetryCounter {
		warnings = append(warnings, "reset retry counter is disabled: a blocked user PIN can then only be cleared by re-initializing, which erases all keys")
	}
	if s.RRCResetsCounterOnly && !s.ResetRetryCounter {
		add(FieldRRCResetsCountOnly, errors.New("resetting only the retry counter needs reset retry counter enabled; drop --no-rrc or --no-pin-reset"))
	}
	if s.TransportPIN && s.UserPIN.IsZero() {
		add(FieldTransportPIN, errors.New("a transport PIN needs a user PIN to serve as the transport PIN; set a PIN or drop --transport-pin"))
	}
	if s.PKAReplaceable && !pka {
		add(FieldPKAReplaceable, errors.New("replaceable public keys need public key authentication; set --public-key-auth and --required-pub-keys or drop --replace-key-allowed"))
	}
	if s.CombinedPINAndPKA && (!pka || s.UserPIN.IsZero()) {
		add(FieldCombinedPINAndPKA, errors.New("combined PIN and public key authentication needs both a user PIN and public key authentication; "+
			"set both or drop --require-pka-and-pin"))
	}
	if s.OptionsHigh != nil {
		add(FieldOptionsHigh, ValidateOptionsHigh(*s.OptionsHigh))
	}
	add(FieldLabel, ValidateLabel(s.Label))
	if len(s.Label) > OpenSCLabelLength && len(s.Label) <= MaxLabelLength {
		warnings = append(warnings, fmt.Sprintf("the label has %d bytes; OpenSC's PKCS#11 module shows labels longer than %d bytes as their first %d "+
			"followed by \"...\", because it appends \" (UserPIN)\" within 32 bytes", len(s.Label), OpenSCLabelLength, OpenSCLabelShown))
	}

	if len(problems) > 0 {
		return warnings, &ValidationError{Problems: problems}
	}
	return warnings, nil
}

func (s Settings) shareFileProblems() []Problem {
	var problems []Problem
	n := len(s.ShareFiles)
	switch {
	case n == 0:
		return nil
	case s.DKEKShares <= 0:
		problems = append(problems, Problem{FieldShareFiles,
			fmt.Sprintf("%d share %s given, but the device is not set up for DKEK shares; set --dkek-shares to at least %d",
				n, plural(n, "file is", "files are"), n)})
	case n > s.DKEKShares:
		problems = append(problems, Problem{FieldShareFiles,
			fmt.Sprintf("%d share files are given for %d DKEK %s; give at most %d %s or raise --dkek-shares",
				n, s.DKEKShares, plural(s.DKEKShares, "share", "shares"), s.DKEKShares, plural(s.DKEKShares, "file", "files"))})
	}

	// The DKEK is the XOR of the shares, so the same share twice cancels out.
	seen := make(map[string]bool, n)
	for _, f := range s.ShareFiles {
		clean := filepath.Clean(f)
		if seen[clean] {
			problems = append(problems, Problem{FieldShareFiles,
				fmt.Sprintf("share file %s is given twice; two equal shares cancel out, so give each share once", f)})
		}
		seen[clean] = true
	}
	return problems
}

// ValidateUserPIN checks that pin has 6 to 16 printable ASCII characters,
// the range the SmartCard-HSM and sc-hsm-tool accept. The error names the
// length or the position of a bad character, never the PIN.
func ValidateUserPIN(pin Secret) error {
	b := pin.Bytes()
	if err := checkASCII(b, "user PIN"); err != nil {
		return err
	}
	if len(b) < MinUserPINLength || len(b) > MaxUserPINLength {
		return fmt.Errorf("the user PIN has %d %s; it needs %d to %d characters",
			len(b), plural(len(b), "character", "characters"), MinUserPINLength, MaxUserPINLength)
	}
	for i, c := range b {
		if !isPrintableASCII(c) {
			return fmt.Errorf("character %d of the user PIN is not printable ASCII; use letters, digits and ASCII punctuation", i+1)
		}
	}
	return nil
}

// RetryLimit returns the highest user PIN retry counter allowed for a PIN
// of pinLen characters: 3 for 6 characters, 5 for 7 and 10 for 8 or more.
// sc-hsm-tool enforces this, and CardContact states it for the card.
func RetryLimit(pinLen int) int {
	switch {
	case pinLen <= MinUserPINLength:
		return 3
	case pinLen == MinUserPINLength+1:
		return 5
	default:
		return MaxRetries
	}
}

// ValidateRetries checks the user PIN retry counter: 1 to 10, and at most
// RetryLimit(pinLen). A pinLen of 0 (no PIN, public key authentication
// only) checks the range alone.
func ValidateRetries(pinLen, retries int) error {
	if retries < 1 || retries > MaxRetries {
		limit := MaxRetries
		if pinLen > 0 {
			limit = RetryLimit(pinLen)
		}
		if pinLen > 0 && limit < MaxRetries {
			return fmt.Errorf("the retry counter is %d; set 1 to %d retries for a PIN of %d characters", retries, limit, pinLen)
		}
		return fmt.Errorf("the retry counter is %d; set 1 to %d retries", retries, limit)
	}
	if pinLen == 0 {
		return nil
	}
	if limit := RetryLimit(pinLen); retries > limit {
		return fmt.Errorf("%d retries is too many for a PIN of %d characters, which allows at most %d; "+
			"lower the retries or use a longer PIN (6 characters: 3, 7: 5, 8 or more: 10)", retries, pinLen, limit)
	}
	return nil
}

// ValidateDKEKShares checks the DKEK share count: NoDKEK, 0 (random DKEK)
// or 1 to 10.
func ValidateDKEKShares(n int) error {
	if n == NoDKEK || (n >= 0 && n <= MaxDKEKShares) {
		return nil
	}
	return fmt.Errorf("%d DKEK shares is out of range; set 1 to %d shares, 0 for a random DKEK, or leave it unset for no DKEK", n, MaxDKEKShares)
}

// ValidatePKA checks n-of-m public key authentication: total 1 to 90 and
// required 1 to total.
func ValidatePKA(total, required int) error {
	if err := ValidatePKATotal(total); err != nil {
		return err
	}
	return ValidatePKARequired(total, required)
}

// ValidatePKATotal checks the number of public keys for public key
// authentication: 1 to 90.
func ValidatePKATotal(total int) error {
	if total < 1 || total > MaxPKATotal {
		return fmt.Errorf("public key authentication with %d keys is out of range; set the total to 1 to %d (a Pico HSM stores at most %d)",
			total, MaxPKATotal, PicoMaxPKA)
	}
	return nil
}

// ValidatePKARequired checks how many of total public keys must
// authenticate: 1 to total.
func ValidatePKARequired(total, required int) error {
	if required < 1 || required > total {
		return fmt.Errorf("%d required keys of %d is out of range; require 1 to %d keys", required, total, total)
	}
	return nil
}

// ValidateKeyDomains checks the number of key domains: 0 to 16.
func ValidateKeyDomains(n int) error {
	if n < 0 || n > MaxKeyDomains {
		return fmt.Errorf("%d key domains is out of range; set 0 to %d (the Pico HSM tools offer up to %d)", n, MaxKeyDomains, ToolKeyDomains)
	}
	return nil
}

// ValidateOptionsHigh checks the Pico HSM high option byte: only the button
// (01) and key usage counter (02) bits may be set.
func ValidateOptionsHigh(b byte) error {
	if b&^allowedOptionsHigh != 0 {
		return fmt.Errorf("Pico HSM options %02X set bits other than 01 (press-to-confirm button) and 02 (key usage counter); "+
			"enable the secure lock with pico-hsm-tool instead", b)
	}
	return nil
}

// ValidateLabel checks that the token label fits the 32 bytes of a PKCS#11
// label and has no control characters.
func ValidateLabel(label string) error {
	if !utf8.ValidString(label) {
		return errors.New("the label is not valid UTF-8; use plain text")
	}
	if len(label) > MaxLabelLength {
		return fmt.Errorf("the label has %d bytes; PKCS#11 labels hold at most %d, so shorten it", len(label), MaxLabelLength)
	}
	if strings.IndexFunc(label, unicode.IsControl) >= 0 {
		return errors.New("the label contains a control character; use printable text")
	}
	return nil
}

// OptionsLow returns the low byte of the configuration options (tag 80) that
// the settings select.
func (s Settings) OptionsLow() byte {
	var o uint16
	if s.ResetRetryCounter {
		o |= OptionResetRetryCounter
	}
	if s.TransportPIN {
		o |= OptionTransportPIN
	}
	if s.PKAReplaceable {
		o |= OptionPKAReplaceable
	}
	if s.CombinedPINAndPKA {
		o |= OptionCombinedPINPKA
	}
	if s.RRCResetsCounterOnly {
		o |= OptionRRCResetCounterOnly
	}
	return byte(o)
}

// InitParams validates the settings and builds the INITIALIZE DEVICE
// parameters for dev, the SELECT response of the device to initialize.
//
// The high option byte is OptionsHigh when set. When it is nil, a Pico HSM
// keeps its current high byte (button, key usage counter, secure lock), and
// other devices get 00. A SmartCard-HSM rejects a non-zero OptionsHigh.
//
// UserPIN shares its bytes with s.UserPIN, so wiping the Secret clears it.
func (s Settings) InitParams(dev DeviceInfo) (InitParams, error) {
	if _, err := s.Validate(); err != nil {
		return InitParams{}, err
	}

	high := byte(0)
	switch {
	case s.OptionsHigh != nil && *s.OptionsHigh != 0 && dev.Family != FamilyPicoHSM:
		return InitParams{}, &ValidationError{Problems: []Problem{{FieldOptionsHigh,
			fmt.Sprintf("Pico HSM options %02X are set, but the device is a %v; drop the Pico HSM options", *s.OptionsHigh, dev.Family)}}}
	case s.OptionsHigh != nil:
		high = *s.OptionsHigh
	case dev.Family == FamilyPicoHSM:
		high = dev.OptionsHigh
	}

	return InitParams{
		Options:     uint16(high)<<8 | uint16(s.OptionsLow()),
		UserPIN:     s.UserPIN.Bytes(),
		SOPIN:       *s.SOPIN,
		Retries:     s.Retries,
		DKEKShares:  s.DKEKShares,
		PKATotal:    s.PKATotal,
		PKARequired: s.PKARequired,
		KeyDomains:  s.KeyDomains,
	}, nil
}
