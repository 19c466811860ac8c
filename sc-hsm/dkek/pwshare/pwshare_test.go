package pwshare

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testPrime returns a new random 64-bit safe prime.
func testPrime(t testing.TB) *big.Int {
	t.Helper()
	p, err := NewPrime(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seeded returns a deterministic random source for reproducible splits.
func seeded(seed uint64) *mathrand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	return mathrand.NewChaCha8(s)
}

func TestNewPrimeIsSafe64BitPrime(t *testing.T) {
	p := testPrime(t)
	if p.BitLen() != PrimeBits {
		t.Errorf("prime has %d bits, want %d", p.BitLen(), PrimeBits)
	}
	if !p.ProbablyPrime(20) {
		t.Errorf("p is not prime")
	}
	q := new(big.Int).Rsh(p, 1)
	if !q.ProbablyPrime(20) {
		t.Errorf("(p-1)/2 is not prime, so p is not a safe prime")
	}
}

func TestNewPasswordFirstByte(t *testing.T) {
	// A source whose first two draws have a zero first byte after masking.
	stream := append([]byte{0x80, 1, 2, 3, 4, 5, 6, 7, 0x00, 1, 2, 3, 4, 5, 6, 7}, []byte{0xC1, 9, 9, 9, 9, 9, 9, 9}...)
	password, err := NewPassword(bytes.NewReader(stream))
	if err != nil {
		t.Fatalf("NewPassword: %v", err)
	}
	if password[0] != 0x41 {
		t.Errorf("first byte = %#x, want 0x41 (the third draw with the top bit cleared)", password[0])
	}
	for range 1000 {
		password, err := NewPassword(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if password[0] == 0 || password[0]&0x80 != 0 {
			t.Fatalf("first byte %#x outside 0x01..0x7F", password[0])
		}
	}
	if _, err := NewPassword(bytes.NewReader([]byte{1, 2})); err == nil {
		t.Errorf("NewPassword with a short random source succeeded")
	}
}

func TestSplitReconstruct(t *testing.T) {
	prime := testPrime(t)
	password := [8]byte{0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0}
	tests := []struct {
		threshold, total int
		use              []int // 1-based share IDs given to Reconstruct
	}{
		{2, 3, []int{1, 2}},
		{2, 3, []int{3, 1}},
		{2, 3, []int{1, 2, 3}},
		{3, 3, []int{1, 2, 3}},
		{3, 5, []int{5, 2, 4}},
		{5, 5, []int{5, 4, 3, 2, 1}},
		{3, 12, []int{10, 11, 12}},
		{2, 255, []int{200, 255}},
	}
	for _, tt := range tests {
		shares, err := Split(seeded(uint64(tt.total)), password, prime, tt.threshold, tt.total)
		if err != nil {
			t.Fatalf("Split(%d of %d): %v", tt.threshold, tt.total, err)
		}
		if len(shares) != tt.total {
			t.Fatalf("Split returned %d shares, want %d", len(shares), tt.total)
		}
		var subset []Share
		for _, id := range tt.use {
			subset = append(subset, shares[id-1])
		}
		got, err := Password(subset, tt.threshold)
		if err != nil {
			t.Errorf("%d of %d, IDs %v: %v", tt.threshold, tt.total, tt.use, err)
			continue
		}
		if got != password {
			t.Errorf("%d of %d, IDs %v: password %x, want %x", tt.threshold, tt.total, tt.use, got, password)
		}
	}
}

func TestSplitBelowThresholdGivesWrongPassword(t *testing.T) {
	prime := testPrime(t)
	password := [8]byte{0x7F, 1, 2, 3, 4, 5, 6, 7}
	shares, err := Split(rand.Reader, password, prime, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Password(shares[:2], 0)
	if err != nil {
		t.Fatalf("Password with unknown threshold: %v", err)
	}
	if got == password {
		t.Errorf("two shares of a 3-of-4 split gave the password")
	}
}

func TestPasswordWithLeadingZeroByte(t *testing.T) {
	prime := testPrime(t)
	password := [8]byte{0x00, 0x00, 0x9A, 0xBC, 0xDE, 0xF0, 0x11, 0x22}
	shares, err := Split(rand.Reader, password, prime, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Password(shares[1:], 2)
	if err != nil {
		t.Fatal(err)
	}
	if got != password {
		t.Errorf("Password = %x, want %x with its zero bytes", got, password)
	}
	if minimal := MinimalPassword(got); !bytes.Equal(minimal, password[2:]) {
		t.Errorf("MinimalPassword = %x, want %x as sc-hsm-tool uses it", minimal, password[2:])
	}
	full := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	if minimal := MinimalPassword(full); !bytes.Equal(minimal, full[:]) {
		t.Errorf("MinimalPassword of a full password = %x", minimal)
	}
	if minimal := MinimalPassword([8]byte{}); !bytes.Equal(minimal, []byte{0}) {
		t.Errorf("MinimalPassword of zero = %x, want one zero byte", minimal)
	}
}

func TestSplitLimits(t *testing.T) {
	prime := testPrime(t)
	password := [8]byte{1}
	for _, tt := range []struct{ threshold, total int }{{1, 3}, {4, 3}, {2, 256}, {0, 0}} {
		if _, err := Split(rand.Reader, password, prime, tt.threshold, tt.total); err == nil {
			t.Errorf("Split(%d of %d) succeeded", tt.threshold, tt.total)
		}
	}
	if _, err := Split(rand.Reader, password, big.NewInt(15), 2, 3); !errors.Is(err, ErrInvalidShare) {
		t.Errorf("Split with a composite modulus: err = %v, want ErrInvalidShare", err)
	}
	if _, err := Split(rand.Reader, [8]byte{0xFF}, big.NewInt(65537), 2, 3); !errors.Is(err, ErrInvalidShare) {
		t.Errorf("Split with a prime below the password: err = %v, want ErrInvalidShare", err)
	}
}

func TestReconstructRejects(t *testing.T) {
	prime := testPrime(t)
	shares, err := Split(rand.Reader, [8]byte{0x55, 1}, prime, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	otherPrime := testPrime(t)
	for otherPrime.Cmp(prime) == 0 {
		otherPrime = testPrime(t)
	}
	tooBig := shares[1]
	tooBig.Value = new(big.Int).Add(prime, big.NewInt(1))
	zeroID := shares[1]
	zeroID.ID = 0
	foreign := shares[1]
	foreign.Prime = otherPrime
	foreign.Value = big.NewInt(1)

	tests := []struct {
		name   string
		shares []Share
		thresh int
		want   error
	}{
		{"one share", shares[:1], 0, ErrTooFewShares},
		{"below threshold", shares[:2], 3, ErrTooFewShares},
		{"duplicate ID", []Share{shares[0], shares[0]}, 2, ErrDuplicateID},
		{"value not below prime", []Share{shares[0], tooBig}, 2, ErrInvalidShare},
		{"ID zero", []Share{shares[0], zeroID}, 2, ErrInvalidShare},
		{"different primes", []Share{shares[0], foreign}, 2, ErrPrimeMismatch},
		{"no prime", []Share{shares[0], {ID: 2, Value: big.NewInt(1)}}, 2, ErrInvalidShare},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Password(tt.shares, tt.thresh)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewSplit(t *testing.T) {
	password, shares, err := NewSplit(3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if password[0] == 0 || password[0] > 0x7F {
		t.Errorf("first password byte %#x outside 0x01..0x7F", password[0])
	}
	got, err := Password([]Share{shares[4], shares[0], shares[2]}, 3)
	if err != nil || got != password {
		t.Errorf("Password = %x, %v; want the split password", got, err)
	}
}

// exampleScreen returns sc-hsm-tool's screen text for the 2-of-3 split
// y = s + a1*x mod p, with the shares of the given IDs.
func exampleScreen(p, s, a1 *big.Int, ids ...int) string {
	var b strings.Builder
	b.WriteString("\nThe DKEK will be enciphered using a randomly generated 64 bit password.\n")
	b.WriteString("This password is split using a (2-of-3) threshold scheme.\n\n")
	for i, id := range ids {
		y := new(big.Int).Mul(a1, big.NewInt(int64(id)))
		y.Add(y, s)
		y.Mod(y, p)
		b.WriteString("Press <enter> to display key share 1 of 3\n\n")
		b.WriteString("Share " + string(rune('1'+i)) + " of 3\n\n\n")
		b.WriteString(Format(Share{Prime: p, ID: id, Value: y}))
		b.WriteString("\n\nPlease note ALL values above and press <enter> when finished\n")
	}
	return b.String()
}

func TestFormatLayout(t *testing.T) {
	s := Share{Prime: new(big.Int).SetUint64(0xd3e7a6c1f08b2957), ID: 12, Value: new(big.Int).SetUint64(0x00ab0c)}
	want := "Prime       : d3:e7:a6:c1:f0:8b:29:57\n" +
		"Share ID    : 12\n" +
		"Share value : ab:0c\n"
	if got := Format(s); got != want {
		t.Errorf("Format =\n%s\nwant\n%s", got, want)
	}
	zero := Share{Prime: big.NewInt(7), ID: 1, Value: new(big.Int)}
	if got := Format(zero); !strings.HasSuffix(got, "Share value : \n") {
		t.Errorf("Format of a zero value = %q, want an empty value as sc-hsm-tool prints it", got)
	}
}

func TestParseScreenAndReconstruct(t *testing.T) {
	p := testPrime(t)
	s := new(big.Int).SetUint64(0x1122334455667788)
	a1 := new(big.Int).SetUint64(0x0102030405060708)
	screen := exampleScreen(p, s, a1, 10, 11, 3)

	shares, err := Parse(strings.NewReader(screen))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(shares) != 3 {
		t.Fatalf("Parse returned %d shares, want 3", len(shares))
	}
	if shares[0].ID != 10 || shares[1].ID != 11 || shares[2].ID != 3 {
		t.Errorf("IDs = %d, %d, %d; want 10, 11, 3 read as decimal", shares[0].ID, shares[1].ID, shares[2].ID)
	}
	got, err := Password(shares[:2], 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := [8]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}; got != want {
		t.Errorf("Password = %x, want %x", got, want)
	}
}

func TestParseVariants(t *testing.T) {
	tests := []struct {
		name, text string
		id         int
		prime      uint64
		value      uint64
	}{
		{"format output", "Prime       : 00:ff:f1\nShare ID    : 2\nShare value : 0a:01\n", 2, 0xfff1, 0x0a01},
		{"upper case, no separators", "PRIME: FFF1\nSHARE ID: 2\nSHARE VALUE: A01\n", 2, 0xfff1, 0x0a01},
		{"spaces as separators", "prime : ff f1\nshare id : 7\nshare value : 0a 01\n", 7, 0xfff1, 0x0a01},
		{"CRLF and tabs", "Prime\t: ff:f1\r\nShare  ID : 3\r\nShare value :\t0a:01\r\n", 3, 0xfff1, 0x0a01},
		{"prime after the share", "Share ID : 4\nShare value : 01\nPrime : fff1\n", 4, 0xfff1, 1},
		{"empty value is zero", "Prime : fff1\nShare ID : 5\nShare value :\n", 5, 0xfff1, 0},
		{"single digit groups", "Prime : ff:f1\nShare ID : 6\nShare value : a:1\n", 6, 0xfff1, 0x0a01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shares, err := Parse(strings.NewReader(tt.text))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(shares) != 1 {
				t.Fatalf("got %d shares, want 1", len(shares))
			}
			got := shares[0]
			if got.ID != tt.id || got.Prime.Uint64() != tt.prime || got.Value.Uint64() != tt.value {
				t.Errorf("share = ID %d, prime %x, value %x; want ID %d, prime %x, value %x",
					got.ID, got.Prime, got.Value, tt.id, tt.prime, tt.value)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const prime = "Prime : ff:f1\n"
	tests := []struct {
		name, text string
		want       error
		wantText   string
	}{
		{"bad hex in value", prime + "Share ID : 1\nShare value : zz:01\n", ErrMalformed, "line 3"},
		{"long hex group", prime + "Share ID : 1\nShare value : 0a1:01\n", ErrMalformed, "line 3"},
		{"hex share ID", prime + "Share ID : A\nShare value : 01\n", ErrMalformed, "line 2"},
		{"share ID zero", prime + "Share ID : 0\nShare value : 01\n", ErrMalformed, "line 2"},
		{"share ID 256", prime + "Share ID : 256\nShare value : 01\n", ErrMalformed, "line 2"},
		{"value without ID", prime + "Share value : 01\n", ErrMalformed, "line 2"},
		{"ID without value", prime + "Share ID : 1\nShare ID : 2\nShare value : 01\n", ErrMalformed, "line 2"},
		{"ID at the end", prime + "Share ID : 1\n", ErrMalformed, "line 2"},
		{"no shares", prime, ErrMalformed, "no \"Share ID\""},
		{"no prime", "Share ID : 1\nShare value : 01\n", ErrMalformed, "no \"Prime\""},
		{"empty prime", "Prime :\nShare ID : 1\nShare value : 01\n", ErrMalformed, "line 1"},
		{"two primes", prime + "Share ID : 1\nShare value : 01\nPrime : ff:ef\n", ErrPrimeMismatch, "line 4"},
		{"value not below prime", prime + "Share ID : 1\nShare value : ff:fc\n", ErrInvalidShare, "line 3"},
		{"composite prime", "Prime : ff:fd\nShare ID : 1\nShare value : 01\n", ErrInvalidShare, "line 3"},
		{"too large", strings.Repeat("x", maxPrintoutSize+1), ErrMalformed, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.text))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), "zz:01") || strings.Contains(err.Error(), "ff:fc") {
				t.Errorf("error %q contains a share value", err)
			}
		})
	}
}

func TestWriteAndReadShareFile(t *testing.T) {
	dir := t.TempDir()
	prime := testPrime(t)
	password := [8]byte{0x01, 2, 3, 4, 5, 6, 7, 8}
	shares, err := Split(rand.Reader, password, prime, 2, 11)
	if err != nil {
		t.Fatal(err)
	}
	var read []Share
	for _, s := range shares[9:] { // IDs 10 and 11
		path := filepath.Join(dir, fmt.Sprintf("custodian-%d.share", s.ID))
		if err := WriteShareFile(path, s); err != nil {
			t.Fatalf("WriteShareFile: %v", err)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode().Perm(); mode != 0o600 {
			t.Errorf("mode = %o, want 600", mode)
		}
		text, _ := os.ReadFile(path)
		if string(text) != Format(s) {
			t.Errorf("file contents differ from Format")
		}
		if err := WriteShareFile(path, s); !errors.Is(err, fs.ErrExist) {
			t.Errorf("second WriteShareFile: err = %v, want fs.ErrExist", err)
		}
		got, err := ReadShareFile(path)
		if err != nil {
			t.Fatalf("ReadShareFile: %v", err)
		}
		read = append(read, got...)
	}
	got, err := Password(read, 2)
	if err != nil || got != password {
		t.Errorf("Password from files = %x, %v; want %x", got, err, password)
	}

	if _, err := ReadShareFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
	if err := WriteShareFile(filepath.Join(dir, "bad"), Share{ID: 1}); !errors.Is(err, ErrInvalidShare) {
		t.Errorf("WriteShareFile of an invalid share: err = %v, want ErrInvalidShare", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("Prime       : d3:e7:a6:c1:f0:8b:29:57\nShare ID    : 12\nShare value : ab:0c\n")
	f.Add("PRIME: FFF1\nSHARE ID: 2\nSHARE VALUE: A01\n")
	f.Add("Share ID : 4\nShare value : 01\nPrime : fff1\n")
	f.Add("Prime : ff:f1\nShare ID : 1\nShare ID : 2\n")
	f.Add("Share 1 of 3\n\n\nPrime : :\nShare value : ::\n")

	f.Fuzz(func(t *testing.T, text string) {
		shares, err := Parse(strings.NewReader(text))
		if err != nil {
			if len(shares) != 0 {
				t.Fatalf("shares returned with error %v", err)
			}
			return
		}
		for _, s := range shares {
			if err := s.check(); err != nil {
				t.Fatalf("Parse returned an invalid share: %v", err)
			}
			again, err := Parse(strings.NewReader(Format(s)))
			if err != nil {
				t.Fatalf("Parse(Format(share)): %v", err)
			}
			if len(again) != 1 || again[0].ID != s.ID || again[0].Prime.Cmp(s.Prime) != 0 || again[0].Value.Cmp(s.Value) != 0 {
				t.Fatalf("Format and Parse do not round-trip")
			}
		}
	})
}

func TestParseZeroPrimeNamesProblem(t *testing.T) {
	_, err := Parse(strings.NewReader("Prime       : 00\n"))
	if err == nil {
		t.Fatal("Parse accepted a zero prime")
	}
	if !strings.Contains(err.Error(), "the prime is zero") || strings.Contains(err.Error(), "<nil>") {
		t.Errorf("err = %q, want it to say the prime is zero", err)
	}
}
