package virtualcard

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

const (
	chrPrefix      = "VSCHSM"
	chrRandomLen   = 5
	chrSequence    = "00001"
	chrAlphabet    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	certValidYears = 20
)

// Card verifiable certificate tags (BSI TR-03110 part 3).
const (
	tagCVCertificate = 0x7F21
	tagCertBody      = 0x7F4E
	tagProfileID     = 0x5F29
	tagCAR           = 0x42
	tagPublicKey     = 0x7F49
	tagOID           = 0x06
	tagPublicPoint   = 0x86
	tagCHR           = 0x5F20
	tagEffectiveDate = 0x5F25
	tagExpiryDate    = 0x5F24
	tagSignature     = 0x5F37
)

// identity is the device identity: created once per state and kept across
// INITIALIZE, as a CardContact card keeps the identity created at
// production.
type identity struct {
	// DeviceKey is the P-256 private scalar of the device authentication
	// key CC00 (32 bytes, big-endian).
	DeviceKey []byte `json:"device_key"`
	// CHR is the card holder reference of the device certificate.
	CHR string `json:"chr"`
	// Certificate is the content of EF.C_DevAut (2F02).
	Certificate []byte `json:"certificate"`
}

func newIdentity(rnd io.Reader, now time.Time) (identity, error) {
	// crypto/ecdsa uses crypto/rand whatever reader it is given (Go 1.26).
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return identity{}, fmt.Errorf("generating device key: %w", err)
	}
	suffix, err := randomAlphanumeric(rnd, chrRandomLen)
	if err != nil {
		return identity{}, fmt.Errorf("generating CHR: %w", err)
	}
	chr := chrPrefix + suffix + chrSequence

	cert, err := selfSignedCVC(key, chr, now)
	if err != nil {
		return identity{}, err
	}
	scalar, err := key.Bytes()
	if err != nil {
		return identity{}, fmt.Errorf("encoding device key: %w", err)
	}
	return identity{DeviceKey: scalar, CHR: chr, Certificate: cert}, nil
}

func (id identity) check() error {
	if _, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), id.DeviceKey); err != nil {
		return fmt.Errorf("device key: %w", err)
	}
	// OpenSC accepts a CHR of 8 to 20 characters and strips the last 5
	// for the serial number.
	if len(id.CHR) < 8 || len(id.CHR) > 20 {
		return fmt.Errorf("CHR %q must have 8 to 20 characters", id.CHR)
	}
	if len(id.Certificate) == 0 || len(id.Certificate) > maxFileSize {
		return errors.New("device certificate is missing or too long")
	}
	return nil
}

// randomAlphanumeric draws n characters of chrAlphabet without modulo bias.
func randomAlphanumeric(rnd io.Reader, n int) (string, error) {
	const limit = 252 // largest multiple of 36 that fits in a byte
	out := make([]byte, 0, n)
	buf := make([]byte, 1)
	for len(out) < n {
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return "", err
		}
		if buf[0] >= limit {
			continue
		}
		out = append(out, chrAlphabet[int(buf[0])%len(chrAlphabet)])
	}
	return string(out), nil
}

// selfSignedCVC builds the device CV certificate with the CV certificate
// encoder of package schsm:
//
//	7F21 { 7F4E { 5F29 00, 42 CAR, 7F49 { 06 OID, 86 point }, 5F20 CHR,
//	       5F25 effective date, 5F24 expiry date },
//	       5F37 r||s }
//
// The CAR equals the CHR and the signature is ECDSA with SHA-256 over the
// whole 7F4E encoding, made with the device key itself.
func selfSignedCVC(key *ecdsa.PrivateKey, chr string, now time.Time) ([]byte, error) {
	now = now.UTC()
	body, err := schsm.EncodeCVCBody(schsm.CVCTemplate{
		CAR:       chr,
		CHR:       chr,
		PublicKey: &key.PublicKey,
		Effective: now,
		Expiry:    now.AddDate(certValidYears, 0, 0),
	})
	if err != nil {
		return nil, fmt.Errorf("encoding device certificate: %w", err)
	}
	cert, err := schsm.SignCVC(body, func(digest [32]byte) ([]byte, error) {
		return schsm.SignP256Digest(key, digest)
	})
	if err != nil {
		return nil, fmt.Errorf("signing device certificate: %w", err)
	}
	return cert, nil
}

// encodeTLV returns the BER-TLV encoding of a data object with a one- or
// two-byte tag and a definite length of up to 65535 bytes.
func encodeTLV(tag uint16, value []byte) []byte {
	return schsm.AppendTLV(make([]byte, 0, len(value)+5), tag, value)
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
