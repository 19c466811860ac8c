package pkakey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/internal/atomicfile"
)

// Signer is the signer of public key authentication; see schsm.Signer.
type Signer = schsm.Signer

// File name suffixes that Custodian.WriteFiles uses.
const (
	KeyFileSuffix          = ".key.pem"
	RegistrationFileSuffix = ".pka"
)

const pemTypePrivateKey = "PRIVATE KEY"

// WriteFiles writes the custodian key as a PEM PKCS#8 file <name>.key.pem
// with mode 0600 and the registration file <name>.pka (old encoding) with
// mode 0644 into dir. Each file is written under a temporary name and then
// linked into place, so it appears complete or not at all, and an existing
// file is never overwritten.
func (c *Custodian) WriteFiles(dir string) (keyPath, registrationPath string, err error) {
	keyPath = filepath.Join(dir, c.Name+KeyFileSuffix)
	registrationPath = filepath.Join(dir, c.Name+RegistrationFileSuffix)
	for _, p := range []string{keyPath, registrationPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("writing custodian files: %s already exists; choose another name or folder", p)
		}
	}

	if err := WritePrivateKeyFile(keyPath, c.Key); err != nil {
		return "", "", err
	}
	if err := atomicfile.WriteNew(registrationPath, c.Registration.Encode(), 0o644); err != nil {
		return "", "", fmt.Errorf("writing registration file: %w", err)
	}
	return keyPath, registrationPath, nil
}

// WritePrivateKeyFile writes key as PEM PKCS#8 with mode 0600. It fails when
// path exists.
func WritePrivateKeyFile(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding private key: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: pemTypePrivateKey, Bytes: der})
	clear(der)
	defer clear(data)
	if err := atomicfile.WriteNew(path, data, 0o600); err != nil {
		return fmt.Errorf("writing private key file: %w", err)
	}
	return nil
}

// ReadPrivateKeyFile reads a PEM PKCS#8 P-256 private key. It rejects a file
// that other users can read or write, as OpenSSH does for its keys.
func ReadPrivateKeyFile(path string) (*ecdsa.PrivateKey, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading private key file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("reading private key file %s: mode %04o lets other users access it; run chmod 600 %s", path, info.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading private key file: %w", err)
	}
	defer clear(data)

	block, _ := pem.Decode(data)
	if block == nil || block.Type != pemTypePrivateKey {
		return nil, fmt.Errorf("reading private key file %s: no PEM %q block", path, pemTypePrivateKey)
	}
	defer clear(block.Bytes)
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("reading private key file %s: %w", path, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("reading private key file %s: the key is not an ECDSA P-256 key", path)
	}
	return key, nil
}

// KeySigner is a Signer with an in-memory P-256 private key.
type KeySigner struct {
	chr string
	key *ecdsa.PrivateKey
}

// NewKeySigner returns a signer for key registered under chr.
func NewKeySigner(chr string, key *ecdsa.PrivateKey) (*KeySigner, error) {
	if chr == "" || key == nil || key.Curve != elliptic.P256() {
		return nil, errors.New("creating key signer: a CHR and a P-256 key are required")
	}
	return &KeySigner{chr: chr, key: key}, nil
}

// LoadKeySigner reads a custodian key file and the registration file made
// for it, checks that the key is the one the registration carries, and
// returns a signer under the registration's CHR.
func LoadKeySigner(keyPath, registrationPath string) (*KeySigner, error) {
	reg, err := ReadRegistrationFile(registrationPath)
	if err != nil {
		return nil, err
	}
	key, err := ReadPrivateKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(reg.PublicKey()) {
		return nil, fmt.Errorf("loading key signer: the key in %s does not match the key %q registered by %s", keyPath, reg.CHR(), registrationPath)
	}
	return &KeySigner{chr: reg.CHR(), key: key}, nil
}

// CHR returns the holder reference of the registered key.
func (s *KeySigner) CHR() string { return s.chr }

// Sign signs digest and returns r||s.
func (s *KeySigner) Sign(digest [32]byte) ([]byte, error) {
	return schsm.SignP256Digest(s.key, digest)
}
