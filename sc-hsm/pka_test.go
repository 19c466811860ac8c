package schsm

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// testRegistration builds DICA and device certificates and an
// authenticated request with fresh keys.
type testRegistration struct {
	dica, device, request []byte
	req                   *AuthenticatedRequest
}

func newTestRegistration(t *testing.T) testRegistration {
	t.Helper()
	root, dicaKey, deviceKey, key := newP256Key(t), newP256Key(t), newP256Key(t), newP256Key(t)
	dica := issueTestCVC(t, root, "ZZROOT00001", "ZZDICA00001", &dicaKey.PublicKey)
	device := issueTestCVC(t, dicaKey, "ZZDICA00001", "ZZDEVICE00001", &deviceKey.PublicKey)
	body, err := EncodeCVCBody(CVCTemplate{CAR: "ZZKEY00001", CHR: "ZZKEY00001", PublicKey: &key.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := SignCVC(body, keySigner(key))
	if err != nil {
		t.Fatal(err)
	}
	request, err := EncodeAuthenticatedRequest(inner, "ZZDEVICE00001", keySigner(deviceKey))
	if err != nil {
		t.Fatal(err)
	}
	req, _, err := ParseAuthenticatedRequest(request)
	if err != nil {
		t.Fatal(err)
	}
	return testRegistration{dica: dica, device: device, request: request, req: req}
}

// mseDST returns MSE SET DST for chr in hex.
func mseDST(chr string) string {
	return fmt.Sprintf("002281B6 %02X 83%02X %X", len(chr)+2, len(chr), chr)
}

// psoVerify returns PSO VERIFY CERTIFICATE for the certificate in hex.
func psoVerify(t *testing.T, cert []byte) string {
	cvc, _, err := ParseCVC(cert)
	if err != nil {
		t.Fatal(err)
	}
	content := append(append([]byte(nil), cvc.Body...), AppendTLV(nil, tagCVCSignature, cvc.Signature)...)
	return fmt.Sprintf("002A00BE %02X %X", len(content), content)
}

// extendedCase4 returns an extended case-4 APDU in hex.
func extendedCase4(header string, data []byte, ne int) string {
	return fmt.Sprintf("%s 00%04X %X %04X", header, len(data), data, ne)
}

func TestRegisterPublicKeyAPDUs(t *testing.T) {
	r := newTestRegistration(t)
	if len(r.req.Content) <= 255 {
		t.Fatalf("request content has %d bytes; the golden sequence expects an extended APDU", len(r.req.Content))
	}
	script := newScript(t,
		exchange{mseDST("ZZDICA00001"), "6A88"},
		exchange{mseDST("ZZROOT00001"), "9000"},
		exchange{psoVerify(t, r.dica), "9000"},
		exchange{mseDST("ZZDEVICE00001"), "9000"}, // known already: no PSO
		exchange{mseDST("ZZDEVICE00001"), "9000"},
		exchange{extendedCase4("80540000", r.req.Content, 4), "03020200 9000"},
	)
	st, err := NewCard(script).RegisterPublicKey(r.dica, r.device, r.request)
	if err != nil {
		t.Fatalf("RegisterPublicKey: %v", err)
	}
	if want := (PKAStatus{Total: 3, Missing: 2, Required: 2}); st != want {
		t.Errorf("status %+v, want %+v", st, want)
	}
	script.done()
}

func TestRegisterPublicKeyErrors(t *testing.T) {
	r := newTestRegistration(t)
	t.Run("unknown root", func(t *testing.T) {
		script := newScript(t,
			exchange{mseDST("ZZDICA00001"), "6A88"},
			exchange{mseDST("ZZROOT00001"), "6A88"},
		)
		_, err := NewCard(script).RegisterPublicKey(r.dica, r.device, r.request)
		if !errors.Is(err, ErrReferenceNotFound) || !strings.Contains(err.Error(), "ZZROOT00001") {
			t.Errorf("error = %v, want ErrReferenceNotFound naming the root", err)
		}
		script.done()
	})
	t.Run("certificate rejected", func(t *testing.T) {
		script := newScript(t,
			exchange{mseDST("ZZDICA00001"), "6A88"},
			exchange{mseDST("ZZROOT00001"), "9000"},
			exchange{psoVerify(t, r.dica), "6A80"},
		)
		_, err := NewCard(script).RegisterPublicKey(r.dica, r.device, r.request)
		if !errors.Is(err, ErrCertificateRejected) || !errors.Is(err, ErrWrongData) {
			t.Errorf("error = %v, want ErrCertificateRejected and ErrWrongData", err)
		}
		script.done()
	})
	t.Run("no free slot", func(t *testing.T) {
		script := newScript(t,
			exchange{mseDST("ZZDICA00001"), "9000"},
			exchange{mseDST("ZZDEVICE00001"), "9000"},
			exchange{mseDST("ZZDEVICE00001"), "9000"},
			exchange{extendedCase4("80540000", r.req.Content, 4), "6A84"},
		)
		_, err := NewCard(script).RegisterPublicKey(r.dica, r.device, r.request)
		if !errors.Is(err, ErrNoFreePKASlot) {
			t.Errorf("error = %v, want ErrNoFreePKASlot", err)
		}
		script.done()
	})
	t.Run("malformed request", func(t *testing.T) {
		_, err := NewCard(newScript(t)).RegisterPublicKey(r.dica, r.device, []byte{0x67, 0x00})
		if !errors.Is(err, ErrMalformedCVC) {
			t.Errorf("error = %v, want ErrMalformedCVC", err)
		}
	})
}

func TestReplacePublicKeyAPDUs(t *testing.T) {
	r := newTestRegistration(t)
	script := newScript(t,
		exchange{mseDST("ZZDICA00001"), "9000"},
		exchange{mseDST("ZZDEVICE00001"), "9000"},
		exchange{mseDST("ZZDEVICE00001"), "9000"},
		exchange{extendedCase4("80540102", r.req.Content, 4), "6985"},
	)
	_, err := NewCard(script).ReplacePublicKey(2, r.dica, r.device, r.request)
	if !errors.Is(err, ErrConditionsNotSatisfied) {
		t.Errorf("error = %v, want ErrConditionsNotSatisfied", err)
	}
	script.done()
}

func TestEnumeratePublicKeysAPDUs(t *testing.T) {
	script := newScript(t,
		exchange{"8054020000", hex.EncodeToString([]byte("ZZKEYA00001")) + "9001"},
		exchange{"8054020100", hex.EncodeToString([]byte("ZZKEYB00001")) + "9000"},
		exchange{"8054020200", "6A88"},
		exchange{"8054020300", "6A86"},
	)
	keys, err := NewCard(script).EnumeratePublicKeys()
	if err != nil {
		t.Fatalf("EnumeratePublicKeys: %v", err)
	}
	want := []RegisteredPublicKey{
		{Slot: 0, Registered: true, CHR: "ZZKEYA00001", Authenticated: true},
		{Slot: 1, Registered: true, CHR: "ZZKEYB00001"},
		{Slot: 2},
	}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("keys %+v, want %+v", keys, want)
	}
	script.done()
}

func TestEnumeratePublicKeysNotConfigured(t *testing.T) {
	script := newScript(t, exchange{"8054020000", "6A86"})
	_, err := NewCard(script).EnumeratePublicKeys()
	if !errors.Is(err, ErrIncorrectP1P2) {
		t.Errorf("error = %v, want ErrIncorrectP1P2", err)
	}
	script.done()
}

// fixedSigner returns a fixed signature and records the digest.
type fixedSigner struct {
	chr    string
	sig    []byte
	digest [32]byte
}

func (s *fixedSigner) CHR() string { return s.chr }

func (s *fixedSigner) Sign(d [32]byte) ([]byte, error) {
	s.digest = d
	return s.sig, nil
}

func TestAuthenticatePublicKeyAPDUs(t *testing.T) {
	sig := make([]byte, P256SignatureLen)
	for i := range sig {
		sig[i] = byte(i)
	}
	challenge := mustHex(t, "0102030405060708")
	signer := &fixedSigner{chr: "ZZKEY00001", sig: sig}
	script := newScript(t,
		exchange{"002281A4 0C 830A 5A5A4B45593030303031", "9000"},
		exchange{fmt.Sprintf("00820000 40 %X", sig), "9000"},
	)
	if err := NewCard(script).AuthenticatePublicKey("ZZDEVICE00001", challenge, signer); err != nil {
		t.Fatalf("AuthenticatePublicKey: %v", err)
	}
	if want := sha256.Sum256([]byte("ZZDEVICE00001\x01\x02\x03\x04\x05\x06\x07\x08")); signer.digest != want {
		t.Errorf("signed digest %X, want SHA-256(device CHR || challenge) %X", signer.digest, want)
	}
	script.done()
}

func TestAuthenticatePublicKeyErrors(t *testing.T) {
	sig := make([]byte, P256SignatureLen)
	challenge := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	mse := "002281A4 0C 830A 5A5A4B45593030303031"
	ext := fmt.Sprintf("00820000 40 %X", sig)
	tests := []struct {
		name  string
		steps []exchange
		want  error
	}{
		{"unknown key", []exchange{{mse, "6A88"}}, ErrPKAKeyUnknown},
		{"already authenticated", []exchange{{mse, "6985"}}, ErrPKAAlreadyAuthenticated},
		{"bad signature", []exchange{{mse, "9000"}, {ext, "6985"}}, ErrPKASignatureRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := newScript(t, tt.steps...)
			err := NewCard(script).AuthenticatePublicKey("ZZDEVICE00001", challenge, &fixedSigner{chr: "ZZKEY00001", sig: sig})
			if !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
			var statusErr *StatusError
			if !errors.As(err, &statusErr) {
				t.Errorf("error %v carries no *StatusError", err)
			}
			script.done()
		})
	}

	t.Run("short signature", func(t *testing.T) {
		script := newScript(t, exchange{mse, "9000"})
		err := NewCard(script).AuthenticatePublicKey("ZZDEVICE00001", challenge, &fixedSigner{chr: "ZZKEY00001", sig: sig[:10]})
		if err == nil || !strings.Contains(err.Error(), "r||s") {
			t.Errorf("error = %v, want a signature length error", err)
		}
		script.done()
	})
}
