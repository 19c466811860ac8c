package schsm

import (
	"fmt"
)

// DKEKShareSize is the size of one DKEK share in bytes.
const DKEKShareSize = 32

// Values of P1 of MANAGE KEY DOMAIN (INS 52).
const (
	keyDomainImportShare byte = 0x00 // with a share: import it; without data: query the status
	keyDomainCreateDKEK  byte = 0x01
)

// minDKEKStatusLen is the length of the status: total, outstanding, KCV.
const minDKEKStatusLen = 10

// DKEKStatus is the DKEK state of one key domain. The key check value (KCV)
// is the first 8 bytes of SHA-256 of the DKEK, and is meaningful only once
// Outstanding is 0. KeyDomainUID is set by the Pico HSM for XKEK domains.
type DKEKStatus struct {
	Configured   bool // the domain expects at least one share
	Total        int
	Outstanding  int
	KCV          [8]byte
	KeyDomainUID []byte
}

// Complete reports whether a DKEK is configured and all its shares arrived.
func (s DKEKStatus) Complete() bool {
	return s.Configured && s.Outstanding == 0
}

func parseDKEKStatus(data []byte) (DKEKStatus, error) {
	if len(data) < minDKEKStatusLen {
		return DKEKStatus{}, fmt.Errorf("DKEK status has %d bytes, expected at least %d", len(data), minDKEKStatusLen)
	}
	st := DKEKStatus{
		Total:       int(data[0]),
		Outstanding: int(data[1]),
	}
	st.Configured = st.Total > 0
	copy(st.KCV[:], data[2:10])
	if len(data) > minDKEKStatusLen {
		st.KeyDomainUID = append([]byte(nil), data[minDKEKStatusLen:]...)
	}
	return st, nil
}

// DKEKStatus queries the DKEK of key domain domain (80 52 00 kd 00). A card
// initialized without DKEK returns SW 6A88 (SmartCard-HSM), 6B00 (blank Pico
// HSM) or 6D00 (applets without DKEK support), which come back as errors; a
// Pico HSM without DKEK instead returns a status with Configured false.
func (c *Card) DKEKStatus(domain byte) (DKEKStatus, error) {
	cmd := Command{CLA: claProprietary, INS: insManageKeyDomain, P1: keyDomainImportShare, P2: domain, Ne: maxShortNe}
	data, err := c.run(cmd)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("querying DKEK status of key domain %d: %w", domain, err)
	}
	st, err := parseDKEKStatus(data)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("querying DKEK status of key domain %d: %w", domain, err)
	}
	return st, nil
}

// ImportDKEKShare imports one 32-byte DKEK share into key domain domain
// (80 52 00 kd 20 share 00) and returns the new status. The card XORs the
// shares together. A Pico HSM returns SW 6986 when no share is expected.
// The error never contains the share.
func (c *Card) ImportDKEKShare(domain byte, share []byte) (DKEKStatus, error) {
	if len(share) != DKEKShareSize {
		return DKEKStatus{}, fmt.Errorf("importing DKEK share into key domain %d: share has %d bytes, expected %d",
			domain, len(share), DKEKShareSize)
	}
	cmd := Command{CLA: claProprietary, INS: insManageKeyDomain, P1: keyDomainImportShare, P2: domain, Data: share, Ne: maxShortNe}
	data, err := c.run(cmd)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("importing DKEK share into key domain %d: %w", domain, err)
	}
	st, err := parseDKEKStatus(data)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("importing DKEK share into key domain %d: %w", domain, err)
	}
	return st, nil
}

// CreateKeyDomain creates DKEK key domain domain that expects shares shares
// (80 52 01 kd 01 n). It needs the user PIN verified in this session, else
// SW 6985. For a domain that already exists the Pico HSM returns SW 6A86.
func (c *Card) CreateKeyDomain(domain byte, shares int) (DKEKStatus, error) {
	if shares < 0 || shares > 0xFF {
		return DKEKStatus{}, fmt.Errorf("creating key domain %d: share count %d is outside 0 to 255", domain, shares)
	}
	cmd := Command{CLA: claProprietary, INS: insManageKeyDomain, P1: keyDomainCreateDKEK, P2: domain, Data: []byte{byte(shares)}}
	data, err := c.run(cmd)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("creating key domain %d: %w", domain, err)
	}
	st, err := parseDKEKStatus(data)
	if err != nil {
		return DKEKStatus{}, fmt.Errorf("creating key domain %d: %w", domain, err)
	}
	return st, nil
}
