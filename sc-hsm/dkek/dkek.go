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
	"context"
	"crypto/aes"
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
// Share files use Iterations. Derive and Deriver wrap the same derivation
// for share files, with cancellation, progress reports and a key cache.
func DeriveKey(password, salt []byte, iterations int) (key [32]byte, iv [16]byte) {
	// A background context is never cancelled, so there is no error.
	key, iv, _ = deriveKey(context.Background(), password, salt, iterations, nil)
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
	key, err := deriveShareKey(context.Background(), password, salt, iterations, nil)
	if err != nil {
		return nil, err
	}
	defer key.Wipe()
	return EncryptWithKey(share, &key)
}

// Decrypt returns the share in a 64-byte share file. It returns an error
// wrapping ErrNotShareFile when the size or header is wrong, and
// ErrWrongPassword when the padding check fails.
func Decrypt(file []byte, password []byte) ([32]byte, error) {
	return decrypt(file, password, Iterations)
}

func decrypt(file []byte, password []byte, iterations int) ([32]byte, error) {
	salt, err := SaltOf(file)
	if err != nil {
		return [32]byte{}, err
	}
	key, err := deriveShareKey(context.Background(), password, salt, iterations, nil)
	if err != nil {
		return [32]byte{}, err
	}
	defer key.Wipe()
	return DecryptWithKey(file, &key)
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
