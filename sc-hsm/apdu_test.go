package schsm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestCommandEncodeCases(t *testing.T) {
	long := bytes.Repeat([]byte{0xA5}, 300)
	tests := []struct {
		name     string
		cmd      Command
		wantCase int
		want     string
	}{
		{"case 1 PIN query", Command{CLA: 0x00, INS: 0x20, P1: 0x00, P2: 0x81}, 1, "00200081"},
		{"case 2 short", Command{CLA: 0x80, INS: 0x52, Ne: 256}, 2, "8052000000"},
		{"case 2 short Le 8", Command{INS: 0x84, Ne: 8}, 2, "0084000008"},
		{"case 3 short", Command{INS: 0x20, P2: 0x81, Data: []byte("648219")}, 3, "0020008106363438323139"},
		{"case 4 short", Command{CLA: 0x80, INS: 0x52, Data: make([]byte, 2), Ne: 256}, 4, "80520000020000" + "00"},
		{"case 2 extended Le 65536", Command{CLA: 0x80, INS: 0x58, Ne: 65536}, 2, "80580000000000"},
		{"case 2 extended Le 1024", Command{INS: 0xB1, Ne: 1024}, 2, "00B10000000400"},
		{"case 3 extended", Command{INS: 0xD7, Data: long}, 3, "00D70000" + "00012C" + strings.Repeat("A5", 300)},
		{"case 4 extended", Command{INS: 0xD7, Data: long, Ne: 65536}, 4, "00D70000" + "00012C" + strings.Repeat("A5", 300) + "0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cmd.Case(); got != tt.wantCase {
				t.Errorf("Case() = %d, want %d", got, tt.wantCase)
			}
			got, err := tt.cmd.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(got, unhex(t, tt.want)) {
				t.Errorf("Encode = %X, want %s", got, tt.want)
			}

			back, err := ParseCommand(got)
			if err != nil {
				t.Fatalf("ParseCommand of own encoding: %v", err)
			}
			if back.CLA != tt.cmd.CLA || back.INS != tt.cmd.INS || back.Ne != tt.cmd.Ne || !bytes.Equal(back.Data, tt.cmd.Data) {
				t.Errorf("round trip = %+v, want %+v", back, tt.cmd)
			}
		})
	}
}

func TestCommandEncodeExtendedForcesLongForm(t *testing.T) {
	got, err := Command{CLA: 0x80, INS: 0x58, Ne: 65536}.EncodeExtended()
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "80580000000000"); !bytes.Equal(got, want) {
		t.Errorf("EncodeExtended = %X, want %X", got, want)
	}
	got, err = Command{INS: 0xB1, Data: []byte{0x54, 0x02, 0x00, 0x00}, Ne: 1024}.EncodeExtended()
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "00B10000000004540200000400"); !bytes.Equal(got, want) {
		t.Errorf("EncodeExtended = %X, want %X", got, want)
	}
	got, err = Command{INS: 0x20, P2: 0x81}.EncodeExtended()
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "00200081"); !bytes.Equal(got, want) {
		t.Errorf("EncodeExtended of case 1 = %X, want %X", got, want)
	}
}

func TestCommandEncodeRejectsOversize(t *testing.T) {
	if _, err := (Command{Data: make([]byte, 65536)}).Encode(); !errors.Is(err, ErrMalformedAPDU) {
		t.Errorf("65536 data bytes: err = %v, want ErrMalformedAPDU", err)
	}
	if _, err := (Command{Ne: 65537}).Encode(); !errors.Is(err, ErrMalformedAPDU) {
		t.Errorf("Ne 65537: err = %v, want ErrMalformedAPDU", err)
	}
}

func TestParseCommandRejectsMalformed(t *testing.T) {
	tests := []struct {
		name string
		apdu string
	}{
		{"too short", "002000"},
		{"short Lc longer than data", "0020008106313233"},
		{"short Lc shorter than data", "002000810231323334"},
		{"two body bytes starting with 00", "000000000005"},
		{"extended Lc zero", "00D70000000000AA"},
		{"extended Lc disagrees", "00D7000000000331"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseCommand(unhex(t, tt.apdu)); !errors.Is(err, ErrMalformedAPDU) {
				t.Errorf("ParseCommand(%s) err = %v, want ErrMalformedAPDU", tt.apdu, err)
			}
		})
	}
}

func TestParseResponse(t *testing.T) {
	r, err := ParseResponse(unhex(t, "01020304 9000"))
	if err != nil {
		t.Fatal(err)
	}
	if r.SW != SWOK || !bytes.Equal(r.Data, []byte{1, 2, 3, 4}) {
		t.Errorf("ParseResponse = %+v", r)
	}
	if !bytes.Equal(r.Bytes(), unhex(t, "010203049000")) {
		t.Errorf("Bytes = %X", r.Bytes())
	}
	if _, err := ParseResponse([]byte{0x90}); !errors.Is(err, ErrMalformedAPDU) {
		t.Errorf("one byte: err = %v, want ErrMalformedAPDU", err)
	}
}

func TestCommandStringHidesData(t *testing.T) {
	s := Command{INS: 0x20, P2: 0x81, Data: []byte("648219")}.String()
	if strings.Contains(s, "36") || strings.Contains(s, "648219") {
		t.Errorf("String() = %q shows the data field", s)
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, seed := range []string{"00200081", "0020008106363438323139", "80580000000000", "00B10000000004540200000400", "000000000005", "303030303030003030"} {
		f.Add(unhex(f, seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			return
		}
		// Whatever parses must encode back to an APDU that parses the same.
		enc, err := c.Encode()
		if err != nil {
			t.Fatalf("Encode of parsed %X: %v", b, err)
		}
		again, err := ParseCommand(enc)
		if err != nil {
			t.Fatalf("ParseCommand of re-encoded %X: %v", enc, err)
		}
		if again.Ne != c.Ne || !bytes.Equal(again.Data, c.Data) {
			t.Fatalf("re-encoding changed the command: %+v vs %+v", again, c)
		}
	})
}
