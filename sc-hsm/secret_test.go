package schsm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// secretText is a value that must never appear in printed output. It is
// long and unusual so that no format can contain it by accident.
const secretText = "Qx7-secret-PIN"

// leakChecks returns every rendering of v that fmt, encoding/json and
// log/slog produce, keyed by how it was made.
func leakChecks(t *testing.T, v any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10s", "%-10v"} {
		out[verb] = fmt.Sprintf(verb, v)
	}
	out["Sprint"] = fmt.Sprint(v)
	out["Sprintln"] = fmt.Sprintln(v)

	j, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	out["json"] = string(j)

	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("msg", "value", v)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("msg", "value", v)
	out["slog text"] = text.String()
	out["slog json"] = js.String()
	return out
}

func assertNoLeak(t *testing.T, v any, forbidden ...string) {
	t.Helper()
	for how, got := range leakChecks(t, v) {
		for _, f := range forbidden {
			if strings.Contains(got, f) {
				t.Errorf("%s shows the secret: %q", how, got)
			}
		}
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	s := SecretFromString(secretText)
	hexText := fmt.Sprintf("%x", []byte(secretText))

	type holder struct {
		Exported   Secret
		unexported Secret
		Pointer    *Secret
	}
	values := map[string]any{
		"value":   s,
		"pointer": &s,
		"struct":  holder{Exported: s, unexported: s, Pointer: &s},
		"slice":   []Secret{s},
		"map":     map[string]Secret{"k": s},
	}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			assertNoLeak(t, v, secretText, hexText, "81 120") // 81 120 = 'Q' 'x' as %d
		})
	}
}

func TestSecretFormatsShowRedacted(t *testing.T) {
	s := SecretFromString(secretText)
	tests := map[string]string{
		"%v":  Redacted,
		"%s":  Redacted,
		"%+v": Redacted,
		"%q":  Redacted,
		"%#v": "schsm.Secret(" + Redacted + ")",
	}
	for verb, want := range tests {
		if got := fmt.Sprintf(verb, s); got != want {
			t.Errorf("Sprintf(%q) = %q, want %q", verb, got, want)
		}
	}
	if got := s.String(); got != Redacted {
		t.Errorf("String() = %q", got)
	}
	j, _ := json.Marshal(s)
	if string(j) != `"`+Redacted+`"` {
		t.Errorf("json = %s", j)
	}
	text, _ := s.MarshalText()
	if string(text) != Redacted {
		t.Errorf("MarshalText = %q", text)
	}
	if got := s.LogValue().String(); got != Redacted {
		t.Errorf("LogValue = %q", got)
	}
}

func TestSecretAccessors(t *testing.T) {
	var zero Secret
	if !zero.IsZero() || zero.Len() != 0 || zero.Bytes() != nil {
		t.Errorf("zero Secret: IsZero %v, Len %d, Bytes %v", zero.IsZero(), zero.Len(), zero.Bytes())
	}
	if !NewSecret(nil).IsZero() || !NewSecret([]byte{}).IsZero() {
		t.Error("empty input does not give a zero Secret")
	}

	in := []byte("123456")
	s := NewSecret(in)
	in[0] = 'X'
	if string(s.Bytes()) != "123456" {
		t.Errorf("NewSecret does not copy its input")
	}
	if s.Len() != 6 || s.IsZero() {
		t.Errorf("Len %d, IsZero %v", s.Len(), s.IsZero())
	}
	if !s.Equal(SecretFromString("123456")) || s.Equal(SecretFromString("123457")) || s.Equal(zero) {
		t.Error("Equal gives wrong results")
	}
}

func TestSecretWipeClearsCopies(t *testing.T) {
	s := SecretFromString("123456")
	b := s.Bytes()
	copyOfS := s

	s.Wipe()
	if !bytes.Equal(b, make([]byte, 6)) {
		t.Errorf("bytes after Wipe = %v, want zeros", b)
	}
	if !s.IsZero() || !copyOfS.IsZero() {
		t.Errorf("Secret or its copy not empty after Wipe")
	}
	var zero Secret
	zero.Wipe() // must not panic
}

func TestSecretUnmarshal(t *testing.T) {
	var v struct{ PIN Secret }
	if err := json.Unmarshal([]byte(`{"PIN":"648219"}`), &v); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if string(v.PIN.Bytes()) != "648219" {
		t.Errorf("PIN bytes = %q", v.PIN.Bytes())
	}

	out, _ := json.Marshal(v)
	err := json.Unmarshal(out, &v)
	if !errors.Is(err, ErrRedactedSecret) {
		t.Errorf("reading back a redacted Secret: err = %v, want ErrRedactedSecret", err)
	}
}
