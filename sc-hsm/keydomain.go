package schsm

import (
	"errors"
	"fmt"
)

// Values of P1 of MANAGE KEY DOMAIN (INS 52) beyond import and create.
const (
	keyDomainDelete    byte = 0x03
	keyDomainClearDKEK byte = 0x04
)

// MaxKeyDomainNumber is the highest key domain number the Pico HSM firmware
// accepts in P2. It answers SW 6B00 for 16 and above.
const MaxKeyDomainNumber = 15

// ErrKeyDomainStillDefined means a key domain was still defined after a
// DELETE KEY DOMAIN command that did not report an error.
var ErrKeyDomainStillDefined = errors.New("the key domain is still defined after the delete")

// KeyDomain is the state of one key domain as its status query reports it.
// A domain that the device knows but that was never created, or was
// deleted, is undefined (SW 6A88). Without INITIALIZE tag 97 the device has
// one domain, 0, which a SmartCard-HSM without DKEK also reports as
// undefined.
type KeyDomain struct {
	Number  int        `json:"key_domain"`
	Defined bool       `json:"defined"`
	DKEK    DKEKStatus `json:"dkek"` // zero when the domain is undefined
}

// KeyDomains queries key domain 0, 1, 2 and so on (80 52 00 kd 00) until
// the device answers SW 6A86 (beyond the configured domains) or 6B00 (no
// key-domain table, or beyond the firmware's 16), the way pypicohsm counts
// domains. It returns the domains before that answer. A device without
// DKEK support (SW 6D00) returns no domains and no error.
func (c *Card) KeyDomains() ([]KeyDomain, error) {
	var domains []KeyDomain
	for n := 0; n <= MaxKeyDomainNumber; n++ {
		kd, err := c.KeyDomain(byte(n))
		switch {
		case err == nil:
			domains = append(domains, kd)
		case errors.Is(err, ErrIncorrectP1P2), errors.Is(err, ErrWrongP1P2), errors.Is(err, ErrINSNotSupported):
			return domains, nil
		default:
			return domains, err
		}
	}
	return domains, nil
}

// KeyDomain queries one key domain. SW 6A88 gives a KeyDomain with Defined
// false and no error. Other status words are errors, among them 6A86 for a
// domain beyond the configured count.
func (c *Card) KeyDomain(domain byte) (KeyDomain, error) {
	st, err := c.DKEKStatus(domain)
	switch {
	case err == nil:
		return KeyDomain{Number: int(domain), Defined: true, DKEK: st}, nil
	case errors.Is(err, ErrReferenceNotFound):
		return KeyDomain{Number: int(domain)}, nil
	default:
		return KeyDomain{Number: int(domain)}, err
	}
}

// ClearKeyDomain deletes the DKEK of key domain domain (80 52 04 kd 00) and
// returns the new status: the share count stays and every share is
// outstanding again. It needs the user PIN verified in this session, else
// SW 6985.
func (c *Card) ClearKeyDomain(domain byte) (DKEKStatus, error) {
	cmd := Command{CLA: claProprietary, INS: insManageKeyDomain, P1: keyDomainClearDKEK, P2: domain, Ne: maxShortNe}
	data, err := c.run(cmd)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("clearing key domain %d: %w", domain, err)
	}
	st, err := parseDKEKStatus(data)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("clearing key domain %d: %w", domain, err)
	}
	return st, nil
}

// DeleteKeyDomain deletes key domain domain (80 52 03 kd 00) and confirms
// it with a status query. It needs the user PIN verified in this session,
// else SW 6985. A domain that still contains keys is refused with SW 6A89
// (ErrKeyDomainNotEmpty).
//
// The Pico HSM firmware reports a successful delete with SW 6A88, the
// status word of an undefined domain, and the status word of a real
// SmartCard-HSM is not documented. So the delete counts as done when it
// returns 9000 or 6A88 and the status query then finds the domain
// undefined. It returns the status word of the delete, for display.
func (c *Card) DeleteKeyDomain(domain byte) (uint16, error) {
	cmd := Command{CLA: claProprietary, INS: insManageKeyDomain, P1: keyDomainDelete, P2: domain, Ne: maxShortNe}
	resp, err := c.Transmit(cmd)
	if err != nil {
		return 0, fmt.Errorf("deleting key domain %d: %w", domain, err)
	}
	if resp.SW != SWOK && resp.SW != SWReferenceNotFound {
		return resp.SW, fmt.Errorf("deleting key domain %d: %w", domain, CheckSW(resp.SW))
	}

	kd, err := c.KeyDomain(domain)
	if err != nil {
		return resp.SW, fmt.Errorf("confirming the delete of key domain %d: %w", domain, err)
	}
	if kd.Defined {
		return resp.SW, fmt.Errorf("deleting key domain %d: %w (delete returned SW %04X)", domain, ErrKeyDomainStillDefined, resp.SW)
	}
	return resp.SW, nil
}
