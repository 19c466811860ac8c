package pkakey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"sync"
	"time"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// RehearsalSeed is the public seed of the rehearsal root CA and DICA keys.
// It is published on purpose: the rehearsal PKI gives NO security and only
// lets the virtual card check rehearsal registration files the way a real
// card checks real ones. Never configure a real token or service to trust
// the rehearsal root.
const RehearsalSeed = "sc-hsm-init rehearsal PKI v1: public seed, no security, virtual card only"

// Holder references of the rehearsal PKI. "ZZ" is the user-assigned ISO
// 3166 country code, so no real CA uses these names.
const (
	RehearsalRootCHR = "ZZREHROOT00001"
	RehearsalDICACHR = "ZZREHDICA00001"
)

// Fixed validity of the rehearsal root and DICA certificates.
var (
	rehearsalEffective = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rehearsalExpiry    = time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
)

type rehearsalPKI struct {
	root, dica         *ecdsa.PrivateKey
	rootCert, dicaCert []byte
}

var (
	rehearsalOnce sync.Once
	rehearsal     rehearsalPKI
	rehearsalErr  error
)

// loadRehearsalPKI derives the rehearsal keys once per process. The
// certificates differ between processes because ECDSA signatures are
// randomized, but the keys and holder references never change.
func loadRehearsalPKI() (rehearsalPKI, error) {
	rehearsalOnce.Do(func() {
		rehearsal, rehearsalErr = newRehearsalPKI()
	})
	return rehearsal, rehearsalErr
}

func newRehearsalPKI() (rehearsalPKI, error) {
	var p rehearsalPKI
	var err error
	if p.root, err = deriveP256Key("root"); err != nil {
		return p, err
	}
	if p.dica, err = deriveP256Key("dica"); err != nil {
		return p, err
	}
	if p.rootCert, err = issueCVC(p.root, RehearsalRootCHR, RehearsalRootCHR, &p.root.PublicKey, rehearsalEffective, rehearsalExpiry); err != nil {
		return p, fmt.Errorf("issuing rehearsal root certificate: %w", err)
	}
	if p.dicaCert, err = issueCVC(p.root, RehearsalRootCHR, RehearsalDICACHR, &p.dica.PublicKey, rehearsalEffective, rehearsalExpiry); err != nil {
		return p, fmt.Errorf("issuing rehearsal DICA certificate: %w", err)
	}
	return p, nil
}

// deriveP256Key derives a P-256 private key from RehearsalSeed and label:
// the scalar is the first SHA-256(seed || 0 || label || counter), counter
// counting up from 0, that lies in 1 to n-1.
func deriveP256Key(label string) (*ecdsa.PrivateKey, error) {
	n := elliptic.P256().Params().N
	for counter := uint32(0); counter < 16; counter++ {
		h := sha256.New()
		h.Write([]byte(RehearsalSeed))
		h.Write([]byte{0})
		h.Write([]byte(label))
		binary.Write(h, binary.BigEndian, counter)
		scalar := h.Sum(nil)
		d := new(big.Int).SetBytes(scalar)
		if d.Sign() == 0 || d.Cmp(n) >= 0 {
			continue
		}
		return ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar)
	}
	return nil, fmt.Errorf("deriving rehearsal key %q: no valid scalar", label)
}

// RehearsalRootPublicKey returns the public key of the rehearsal root CA,
// the trust anchor of the virtual card.
func RehearsalRootPublicKey() (*ecdsa.PublicKey, error) {
	p, err := loadRehearsalPKI()
	if err != nil {
		return nil, err
	}
	return &p.root.PublicKey, nil
}

// RehearsalRootCertificate returns the self-signed CV certificate of the
// rehearsal root CA.
func RehearsalRootCertificate() ([]byte, error) {
	p, err := loadRehearsalPKI()
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), p.rootCert...), nil
}

// issueCVC signs a certificate for pub with the issuer key.
func issueCVC(issuer *ecdsa.PrivateKey, car, chr string, pub *ecdsa.PublicKey, effective, expiry time.Time) ([]byte, error) {
	body, err := schsm.EncodeCVCBody(schsm.CVCTemplate{CAR: car, CHR: chr, PublicKey: pub, Effective: effective, Expiry: expiry})
	if err != nil {
		return nil, err
	}
	return schsm.SignCVC(body, keySignFunc(issuer))
}

func keySignFunc(key *ecdsa.PrivateKey) schsm.SignFunc {
	return func(digest [32]byte) ([]byte, error) { return schsm.SignP256Digest(key, digest) }
}

// Custodian is a rehearsal custodian: the custodian key and the
// registration file for it.
type Custodian struct {
	Name         string
	Key          *ecdsa.PrivateKey
	Registration *Registration
}

// Prefixes of the random holder references of rehearsal devices and keys.
// Each CHR is prefix + 6 random characters + "00001" (16 characters).
const (
	rehearsalDevicePrefix = "ZZRHD"
	rehearsalKeyPrefix    = "ZZRHK"
	chrSequence           = "00001"
	chrRandomLen          = 6
	chrAlphabet           = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// NewRehearsalCustodian creates a custodian key, a device key with a
// certificate issued by the rehearsal DICA, and the authenticated request
// (inner self-signature by the custodian key, outer signature by the device
// key, outer CAR = device CHR). name labels the files that WriteFiles
// writes; it must be 1 to 64 letters, digits, '.', '_' or '-'.
func NewRehearsalCustodian(name string) (*Custodian, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating custodian key: %w", err)
	}
	reg, err := NewRehearsalRegistration(&key.PublicKey, keySignFunc(key))
	if err != nil {
		return nil, err
	}
	return &Custodian{Name: name, Key: key, Registration: reg}, nil
}

// CHR returns the holder reference of the custodian key.
func (c *Custodian) CHR() string { return c.Registration.CHR() }

// Sign signs digest with the custodian key and returns r||s.
func (c *Custodian) Sign(digest [32]byte) ([]byte, error) {
	return schsm.SignP256Digest(c.Key, digest)
}

func randomCHR(prefix string) (string, error) {
	const limit = 252 // largest multiple of 36 that fits in a byte
	out := []byte(prefix)
	buf := make([]byte, 1)
	for len(out) < len(prefix)+chrRandomLen {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generating holder reference: %w", err)
		}
		if buf[0] >= limit {
			continue
		}
		out = append(out, chrAlphabet[int(buf[0])%len(chrAlphabet)])
	}
	return string(out) + chrSequence, nil
}

func checkName(name string) error {
	if len(name) == 0 || len(name) > 64 {
		return fmt.Errorf("custodian name %q must have 1 to 64 characters", name)
	}
	for _, ch := range name {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '-'
		if !ok {
			return fmt.Errorf("custodian name %q may only contain letters, digits, '.', '_' and '-'", name)
		}
	}
	if name[0] == '.' {
		return fmt.Errorf("custodian name %q must not start with '.'", name)
	}
	return nil
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
