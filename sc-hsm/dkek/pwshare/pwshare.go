// Package pwshare splits the password of a DKEK share file into n-of-m
// shares and reconstructs it, compatible with OpenSC's sc-hsm-tool options
// --pwd-shares-threshold and --pwd-shares-total.
//
// The scheme is Shamir's secret sharing over the integers modulo a 64-bit
// prime p. The secret s is the password read as a big-endian number, the
// polynomial is a(x) = s + a1*x + ... + a(t-1)*x^(t-1) mod p, and custodian
// i receives the share (x = i, y = a(i)). Any t distinct shares give s back
// by Lagrange interpolation at x = 0.
//
// The password is 8 random bytes with the top bit of the first byte
// cleared, used as raw bytes (not text) for the share file's key
// derivation. sc-hsm-tool (OpenSC src/tools/sc-hsm-tool.c) has two traps
// that this package avoids:
//
//   - It prints the share ID in decimal but reads it back as hexadecimal,
//     so an ID of 10 or more typed as printed gives a wrong password. Parse
//     and ReadShareFile read the ID as printed, in decimal.
//   - It creates the share file with all 8 password bytes. On import it
//     passes its reconstructed secret in minimal big-endian form instead,
//     which has 7 bytes when the first password byte was zero (1 time in
//     128). Such a file never opens in sc-hsm-tool. NewPassword never
//     returns a first byte of zero, and Password returns the 8-byte form
//     that opens such files.
package pwshare

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
)

const (
	// PasswordSize is the length of a shared password in bytes.
	PasswordSize = 8

	// PrimeBits is the size of the prime sc-hsm-tool generates.
	PrimeBits = 64

	// MaxShares is the largest total sc-hsm-tool handles: it keeps counts
	// in an unsigned char.
	MaxShares = 255

	// maxPrimeBytes bounds parsed primes. sc-hsm-tool reads at most 64
	// bytes of prime.
	maxPrimeBytes = 64
)

var (
	// ErrDuplicateID means two shares have the same share ID.
	ErrDuplicateID = errors.New("duplicate share ID")

	// ErrTooFewShares means fewer shares than the threshold, or than 2.
	ErrTooFewShares = errors.New("too few shares")

	// ErrPrimeMismatch means shares of different primes, which belong to
	// different splits.
	ErrPrimeMismatch = errors.New("shares have different primes")

	// ErrInvalidShare means a share whose prime, ID or value is out of range.
	ErrInvalidShare = errors.New("invalid share")
)

// Share is one custodian's part of a split password.
type Share struct {
	Prime *big.Int // the public prime p, the same in every share of a split
	ID    int      // x, from 1 to the total number of shares
	Value *big.Int // y = a(x) mod p, secret
}

// NewPassword returns 8 random bytes with the top bit of the first byte
// cleared, as sc-hsm-tool creates them. Unlike sc-hsm-tool, it draws again
// when the first byte is zero, so that sc-hsm-tool can import the share
// file too. The secret is therefore in [2^56, 2^63).
func NewPassword(random io.Reader) ([PasswordSize]byte, error) {
	var password [PasswordSize]byte
	for {
		if _, err := io.ReadFull(random, password[:]); err != nil {
			return password, fmt.Errorf("reading random bytes for the password: %w", err)
		}
		password[0] &= 0x7F
		if password[0] != 0 {
			return password, nil
		}
	}
}

// NewPrime returns a random 64-bit safe prime p = 2q+1 with q prime, the
// kind of prime sc-hsm-tool uses. Every password of NewPassword is below
// it, because p > 2^63.
func NewPrime(random io.Reader) (*big.Int, error) {
	for {
		q, err := rand.Prime(random, PrimeBits-1)
		if err != nil {
			return nil, fmt.Errorf("generating a prime: %w", err)
		}
		p := new(big.Int).Lsh(q, 1)
		p.SetBit(p, 0, 1)
		if p.ProbablyPrime(20) {
			return p, nil
		}
	}
}

// Split returns total shares of password over prime, any threshold of
// which reconstruct it. The polynomial's coefficients are uniform in
// [0, prime) from random. The limits are 2 <= threshold <= total <= 255,
// and prime must exceed the password read as a number. sc-hsm-tool itself
// creates splits only with total >= 3 but imports any 2 or more shares.
func Split(random io.Reader, password [PasswordSize]byte, prime *big.Int, threshold, total int) ([]Share, error) {
	if threshold < 2 || threshold > total || total > MaxShares {
		return nil, fmt.Errorf("splitting the password: threshold %d of %d shares: use 2 <= threshold <= total <= %d", threshold, total, MaxShares)
	}
	secret := new(big.Int).SetBytes(password[:])
	if prime == nil || prime.Cmp(secret) <= 0 || !prime.ProbablyPrime(20) {
		return nil, fmt.Errorf("splitting the password: %w: the modulus must be a prime above the password", ErrInvalidShare)
	}

	coefficients := make([]*big.Int, threshold)
	coefficients[0] = secret
	for i := 1; i < threshold; i++ {
		c, err := rand.Int(random, prime)
		if err != nil {
			return nil, fmt.Errorf("splitting the password: reading random coefficients: %w", err)
		}
		coefficients[i] = c
	}

	shares := make([]Share, total)
	for i := range shares {
		x := big.NewInt(int64(i + 1))
		// Horner's rule: y = (...(a(t-1)*x + a(t-2))*x + ...)*x + a0 mod p.
		y := new(big.Int)
		for j := threshold - 1; j >= 0; j-- {
			y.Mul(y, x)
			y.Add(y, coefficients[j])
			y.Mod(y, prime)
		}
		shares[i] = Share{Prime: new(big.Int).Set(prime), ID: i + 1, Value: y}
	}
	for _, c := range coefficients {
		c.SetInt64(0)
	}
	return shares, nil
}

// NewSplit creates a password with NewPassword, a prime with NewPrime and
// total shares of it with Split, all from crypto/rand.
func NewSplit(threshold, total int) ([PasswordSize]byte, []Share, error) {
	password, err := NewPassword(rand.Reader)
	if err != nil {
		return password, nil, err
	}
	prime, err := NewPrime(rand.Reader)
	if err != nil {
		return password, nil, err
	}
	shares, err := Split(rand.Reader, password, prime, threshold, total)
	if err != nil {
		clear(password[:])
		return password, nil, err
	}
	return password, shares, nil
}

// Reconstruct returns the secret a(0) from shares by Lagrange
// interpolation. threshold is the number of shares the split needs, or 0
// when unknown, in which case any 2 or more shares are accepted. With
// fewer shares than the split's real threshold the result is a wrong
// secret, which only a failed decryption reveals.
func Reconstruct(shares []Share, threshold int) (*big.Int, error) {
	if len(shares) < max(threshold, 2) {
		return nil, fmt.Errorf("reconstructing the password: %w: %d given, %d needed", ErrTooFewShares, len(shares), max(threshold, 2))
	}
	prime := shares[0].Prime
	seen := make(map[int]bool, len(shares))
	for i, s := range shares {
		if err := s.check(); err != nil {
			return nil, fmt.Errorf("reconstructing the password: share %d: %w", i+1, err)
		}
		if s.Prime.Cmp(prime) != 0 {
			return nil, fmt.Errorf("reconstructing the password: share %d (ID %d): %w", i+1, s.ID, ErrPrimeMismatch)
		}
		if seen[s.ID] {
			return nil, fmt.Errorf("reconstructing the password: %w %d", ErrDuplicateID, s.ID)
		}
		seen[s.ID] = true
	}

	// s = sum over i of y_i * prod over j != i of x_j / (x_j - x_i) mod p.
	secret := new(big.Int)
	for i, si := range shares {
		numerator, denominator := big.NewInt(1), big.NewInt(1)
		xi := big.NewInt(int64(si.ID))
		for j, sj := range shares {
			if i == j {
				continue
			}
			xj := big.NewInt(int64(sj.ID))
			numerator.Mul(numerator, xj)
			denominator.Mul(denominator, new(big.Int).Sub(xj, xi))
		}
		denominator.Mod(denominator, prime)
		if denominator.ModInverse(denominator, prime) == nil {
			return nil, fmt.Errorf("reconstructing the password: %w: share IDs are not invertible modulo the prime", ErrInvalidShare)
		}
		term := numerator.Mul(numerator, denominator)
		term.Mul(term, si.Value)
		secret.Add(secret, term)
		secret.Mod(secret, prime)
	}
	return secret, nil
}

// Password reconstructs the password as exactly 8 bytes, with leading zero
// bytes kept. This is the form both tools create share files with, so it
// opens every share file of a split, including those whose password
// starts with a zero byte that sc-hsm-tool cannot import.
func Password(shares []Share, threshold int) ([PasswordSize]byte, error) {
	var password [PasswordSize]byte
	secret, err := Reconstruct(shares, threshold)
	if err != nil {
		return password, err
	}
	defer secret.SetInt64(0)
	if secret.BitLen() > 8*PasswordSize {
		return password, fmt.Errorf("reconstructing the password: %w: the secret has %d bits, but a share password has at most 64, so the prime does not come from sc-hsm-tool", ErrInvalidShare, secret.BitLen())
	}
	secret.FillBytes(password[:])
	return password, nil
}

// MinimalPassword returns password without its leading zero bytes, the
// form sc-hsm-tool's import passes to the key derivation. The two forms
// differ only when the first byte is zero. Then sc-hsm-tool cannot open a
// share file created with the 8-byte form, so a caller can warn about
// that, or try this form on a file whose creator used it.
func MinimalPassword(password [PasswordSize]byte) []byte {
	i := 0
	for i < len(password)-1 && password[i] == 0 {
		i++
	}
	return append([]byte(nil), password[i:]...)
}

// check validates one share on its own.
func (s Share) check() error {
	switch {
	case s.Prime == nil || s.Value == nil:
		return fmt.Errorf("%w: missing prime or value", ErrInvalidShare)
	case s.Prime.Sign() <= 0 || len(s.Prime.Bytes()) > maxPrimeBytes || !s.Prime.ProbablyPrime(20):
		return fmt.Errorf("%w: the modulus is not a prime of at most %d bytes", ErrInvalidShare, maxPrimeBytes)
	case s.ID < 1 || big.NewInt(int64(s.ID)).Cmp(s.Prime) >= 0:
		return fmt.Errorf("%w: share ID %d is outside 1 to prime-1", ErrInvalidShare, s.ID)
	case s.Value.Sign() < 0 || s.Value.Cmp(s.Prime) >= 0:
		return fmt.Errorf("%w: the share value of ID %d is not below the prime", ErrInvalidShare, s.ID)
	}
	return nil
}
