// Package dkek reads and writes the DKEK share files of OpenSC's
// sc-hsm-tool and computes the key check value the SmartCard-HSM reports
// for a device key encryption key (DKEK).
//
// A DKEK is the XOR of its shares. Each share is 32 random bytes kept in a
// 64-byte ".pbe" file, encrypted under a password:
//
//	offset  0  "Salted__"
//	offset  8  8-byte salt
//	offset 16  AES-256-CBC ciphertext of the 32-byte share with PKCS#7
//	           padding, which adds one block of 16 bytes of 0x10
//
// The AES key and IV come from OpenSSL's EVP_BytesToKey with MD5 and the
// salt, run with 10,000,000 iterations instead of OpenSSL's usual 1, so
// `openssl enc -d` cannot open these files. Deriving a key takes seconds by
// design.
package dkek

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
)

// Sizes and constants of the share file format.
const (
	ShareSize    = 32 // bytes of one share, and of the DKEK
	SaltSize     = 8
	FileSize     = len(magic) + SaltSize + ShareSize + aes.BlockSize
	KCVSize      = 8
	keySize      = 32
	ivSize       = aes.BlockSize
	magic        = "Salted__"
	ciphertextAt = len(magic) + SaltSize
)

// Iterations is the EVP_BytesToKey count sc-hsm-tool uses for share files.
const Iterations = 10_000_000

var (
	// ErrNotShareFile means the bytes are not a share file: the size is not
	// 64 bytes or the "Salted__" header is missing.
	ErrNotShareFile = errors.New("not a DKEK share file")

	// ErrWrongPassword means the padding of the decrypted share was not
	// valid, which happens with a wrong password or a damaged file.
	ErrWrongPassword = errors.New("wrong password or damaged file")

	// ErrEmptyPassword is returned by Encrypt for an empty password.
	ErrEmptyPassword = errors.New("empty share password")
)

// DeriveKey runs OpenSSL's EVP_BytesToKey with MD5 for a 32-byte key and a
// 16-byte IV:
//
//	D1 = MD5^iterations(password || salt)
//	D2 = MD5^iterations(D1 || password || salt)
//	D3 = MD5^iterations(D2 || password || salt)
//	key = D1 || D2, iv = D3
//
// where MD5^n hashes the input once and then hashes the 16-byte digest n-1
// more times. An iteration count below 1 is taken as 1, as OpenSSL does.
// Share files use Iterations.
func DeriveKey(password, salt []byte, iterations int) (key [32]byte, iv [16]byte) {
	var out [keySize + ivSize]byte

	// One buffer holds the previous digest, the password and the salt for the
	// first hash of each block. The rest of the loop hashes a 16-byte array
	// and allocates nothing.
	buf := make([]byte, 0, md5.Size+len(password)+len(salt))
	var prev [md5.Size]byte
	for block := 0; block*md5.Size < len(out); block++ {
		buf = buf[:0]
		if block > 0 {
			buf = append(buf, prev[:]...)
		}
		buf = append(buf, password...)
		buf = append(buf, salt...)

		digest := md5.Sum(buf)
		for i := 1; i < iterations; i++ {
			digest = md5.Sum(digest[:])
		}
		copy(out[block*md5.Size:], digest[:])
		prev = digest
	}
	clear(buf[:cap(buf)])

	copy(key[:], out[:keySize])
	copy(iv[:], out[keySize:])
	clear(out[:])
	return key, iv
}

// Encrypt returns the 64-byte share file for share under password with
// Iterations rounds of key derivation. Take the salt from a random source.
func Encrypt(share [32]byte, password []byte, salt [8]byte) ([]byte, error) {
	return encrypt(share, password, salt, Iterations)
}

func encrypt(share [32]byte, password []byte, salt [8]byte, iterations int) ([]byte, error) {
	if len(password) == 0 {
		return nil, ErrEmptyPassword
	}
	key, iv := DeriveKey(password, salt[:], iterations)
	defer clear(key[:])

	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("creating AES cipher: %w", err)
	}

	plaintext := make([]byte, ShareSize+aes.BlockSize)
	copy(plaintext, share[:])
	for i := ShareSize; i < len(plaintext); i++ {
		plaintext[i] = aes.BlockSize // PKCS#7: a full block of padding
	}
	defer clear(plaintext)

	file := make([]byte, FileSize)
	copy(file, magic)
	copy(file[len(magic):], salt[:])
	cipher.NewCBCEncrypter(block, iv[:]).CryptBlocks(file[ciphertextAt:], plaintext)
	return file, nil
}

// Decrypt returns the share in a 64-byte share file. It returns an error
// wrapping ErrNotShareFile when the size or header is wrong, and
// ErrWrongPassword when the padding check fails.
func Decrypt(file []byte, password []byte) ([32]byte, error) {
	return decrypt(file, password, Iterations)
}

func decrypt(file []byte, password []byte, iterations int) ([32]byte, error) {
	var share [32]byte
	if err := CheckFormat(file); err != nil {
		return share, err
	}

	key, iv := DeriveKey(password, file[len(magic):ciphertextAt], iterations)
	defer clear(key[:])

	block, err := aes.NewCipher(key[:])
	if err != nil {
		return share, fmt.Errorf("creating AES cipher: %w", err)
	}
	plaintext := make([]byte, FileSize-ciphertextAt)
	defer clear(plaintext)
	cipher.NewCBCDecrypter(block, iv[:]).CryptBlocks(plaintext, file[ciphertextAt:])

	// A 32-byte share is always followed by one whole block of padding, so
	// any other padding (even one that is valid PKCS#7 for a shorter text)
	// means the key was wrong.
	wantPadding := bytes.Repeat([]byte{aes.BlockSize}, aes.BlockSize)
	if subtle.ConstantTimeCompare(plaintext[ShareSize:], wantPadding) != 1 {
		return share, ErrWrongPassword
	}
	copy(share[:], plaintext[:ShareSize])
	return share, nil
}

// CheckFormat returns an error wrapping ErrNotShareFile unless file has the
// size and header of a share file. It does not need the password.
func CheckFormat(file []byte) error {
	if len(file) != FileSize {
		return fmt.Errorf("%w: %d bytes, a share file has exactly %d", ErrNotShareFile, len(file), FileSize)
	}
	if string(file[:len(magic)]) != magic {
		return fmt.Errorf("%w: the file does not start with %q", ErrNotShareFile, magic)
	}
	return nil
}

// KCV returns the key check value of a DKEK: the first 8 bytes of its
// SHA-256 hash. DKEK status responses contain it once every share is imported.
func KCV(dkek [32]byte) [8]byte {
	sum := sha256.Sum256(dkek[:])
	var kcv [KCVSize]byte
	copy(kcv[:], sum[:KCVSize])
	return kcv
}

// Combine returns the XOR of the shares, which is the DKEK the card builds
// from them. Two equal shares cancel out, so callers should reject
// duplicates.
func Combine(shares ...[32]byte) [32]byte {
	var dkek [32]byte
	for _, share := range shares {
		subtle.XORBytes(dkek[:], dkek[:], share[:])
	}
	return dkek
}
