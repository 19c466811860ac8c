package schsm

import (
	"errors"
	"fmt"
)

// Tags of a card verifiable certificate (BSI TR-03110).
const (
	tagCVCertificate = 0x7F21
	tagCVCBody       = 0x7F4E
	tagCVCHolderRef  = 0x5F20
)

// serialSuffixLen is the number of CHR characters after the serial number:
// OpenSC's SmartCard-HSM emulation (pkcs15-sc-hsm.c) drops the last five
// characters of the device CHR to form the token serial.
const serialSuffixLen = 5

// ErrMalformedCVC is wrapped by every CV certificate decoding error.
var ErrMalformedCVC = errors.New("malformed CV certificate")

// parseCVCHolderReference returns the CHR (tag 5F20 in the body 7F4E) of the
// CV certificate at the start of b. Bytes after the first certificate, such
// as the issuer's certificate in EF.C_DevAut, are ignored.
func parseCVCHolderReference(b []byte) (string, error) {
	cert, _, err := parseBERTLV(b)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformedCVC, err)
	}
	if cert.Tag != tagCVCertificate {
		return "", fmt.Errorf("%w: tag %X, expected 7F21", ErrMalformedCVC, cert.Tag)
	}

	body, ok, err := findBERTLV(cert.Value, tagCVCBody)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformedCVC, err)
	}
	if !ok {
		return "", fmt.Errorf("%w: no certificate body (7F4E)", ErrMalformedCVC)
	}

	chr, ok, err := findBERTLV(body, tagCVCHolderRef)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformedCVC, err)
	}
	if !ok || len(chr) == 0 {
		return "", fmt.Errorf("%w: no certificate holder reference (5F20)", ErrMalformedCVC)
	}
	for _, ch := range chr {
		if ch < 0x20 || ch > 0x7E {
			return "", fmt.Errorf("%w: certificate holder reference is not printable ASCII", ErrMalformedCVC)
		}
	}
	return string(chr), nil
}

// SerialFromCHR returns the token serial number that OpenSC shows for a
// device CHR: the CHR without its last five characters, for example
// "ESPICOHSMTR" for "ESPICOHSMTR00001". It returns "" for a CHR of five
// characters or fewer.
func SerialFromCHR(chr string) string {
	if len(chr) <= serialSuffixLen {
		return ""
	}
	return chr[:len(chr)-serialSuffixLen]
}
