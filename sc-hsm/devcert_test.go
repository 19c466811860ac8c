package schsm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// picoDevicePoint is the secp256k1 point of the recorded self-signed device
// certificate in picoDevAutContent.
const picoDevicePoint = "043359F5234CE62E0EB80460046D8FD1AAE018CC8B9E687B40AA2C047E352409B45153D1AD888E4E7E780A3B1FA8C69CA8998BD271C8849137149142E96816A5A4"

// secp256k1Prime is the field prime of secp256k1, domain parameter 81 of
// the Pico HSM's device certificates.
const secp256k1Prime = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F"

// rawTestCVC encodes a CV certificate for a secp256k1 point, copied
// unchanged, with a dummy signature.
func rawTestCVC(car, chr string, point []byte) []byte {
	prime, _ := hex.DecodeString(secp256k1Prime)
	var pub []byte
	pub = AppendTLV(pub, tagCVCOID, OIDTAECDSASHA256)
	pub = AppendTLV(pub, tagCVCPrime, prime)
	pub = AppendTLV(pub, tagCVCPublicPoint, point)
	var body []byte
	body = AppendTLV(body, tagCVCProfileID, []byte{0x00})
	body = AppendTLV(body, tagCVCAuthorityRef, []byte(car))
	body = AppendTLV(body, tagCVCPublicKey, pub)
	body = AppendTLV(body, tagCVCHolderRef, []byte(chr))
	content := AppendTLV(nil, tagCVCBody, body)
	content = AppendTLV(content, tagCVCSignature, bytes.Repeat([]byte{0x5A}, P256SignatureLen))
	return AppendTLV(nil, tagCVCertificate, content)
}

// testDeviceChain returns device, DV and CA certificates for point.
func testDeviceChain(point []byte) []byte {
	other := bytes.Repeat([]byte{0x04}, 65)
	chain := rawTestCVC("ESPICOHSMDV00001", "ESPICOHSMTR4F2A1", point)
	chain = append(chain, rawTestCVC("ESPICOHSMCA00001", "ESPICOHSMDV00001", other)...)
	return append(chain, rawTestCVC("ESPICOHSMCA00001", "ESPICOHSMCA00001", other)...)
}

func TestReadDeviceRequestGolden(t *testing.T) {
	content := mustHex(t, picoDevAutContent)
	s := newScript(t,
		exchange{"00B1CE00 04 54020000 00", hex.EncodeToString(content[:256]) + "9000"},
		exchange{"00B1CE00 04 54020100 00", hex.EncodeToString(content[256:]) + "9000"},
	)
	got, err := NewCard(s).ReadDeviceRequest()
	if err != nil {
		t.Fatalf("ReadDeviceRequest: %v", err)
	}
	s.done()
	if !bytes.Equal(got, content) {
		t.Errorf("ReadDeviceRequest returned %d bytes that differ from the file", len(got))
	}
	point, err := DeviceRequestPoint(got)
	if err != nil {
		t.Fatalf("DeviceRequestPoint: %v", err)
	}
	if want := mustHex(t, picoDevicePoint); !bytes.Equal(point, want) {
		t.Errorf("point = %X, want %X", point, want)
	}
}

func TestReadDeviceRequestErrors(t *testing.T) {
	tests := []struct {
		name  string
		resp  string
		match string
	}{
		{"file not found", "6A82", "6A82"},
		{"empty file", "9000", "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newScript(t, exchange{"00B1CE00 04 54020000 00", tc.resp})
			_, err := NewCard(s).ReadDeviceRequest()
			if err == nil || !strings.Contains(err.Error(), tc.match) {
				t.Errorf("error = %v, want one containing %q", err, tc.match)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "reading the device request") {
				t.Errorf("error %q does not name the step", err)
			}
		})
	}
}

func TestWriteDeviceCertificateGolden(t *testing.T) {
	chain := bytes.Repeat([]byte{0xC3}, 300)
	first := "00D72F02 FE 54020000 53 81F7" + strings.Repeat("C3", 247)
	second := "00D72F02 3B 540200F7 53 35" + strings.Repeat("C3", 53)
	s := newScript(t,
		exchange{"00A40000022F0200", "620E8102012C82010183022F028A0105" + "9000"},
		exchange{first, "9000"},
		exchange{second, "9000"},
		exchange{"00A40000022F0200", "620E8102012C82010183022F028A0105" + "9000"},
		exchange{"00B10000 04 54020000 00", hex.EncodeToString(chain[:256]) + "9000"},
		exchange{"00B10000 04 54020100 00", hex.EncodeToString(chain[256:]) + "9000"},
	)
	if err := NewCard(s).WriteDeviceCertificate(chain); err != nil {
		t.Fatalf("WriteDeviceCertificate: %v", err)
	}
	s.done()
}

func TestWriteDeviceCertificateReadBackDiffers(t *testing.T) {
	chain := []byte{0x7F, 0x21, 0x00}
	s := newScript(t,
		exchange{"00A40000022F0200", "620E8102000382010183022F028A0105" + "9000"},
		exchange{"00D72F02 09 54020000 53 03 7F2100", "9000"},
		exchange{"00A40000022F0200", "620E8102000482010183022F028A0105" + "9000"},
		exchange{"00B10000 04 54020000 00", "7F210000" + "9000"},
	)
	err := NewCard(s).WriteDeviceCertificate(chain)
	if err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("error = %v, want a read-back mismatch", err)
	}
	s.done()
}

func TestWriteDeviceCertificateNotLoggedIn(t *testing.T) {
	s := newScript(t,
		exchange{"00A40000022F0200", "620E8102000382010183022F028A0105" + "9000"},
		exchange{"00D72F02 09 54020000 53 03 7F2100", "6982"},
	)
	err := NewCard(s).WriteDeviceCertificate([]byte{0x7F, 0x21, 0x00})
	if !errors.Is(err, ErrSecurityStatus) {
		t.Errorf("error = %v, want ErrSecurityStatus", err)
	}
	s.done()
}

func TestCheckDeviceChain(t *testing.T) {
	point := mustHex(t, picoDevicePoint)
	other := bytes.Repeat([]byte{0x04}, 65)
	good := testDeviceChain(point)
	dv := rawTestCVC("ESPICOHSMCA00001", "ESPICOHSMDV00001", other)
	ca := rawTestCVC("ESPICOHSMCA00001", "ESPICOHSMCA00001", other)

	tests := []struct {
		name    string
		chain   []byte
		wantErr error
	}{
		{"good chain", good, nil},
		{"other device key", testDeviceChain(other), ErrDeviceChainMismatch},
		{"device only", good[:len(rawTestCVC("ESPICOHSMDV00001", "ESPICOHSMTR4F2A1", point))], ErrMalformedCVC},
		{"trailing bytes", append(append([]byte(nil), good...), 0x00), ErrMalformedCVC},
		{"four certificates", append(append([]byte(nil), good...), ca...), ErrMalformedCVC},
		{"truncated", good[:len(good)-1], ErrMalformedCVC},
		{"not linked", concatBytes(rawTestCVC("ESPICOHSMXX00001", "ESPICOHSMTR4F2A1", point), dv, ca), ErrDeviceChainMismatch},
		{"self-signed device", concatBytes(rawTestCVC("ESPICOHSMTR4F2A1", "ESPICOHSMTR4F2A1", point), dv, ca), ErrDeviceChainMismatch},
		{"short CHR", concatBytes(rawTestCVC("ESPICOHSMDV00001", "TR001", point), dv, ca), ErrDeviceChainMismatch},
		{"recorded self-signed", mustHex(t, picoDevAutContent), ErrMalformedCVC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chr, err := CheckDeviceChain(tc.chain, point)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("CheckDeviceChain: %v", err)
				}
				if chr != "ESPICOHSMTR4F2A1" {
					t.Errorf("CHR = %q", chr)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestDeviceRequestPointAuthenticated(t *testing.T) {
	point := mustHex(t, picoDevicePoint)
	inner := rawTestCVC("ESPICOHSMTR00001", "ESPICOHSMTR00001", point)
	outer := AppendTLV(nil, tagAuthRequest, append(inner, AppendTLV(nil, tagCVCAuthorityRef, []byte("ESPICOHSMTR00001"))...))
	got, err := DeviceRequestPoint(outer)
	if err != nil {
		t.Fatalf("DeviceRequestPoint: %v", err)
	}
	if !bytes.Equal(got, point) {
		t.Errorf("point = %X, want %X", got, point)
	}
}

func concatBytes(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func FuzzCheckDeviceChain(f *testing.F) {
	point := mustHex(f, picoDevicePoint)
	f.Add(testDeviceChain(point))
	f.Add(mustHex(f, picoDevAutContent))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := CheckDeviceChain(b, point); err != nil &&
			!errors.Is(err, ErrMalformedCVC) && !errors.Is(err, ErrDeviceChainMismatch) {
			t.Fatalf("error %v wraps neither ErrMalformedCVC nor ErrDeviceChainMismatch", err)
		}
		if _, err := DeviceRequestPoint(b); err != nil && !errors.Is(err, ErrMalformedCVC) {
			t.Fatalf("error %v does not wrap ErrMalformedCVC", err)
		}
	})
}
