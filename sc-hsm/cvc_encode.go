package schsm

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// OIDTAECDSASHA256 is id-TA-ECDSA-SHA-256 (0.4.0.127.0.7.2.2.2.2.3) of BSI
// TR-03110, the algorithm of every key this package encodes in a CV
// certificate: ECDSA on P-256 with SHA-256.
var OIDTAECDSASHA256 = []byte{0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03}

// More tags of CV certificates and authenticated requests (BSI TR-03110
// part 3). The certificate and body tags are in cvc.go.
const (
	tagCVCProfileID     = 0x5F29
	tagCVCAuthorityRef  = 0x42
	tagCVCPublicKey     = 0x7F49
	tagCVCOID           = 0x06
	tagCVCPrime         = 0x81
	tagCVCPublicPoint   = 0x86
	tagCVCEffectiveDate = 0x5F25
	tagCVCExpiryDate    = 0x5F24
	tagCVCSignature     = 0x5F37
	tagAuthRequest      = 0x67
)

// Sizes of P-256 values in CV certificates.
const (
	p256CoordinateLen = 32
	// P256SignatureLen is the size of a plain ECDSA signature r||s on P-256,
	// the form CV certificates and EXTERNAL AUTHENTICATE use (not DER).
	P256SignatureLen = 2 * p256CoordinateLen
)

// maxReferenceLen is the longest CAR or CHR this package writes or accepts.
// OpenSC (pkcs15-sc-hsm.c) decodes both into 17-byte buffers, so a longer
// reference makes sc-hsm-tool fail to decode the certificate.
const maxReferenceLen = 16

// ErrSignatureInvalid is returned when an ECDSA signature of a CV
// certificate or request does not verify.
var ErrSignatureInvalid = errors.New("signature does not verify")

// CVC is a decoded card verifiable certificate or CV request:
//
//	7F21 { 7F4E { 5F29 profile, 42 CAR, 7F49 { 06 OID, 86 point },
//	              5F20 CHR, [5F25 date, 5F24 date] },
//	       5F37 r||s }
//
// PublicKey is set only for an id-TA-ECDSA-SHA-256 key on P-256 (no domain
// parameters, or those of P-256). Other keys decode with a nil PublicKey,
// so such certificates can still be passed on to a card, which checks them.
type CVC struct {
	ProfileID     byte
	CAR           string // certification authority reference; the CHR itself for a self-signed request
	CHR           string // certificate holder reference
	PublicKeyOID  []byte // algorithm of the key, such as OIDTAECDSASHA256
	PublicKey     *ecdsa.PublicKey
	EffectiveDate []byte // 6 unpacked BCD digits YYMMDD, or nil
	ExpiryDate    []byte // 6 unpacked BCD digits YYMMDD, or nil
	Body          []byte // the complete 7F4E encoding, which the signature covers
	Signature     []byte // r||s
	Raw           []byte // the complete 7F21 encoding
}

// ParseCVC decodes the CV certificate at the start of b and returns it with
// the bytes that follow it. Errors wrap ErrMalformedCVC.
func ParseCVC(b []byte) (*CVC, []byte, error) {
	cert, rest, err := parseBERTLV(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformedCVC, err)
	}
	if cert.Tag != tagCVCertificate {
		return nil, nil, fmt.Errorf("%w: tag %X, expected 7F21", ErrMalformedCVC, cert.Tag)
	}
	raw := b[:len(b)-len(rest)]

	body, afterBody, err := parseBERTLV(cert.Value)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformedCVC, err)
	}
	if body.Tag != tagCVCBody {
		return nil, nil, fmt.Errorf("%w: first element has tag %X, expected 7F4E", ErrMalformedCVC, body.Tag)
	}
	sig, trailing, err := parseBERTLV(afterBody)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: signature: %w", ErrMalformedCVC, err)
	}
	if sig.Tag != tagCVCSignature || len(trailing) != 0 {
		return nil, nil, fmt.Errorf("%w: expected the signature 5F37 to end the certificate", ErrMalformedCVC)
	}
	if len(sig.Value) != P256SignatureLen {
		return nil, nil, fmt.Errorf("%w: signature has %d bytes, expected %d", ErrMalformedCVC, len(sig.Value), P256SignatureLen)
	}

	c, err := parseCVCBody(body.Value)
	if err != nil {
		return nil, nil, err
	}
	c.Body = cert.Value[:len(cert.Value)-len(afterBody)]
	c.Signature = sig.Value
	c.Raw = raw
	return c, rest, nil
}

// parseCVCBody decodes the elements of 7F4E in the order TR-03110 and
// OpenSC require: 5F29, 42, 7F49, 5F20, then optional elements.
func parseCVCBody(b []byte) (*CVC, error) {
	objs, err := parseBERTLVs(b)
	if err != nil {
		return nil, fmt.Errorf("%w: body: %w", ErrMalformedCVC, err)
	}
	order := []uint32{tagCVCProfileID, tagCVCAuthorityRef, tagCVCPublicKey, tagCVCHolderRef}
	if len(objs) < len(order) {
		return nil, fmt.Errorf("%w: body has %d elements, expected at least %d", ErrMalformedCVC, len(objs), len(order))
	}
	for i, tag := range order {
		if objs[i].Tag != tag {
			return nil, fmt.Errorf("%w: body element %d has tag %X, expected %X", ErrMalformedCVC, i, objs[i].Tag, tag)
		}
	}

	c := &CVC{}
	if len(objs[0].Value) != 1 {
		return nil, fmt.Errorf("%w: profile identifier has %d bytes, expected 1", ErrMalformedCVC, len(objs[0].Value))
	}
	c.ProfileID = objs[0].Value[0]
	if c.CAR, err = parseReference("CAR", objs[1].Value); err != nil {
		return nil, err
	}
	if c.PublicKey, c.PublicKeyOID, err = parsePublicKey(objs[2].Value); err != nil {
		return nil, err
	}
	if c.CHR, err = parseReference("CHR", objs[3].Value); err != nil {
		return nil, err
	}
	for _, o := range objs[len(order):] {
		switch o.Tag {
		case tagCVCEffectiveDate:
			c.EffectiveDate = o.Value
		case tagCVCExpiryDate:
			c.ExpiryDate = o.Value
		}
	}
	return c, nil
}

func parseReference(name string, v []byte) (string, error) {
	if len(v) == 0 || len(v) > maxReferenceLen {
		return "", fmt.Errorf("%w: %s has %d characters, expected 1 to %d", ErrMalformedCVC, name, len(v), maxReferenceLen)
	}
	for _, ch := range v {
		if ch < 0x20 || ch > 0x7E {
			return "", fmt.Errorf("%w: %s is not printable ASCII", ErrMalformedCVC, name)
		}
	}
	return string(v), nil
}

// p256Prime is the field prime of P-256, the value of domain parameter 81
// in a certificate whose key is on P-256.
var p256Prime = elliptic.P256().Params().P.FillBytes(make([]byte, p256CoordinateLen))

// parsePublicKey decodes the value of 7F49. It returns a nil key without
// error when the key is well formed but not an id-TA-ECDSA-SHA-256 key on
// P-256. The Pico HSM, for example, certifies its device key on secp256k1
// and gives that curve as domain parameters 81 to 87.
func parsePublicKey(b []byte) (*ecdsa.PublicKey, []byte, error) {
	objs, err := parseBERTLVs(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: public key: %w", ErrMalformedCVC, err)
	}
	if len(objs) == 0 || objs[0].Tag != tagCVCOID {
		return nil, nil, fmt.Errorf("%w: public key does not start with an OID", ErrMalformedCVC)
	}
	oid := objs[0].Value

	var prime, point []byte
	for _, o := range objs[1:] {
		switch o.Tag {
		case tagCVCPrime:
			prime = o.Value
		case tagCVCPublicPoint:
			point = o.Value
		}
	}
	if !bytes.Equal(oid, OIDTAECDSASHA256) || point == nil || (prime != nil && !bytes.Equal(prime, p256Prime)) {
		return nil, oid, nil
	}
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: public point is not on P-256: %w", ErrMalformedCVC, err)
	}
	return key, oid, nil
}

// CVCTemplate is the content of a CV certificate body to encode.
type CVCTemplate struct {
	CAR       string
	CHR       string
	PublicKey *ecdsa.PublicKey // P-256
	// Effective and Expiry are encoded as 5F25 and 5F24 when not zero.
	// Self-signed requests usually carry neither.
	Effective time.Time
	Expiry    time.Time
}

// EncodeCVCBody returns the 7F4E encoding of t with profile identifier 00
// and the public key as OID and uncompressed point, without domain
// parameters (OpenSC decodes them as optional).
func EncodeCVCBody(t CVCTemplate) ([]byte, error) {
	for name, ref := range map[string]string{"CAR": t.CAR, "CHR": t.CHR} {
		if _, err := parseReference(name, []byte(ref)); err != nil {
			return nil, fmt.Errorf("encoding CV certificate body: %w", err)
		}
	}
	if t.PublicKey == nil || t.PublicKey.Curve != elliptic.P256() {
		return nil, errors.New("encoding CV certificate body: the public key must be on P-256")
	}
	point, err := t.PublicKey.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encoding CV certificate body: %w", err)
	}

	var pub []byte
	pub = AppendTLV(pub, tagCVCOID, OIDTAECDSASHA256)
	pub = AppendTLV(pub, tagCVCPublicPoint, point)

	var body []byte
	body = AppendTLV(body, tagCVCProfileID, []byte{0x00})
	body = AppendTLV(body, tagCVCAuthorityRef, []byte(t.CAR))
	body = AppendTLV(body, tagCVCPublicKey, pub)
	body = AppendTLV(body, tagCVCHolderRef, []byte(t.CHR))
	if !t.Effective.IsZero() {
		body = AppendTLV(body, tagCVCEffectiveDate, cvcDate(t.Effective))
	}
	if !t.Expiry.IsZero() {
		body = AppendTLV(body, tagCVCExpiryDate, cvcDate(t.Expiry))
	}
	return AppendTLV(nil, tagCVCBody, body), nil
}

// SignFunc signs a SHA-256 digest with ECDSA P-256 and returns r||s.
type SignFunc func(digest [32]byte) ([]byte, error)

// SignCVC signs the encoded body (7F4E) with sign and returns the complete
// certificate 7F21 { body, 5F37 r||s }.
func SignCVC(body []byte, sign SignFunc) ([]byte, error) {
	sig, err := sign(sha256.Sum256(body))
	if err != nil {
		return nil, fmt.Errorf("signing CV certificate: %w", err)
	}
	if len(sig) != P256SignatureLen {
		return nil, fmt.Errorf("signing CV certificate: signature has %d bytes, expected %d", len(sig), P256SignatureLen)
	}
	content := append(append([]byte(nil), body...), AppendTLV(nil, tagCVCSignature, sig)...)
	return AppendTLV(nil, tagCVCertificate, content), nil
}

// ErrUnsupportedKey is returned when a signature check needs a key that is
// not an ECDSA P-256 key.
var ErrUnsupportedKey = errors.New("key is not an ECDSA P-256 key")

// VerifySignature checks the signature of c over its body with pub.
func (c *CVC) VerifySignature(pub *ecdsa.PublicKey) error {
	if pub == nil {
		return fmt.Errorf("certificate %q: %w", c.CHR, ErrUnsupportedKey)
	}
	if !VerifyP256(pub, c.Body, c.Signature) {
		return fmt.Errorf("certificate %q: %w", c.CHR, ErrSignatureInvalid)
	}
	return nil
}

// AuthenticatedRequest is a decoded authenticated CV request:
//
//	67 { 7F21 { 7F4E body, 5F37 inner signature }, 42 outer CAR, 5F37 outer signature }
//
// The inner signature is made with the requested key itself. The outer
// signature is made by the key named by the outer CAR (the device key of the
// token that holds the requested key) over the 7F21 encoding followed by the
// 42 encoding.
type AuthenticatedRequest struct {
	Inner          *CVC
	OuterCAR       string
	OuterSignature []byte
	Content        []byte // value of tag 67, which 80 54 sends to the card
	Raw            []byte // the complete 67 encoding
	outerSigned    []byte
}

// ParseAuthenticatedRequest decodes the authenticated request at the start
// of b and returns it with the bytes that follow it. Errors wrap
// ErrMalformedCVC.
func ParseAuthenticatedRequest(b []byte) (*AuthenticatedRequest, []byte, error) {
	req, rest, err := parseBERTLV(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformedCVC, err)
	}
	if req.Tag != tagAuthRequest {
		return nil, nil, fmt.Errorf("%w: tag %X, expected 67 (authenticated request)", ErrMalformedCVC, req.Tag)
	}
	inner, afterInner, err := ParseCVC(req.Value)
	if err != nil {
		return nil, nil, fmt.Errorf("inner request: %w", err)
	}
	car, afterCAR, err := parseBERTLV(afterInner)
	if err != nil || car.Tag != tagCVCAuthorityRef {
		return nil, nil, fmt.Errorf("%w: no outer CAR (42) after the inner request", ErrMalformedCVC)
	}
	outerCAR, err := parseReference("outer CAR", car.Value)
	if err != nil {
		return nil, nil, err
	}
	sig, trailing, err := parseBERTLV(afterCAR)
	if err != nil || sig.Tag != tagCVCSignature || len(trailing) != 0 {
		return nil, nil, fmt.Errorf("%w: expected the outer signature 5F37 to end the request", ErrMalformedCVC)
	}
	if len(sig.Value) != P256SignatureLen {
		return nil, nil, fmt.Errorf("%w: outer signature has %d bytes, expected %d", ErrMalformedCVC, len(sig.Value), P256SignatureLen)
	}

	return &AuthenticatedRequest{
		Inner:          inner,
		OuterCAR:       outerCAR,
		OuterSignature: sig.Value,
		Content:        req.Value,
		Raw:            b[:len(b)-len(rest)],
		outerSigned:    req.Value[:len(req.Value)-len(afterCAR)],
	}, rest, nil
}

// ParseAuthenticatedRequestContent decodes the value of tag 67, as the
// card receives it in 80 54.
func ParseAuthenticatedRequestContent(content []byte) (*AuthenticatedRequest, error) {
	req, _, err := ParseAuthenticatedRequest(AppendTLV(nil, tagAuthRequest, content))
	return req, err
}

// EncodeAuthenticatedRequest wraps the self-signed request inner (7F21) into
// an authenticated request with the outer CAR, signed by signOuter.
func EncodeAuthenticatedRequest(inner []byte, outerCAR string, signOuter SignFunc) ([]byte, error) {
	if _, _, err := ParseCVC(inner); err != nil {
		return nil, fmt.Errorf("encoding authenticated request: %w", err)
	}
	if _, err := parseReference("outer CAR", []byte(outerCAR)); err != nil {
		return nil, fmt.Errorf("encoding authenticated request: %w", err)
	}
	signed := append(append([]byte(nil), inner...), AppendTLV(nil, tagCVCAuthorityRef, []byte(outerCAR))...)
	sig, err := signOuter(sha256.Sum256(signed))
	if err != nil {
		return nil, fmt.Errorf("signing authenticated request: %w", err)
	}
	if len(sig) != P256SignatureLen {
		return nil, fmt.Errorf("signing authenticated request: signature has %d bytes, expected %d", len(sig), P256SignatureLen)
	}
	return AppendTLV(nil, tagAuthRequest, append(signed, AppendTLV(nil, tagCVCSignature, sig)...)), nil
}

// VerifyOuter checks the outer signature with the key named by OuterCAR.
func (r *AuthenticatedRequest) VerifyOuter(pub *ecdsa.PublicKey) error {
	if pub == nil {
		return fmt.Errorf("outer signature of request %q: %w", r.Inner.CHR, ErrUnsupportedKey)
	}
	if !VerifyP256(pub, r.outerSigned, r.OuterSignature) {
		return fmt.Errorf("outer signature of request %q: %w", r.Inner.CHR, ErrSignatureInvalid)
	}
	return nil
}

// VerifyInner checks the self-signature of the inner request with the
// public key it carries, which proves possession of the private key.
func (r *AuthenticatedRequest) VerifyInner() error {
	return r.Inner.VerifySignature(r.Inner.PublicKey)
}

// VerifyP256 reports whether sig (r||s, 64 bytes) is a valid ECDSA
// signature of SHA-256(message) by pub.
func VerifyP256(pub *ecdsa.PublicKey, message, sig []byte) bool {
	digest := sha256.Sum256(message)
	return VerifyP256Digest(pub, digest, sig)
}

// VerifyP256Digest reports whether sig (r||s, 64 bytes) is a valid ECDSA
// signature of digest by pub.
func VerifyP256Digest(pub *ecdsa.PublicKey, digest [32]byte, sig []byte) bool {
	if pub == nil || len(sig) != P256SignatureLen {
		return false
	}
	r := new(big.Int).SetBytes(sig[:p256CoordinateLen])
	s := new(big.Int).SetBytes(sig[p256CoordinateLen:])
	return ecdsa.Verify(pub, digest[:], r, s)
}

// SignP256Digest signs digest with key and returns r||s.
func SignP256Digest(key *ecdsa.PrivateKey, digest [32]byte) ([]byte, error) {
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return nil, err
	}
	sig := make([]byte, P256SignatureLen)
	r.FillBytes(sig[:p256CoordinateLen])
	s.FillBytes(sig[p256CoordinateLen:])
	return sig, nil
}

// cvcDate encodes a date as six unpacked BCD digits YYMMDD (UTC).
func cvcDate(t time.Time) []byte {
	t = t.UTC()
	yy, mm, dd := t.Year()%100, int(t.Month()), t.Day()
	return []byte{byte(yy / 10), byte(yy % 10), byte(mm / 10), byte(mm % 10), byte(dd / 10), byte(dd % 10)}
}
