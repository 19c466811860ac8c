package virtualcard

import (
	"crypto/sha256"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// MANAGE KEY DOMAIN operations (P1 of 80 52).
const (
	kdImportShare = 0x00 // import a DKEK share, or query the status without data
	kdCreate      = 0x01 // create a DKEK key domain with N shares
	kdCreateXKEK  = 0x02 // create an XKEK key domain (not supported)
	kdDelete      = 0x03
	kdClearDKEK   = 0x04 // forget the DKEK, keep the number of shares
)

const (
	shareLen = 32
	kcvLen   = 8
)

// manageKeyDomain implements IMPORT DKEK SHARE and MANAGE KEY DOMAIN
// (80 52 P1 P2, P2 = key domain).
func (c *Card) manageKeyDomain(cmd schsm.Command) schsm.Response {
	// A blank device has no key-domain table; the Pico returns 6B00 then,
	// and for a domain number of 16 or more.
	if c.st.KeyDomains == nil || int(cmd.P2) >= maxKeyDomains {
		return statusOnly(schsm.SWWrongP1P2)
	}
	if int(cmd.P2) >= len(c.st.KeyDomains) {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	domain := &c.st.KeyDomains[cmd.P2]

	switch cmd.P1 {
	case kdImportShare:
		if len(cmd.Data) == 0 {
			return keyDomainStatus(domain)
		}
		return c.importShare(domain, cmd.Data)
	case kdCreate:
		return c.createKeyDomain(domain, cmd.Data)
	case kdDelete:
		return c.deleteKeyDomain(domain)
	case kdClearDKEK:
		return c.clearKeyDomain(domain)
	default:
		// This includes P1 02, XKEK key domains, which need key
		// generation and CV request verification that this card lacks.
		return statusOnly(schsm.SWIncorrectP1P2)
	}
}

// keyDomainStatus returns <shares> <outstanding> <KCV 8>, where the key
// check value is the first 8 bytes of SHA-256(DKEK).
//
// CardContact: the status of a domain without DKEK is 6A88, as on a real
// card initialized without tag 92; the Pico returns 00 00 and 8 zero bytes.
// While shares are outstanding the KCV is all zeros; the Pico returns a
// meaningless value then.
func keyDomainStatus(domain *keyDomain) schsm.Response {
	if !domain.Defined || domain.Shares == 0 {
		return statusOnly(schsm.SWReferenceNotFound)
	}
	out := make([]byte, 2, 2+kcvLen)
	out[0] = byte(domain.Shares)
	out[1] = byte(domain.Shares - domain.Imported)
	if domain.Imported < domain.Shares {
		return ok(append(out, make([]byte, kcvLen)...))
	}
	sum := sha256.Sum256(domain.DKEK)
	return ok(append(out, sum[:kcvLen]...))
}

// importShare XORs a 32-byte share into the DKEK of the domain. Like the
// Pico and sc-hsm-tool, it needs no PIN.
func (c *Card) importShare(domain *keyDomain, share []byte) schsm.Response {
	if len(share) != shareLen {
		return statusOnly(schsm.SWWrongLength)
	}
	if !domain.Defined || domain.Shares == 0 || domain.Imported >= domain.Shares {
		return statusOnly(schsm.SWCommandNotAllowed)
	}

	for i := range domain.DKEK {
		domain.DKEK[i] ^= share[i]
	}
	domain.Imported++
	return c.commit(keyDomainStatus(domain))
}

// createKeyDomain defines a DKEK key domain with the number of shares in
// the single data byte. It needs the user PIN.
func (c *Card) createKeyDomain(domain *keyDomain, data []byte) schsm.Response {
	if !c.accessGranted() {
		return statusOnly(schsm.SWConditionsNotSatisfied)
	}
	if len(data) != 1 {
		return statusOnly(schsm.SWWrongLength)
	}
	if domain.Defined {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	if data[0] == 0 {
		return statusOnly(schsm.SWWrongData)
	}

	*domain = keyDomain{Defined: true, Shares: int(data[0]), DKEK: make([]byte, dkekLen)}
	return c.commit(keyDomainStatus(domain))
}

// deleteKeyDomain makes the domain undefined. It needs the user PIN.
//
// CardContact: success returns 9000. The Pico returns 6A88, and the status
// word of a real card is not documented.
func (c *Card) deleteKeyDomain(domain *keyDomain) schsm.Response {
	if !c.accessGranted() {
		return statusOnly(schsm.SWConditionsNotSatisfied)
	}
	if !domain.Defined {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	// NOTE: keys are not implemented, so no domain can hold keys and the
	// Pico status 6A89 (domain not empty) never occurs.
	*domain = keyDomain{DKEK: make([]byte, dkekLen)}
	return c.commit(ok(nil))
}

// clearKeyDomain clears the DKEK and the imported shares of the domain but
// keeps its number of shares. It needs the user PIN.
func (c *Card) clearKeyDomain(domain *keyDomain) schsm.Response {
	if !c.accessGranted() {
		return statusOnly(schsm.SWConditionsNotSatisfied)
	}
	if !domain.Defined {
		return statusOnly(schsm.SWReferenceNotFound)
	}
	domain.DKEK = make([]byte, dkekLen)
	domain.Imported = 0
	return c.commit(keyDomainStatus(domain))
}
