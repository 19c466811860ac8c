package schsm

import (
	"errors"
	"fmt"
)

// Instructions and parameters of public key registration and authentication.
const (
	insManageSecurityEnv byte = 0x22 // MANAGE SECURITY ENVIRONMENT
	insPSO               byte = 0x2A // PERFORM SECURITY OPERATION
	insExternalAuth      byte = 0x82 // EXTERNAL AUTHENTICATE

	mseSet            byte = 0x81 // P1 of MSE: SET for verification and external authentication
	mseTemplateDST    byte = 0xB6 // P2 of MSE: digital signature template (certificate verification)
	mseTemplateAT     byte = 0xA4 // P2 of MSE: authentication template
	tagPublicKeyRef   byte = 0x83 // MSE data object: reference (CHR) of a public key
	psoVerifyCertP2   byte = 0xBE // P2 of PSO VERIFY CERTIFICATE
	pkaRegister       byte = 0x00 // P1 of 80 54: status, or register with data
	pkaReplace        byte = 0x01 // P1 of 80 54: replace the key in slot P2
	pkaEnumerate      byte = 0x02 // P1 of 80 54: CHR of the key in slot P2
	pkaStatusResponse      = 4
)

// ErrCertificateRejected is returned when PSO VERIFY CERTIFICATE fails:
// the certificate is not signed by its issuer, or the issuer is unknown.
var ErrCertificateRejected = errors.New("card rejected the certificate")

// RegisterPublicKey registers a public key for public key authentication
// with the sequence of OpenSC's sc-hsm-tool --register-public-key. dica and
// device are the complete CV certificates (7F21) of the device issuer CA and
// of the device that holds the key, and request is the authenticated request
// (67) made by that device. The card first learns the DICA and device keys
// (VerifyCertificate), then selects the device key by the outer CAR of the
// request (00 22 81 B6) and receives the request (80 54 00 00). It returns
// the new status. A card with every slot used returns SW 6A84
// (ErrNoFreePKASlot).
func (c *Card) RegisterPublicKey(dica, device, request []byte) (PKAStatus, error) {
	return c.sendPublicKey(pkaRegister, 0, dica, device, request)
}

// ReplacePublicKey replaces the key in slot (0 to N-1) with 80 54 01 slot.
// The token must have been initialized with option 0008, else the card
// returns SW 6985; a slot beyond N returns SW 6A86.
func (c *Card) ReplacePublicKey(slot int, dica, device, request []byte) (PKAStatus, error) {
	if slot < 0 || slot > 0xFF {
		return PKAStatus{}, fmt.Errorf("replacing public key: slot %d is outside 0 to 255", slot)
	}
	return c.sendPublicKey(pkaReplace, byte(slot), dica, device, request)
}

func (c *Card) sendPublicKey(p1, p2 byte, dica, device, request []byte) (PKAStatus, error) {
	step := "registering public key"
	if p1 == pkaReplace {
		step = fmt.Sprintf("replacing public key in slot %d", p2)
	}
	req, _, err := ParseAuthenticatedRequest(request)
	if err != nil {
		return PKAStatus{}, fmt.Errorf("%s: %w", step, err)
	}

	for _, cert := range []struct {
		name string
		raw  []byte
	}{{"device issuer certificate", dica}, {"device certificate", device}} {
		if _, err := c.VerifyCertificate(cert.raw); err != nil {
			return PKAStatus{}, fmt.Errorf("%s: %s: %w", step, cert.name, err)
		}
	}

	if err := c.setVerificationKey(req.OuterCAR); err != nil {
		return PKAStatus{}, fmt.Errorf("%s: selecting device key %q: %w", step, req.OuterCAR, err)
	}
	cmd := Command{CLA: claProprietary, INS: insPublicKeyAuth, P1: p1, P2: p2, Data: req.Content, Ne: pkaStatusResponse}
	data, err := c.run(cmd)
	if err != nil {
		return PKAStatus{}, fmt.Errorf("%s %q: %w", step, req.Inner.CHR, err)
	}
	if len(data) < pkaStatusResponse {
		// The status is informative only; ask for it separately.
		st, err := c.PKAStatus()
		if err != nil {
			return PKAStatus{}, fmt.Errorf("%s: %w", step, err)
		}
		return st, nil
	}
	return pkaStatusFrom(data), nil
}

// VerifyCertificate makes the card learn the public key of the CV
// certificate cert (7F21). When MSE SET DST with the CHR (00 22 81 B6 83 CHR)
// returns 9000, the card has the key already and VerifyCertificate returns
// true. After SW 6A88 it selects the issuer key by the CAR and sends
// the certificate without its 7F21 header in PSO VERIFY CERTIFICATE
// (00 2A 00 BE), which the card accepts only if the issuer signed it.
func (c *Card) VerifyCertificate(cert []byte) (known bool, err error) {
	parsed, _, err := ParseCVC(cert)
	if err != nil {
		return false, err
	}

	err = c.setVerificationKey(parsed.CHR)
	switch {
	case err == nil:
		return true, nil
	case !errors.Is(err, ErrReferenceNotFound):
		return false, fmt.Errorf("looking up key %q: %w", parsed.CHR, err)
	}

	if err := c.setVerificationKey(parsed.CAR); err != nil {
		return false, fmt.Errorf("selecting issuer key %q of %q: %w", parsed.CAR, parsed.CHR, err)
	}
	content := cert[:len(parsed.Raw)]
	outer, _, err := parseBERTLV(content)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrMalformedCVC, err)
	}
	cmd := Command{CLA: claISO, INS: insPSO, P1: 0x00, P2: psoVerifyCertP2, Data: outer.Value}
	if _, err := c.run(cmd); err != nil {
		return false, fmt.Errorf("verifying certificate %q: %w: %w", parsed.CHR, ErrCertificateRejected, err)
	}
	return false, nil
}

// setVerificationKey selects a public key for certificate or request
// verification: 00 22 81 B6 Lc 83 len CHR.
func (c *Card) setVerificationKey(chr string) error {
	return c.manageSecurityEnv(mseTemplateDST, chr)
}

func (c *Card) manageSecurityEnv(template byte, chr string) error {
	if len(chr) == 0 || len(chr) > 0x7F {
		return fmt.Errorf("key reference %q must have 1 to 127 characters", chr)
	}
	data := append([]byte{tagPublicKeyRef, byte(len(chr))}, chr...)
	cmd := Command{CLA: claISO, INS: insManageSecurityEnv, P1: mseSet, P2: template, Data: data}
	_, err := c.run(cmd)
	return err
}

// RegisteredPublicKey is one slot of public key authentication as
// EnumeratePublicKeys reports it.
type RegisteredPublicKey struct {
	Slot          int
	Registered    bool   // false for an empty slot (SW 6A88)
	CHR           string // "" for an empty slot
	Authenticated bool   // SW 9001: authenticated in this session
}

// EnumeratePublicKeys lists the slots with 80 54 02 slot, from slot 0 until
// the card returns SW 6A86 (slot beyond N). The Pico HSM and the virtual
// card implement it; a card without the command returns an error matching
// ErrIncorrectP1P2 or ErrINSNotSupported at slot 0.
func (c *Card) EnumeratePublicKeys() ([]RegisteredPublicKey, error) {
	var keys []RegisteredPublicKey
	for slot := 0; slot <= 0xFF; slot++ {
		cmd := Command{CLA: claProprietary, INS: insPublicKeyAuth, P1: pkaEnumerate, P2: byte(slot), Ne: maxShortNe}
		resp, err := c.Transmit(cmd)
		if err != nil {
			return nil, fmt.Errorf("enumerating public keys at slot %d: %w", slot, err)
		}
		switch {
		case resp.SW == SWIncorrectP1P2 && slot > 0:
			return keys, nil
		case resp.SW == SWReferenceNotFound:
			keys = append(keys, RegisteredPublicKey{Slot: slot})
		case resp.SW == SWOK || resp.SW == SWOKAuthenticated:
			keys = append(keys, RegisteredPublicKey{
				Slot:          slot,
				Registered:    true,
				CHR:           string(resp.Data),
				Authenticated: resp.SW == SWOKAuthenticated,
			})
		default:
			return nil, fmt.Errorf("enumerating public keys at slot %d: %w", slot, CheckSW(resp.SW))
		}
	}
	return keys, nil
}

func pkaStatusFrom(data []byte) PKAStatus {
	return PKAStatus{
		Total:         int(data[0]),
		Missing:       int(data[1]),
		Required:      int(data[2]),
		Authenticated: int(data[3]),
	}
}
