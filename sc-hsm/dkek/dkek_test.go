package dkek

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fastIterations keeps the tests quick. Only TestDecryptRealVector and the
// benchmark use Iterations.
const fastIterations = 1000

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

func fill(b byte) [32]byte {
	var a [32]byte
	for i := range a {
		a[i] = b
	}
	return a
}

// referenceDeriveKey is a direct transcription of EVP_BytesToKey with MD5,
// written for clarity instead of speed, to cross-check DeriveKey.
func referenceDeriveKey(password, salt []byte, count int) []byte {
	var out, prev []byte
	for len(out) < 48 {
		h := md5.New()
		h.Write(prev)
		h.Write(password)
		h.Write(salt)
		d := h.Sum(nil)
		for i := 1; i < count; i++ {
			s := md5.Sum(d)
			d = s[:]
		}
		out = append(out, d...)
		prev = d
	}
	return out[:48]
}

func TestDeriveKeyOpenSSLVectors(t *testing.T) {
	// Produced by OpenSSL 3.0.19 with
	// `openssl enc -aes-256-cbc -P -md md5 -S <salt> -k <password>`,
	// which runs EVP_BytesToKey with a count of 1.
	tests := []struct {
		password, salt, key, iv string
	}{
		{"correct horse", "0102030405060708",
			"BCF8D941D9291141709C9D56360EB7148E3960AB3DC44D832C4028568545C91D", "5A7A1D12207F801D2F6F4CF578E8708C"},
		{"x", "A1B2C3D4E5F60718",
			"31DDB8CDE16F149F1AB94E4E02041E06A93C776B22C74EFF769EF14BF445A16D", "597B383BBB26DF8FCE85D09D45F22A40"},
		// `-nosalt`: no salt bytes at all.
		{"correct horse", "",
			"3CB4E732631F47E6EB961F34554B7CDE8ACE33BDAC244269F1A356B6733E4CF5", "1F7AE7D9C7ACE0D0538689077F7CEBEB"},
	}
	for _, tt := range tests {
		t.Run(tt.password+"/"+tt.salt, func(t *testing.T) {
			key, iv := DeriveKey([]byte(tt.password), mustHex(t, tt.salt), 1)
			if got := strings.ToUpper(hex.EncodeToString(key[:])); got != tt.key {
				t.Errorf("key = %s, want %s", got, tt.key)
			}
			if got := strings.ToUpper(hex.EncodeToString(iv[:])); got != tt.iv {
				t.Errorf("iv = %s, want %s", got, tt.iv)
			}
		})
	}
}

func TestDeriveKeyMatchesReference(t *testing.T) {
	for _, count := range []int{-5, 0, 1, 2, 3, 17, 1000} {
		for _, pw := range []string{"", "a", "a much longer password than one MD5 block of sixty-four bytes, to be sure"} {
			salt := []byte{9, 8, 7, 6, 5, 4, 3, 2}
			key, iv := DeriveKey([]byte(pw), salt, count)
			got := append(key[:], iv[:]...)
			want := referenceDeriveKey([]byte(pw), salt, max(count, 1))
			if !bytes.Equal(got, want) {
				t.Errorf("count %d, password length %d: got %x, want %x", count, len(pw), got, want)
			}
		}
	}
}

func TestDecryptOpenSSLFile(t *testing.T) {
	// `openssl enc -aes-256-cbc -md md5 -S 0102030405060708 -k 'correct horse'`
	// over the bytes 20..3F (OpenSSL 3 omits the header when -S is given, so
	// it is prepended here). This is a share file with a count of 1.
	file := append([]byte("Salted__"), mustHex(t, "0102030405060708")...)
	file = append(file, mustHex(t, "5b0b3178d5030c01029cac612971563ec553874ace755056e693ce2da10f948b"+
		"c1d3a7d24e13c6162c97265b3aecf398")...)

	share, err := decrypt(file, []byte("correct horse"), 1)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	var want [32]byte
	for i := range want {
		want[i] = byte(0x20 + i)
	}
	if share != want {
		t.Errorf("share = %x, want %x", share, want)
	}

	again, err := encrypt(want, []byte("correct horse"), [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, 1)
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	if !bytes.Equal(again, file) {
		t.Errorf("encrypt = %x, want the OpenSSL file %x", again, file)
	}
}

func TestDecryptRealVector(t *testing.T) {
	if testing.Short() {
		t.Skip("derives a key with 10,000,000 iterations")
	}
	// Key and IV computed with Python's hashlib (EVP_BytesToKey, MD5,
	// 10,000,000 iterations, password "sc-hsm share", salt 1122334455667788),
	// ciphertext of A5 x 32 from `openssl enc -aes-256-cbc -K <key> -iv <iv>`.
	file := append([]byte("Salted__"), mustHex(t, "1122334455667788")...)
	file = append(file, mustHex(t, "dd36cc5f0490ff4780bb99c23384e822346999f17f15a161b30ee75b6c93eb10"+
		"23cfb8944cc954655a368f8097b42d91")...)

	share, err := Decrypt(file, []byte("sc-hsm share"))
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if share != fill(0xA5) {
		t.Errorf("share = %x, want A5 x 32", share)
	}
	if got, want := KCV(share), mustHex(t, "FC8B64001C5FDD0F"); !bytes.Equal(got[:], want) {
		t.Errorf("KCV = %X, want %X", got, want)
	}
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	share := fill(0x3C)
	share[0] = 0x01
	salt := [8]byte{0xDE, 0xAD, 0xBE, 0xEF, 0, 1, 2, 3}

	file, err := encrypt(share, []byte("pass phrase"), salt, fastIterations)
	if err != nil {
		t.Fatalf("encrypt: %v", err)
	}
	if len(file) != FileSize {
		t.Fatalf("file has %d bytes, want %d", len(file), FileSize)
	}
	if !bytes.HasPrefix(file, []byte("Salted__")) {
		t.Errorf("file does not start with Salted__")
	}
	if !bytes.Equal(file[8:16], salt[:]) {
		t.Errorf("salt in file = %x, want %x", file[8:16], salt)
	}
	if bytes.Contains(file, share[:8]) {
		t.Errorf("file contains share bytes in clear")
	}

	got, err := decrypt(file, []byte("pass phrase"), fastIterations)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	if got != share {
		t.Errorf("decrypted share differs from the original")
	}
}

func TestEncryptEmptyPassword(t *testing.T) {
	if _, err := Encrypt(fill(1), nil, [8]byte{}); !errors.Is(err, ErrEmptyPassword) {
		t.Errorf("err = %v, want ErrEmptyPassword", err)
	}
}

func TestDecryptErrors(t *testing.T) {
	good, err := encrypt(fill(7), []byte("right-pw-7"), [8]byte{1}, fastIterations)
	if err != nil {
		t.Fatal(err)
	}
	badMagic := bytes.Clone(good)
	badMagic[0] = 's'
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 0x01

	tests := []struct {
		name     string
		file     []byte
		password string
		want     error
		wantText string
	}{
		{"empty file", nil, "right-pw-7", ErrNotShareFile, "0 bytes"},
		{"too short", good[:63], "right-pw-7", ErrNotShareFile, "63 bytes"},
		{"too long", append(bytes.Clone(good), 0), "right-pw-7", ErrNotShareFile, "65 bytes"},
		{"bad magic", badMagic, "right-pw-7", ErrNotShareFile, "Salted__"},
		{"wrong password", good, "typo-pw-9", ErrWrongPassword, "wrong password or damaged file"},
		{"damaged last block", flipped, "right-pw-7", ErrWrongPassword, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decrypt(tt.file, []byte(tt.password), fastIterations)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), tt.password) {
				t.Errorf("error message contains the password")
			}
		})
	}
}

func TestKCVPicoVectors(t *testing.T) {
	// Key check values the Pico HSM 6.6 firmware returned in DKEK STATUS.
	tests := []struct {
		name   string
		shares [][32]byte
		kcv    string
	}{
		{"one share A5", [][32]byte{fill(0xA5)}, "FC8B64001C5FDD0F"},
		{"A5 xor 5A", [][32]byte{fill(0xA5), fill(0x5A)}, "AF9613760F72635F"},
		// Two equal shares give the all-zero DKEK.
		{"A5 twice", [][32]byte{fill(0xA5), fill(0xA5)}, "66687AADF862BD77"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kcv := KCV(Combine(tt.shares...))
			if got := strings.ToUpper(hex.EncodeToString(kcv[:])); got != tt.kcv {
				t.Errorf("KCV = %s, want %s", got, tt.kcv)
			}
		})
	}
}

func TestCombine(t *testing.T) {
	if got := Combine(); got != ([32]byte{}) {
		t.Errorf("Combine() = %x, want zeros", got)
	}
	if got := Combine(fill(0xA5), fill(0x5A)); got != fill(0xFF) {
		t.Errorf("Combine(A5, 5A) = %x, want FF x 32", got)
	}
	if got := Combine(fill(0x0F), fill(0xF0), fill(0xFF)); got != fill(0x00) {
		t.Errorf("Combine(0F, F0, FF) = %x, want zeros", got)
	}
}

func TestWriteFileAndReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "share1.pbe")
	data, err := encrypt(fill(9), []byte("password"), [8]byte{4}, fastIterations)
	if err != nil {
		t.Fatal(err)
	}

	if err := WriteFile(path, data); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode = %o, want 600", mode)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("ReadFile returned other bytes than written")
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the share file (temporary file left?)", len(entries))
	}
}

func TestWriteFileKeepsExistingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "share.pbe")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, err := encrypt(fill(9), []byte("password"), [8]byte{4}, fastIterations)
	if err != nil {
		t.Fatal(err)
	}

	err = WriteFile(path, data)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want fs.ErrExist", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the path", err)
	}
	old, _ := os.ReadFile(path)
	if string(old) != "old" {
		t.Errorf("existing file was changed")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(entries))
	}
}

func TestWriteFileRejectsNonShareData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "share.pbe")
	if err := WriteFile(path, []byte("not a share")); !errors.Is(err, ErrNotShareFile) {
		t.Errorf("err = %v, want ErrNotShareFile", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file was created: %v", err)
	}
}

func TestWriteFileMissingDirectory(t *testing.T) {
	data, _ := encrypt(fill(9), []byte("password"), [8]byte{4}, 1)
	path := filepath.Join(t.TempDir(), "no-such-dir", "share.pbe")
	if err := WriteFile(path, data); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.pbe")
	if err := os.WriteFile(big, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	noMagic := filepath.Join(dir, "nomagic.pbe")
	if err := os.WriteFile(noMagic, make([]byte, FileSize), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, path, wantText string
		want                 error
	}{
		{"missing", filepath.Join(dir, "missing.pbe"), "no such file", fs.ErrNotExist},
		{"directory", dir, "not a regular file", ErrNotShareFile},
		{"one megabyte", big, "1048576 bytes", ErrNotShareFile},
		{"no magic", noMagic, "Salted__", ErrNotShareFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFile(tt.path)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("err = %q, want it to mention %q", err, tt.wantText)
			}
		})
	}
}

func FuzzDecrypt(f *testing.F) {
	good, err := encrypt(fill(0xA5), []byte("pw"), [8]byte{1, 2}, 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, []byte("pw"))
	f.Add(good, []byte("other"))
	f.Add([]byte("Salted__"), []byte{})
	f.Add(make([]byte, FileSize), []byte("pw"))

	f.Fuzz(func(t *testing.T, file, password []byte) {
		share, err := decrypt(file, password, 1)
		if err != nil {
			if !errors.Is(err, ErrNotShareFile) && !errors.Is(err, ErrWrongPassword) {
				t.Fatalf("unexpected error type: %v", err)
			}
			if share != ([32]byte{}) {
				t.Fatalf("share returned with error %v", err)
			}
			return
		}
		if len(password) == 0 {
			return // Encrypt rejects empty passwords, so there is no round trip
		}
		var salt [8]byte
		copy(salt[:], file[8:16])
		again, err := encrypt(share, password, salt, 1)
		if err != nil {
			t.Fatalf("re-encrypting: %v", err)
		}
		if !bytes.Equal(again, file) {
			t.Fatalf("re-encrypting the share gave another file")
		}
	})
}

func BenchmarkDeriveKey(b *testing.B) {
	password := []byte("benchmark password")
	salt := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	b.ReportAllocs()
	for b.Loop() {
		DeriveKey(password, salt, Iterations)
	}
}
