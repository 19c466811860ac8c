package schsm

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

func newP256Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	return key
}

func keySigner(key *ecdsa.PrivateKey) SignFunc {
	return func(d [32]byte) ([]byte, error) { return SignP256Digest(key, d) }
}

// issueTestCVC signs a certificate for pub under car with issuer.
func issueTestCVC(t testing.TB, issuer *ecdsa.PrivateKey, car, chr string, pub *ecdsa.PublicKey) []byte {
	t.Helper()
	body, err := EncodeCVCBody(CVCTemplate{CAR: car, CHR: chr, PublicKey: pub,
		Effective: time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC), Expiry: time.Date(2045, 3, 4, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatalf("EncodeCVCBody: %v", err)
	}
	cert, err := SignCVC(body, keySigner(issuer))
	if err != nil {
		t.Fatalf("SignCVC: %v", err)
	}
	return cert
}

func TestParseCVCPicoDeviceCertificate(t *testing.T) {
	cert, rest, err := ParseCVC(mustHex(t, picoDevAutContent))
	if err != nil {
		t.Fatalf("ParseCVC: %v", err)
	}
	if len(rest) != 0 {
		t.Errorf("%d bytes left after the certificate", len(rest))
	}
	if cert.CHR != picoDeviceCHR || cert.CAR != picoDeviceCHR {
		t.Errorf("CAR %q CHR %q, want both %q", cert.CAR, cert.CHR, picoDeviceCHR)
	}
	// The Pico HSM device key is on secp256k1 (domain parameters in the
	// certificate), so it decodes without a usable P-256 key.
	if cert.PublicKey != nil {
		t.Error("PublicKey is set for a secp256k1 key")
	}
	if err := cert.VerifySignature(cert.PublicKey); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("VerifySignature = %v, want ErrUnsupportedKey", err)
	}
}

func TestCVCRoundTrip(t *testing.T) {
	issuer, subject := newP256Key(t), newP256Key(t)
	raw := issueTestCVC(t, issuer, "ZZTESTCA00001", "ZZTESTDEV00001", &subject.PublicKey)

	cert, rest, err := ParseCVC(append(append([]byte(nil), raw...), 0x01, 0x02))
	if err != nil {
		t.Fatalf("ParseCVC: %v", err)
	}
	if len(rest) != 2 {
		t.Errorf("rest has %d bytes, want 2", len(rest))
	}
	if cert.CAR != "ZZTESTCA00001" || cert.CHR != "ZZTESTDEV00001" || cert.ProfileID != 0 {
		t.Errorf("decoded CAR %q CHR %q profile %d", cert.CAR, cert.CHR, cert.ProfileID)
	}
	if !cert.PublicKey.Equal(&subject.PublicKey) {
		t.Error("public key differs")
	}
	if string(cert.EffectiveDate) != "\x02\x05\x00\x03\x00\x04" || string(cert.ExpiryDate) != "\x04\x05\x00\x03\x00\x04" {
		t.Errorf("dates %X %X", cert.EffectiveDate, cert.ExpiryDate)
	}
	if string(cert.Raw) != string(raw) {
		t.Error("Raw differs from the input")
	}
	if err := cert.VerifySignature(&issuer.PublicKey); err != nil {
		t.Errorf("VerifySignature with the issuer key: %v", err)
	}
	if err := cert.VerifySignature(&subject.PublicKey); !errors.Is(err, ErrSignatureInvalid) {
		t.Errorf("VerifySignature with another key = %v, want ErrSignatureInvalid", err)
	}
}

func TestEncodeCVCBodyRejects(t *testing.T) {
	key := newP256Key(t)
	tests := []struct {
		name string
		tmpl CVCTemplate
	}{
		{"no key", CVCTemplate{CAR: "A", CHR: "B"}},
		{"empty CHR", CVCTemplate{CAR: "A", PublicKey: &key.PublicKey}},
		{"CHR of 17 characters", CVCTemplate{CAR: "A", CHR: "ABCDEFGHIJKLMNOPQ", PublicKey: &key.PublicKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := EncodeCVCBody(tt.tmpl); err == nil {
				t.Error("EncodeCVCBody succeeded")
			}
		})
	}
}

func TestAuthenticatedRequestRoundTrip(t *testing.T) {
	device, key := newP256Key(t), newP256Key(t)
	body, err := EncodeCVCBody(CVCTemplate{CAR: "ZZKEY00001", CHR: "ZZKEY00001", PublicKey: &key.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := SignCVC(body, keySigner(key))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := EncodeAuthenticatedRequest(inner, "ZZDEV00001", keySigner(device))
	if err != nil {
		t.Fatalf("EncodeAuthenticatedRequest: %v", err)
	}

	req, rest, err := ParseAuthenticatedRequest(raw)
	if err != nil {
		t.Fatalf("ParseAuthenticatedRequest: %v", err)
	}
	if len(rest) != 0 || req.OuterCAR != "ZZDEV00001" || req.Inner.CHR != "ZZKEY00001" {
		t.Fatalf("decoded outer CAR %q inner CHR %q, %d bytes left", req.OuterCAR, req.Inner.CHR, len(rest))
	}
	if err := req.VerifyOuter(&device.PublicKey); err != nil {
		t.Errorf("VerifyOuter: %v", err)
	}
	if err := req.VerifyOuter(&key.PublicKey); !errors.Is(err, ErrSignatureInvalid) {
		t.Errorf("VerifyOuter with the wrong key = %v", err)
	}
	if err := req.VerifyInner(); err != nil {
		t.Errorf("VerifyInner: %v", err)
	}

	fromContent, err := ParseAuthenticatedRequestContent(req.Content)
	if err != nil {
		t.Fatalf("ParseAuthenticatedRequestContent: %v", err)
	}
	if err := fromContent.VerifyOuter(&device.PublicKey); err != nil {
		t.Errorf("VerifyOuter after decoding the content: %v", err)
	}

	// A changed outer CAR breaks the outer signature.
	tampered := append([]byte(nil), raw...)
	tampered[bytes.LastIndex(tampered, []byte("ZZDEV00001"))] ^= 0x01
	req2, _, err := ParseAuthenticatedRequest(tampered)
	if err != nil {
		t.Fatalf("ParseAuthenticatedRequest of the tampered request: %v", err)
	}
	if err := req2.VerifyOuter(&device.PublicKey); !errors.Is(err, ErrSignatureInvalid) {
		t.Errorf("VerifyOuter of the tampered request = %v", err)
	}
}

func TestParseCVCErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"wrong tag", "7F4E 00"},
		{"no signature", "7F21 05 7F4E 02 5F29 00"},
		{"short signature", "7F21 0B 7F4E 03 5F290100 5F37 02 0102"},
		{"body order", "7F21 10 7F4E 0D 5F20 02 4142 5F29 01 00 42 02 4142"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := ParseCVC(mustHex(t, tt.in)); !errors.Is(err, ErrMalformedCVC) {
				t.Errorf("error = %v, want ErrMalformedCVC", err)
			}
		})
	}
}

func FuzzParseCVC(f *testing.F) {
	f.Add(mustHex(f, picoDevAutContent))
	key := newP256Key(f)
	f.Add(issueTestCVC(f, key, "ZZCA00001", "ZZDEV00001", &key.PublicKey))
	f.Add(mustHex(f, "7F21 10 7F4E 0D 5F29 01 00 5F20 06 444554455354"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cert, rest, err := ParseCVC(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedCVC) {
				t.Fatalf("error %v does not wrap ErrMalformedCVC", err)
			}
			return
		}
		if len(cert.Raw)+len(rest) != len(b) || len(cert.Signature) != P256SignatureLen {
			t.Fatalf("inconsistent certificate: raw %d rest %d of %d", len(cert.Raw), len(rest), len(b))
		}
		_ = cert.VerifySignature(cert.PublicKey)
	})
}

func FuzzParseAuthenticatedRequest(f *testing.F) {
	device, key := newP256Key(f), newP256Key(f)
	body, err := EncodeCVCBody(CVCTemplate{CAR: "ZZKEY00001", CHR: "ZZKEY00001", PublicKey: &key.PublicKey})
	if err != nil {
		f.Fatal(err)
	}
	inner, err := SignCVC(body, keySigner(key))
	if err != nil {
		f.Fatal(err)
	}
	raw, err := EncodeAuthenticatedRequest(inner, "ZZDEV00001", keySigner(device))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(raw[:len(raw)-3])
	f.Fuzz(func(t *testing.T, b []byte) {
		req, _, err := ParseAuthenticatedRequest(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedCVC) {
				t.Fatalf("error %v does not wrap ErrMalformedCVC", err)
			}
			return
		}
		_ = req.VerifyOuter(req.Inner.PublicKey)
		_ = req.VerifyInner()
	})
}

func TestCVCDate(t *testing.T) {
	got := cvcDate(time.Date(2031, time.December, 4, 23, 0, 0, 0, time.UTC))
	if want := []byte{3, 1, 1, 2, 0, 4}; !bytes.Equal(got, want) {
		t.Fatalf("date %X, want %X", got, want)
	}
}
