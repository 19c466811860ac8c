package schsm

import (
	"errors"
	"testing"
	"unicode/utf8"
)

func TestParseCVCHolderReference(t *testing.T) {
	pico := mustHex(t, picoDevAutContent)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"Pico device certificate", pico, picoDeviceCHR},
		{"followed by the issuer certificate", append(append([]byte(nil), pico...), pico...), picoDeviceCHR},
		{"minimal", mustHex(t, "7F21 10 7F4E 0D 5F29 01 00 5F20 06 444554455354"), "DETEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCVCHolderReference(tt.in)
			if err != nil {
				t.Fatalf("parseCVCHolderReference: %v", err)
			}
			if got != tt.want {
				t.Errorf("CHR = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseCVCHolderReferenceErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"not a CVC", "30 03 02 01 00"},
		{"no body", "7F21 04 5F37 01 00"},
		{"no CHR", "7F21 07 7F4E 04 5F29 01 00"},
		{"empty CHR", "7F21 06 7F4E 03 5F20 00"},
		{"control characters", "7F21 08 7F4E 05 5F20 02 4100"},
		{"cut off", "7F21 82 01 B6 7F4E"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseCVCHolderReference(mustHex(t, tt.in))
			if !errors.Is(err, ErrMalformedCVC) {
				t.Errorf("error = %v, want ErrMalformedCVC", err)
			}
		})
	}
}

func TestSerialFromCHR(t *testing.T) {
	tests := []struct{ chr, want string }{
		{"ESPICOHSMTR00001", "ESPICOHSMTR"},
		{"DENK010546100001", "DENK0105461"},
		{"ABCDEF", "A"},
		{"ABCDE", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := SerialFromCHR(tt.chr); got != tt.want {
			t.Errorf("SerialFromCHR(%q) = %q, want %q", tt.chr, got, tt.want)
		}
	}
}

func FuzzParseCVCHolderReference(f *testing.F) {
	f.Add(mustHex(f, picoDevAutContent))
	f.Add(mustHex(f, "7F21 10 7F4E 0D 5F29 01 00 5F20 06 444554455354"))
	f.Add(mustHex(f, "7F21 82 01 B6 7F4E"))
	f.Fuzz(func(t *testing.T, b []byte) {
		chr, err := parseCVCHolderReference(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedCVC) {
				t.Fatalf("error %v does not wrap ErrMalformedCVC", err)
			}
			return
		}
		if chr == "" || !utf8.ValidString(chr) {
			t.Fatalf("CHR %q is empty or not text", chr)
		}
	})
}
