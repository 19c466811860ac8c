package schsm

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// SOPIN is the 8-byte security officer PIN, which the SmartCard-HSM calls
// the initialization code. It is INITIALIZE DEVICE tag 82 and the first 8
// bytes of RESET RETRY COUNTER. The card allows 15 wrong tries and a blocked
// SO-PIN cannot be unblocked.
//
// Its formatting and encoding methods print Redacted. Hex and Chars return
// the value. fmt cannot call these methods on a SOPIN it reaches through an
// unexported struct field, and prints the bytes there, so keep a SOPIN in
// exported fields.
type SOPIN [8]byte

// DefaultSOPIN is the SO-PIN that pypicohsm, the Pico HSM tools and many
// guides use: the characters "57621880", hex 3537363231383830.
var DefaultSOPIN = SOPIN{'5', '7', '6', '2', '1', '8', '8', '0'}

// ErrInvalidSOPIN is wrapped by every error of ParseSOPIN.
var ErrInvalidSOPIN = errors.New("invalid SO-PIN")

const sopinHexDigits = 2 * len(SOPIN{})

// ParseSOPIN accepts the two spellings of an SO-PIN in use:
//
//   - exactly 16 hexadecimal digits, upper or lower case, decoded to 8 bytes.
//     This is the only form OpenSC's sc-hsm-tool and pkcs11-tool accept.
//   - exactly 8 printable ASCII characters (0x20 to 0x7E), taken as their 8
//     bytes. This is how pypicohsm and the Pico HSM tools pass it.
//
// So "3537363231383830" and "57621880" are the same SO-PIN. A 16-character
// input is always read as hex. An 8-character input is always read as
// characters, even when all 8 are hex digits: "12345678" is the bytes
// 31 32 ... 38, not the 4 bytes 12 34 56 78.
//
// The input is not trimmed. Errors wrap ErrInvalidSOPIN, describe the length
// and alphabet found and how to fix it, and never contain the input.
func ParseSOPIN(s string) (SOPIN, error) {
	var p SOPIN

	switch len(s) {
	case sopinHexDigits:
		if i := strings.IndexFunc(s, func(r rune) bool { return !isHexDigit(r) }); i >= 0 {
			return SOPIN{}, fmt.Errorf("%w: it has 16 characters, so it is read as hexadecimal, but character %d is not a hex digit; "+
				"enter 16 hex digits (0-9, A-F) or 8 ASCII characters", ErrInvalidSOPIN, i+1)
		}
		if _, err := hex.Decode(p[:], []byte(s)); err != nil {
			// Unreachable after the check above; the decoder error is left out
			// because it quotes the offending byte.
			return SOPIN{}, fmt.Errorf("%w: hexadecimal decoding failed; enter 16 hex digits", ErrInvalidSOPIN)
		}
		return p, nil

	case len(p):
		for i := 0; i < len(s); i++ {
			if !isPrintableASCII(s[i]) {
				return SOPIN{}, fmt.Errorf("%w: it has 8 bytes, so it is read as characters, but byte %d is not printable ASCII; "+
					"enter 8 ASCII characters or the 16 hex digits of the 8 bytes", ErrInvalidSOPIN, i+1)
			}
		}
		copy(p[:], s)
		return p, nil

	case 0:
		return SOPIN{}, fmt.Errorf("%w: it is empty; enter 16 hex digits (as sc-hsm-tool takes) or 8 ASCII characters", ErrInvalidSOPIN)

	default:
		return SOPIN{}, fmt.Errorf("%w: it has %d %s (%s); enter exactly 16 hex digits (as sc-hsm-tool takes) or exactly 8 ASCII characters",
			ErrInvalidSOPIN, len(s), plural(len(s), "byte", "bytes"), describeAlphabet(s))
	}
}

// Hex returns the SO-PIN as 16 upper-case hex digits, the form OpenSC's
// tools accept.
func (p SOPIN) Hex() string {
	return strings.ToUpper(hex.EncodeToString(p[:]))
}

// Chars returns the SO-PIN as 8 characters and true when every byte is
// printable ASCII (0x20 to 0x7E). Otherwise it returns "" and false, and
// only Hex can express the SO-PIN.
func (p SOPIN) Chars() (string, bool) {
	for _, b := range p {
		if !isPrintableASCII(b) {
			return "", false
		}
	}
	return string(p[:]), true
}

// String returns Redacted.
func (p SOPIN) String() string { return Redacted }

// GoString returns a Go-syntax placeholder without the value.
func (p SOPIN) GoString() string { return "schsm.SOPIN(" + Redacted + ")" }

// Format prints Redacted for every verb and flag, %#v included.
func (p SOPIN) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, p.GoString())
		return
	}
	fmt.Fprint(f, Redacted)
}

// LogValue makes log/slog print Redacted.
func (p SOPIN) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalText returns Redacted.
func (p SOPIN) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// MarshalJSON returns Redacted as a JSON string.
func (p SOPIN) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// UnmarshalText parses text with ParseSOPIN, so that a configuration file
// can carry the SO-PIN in either spelling.
func (p *SOPIN) UnmarshalText(text []byte) error {
	if string(text) == Redacted {
		return ErrRedactedSecret
	}
	parsed, err := ParseSOPIN(string(text))
	if err != nil {
		return err
	}
	*p = parsed
	return nil
}

func isHexDigit(r rune) bool {
	return ('0' <= r && r <= '9') || ('a' <= r && r <= 'f') || ('A' <= r && r <= 'F')
}

func isPrintableASCII(b byte) bool {
	return 0x20 <= b && b <= 0x7E
}

// describeAlphabet names the classes of characters in s without revealing
// them, for error messages about secrets.
func describeAlphabet(s string) string {
	var hexOnly, digitsOnly, ascii = true, true, true
	for _, r := range s {
		if !isHexDigit(r) {
			hexOnly = false
		}
		if r < '0' || r > '9' {
			digitsOnly = false
		}
		if r > 0x7F || !isPrintableASCII(byte(r)) {
			ascii = false
		}
	}
	switch {
	case digitsOnly:
		return "decimal digits only"
	case hexOnly:
		return "hex digits only"
	case ascii:
		return "printable ASCII, not all hex digits"
	default:
		return "including characters outside printable ASCII"
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
