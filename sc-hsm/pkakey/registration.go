package pkakey

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// ErrMalformedRegistration is wrapped by every registration file decoding
// error.
var ErrMalformedRegistration = errors.New("malformed public key registration file")

// oidPKARegistration is 1.3.6.1.4.1.24991.4.3.1, the type of the newer
// registration file encoding (CardContact arc 1.3.6.1.4.1.24991).
var oidPKARegistration = []byte{0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x04, 0x03, 0x01}

// Tags of the registration file.
const (
	tagSequence      = 0x30
	tagOID           = 0x06
	tagDICAWrapper   = 0x61
	tagDeviceWrapper = 0x62
	tagRequestWrap   = 0x63
	tagCVCertificate = 0x7F21
	tagAuthRequest   = 0x67
)

// maxRegistrationSize bounds the file size; the three certificates of a
// real file take about 1 KB.
const maxRegistrationSize = 16 * 1024

// Registration is a decoded registration file.
type Registration struct {
	DICA    *schsm.CVC                  // device issuer CA certificate
	Device  *schsm.CVC                  // certificate of the device that holds the key
	Request *schsm.AuthenticatedRequest // the key, self-signed and signed by the device
}

// ParseRegistration decodes a registration file in the old or the new
// encoding. It checks the structure only; CheckLinks and VerifyChain check
// the signatures.
func ParseRegistration(b []byte) (*Registration, error) {
	if len(b) > maxRegistrationSize {
		return nil, fmt.Errorf("%w: %d bytes, the maximum is %d", ErrMalformedRegistration, len(b), maxRegistrationSize)
	}
	seq, rest, err := readTLV(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedRegistration, err)
	}
	if seq.tag != tagSequence || len(rest) != 0 {
		return nil, fmt.Errorf("%w: expected one SEQUENCE (30)", ErrMalformedRegistration)
	}
	items, err := readTLVs(seq.value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedRegistration, err)
	}

	var dica, device, request []byte
	switch {
	case len(items) == 3 && items[0].tag == tagAuthRequest:
		// Old: request, device certificate, DICA certificate.
		if items[1].tag != tagCVCertificate || items[2].tag != tagCVCertificate {
			return nil, fmt.Errorf("%w: expected 67, 7F21, 7F21", ErrMalformedRegistration)
		}
		request, device, dica = items[0].raw, items[1].raw, items[2].raw
	case len(items) == 4 && items[0].tag == tagOID:
		if !bytes.Equal(items[0].value, oidPKARegistration) {
			return nil, fmt.Errorf("%w: type OID %X is not 1.3.6.1.4.1.24991.4.3.1", ErrMalformedRegistration, items[0].value)
		}
		if items[1].tag != tagDICAWrapper || items[2].tag != tagDeviceWrapper || items[3].tag != tagRequestWrap {
			return nil, fmt.Errorf("%w: expected 06, 61, 62, 63", ErrMalformedRegistration)
		}
		dica, device, request = items[1].value, items[2].value, items[3].value
	default:
		return nil, fmt.Errorf("%w: unknown layout of %d elements", ErrMalformedRegistration, len(items))
	}

	r := &Registration{}
	var trailing []byte
	if r.DICA, trailing, err = schsm.ParseCVC(dica); err != nil || len(trailing) != 0 {
		return nil, fmt.Errorf("%w: device issuer certificate: %w", ErrMalformedRegistration, orTrailing(err))
	}
	if r.Device, trailing, err = schsm.ParseCVC(device); err != nil || len(trailing) != 0 {
		return nil, fmt.Errorf("%w: device certificate: %w", ErrMalformedRegistration, orTrailing(err))
	}
	if r.Request, trailing, err = schsm.ParseAuthenticatedRequest(request); err != nil || len(trailing) != 0 {
		return nil, fmt.Errorf("%w: request: %w", ErrMalformedRegistration, orTrailing(err))
	}
	return r, nil
}

func orTrailing(err error) error {
	if err != nil {
		return err
	}
	return errors.New("unexpected bytes after the element")
}

// ReadRegistrationFile reads and decodes a registration file.
func ReadRegistrationFile(path string) (*Registration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading registration file: %w", err)
	}
	r, err := ParseRegistration(b)
	if err != nil {
		return nil, fmt.Errorf("reading registration file %s: %w", path, err)
	}
	return r, nil
}

// Encode returns the old encoding 30 { 67 request, 7F21 device, 7F21 DICA }.
func (r *Registration) Encode() []byte {
	var content []byte
	content = append(content, r.Request.Raw...)
	content = append(content, r.Device.Raw...)
	content = append(content, r.DICA.Raw...)
	return schsm.AppendTLV(nil, tagSequence, content)
}

// CHR returns the holder reference of the registered key, which MSE SET AT
// names during authentication.
func (r *Registration) CHR() string { return r.Request.Inner.CHR }

// PublicKey returns the registered key.
func (r *Registration) PublicKey() *ecdsa.PublicKey { return r.Request.Inner.PublicKey }

// CheckLinks checks every signature that needs no trust anchor. The device
// certificate must be signed by the DICA. The request's outer CAR must name
// the device, and the outer signature must verify with the device key. The
// inner self-signature must verify with the registered key.
func (r *Registration) CheckLinks() error {
	if r.Device.CAR != r.DICA.CHR {
		return fmt.Errorf("device certificate %q is issued by %q, not by the included DICA %q", r.Device.CHR, r.Device.CAR, r.DICA.CHR)
	}
	if err := r.Device.VerifySignature(r.DICA.PublicKey); err != nil {
		return err
	}
	if r.Request.OuterCAR != r.Device.CHR {
		return fmt.Errorf("request %q is signed by %q, not by the included device %q", r.CHR(), r.Request.OuterCAR, r.Device.CHR)
	}
	if err := r.Request.VerifyOuter(r.Device.PublicKey); err != nil {
		return err
	}
	return r.Request.VerifyInner()
}

// VerifyChain runs CheckLinks and checks that the DICA certificate is
// signed by the root key rootCHR.
func (r *Registration) VerifyChain(rootCHR string, root *ecdsa.PublicKey) error {
	if r.DICA.CAR != rootCHR {
		return fmt.Errorf("device issuer certificate %q is issued by %q, expected %q", r.DICA.CHR, r.DICA.CAR, rootCHR)
	}
	if err := r.DICA.VerifySignature(root); err != nil {
		return err
	}
	return r.CheckLinks()
}

// tlv is one decoded data object: raw is the whole encoding.
type tlv struct {
	tag   uint32
	value []byte
	raw   []byte
}

// readTLV decodes the first BER-TLV of b (tags up to 3 bytes, definite
// lengths up to 3 length bytes).
func readTLV(b []byte) (tlv, []byte, error) {
	if len(b) == 0 {
		return tlv{}, nil, errors.New("no tag")
	}
	tag := uint32(b[0])
	i := 1
	if b[0]&0x1F == 0x1F {
		for {
			if i >= len(b) || i > 3 {
				return tlv{}, nil, fmt.Errorf("tag %X is cut off or too long", tag)
			}
			tag = tag<<8 | uint32(b[i])
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return tlv{}, nil, fmt.Errorf("tag %X has no length", tag)
	}
	length := int(b[i])
	i++
	if length >= 0x80 {
		n := length & 0x7F
		if n == 0 || n > 3 || i+n > len(b) {
			return tlv{}, nil, fmt.Errorf("tag %X has an invalid length field", tag)
		}
		length = 0
		for _, c := range b[i : i+n] {
			length = length<<8 | int(c)
		}
		i += n
	}
	if length > len(b)-i {
		return tlv{}, nil, fmt.Errorf("tag %X needs %d value bytes, %d remain", tag, length, len(b)-i)
	}
	end := i + length
	return tlv{tag: tag, value: b[i:end], raw: b[:end]}, b[end:], nil
}

func readTLVs(b []byte) ([]tlv, error) {
	var out []tlv
	for len(b) > 0 {
		t, rest, err := readTLV(b)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		b = rest
	}
	return out, nil
}
