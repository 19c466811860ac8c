package schsm

import (
	"bytes"
	"testing"
)

func TestTokenInfoEncodeGolden(t *testing.T) {
	tests := []struct {
		name string
		ti   TokenInfo
		want string
	}{
		{
			// The bytes sc-hsm-tool --initialize --label "Test HSM" of
			// OpenSC 0.23.0 wrote to EF.TokenInfo of the virtual card.
			name: "sc-hsm-tool label",
			ti:   LabelTokenInfo("Test HSM"),
			want: "3011 020100 8008 546573742048534D 03020520",
		},
		{
			// The layout of the TokenInfo a Pico HSM generates: serial
			// number, manufacturer, label "Pico-HSM", prnGeneration and
			// eidCompliant. The Pico writes its own version in place of 0.
			name: "Pico layout",
			ti: TokenInfo{
				SerialNumber:   mustHex(t, "0102030405060708"),
				ManufacturerID: "Pol Henarejos",
				Label:          "Pico-HSM",
				Flags:          TokenPRNGeneration | TokenEIDCompliant,
			},
			want: "302A 020100 04080102030405060708 0C0D506F6C2048656E6172656A6F73 80085069636F2D48534D 03020430",
		},
		{
			name: "no label, no flags",
			ti:   TokenInfo{},
			want: "3006 020100 030100",
		},
		{
			name: "readonly",
			ti:   TokenInfo{Label: "A", Flags: TokenReadOnly},
			want: "300A 020100 800141 03020780",
		},
		{
			name: "UTF-8 label",
			ti:   LabelTokenInfo("Schlüssel"),
			want: "3013 020100 800A 5363686CC3BC7373656C 03020520",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.ti.Encode()
			if want := mustHex(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("Encode = %X, want %X", got, want)
			}
		})
	}
}

// decodedTokenInfo is a TokenInfo read back with the package's BER-TLV
// parser, plus the version, which Encode fixes to 0.
type decodedTokenInfo struct {
	version int
	ti      TokenInfo
}

// decodeTokenInfo parses the DER that Encode writes. It accepts only the
// fields Encode writes, in their ASN.1 order.
func decodeTokenInfo(t *testing.T, der []byte) decodedTokenInfo {
	t.Helper()
	seq, rest, err := parseBERTLV(der)
	if err != nil || seq.Tag != tagSequence || len(rest) != 0 {
		t.Fatalf("TokenInfo %X: not one SEQUENCE (err %v)", der, err)
	}
	fields, err := parseBERTLVs(seq.Value)
	if err != nil {
		t.Fatalf("TokenInfo %X: %v", der, err)
	}

	var out decodedTokenInfo
	order := []uint32{tagInteger, tagOctetString, tagUTF8String, tagTokenLabel, tagBitString}
	pos := 0
	for _, f := range fields {
		for pos < len(order) && order[pos] != f.Tag {
			pos++
		}
		if pos == len(order) {
			t.Fatalf("TokenInfo %X: tag %X is unknown or out of order", der, f.Tag)
		}
		switch f.Tag {
		case tagInteger:
			if len(f.Value) != 1 {
				t.Fatalf("version %X: want one byte", f.Value)
			}
			out.version = int(f.Value[0])
		case tagOctetString:
			out.ti.SerialNumber = f.Value
		case tagUTF8String:
			out.ti.ManufacturerID = string(f.Value)
		case tagTokenLabel:
			out.ti.Label = string(f.Value)
		case tagBitString:
			out.ti.Flags = decodeNamedBits(t, f.Value)
		}
		pos++
	}
	return out
}

func decodeNamedBits(t *testing.T, v []byte) TokenFlags {
	t.Helper()
	if len(v) == 1 && v[0] == 0 {
		return 0
	}
	if len(v) != 2 || v[0] > 7 {
		t.Fatalf("tokenflags %X: want an unused-bit count and one byte", v)
	}
	if mask := byte(1)<<v[0] - 1; v[1]&mask != 0 {
		t.Fatalf("tokenflags %X: unused bits are set", v)
	}
	if v[1]&(1<<v[0]) == 0 {
		t.Fatalf("tokenflags %X: a trailing zero bit is counted as used, which DER forbids", v)
	}
	var flags TokenFlags
	for i := 0; i < 8; i++ {
		if v[1]&(0x80>>i) != 0 {
			flags |= 1 << i
		}
	}
	return flags
}

func TestTokenInfoRoundTrip(t *testing.T) {
	long := bytes.Repeat([]byte("L"), MaxLabelLength)
	tests := []TokenInfo{
		LabelTokenInfo("Test HSM"),
		LabelTokenInfo(string(long)),
		{Flags: TokenLoginRequired},
		{Label: "x", Flags: TokenReadOnly | TokenLoginRequired | TokenPRNGeneration | TokenEIDCompliant},
		{SerialNumber: bytes.Repeat([]byte{0xDE}, 130), ManufacturerID: "www.CardContact.de", Label: "SmartCard-HSM"},
	}
	for _, ti := range tests {
		got := decodeTokenInfo(t, ti.Encode())
		if got.version != 0 {
			t.Errorf("%+v: version %d, want 0", ti, got.version)
		}
		if !bytes.Equal(got.ti.SerialNumber, ti.SerialNumber) {
			t.Errorf("%+v: serial number %X", ti, got.ti.SerialNumber)
		}
		if got.ti.ManufacturerID != ti.ManufacturerID {
			t.Errorf("%+v: manufacturer %q", ti, got.ti.ManufacturerID)
		}
		if got.ti.Label != ti.Label {
			t.Errorf("%+v: label %q", ti, got.ti.Label)
		}
		if got.ti.Flags != ti.Flags {
			t.Errorf("%+v: flags %04b", ti, got.ti.Flags)
		}
	}
}

func TestWriteTokenInfo(t *testing.T) {
	s := newScript(t, exchange{"00D72F03 19 54020000 5313 3011020100800854657374204853 4D03020520", "9000"})
	if err := NewCard(s).WriteTokenInfo(LabelTokenInfo("Test HSM")); err != nil {
		t.Fatalf("WriteTokenInfo: %v", err)
	}
	s.done()
}
