package schsm

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
)

// Redacted is the placeholder that every formatting and encoding method of
// Secret and SOPIN prints in place of the value.
const Redacted = "[redacted]"

// ErrRedactedSecret is returned when text that is exactly Redacted is
// decoded into a Secret. Such text comes from a marshalled Secret, never from
// a person, and using it as a PIN would lock the user out.
var ErrRedactedSecret = errors.New(`the value is the placeholder "` + Redacted + `" written in place of a secret; enter the real value`)

// Secret is a PIN, password or other confidential byte string. Its String,
// GoString, Format, MarshalJSON, MarshalText and LogValue methods all print
// Redacted, so it may sit in structs that are logged or printed. Bytes
// returns the value.
//
// fmt cannot call methods on a value it reaches through an unexported
// struct field, so there it prints the Secret by reflection. The bytes sit
// two pointers deep, which fmt prints as addresses in that case, even for
// verbs such as %s that make it dereference the first pointer. Copies of a
// Secret share the bytes, so Wipe on one copy clears all of them.
type Secret struct {
	value *secretValue
}

type secretValue struct {
	b *[]byte
}

// NewSecret returns a Secret holding a copy of b.
func NewSecret(b []byte) Secret {
	if len(b) == 0 {
		return Secret{}
	}
	c := append([]byte(nil), b...)
	return Secret{value: &secretValue{b: &c}}
}

// SecretFromString returns a Secret holding the bytes of s.
func SecretFromString(s string) Secret {
	return NewSecret([]byte(s))
}

// Bytes returns the secret value. The slice is shared with the Secret, so
// Wipe clears it too. It is nil for the zero Secret.
func (s Secret) Bytes() []byte {
	if s.value == nil {
		return nil
	}
	return *s.value.b
}

// Len returns the length of the value in bytes.
func (s Secret) Len() int {
	return len(s.Bytes())
}

// IsZero reports whether the Secret is empty.
func (s Secret) IsZero() bool {
	return s.Len() == 0
}

// Equal compares two secrets in time that depends only on their lengths.
func (s Secret) Equal(other Secret) bool {
	return subtle.ConstantTimeCompare(s.Bytes(), other.Bytes()) == 1
}

// Wipe overwrites the value with zeros and empties the Secret and every copy
// of it.
func (s Secret) Wipe() {
	if s.value == nil {
		return
	}
	clear(*s.value.b)
	*s.value.b = nil
}

// String returns Redacted.
func (s Secret) String() string { return Redacted }

// GoString returns a Go-syntax placeholder without the value.
func (s Secret) GoString() string { return "schsm.Secret(" + Redacted + ")" }

// Format prints Redacted for every verb and flag, %#v included.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, Redacted)
}

// LogValue makes log/slog print Redacted.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalText returns Redacted.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// MarshalJSON returns Redacted as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// UnmarshalText stores a copy of text, so that a configuration file can
// carry a PIN. It rejects Redacted itself with ErrRedactedSecret, because a
// settings value written by MarshalJSON and read back would otherwise set
// the placeholder as the PIN.
func (s *Secret) UnmarshalText(text []byte) error {
	if string(text) == Redacted {
		return ErrRedactedSecret
	}
	*s = NewSecret(text)
	return nil
}
