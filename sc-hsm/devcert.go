package schsm

import (
	"bytes"
	"errors"
	"fmt"
)

// FIDDeviceRequest is the EF of the Pico HSM that contains the CV request of
// the device key (C_DevAut key CC00), which the vendor's certification
// service signs.
const FIDDeviceRequest uint16 = 0xCE00

// ErrDeviceChainMismatch is wrapped by CheckDeviceChain when a chain does
// not certify the device key or is not linked.
var ErrDeviceChainMismatch = errors.New("the certificate chain does not match the device")

// ReadDeviceRequest reads the device's CV request from EF CE00 with the odd
// READ BINARY that names the EF in P1-P2 (00 B1 CE 00 04 54 02 offset 00),
// as pypicohsm does, without a SELECT. It reads 256-byte chunks until the
// card returns fewer bytes, no bytes or SW 6282.
func (c *Card) ReadDeviceRequest() ([]byte, error) {
	content, err := c.readFileByID(FIDDeviceRequest)
	if err != nil {
		return nil, fmt.Errorf("reading the device request: %w", err)
	}
	if len(content) == 0 {
		return nil, fmt.Errorf("reading the device request: file %04X is empty", FIDDeviceRequest)
	}
	return content, nil
}

// readFileByID reads EF fid whole with READ BINARY commands whose P1-P2
// name the EF.
func (c *Card) readFileByID(fid uint16) ([]byte, error) {
	var content []byte
	for {
		if len(content) >= maxFileSize {
			return nil, fmt.Errorf("reading file %04X: more than %d bytes", fid, maxFileSize)
		}
		offset := len(content)
		cmd := Command{
			CLA:  claISO,
			INS:  insReadBinaryOdd,
			P1:   byte(fid >> 8),
			P2:   byte(fid),
			Data: []byte{tagOffset, 0x02, byte(offset >> 8), byte(offset)},
			Ne:   readChunk,
		}
		resp, err := c.Transmit(cmd)
		if err != nil {
			return nil, fmt.Errorf("reading file %04X at offset %d: %w", fid, offset, err)
		}
		if resp.SW == SWEndOfFile {
			return append(content, resp.Data...), nil
		}
		if err := CheckSW(resp.SW); err != nil {
			return nil, fmt.Errorf("reading file %04X at offset %d: %w", fid, offset, err)
		}
		content = append(content, resp.Data...)
		if len(resp.Data) < readChunk {
			return content, nil
		}
	}
}

// WriteDeviceCertificate selects EF.C_DevAut (2F02), writes chain into it
// from offset 0 with UPDATE BINARY, then reads the file back and compares.
// The Pico HSM requires the user PIN to be verified in the session. If the
// card keeps old bytes beyond the end of a shorter chain, the comparison
// fails.
func (c *Card) WriteDeviceCertificate(chain []byte) error {
	if len(chain) == 0 {
		return errors.New("writing the device certificate: the chain is empty")
	}
	if _, err := c.selectFile(FIDDevAut); err != nil {
		return fmt.Errorf("writing the device certificate: selecting file %04X: %w", FIDDevAut, err)
	}
	if err := c.UpdateBinary(FIDDevAut, 0, chain); err != nil {
		return fmt.Errorf("writing the device certificate: %w", err)
	}
	back, err := c.ReadFile(FIDDevAut)
	if err != nil {
		return fmt.Errorf("reading the device certificate back: %w", err)
	}
	if !bytes.Equal(back, chain) {
		return fmt.Errorf("reading the device certificate back: file %04X contains %d bytes that differ from the %d bytes written",
			FIDDevAut, len(back), len(chain))
	}
	return nil
}

// DeviceRequestPoint returns the public point (tag 86 in 7F49) of the CV
// request in b, which is either a CV request 7F21 or an authenticated
// request 67 that contains one. The point is returned as encoded, whatever
// the curve.
func DeviceRequestPoint(b []byte) ([]byte, error) {
	outer, _, err := parseBERTLV(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedCVC, err)
	}
	cert := b
	if outer.Tag == tagAuthRequest {
		cert = outer.Value
	}
	return cvcPublicPoint(cert)
}

// cvcPublicPoint returns the encoded point of the CV certificate or request
// at the start of b.
func cvcPublicPoint(b []byte) ([]byte, error) {
	cert, _, err := parseBERTLV(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedCVC, err)
	}
	if cert.Tag != tagCVCertificate {
		return nil, fmt.Errorf("%w: tag %X, expected 7F21", ErrMalformedCVC, cert.Tag)
	}
	body, ok, err := findBERTLV(cert.Value, tagCVCBody)
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: no certificate body (7F4E)", ErrMalformedCVC)
	}
	key, ok, err := findBERTLV(body, tagCVCPublicKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("%w: no public key (7F49)", ErrMalformedCVC)
	}
	point, ok, err := findBERTLV(key, tagCVCPublicPoint)
	if err != nil || !ok || len(point) == 0 {
		return nil, fmt.Errorf("%w: no public point (86)", ErrMalformedCVC)
	}
	return point, nil
}

// deviceChainLen is the number of CV certificates in a chain from the
// vendor's service: device, device issuer (DV) and root CA.
const deviceChainLen = 3

// CheckDeviceChain checks a chain for EF.C_DevAut before it is written: it
// must consist of exactly three CV certificates (device, DV, CA) with no
// bytes after them, each CAR must be the CHR of the next certificate, the
// device certificate must not be self-signed, its CHR must be long enough
// for OpenSC to derive a serial number from it, and its public point must
// equal devicePoint byte for byte. It returns the device CHR.
//
// NOTE: signatures are not verified, because the device key and the vendor's
// keys may be on secp256k1, which crypto/ecdsa does not support. ParseCVC
// also rejects signatures that are not 64 bytes and, without domain
// parameters, points that are not on P-256, so such a chain is rejected.
func CheckDeviceChain(chain, devicePoint []byte) (string, error) {
	var certs []*CVC
	rest := chain
	for len(rest) > 0 {
		if len(certs) == deviceChainLen {
			return "", fmt.Errorf("%w: %d bytes after the %d certificates", ErrMalformedCVC, len(rest), deviceChainLen)
		}
		cert, next, err := ParseCVC(rest)
		if err != nil {
			return "", fmt.Errorf("certificate %d of the chain: %w", len(certs)+1, err)
		}
		certs = append(certs, cert)
		rest = next
	}
	if len(certs) != deviceChainLen {
		return "", fmt.Errorf("%w: the chain has %d certificates, expected %d (device, DV, CA)",
			ErrMalformedCVC, len(certs), deviceChainLen)
	}

	device := certs[0]
	if len(device.CHR) <= serialSuffixLen {
		return "", fmt.Errorf("%w: device CHR %q has no serial number", ErrDeviceChainMismatch, device.CHR)
	}
	if device.CAR == device.CHR {
		return "", fmt.Errorf("%w: the device certificate %q is self-signed", ErrDeviceChainMismatch, device.CHR)
	}
	for i := 0; i+1 < len(certs); i++ {
		if certs[i].CAR != certs[i+1].CHR {
			return "", fmt.Errorf("%w: certificate %d is issued by %q, but certificate %d is %q",
				ErrDeviceChainMismatch, i+1, certs[i].CAR, i+2, certs[i+1].CHR)
		}
	}

	point, err := cvcPublicPoint(device.Raw)
	if err != nil {
		return "", fmt.Errorf("device certificate: %w", err)
	}
	if !bytes.Equal(point, devicePoint) {
		return "", fmt.Errorf("%w: the device certificate %q certifies another public key", ErrDeviceChainMismatch, device.CHR)
	}
	return device.CHR, nil
}
