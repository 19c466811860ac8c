package dkek

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/subtle"
	"errors"
	"fmt"
)

// progressInterval is the number of MD5 iterations between two progress
// reports and cancellation checks of a derivation: 29 checks for the
// 30,000,000 MD5 blocks of a share key, about one every 80 ms on a 2.6 GHz
// AMD EPYC.
const progressInterval = 1 << 20

var (
	// ErrKeyMismatch means a Key was used on a share file with another salt.
	// The key of a share file depends on its salt, so such a key cannot
	// decrypt it.
	ErrKeyMismatch = errors.New("the key was derived for another salt than the share file's")

	// ErrNoKey means a zero Key, one not returned by a derivation, or one
	// already wiped.
	ErrNoKey = errors.New("no key derived")
)

// Key is the AES-256 key and CBC IV that sc-hsm-tool derives from a share
// password and the 8-byte salt of a share file. One Key decrypts every
// share file with that salt and password, and encrypts new ones, so a
// ceremony that creates a share file and then imports it derives once.
// Call Wipe when done with it.
type Key struct {
	aesKey [32]byte
	iv     [16]byte
	salt   [8]byte
	valid  bool
}

// Salt returns the salt the key was derived for.
func (k *Key) Salt() [8]byte { return k.salt }

// Wipe overwrites the key material with zeros. The Key is unusable
// afterwards.
func (k *Key) Wipe() {
	clear(k.aesKey[:])
	clear(k.iv[:])
	k.valid = false
}

// ProgressFunc receives the completed fraction of one key derivation, from
// 0 to 1, about every 1,048,576 MD5 iterations and once at the end. It runs
// on the deriving goroutine, so it must return quickly.
type ProgressFunc func(fraction float64)

// Derive derives the key of a share file with the given salt from
// password, with the 10,000,000 iterations of sc-hsm-tool. It takes a few
// seconds of one CPU core.
func Derive(password []byte, salt [8]byte) Key {
	// A background context is never cancelled, so there is no error.
	key, _ := deriveShareKey(context.Background(), password, salt, Iterations, nil)
	return key
}

// DeriveContext is Derive with cancellation and progress reports. It
// checks ctx between blocks of 1,048,576 iterations and returns ctx.Err()
// when ctx is done. progress may be nil.
func DeriveContext(ctx context.Context, password []byte, salt [8]byte, progress ProgressFunc) (Key, error) {
	return deriveShareKey(ctx, password, salt, Iterations, progress)
}

func deriveShareKey(ctx context.Context, password []byte, salt [8]byte, iterations int, progress ProgressFunc) (Key, error) {
	var report func(done, total int)
	if progress != nil {
		report = func(done, total int) { progress(float64(done) / float64(total)) }
	}
	aesKey, iv, err := deriveKey(ctx, password, salt[:], iterations, report)
	if err != nil {
		return Key{}, err
	}
	return Key{aesKey: aesKey, iv: iv, salt: salt, valid: true}, nil
}

// deriveKey implements DeriveKey. The first hash of each 16-byte block goes
// through crypto/md5 because its input has any length, and the remaining
// iterations-1 hashes of a 16-byte digest go through md5Repeat. report,
// when not nil, receives the number of MD5 hashes done and the total.
func deriveKey(ctx context.Context, password, salt []byte, iterations int, report func(done, total int)) (key [32]byte, iv [16]byte, err error) {
	iterations = max(iterations, 1)
	const blocks = (keySize + ivSize) / md5.Size
	total := blocks * iterations
	var out [keySize + ivSize]byte
	defer clear(out[:])

	// One buffer holds the previous digest, the password and the salt for
	// the first hash of each block.
	buf := make([]byte, 0, md5.Size+len(password)+len(salt))
	defer func() { clear(buf[:cap(buf)]) }()

	var digest [md5.Size]byte
	done := 0
	for block := range blocks {
		buf = buf[:0]
		if block > 0 {
			buf = append(buf, digest[:]...)
		}
		buf = append(buf, password...)
		buf = append(buf, salt...)
		digest = md5.Sum(buf)
		done++

		words := wordsFromDigest(digest)
		for remaining := iterations - 1; remaining > 0; {
			n := min(remaining, progressInterval)
			words = md5Repeat(words, n)
			remaining -= n
			done += n
			if err := ctx.Err(); err != nil {
				clear(words[:])
				return key, iv, err
			}
			if report != nil && remaining > 0 {
				report(done, total)
			}
		}
		digest = words.digest()
		copy(out[block*md5.Size:], digest[:])
	}
	clear(digest[:])
	if report != nil {
		report(total, total)
	}

	copy(key[:], out[:keySize])
	copy(iv[:], out[keySize:])
	return key, iv, nil
}

// SaltOf returns the salt of a share file. It returns an error wrapping
// ErrNotShareFile unless file has the size and header of a share file.
func SaltOf(file []byte) ([8]byte, error) {
	var salt [8]byte
	if err := CheckFormat(file); err != nil {
		return salt, err
	}
	copy(salt[:], file[len(magic):ciphertextAt])
	return salt, nil
}

// EncryptWithKey returns the 64-byte share file of share under key, with
// the key's salt in the header.
func EncryptWithKey(share [32]byte, key *Key) ([]byte, error) {
	if !key.valid {
		return nil, ErrNoKey
	}
	block, err := aes.NewCipher(key.aesKey[:])
	if err != nil {
		return nil, fmt.Errorf("creating AES cipher: %w", err)
	}

	plaintext := make([]byte, ShareSize+aes.BlockSize)
	defer clear(plaintext)
	copy(plaintext, share[:])
	for i := ShareSize; i < len(plaintext); i++ {
		plaintext[i] = aes.BlockSize // PKCS#7: a full block of padding
	}

	file := make([]byte, FileSize)
	copy(file, magic)
	copy(file[len(magic):], key.salt[:])
	cipher.NewCBCEncrypter(block, key.iv[:]).CryptBlocks(file[ciphertextAt:], plaintext)
	return file, nil
}

// DecryptWithKey returns the share in a share file. It returns an error
// wrapping ErrNotShareFile when the size or header is wrong,
// ErrKeyMismatch when the key was derived for another salt, and
// ErrWrongPassword when the padding check fails.
func DecryptWithKey(file []byte, key *Key) ([32]byte, error) {
	var share [32]byte
	salt, err := SaltOf(file)
	if err != nil {
		return share, err
	}
	if !key.valid {
		return share, ErrNoKey
	}
	if salt != key.salt {
		return share, ErrKeyMismatch
	}

	block, err := aes.NewCipher(key.aesKey[:])
	if err != nil {
		return share, fmt.Errorf("creating AES cipher: %w", err)
	}
	plaintext := make([]byte, FileSize-ciphertextAt)
	defer clear(plaintext)
	cipher.NewCBCDecrypter(block, key.iv[:]).CryptBlocks(plaintext, file[ciphertextAt:])

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
