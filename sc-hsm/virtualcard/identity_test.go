package virtualcard

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"math/big"
	"regexp"
	"slices"
	"testing"
	"time"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// testTLV is one decoded BER-TLV with its complete encoding.
type testTLV struct {
	tag     uint16
	value   []byte
	encoded []byte
}

// decodeTLVs decodes a sequence of BER-TLVs with one- or two-byte tags,
// independently of the encoder under test.
func decodeTLVs(t *testing.T, b []byte) []testTLV {
	t.Helper()
	var out []testTLV
	for len(b) > 0 {
		start := b
		tag := uint16(b[0])
		b = b[1:]
		if tag&0x1F == 0x1F {
			tag = tag<<8 | uint16(b[0])
			b = b[1:]
		}
		n := int(b[0])
		b = b[1:]
		if n&0x80 != 0 {
			k := n & 0x7F
			n = 0
			for i := range k {
				n = n<<8 | int(b[i])
			}
			b = b[k:]
		}
		if n > len(b) {
			t.Fatalf("TLV %X: length %d exceeds the %d bytes left", tag, n, len(b))
		}
		out = append(out, testTLV{tag: tag, value: b[:n], encoded: start[:len(start)-len(b)+n]})
		b = b[n:]
	}
	return out
}

func TestDeviceCertificate(t *testing.T) {
	c := newTestCard(t)
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, "00A40000022F0200", schsm.SWOK)
	cvc := expectSW(t, c, "00B10000 000004 54020000 0400", schsm.SWOK).Data

	outer := decodeTLVs(t, cvc)
	if len(outer) != 1 || outer[0].tag != tagCVCertificate {
		t.Fatalf("EF.C_DevAut does not hold one 7F21 certificate: %X", cvc)
	}
	parts := decodeTLVs(t, outer[0].value)
	if len(parts) != 2 || parts[0].tag != tagCertBody || parts[1].tag != tagSignature {
		t.Fatalf("certificate is not 7F4E followed by 5F37")
	}
	body := map[uint16][]byte{}
	var order []uint16
	for _, field := range decodeTLVs(t, parts[0].value) {
		body[field.tag] = field.value
		order = append(order, field.tag)
	}
	wantOrder := []uint16{tagProfileID, tagCAR, tagPublicKey, tagCHR, tagEffectiveDate, tagExpiryDate}
	if !slices.Equal(order, wantOrder) {
		t.Fatalf("body tags %X, want %X", order, wantOrder)
	}

	if !bytes.Equal(body[tagProfileID], []byte{0x00}) {
		t.Errorf("profile identifier %X, want 00", body[tagProfileID])
	}
	chr := string(body[tagCHR])
	if !regexp.MustCompile(`^VSCHSM[A-Z0-9]{5}00001$`).MatchString(chr) {
		t.Errorf("CHR %q does not match VSCHSM + 5 alphanumerics + 00001", chr)
	}
	if string(body[tagCAR]) != chr {
		t.Errorf("CAR %q, want the CHR %q of a self-signed certificate", body[tagCAR], chr)
	}
	if c.Serial() != chr[:len(chr)-5] {
		t.Errorf("Serial %q, want %q", c.Serial(), chr[:len(chr)-5])
	}

	// The date is six unpacked BCD digits YYMMDD.
	today := []byte(time.Now().UTC().Format("060102"))
	for i := range today {
		today[i] -= '0'
	}
	if !bytes.Equal(body[tagEffectiveDate], today) {
		t.Errorf("effective date %X, want %X", body[tagEffectiveDate], today)
	}
	if len(body[tagExpiryDate]) != 6 || bytes.Compare(body[tagExpiryDate], today) <= 0 {
		t.Errorf("expiry date %X is not after %X", body[tagExpiryDate], today)
	}

	keyFields := decodeTLVs(t, body[tagPublicKey])
	if len(keyFields) != 2 || keyFields[0].tag != tagOID || keyFields[1].tag != tagPublicPoint {
		t.Fatalf("public key is not 06 OID followed by 86 point")
	}
	if !bytes.Equal(keyFields[0].value, unhex(t, "04007F00070202020203")) {
		t.Errorf("OID %X, want id-TA-ECDSA-SHA-256", keyFields[0].value)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), keyFields[1].value)
	if err != nil {
		t.Fatalf("public point: %v", err)
	}

	sig := parts[1].value
	if len(sig) != 64 {
		t.Fatalf("signature has %d bytes, want 64 (r||s)", len(sig))
	}
	digest := sha256.Sum256(parts[0].encoded)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		t.Fatal("signature does not verify with the certified key")
	}

	deviceKey, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), c.st.Identity.DeviceKey)
	if err != nil {
		t.Fatal(err)
	}
	if !deviceKey.PublicKey.Equal(pub) {
		t.Fatal("certified key is not the device key")
	}
}

func TestSerialUniquePerState(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		serial := newTestCard(t).Serial()
		if len(serial) != 11 {
			t.Fatalf("serial %q has %d characters, want 11", serial, len(serial))
		}
		if seen[serial] {
			t.Fatalf("serial %q repeated", serial)
		}
		seen[serial] = true
	}
}

func TestRandomAlphanumericRejectsBias(t *testing.T) {
	// Bytes from 252 up would favour the first characters, so they are
	// skipped: 252, 255 and 253 are dropped, 0 gives A, 35 gives 9, 36 A.
	got, err := randomAlphanumeric(bytes.NewReader([]byte{252, 0, 255, 35, 253, 36}), 3)
	if err != nil {
		t.Fatal(err)
	}
	if got != "A9A" {
		t.Fatalf("got %q, want A9A", got)
	}
}
