package pkakey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

func TestNewRehearsalRegistration(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := NewRehearsalRegistration(&key.PublicKey, keySignFunc(key))
	if err != nil {
		t.Fatalf("NewRehearsalRegistration: %v", err)
	}
	if !reg.PublicKey().Equal(&key.PublicKey) {
		t.Error("the registration carries another key")
	}
	if !reg.IsRehearsal() {
		t.Error("IsRehearsal = false")
	}
	if err := reg.VerifyRehearsalChain(); err != nil {
		t.Errorf("VerifyRehearsalChain: %v", err)
	}
	again, err := ParseRegistration(reg.Encode())
	if err != nil || again.CHR() != reg.CHR() {
		t.Errorf("round trip: %v, CHR %q want %q", err, again.CHR(), reg.CHR())
	}
}

func TestNewRehearsalRegistrationWrongSigner(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, err := NewRehearsalRegistration(&key.PublicKey, keySignFunc(other))
	if !errors.Is(err, schsm.ErrSignatureInvalid) {
		t.Errorf("error %v, want ErrSignatureInvalid", err)
	}
}

func TestNewRehearsalRegistrationNotP256(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := NewRehearsalRegistration(&key.PublicKey, keySignFunc(key)); err == nil {
		t.Error("accepted a P-384 key")
	}
}
