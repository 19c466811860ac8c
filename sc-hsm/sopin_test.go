package schsm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseSOPINGolden(t *testing.T) {
	want := SOPIN{0x35, 0x37, 0x36, 0x32, 0x31, 0x38, 0x38, 0x30}
	for _, in := range []string{"3537363231383830", "57621880"} {
		got, err := ParseSOPIN(in)
		if err != nil {
			t.Fatalf("ParseSOPIN(%q): %v", in, err)
		}
		if got != want {
			t.Errorf("ParseSOPIN(%q) = % X, want % X", in, got[:], want[:])
		}
	}
	if DefaultSOPIN != want {
		t.Errorf("DefaultSOPIN = % X, want % X", DefaultSOPIN[:], want[:])
	}
}

func TestParseSOPINForms(t *testing.T) {
	tests := []struct {
		in   string
		want SOPIN
	}{
		{"0123456789ABCDEF", SOPIN{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}},
		{"0123456789abcdef", SOPIN{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}},
		{"0123456789aBcDeF", SOPIN{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}},
		{"0000000000000000", SOPIN{}},
		// Eight hex digits are characters, not 4 bytes.
		{"12345678", SOPIN{'1', '2', '3', '4', '5', '6', '7', '8'}},
		{"abcdefAB", SOPIN{'a', 'b', 'c', 'd', 'e', 'f', 'A', 'B'}},
		{"p@ss w0~", SOPIN{'p', '@', 's', 's', ' ', 'w', '0', '~'}},
	}
	for _, tt := range tests {
		got, err := ParseSOPIN(tt.in)
		if err != nil {
			t.Errorf("ParseSOPIN(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSOPIN(%q) = % X, want % X", tt.in, got[:], tt.want[:])
		}
	}
}

func TestParseSOPINErrors(t *testing.T) {
	tests := []struct {
		in       string
		wantText []string
	}{
		{"", []string{"empty"}},
		{"1234567", []string{"7 bytes", "decimal digits only", "16 hex digits", "8 ASCII characters"}},
		{"123456789", []string{"9 bytes", "decimal digits only"}},
		{"35373632313838", []string{"14 bytes", "decimal digits only"}},
		{"35373632313838301", []string{"17 bytes"}},
		{"ABCDEF0123", []string{"10 bytes", "hex digits only"}},
		{"hello world", []string{"11 bytes", "printable ASCII, not all hex digits"}},
		{"353736323138383G", []string{"hexadecimal", "character 16 is not a hex digit"}},
		{"3537 36321838 30", []string{"character 5 is not a hex digit"}},
		{"1234567\n", []string{"byte 8 is not printable ASCII"}},
		{"pässwd", []string{"7 bytes", "outside printable ASCII"}}, // ä is 2 bytes
		{"pässwö", []string{"byte 2 is not printable ASCII"}},      // 8 bytes
	}
	for _, tt := range tests {
		_, err := ParseSOPIN(tt.in)
		if !errors.Is(err, ErrInvalidSOPIN) {
			t.Errorf("ParseSOPIN(%q): err = %v, want ErrInvalidSOPIN", tt.in, err)
			continue
		}
		for _, w := range tt.wantText {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("ParseSOPIN(%q): error %q does not mention %q", tt.in, err, w)
			}
		}
		if tt.in != "" && strings.Contains(err.Error(), tt.in) {
			t.Errorf("ParseSOPIN(%q): error contains the input", tt.in)
		}
	}
}

func TestSOPINHexAndChars(t *testing.T) {
	p := DefaultSOPIN
	if got := p.Hex(); got != "3537363231383830" {
		t.Errorf("Hex() = %q", got)
	}
	if got, ok := p.Chars(); !ok || got != "57621880" {
		t.Errorf("Chars() = %q, %v", got, ok)
	}

	binary := SOPIN{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}
	if got := binary.Hex(); got != "0123456789ABCDEF" {
		t.Errorf("Hex() = %q", got)
	}
	if got, ok := binary.Chars(); ok || got != "" {
		t.Errorf("Chars() of binary SO-PIN = %q, %v; want \"\", false", got, ok)
	}
	if _, ok := (SOPIN{'a', 'b', 'c', 'd', 'e', 'f', 'g', 0x7F}).Chars(); ok {
		t.Errorf("Chars() accepts DEL")
	}
	if _, ok := (SOPIN{' ', '~', ' ', '~', ' ', '~', ' ', '~'}).Chars(); !ok {
		t.Errorf("Chars() rejects space and tilde")
	}

	// Hex output parses back to the same bytes.
	again, err := ParseSOPIN(binary.Hex())
	if err != nil || again != binary {
		t.Errorf("ParseSOPIN(Hex()) = % X, %v", again[:], err)
	}
}

func TestSOPINNeverPrinted(t *testing.T) {
	p, err := ParseSOPIN("Zq9#Lk2!")
	if err != nil {
		t.Fatal(err)
	}
	hexText := strings.ToLower(p.Hex())
	type holder struct {
		SOPIN   SOPIN
		Pointer *SOPIN
	}
	for name, v := range map[string]any{
		"value":   p,
		"pointer": &p,
		"struct":  holder{SOPIN: p, Pointer: &p},
	} {
		t.Run(name, func(t *testing.T) {
			assertNoLeak(t, v, "Zq9#Lk2!", hexText, strings.ToUpper(hexText), "90 113") // 'Z' 'q' as %d
		})
	}
	if got := fmt.Sprintf("%#v", p); got != "schsm.SOPIN("+Redacted+")" {
		t.Errorf("%%#v = %q", got)
	}
}

func TestSOPINUnmarshalText(t *testing.T) {
	var v struct{ SOPIN *SOPIN }
	if err := json.Unmarshal([]byte(`{"SOPIN":"3537363231383830"}`), &v); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if v.SOPIN == nil || *v.SOPIN != DefaultSOPIN {
		t.Fatalf("SOPIN not decoded")
	}

	err := json.Unmarshal([]byte(`{"SOPIN":"123"}`), &v)
	if !errors.Is(err, ErrInvalidSOPIN) {
		t.Errorf("err = %v, want ErrInvalidSOPIN", err)
	}
	err = json.Unmarshal([]byte(`{"SOPIN":"`+Redacted+`"}`), &v)
	if !errors.Is(err, ErrRedactedSecret) {
		t.Errorf("err = %v, want ErrRedactedSecret", err)
	}
}

func FuzzParseSOPIN(f *testing.F) {
	for _, s := range []string{"3537363231383830", "57621880", "", "1234567", "353736323138383G", "pässwö"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseSOPIN(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidSOPIN) {
				t.Fatalf("error does not wrap ErrInvalidSOPIN: %v", err)
			}
			if len(s) >= 4 && strings.Contains(err.Error(), s) {
				t.Fatalf("error contains the input")
			}
			return
		}
		switch len(s) {
		case 16:
			if !strings.EqualFold(p.Hex(), s) {
				t.Fatalf("Hex() = %q for input %q", p.Hex(), s)
			}
		case 8:
			if chars, ok := p.Chars(); !ok || chars != s {
				t.Fatalf("Chars() = %q, %v for input %q", chars, ok, s)
			}
		default:
			t.Fatalf("accepted input of %d bytes", len(s))
		}
	})
}
