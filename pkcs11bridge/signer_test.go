package pkcs11bridge

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"math/big"
	"os"
	"testing"

	"github.com/miekg/pkcs11"

	"github.com/sc-hsm-init/sc-hsm-init/pkcs11bridge/softhsmtest"
)

const softHSMModule = softhsmtest.Module

// softHSMUserPIN is the throwaway user PIN of the temporary SoftHSM token.
const softHSMUserPIN = "123456"

// newSoftHSMToken creates a SoftHSM2 token with an EC P-256 key labelled
// "custodian" (ID 01) in a temporary folder and returns the public key.
func newSoftHSMToken(t *testing.T) *ecdsa.PublicKey {
	t.Helper()
	pubPath := softhsmtest.NewToken(t, softHSMUserPIN)
	der, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatalf("parsing the public key from SoftHSM: %v", err)
	}
	pub, ok := parsed.(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("public key is %T, want *ecdsa.PublicKey", parsed)
	}
	return pub
}

func TestSignerSoftHSM(t *testing.T) {
	pub := newSoftHSMToken(t)

	signer, err := OpenSigner(SignerConfig{
		ModulePath: softHSMModule,
		TokenLabel: "custodian-token",
		KeyLabel:   "custodian",
		KeyID:      []byte{0x01},
		CHR:        "ZZRHKABCDEF00001",
	}, []byte(softHSMUserPIN))
	if err != nil {
		t.Fatalf("OpenSigner: %v", err)
	}
	defer func() {
		if err := signer.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()

	if signer.CHR() != "ZZRHKABCDEF00001" {
		t.Errorf("CHR %q", signer.CHR())
	}
	digest := sha256.Sum256([]byte("ZZDEVICE00001\x01\x02\x03\x04\x05\x06\x07\x08"))
	sig, err := signer.Sign(digest)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if len(sig) != 64 {
		t.Fatalf("signature has %d bytes, want 64", len(sig))
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		t.Error("the signature does not verify with the token's public key")
	}
}

func TestOpenSignerErrors(t *testing.T) {
	newSoftHSMToken(t)
	base := SignerConfig{ModulePath: softHSMModule, TokenLabel: "custodian-token", KeyLabel: "custodian", CHR: "ZZKEY00001"}

	t.Run("wrong PIN", func(t *testing.T) {
		_, err := OpenSigner(base, []byte("654321"))
		if !errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT)) {
			t.Errorf("error = %v, want CKR_PIN_INCORRECT", err)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		cfg := base
		cfg.TokenSerial = "nonexistent"
		if _, err := OpenSigner(cfg, []byte(softHSMUserPIN)); err == nil {
			t.Error("OpenSigner found a token with a wrong serial")
		}
	})
	t.Run("unknown key", func(t *testing.T) {
		cfg := base
		cfg.KeyLabel = "other"
		if _, err := OpenSigner(cfg, []byte(softHSMUserPIN)); err == nil {
			t.Error("OpenSigner found a key with a wrong label")
		}
	})
	t.Run("no CHR", func(t *testing.T) {
		cfg := base
		cfg.CHR = ""
		if _, err := OpenSigner(cfg, []byte(softHSMUserPIN)); err == nil {
			t.Error("OpenSigner accepted an empty CHR")
		}
	})
}
