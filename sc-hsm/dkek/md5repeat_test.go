package dkek

import (
	"crypto/md5"
	"encoding/hex"
	"testing"
)

// sumRepeat is the plain reference for md5Repeat: n calls of md5.Sum.
func sumRepeat(digest [16]byte, n int) [16]byte {
	for range n {
		digest = md5.Sum(digest[:])
	}
	return digest
}

func TestMD5RepeatVectors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		n     int
		want  string
	}{
		// MD5 of 16 zero bytes, as `head -c 16 /dev/zero | md5sum` prints it.
		{"zeros once", "00000000000000000000000000000000", 1, "4ae71336e44bf9bf79d2752e234818a5"},
		// MD5 of the 16 bytes 00..0F, as Python's hashlib.md5 prints it.
		{"counting once", "000102030405060708090a0b0c0d0e0f", 1, "1ac1ef01e96caf1be0d329331a4fc2a8"},
		{"zero iterations", "000102030405060708090a0b0c0d0e0f", 0, "000102030405060708090a0b0c0d0e0f"},
		{"negative iterations", "000102030405060708090a0b0c0d0e0f", -3, "000102030405060708090a0b0c0d0e0f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in [16]byte
			copy(in[:], mustHex(t, tt.input))
			got := md5Repeat(wordsFromDigest(in), tt.n).digest()
			if hex.EncodeToString(got[:]) != tt.want {
				t.Errorf("md5Repeat = %x, want %s", got, tt.want)
			}
		})
	}
}

func TestMD5RepeatMatchesCryptoMD5(t *testing.T) {
	inputs := [][16]byte{
		{},
		{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
		{0x80},
		{15: 0x01},
		{0x67, 0x45, 0x23, 0x01, 0xef, 0xcd, 0xab, 0x89, 0x98, 0xba, 0xdc, 0xfe, 0x10, 0x32, 0x54, 0x76},
	}
	for _, in := range inputs {
		for _, n := range []int{1, 2, 3, 64, 1000} {
			got := md5Repeat(wordsFromDigest(in), n).digest()
			if want := sumRepeat(in, n); got != want {
				t.Errorf("input %x, %d iterations: md5Repeat = %x, md5.Sum = %x", in, n, got, want)
			}
		}
	}
}

func TestMD5WordsRoundTrip(t *testing.T) {
	in := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	if got := wordsFromDigest(in).digest(); got != in {
		t.Errorf("digest(wordsFromDigest(%x)) = %x", in, got)
	}
	if w := wordsFromDigest(in); w[0] != 0x04030201 {
		t.Errorf("first word = %#x, want little-endian 0x04030201", w[0])
	}
}

func FuzzMD5Repeat(f *testing.F) {
	f.Add(make([]byte, 16), uint8(1))
	f.Add([]byte("0123456789abcdef"), uint8(200))
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80}, uint8(7))

	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		var in [16]byte
		copy(in[:], data)
		got := md5Repeat(wordsFromDigest(in), int(n)).digest()
		if want := sumRepeat(in, int(n)); got != want {
			t.Fatalf("input %x, %d iterations: md5Repeat = %x, md5.Sum = %x", in, n, got, want)
		}
	})
}
