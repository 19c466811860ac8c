package provision

import (
	"fmt"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
)

// KeyDomainSetup is one DKEK key domain that Run creates after INITIALIZE
// with Settings.KeyDomains. Request.KeyDomains[i] is key domain i.
type KeyDomainSetup struct {
	Shares int        // number of DKEK shares the domain expects, 1 to schsm.MaxDKEKShares
	Import [][32]byte // decrypted shares to import into it, at most Shares
}

// KeyDomainResult is the state of a key domain that Run created, as the
// device reports it afterwards. KCV is nil while shares are outstanding.
type KeyDomainResult struct {
	KeyDomain   int      `json:"key_domain"`
	Total       int      `json:"shares_total"`
	Outstanding int      `json:"shares_outstanding"`
	KCV         *[8]byte `json:"kcv,omitempty"`
}

// CreateKeyDomainStepName returns the name of the step that creates key
// domain n.
func CreateKeyDomainStepName(n int) string {
	return fmt.Sprintf("create key domain %d", n)
}

// checkKeyDomains validates Request.KeyDomains without the card.
func checkKeyDomains(req Request) error {
	s := req.Settings
	if len(req.KeyDomains) == 0 {
		return nil
	}
	if len(req.KeyDomains) > s.KeyDomains {
		return fmt.Errorf("%w: %d key domains to create, but the settings configure %d", ErrShareCount, len(req.KeyDomains), s.KeyDomains)
	}
	for n, kd := range req.KeyDomains {
		if kd.Shares < 1 || kd.Shares > schsm.MaxDKEKShares {
			return fmt.Errorf("%w: key domain %d: %d DKEK shares is out of range; use 1 to %d", ErrShareCount, n, kd.Shares, schsm.MaxDKEKShares)
		}
		if len(kd.Import) > kd.Shares {
			return fmt.Errorf("%w: key domain %d: %d shares given for a DKEK of %d shares", ErrShareCount, n, len(kd.Import), kd.Shares)
		}
		for i := range kd.Import {
			for j := i + 1; j < len(kd.Import); j++ {
				if kd.Import[i] == kd.Import[j] {
					return fmt.Errorf("%w: key domain %d: shares %d and %d are equal and would cancel out; use distinct shares", ErrShareCount, n, i+1, j+1)
				}
			}
		}
		if len(kd.Import) == kd.Shares && dkek.Combine(kd.Import...) == ([32]byte{}) {
			return fmt.Errorf("%w: key domain %d: the shares XOR to an all-zero DKEK", ErrShareCount, n)
		}
	}
	return nil
}

// setUpKeyDomains creates the key domains of Request.KeyDomains with
// MANAGE KEY DOMAIN, imports their shares and reads each one back. Creating
// a domain needs the user PIN verified, which verifyPIN did in this
// session. Without it the domains are left to listRemaining.
func (r *runner) setUpKeyDomains() error {
	domains := r.req.KeyDomains
	if len(domains) == 0 {
		return nil
	}
	if !r.sessionAuthenticated() {
		r.skip(CreateKeyDomainStepName(0), "creating key domains needs an authenticated session (user PIN, public key quorum, or both with option 0010), which this run does not have")
		return nil
	}

	for n, kd := range domains {
		step := CreateKeyDomainStepName(n)
		r.begin(step)
		if !r.createdByCheck(n) {
			if _, err := r.card.CreateKeyDomain(byte(n), kd.Shares); err != nil {
				return r.fail(step, err)
			}
		}
		for i, share := range kd.Import {
			if _, err := r.card.ImportDKEKShare(byte(n), share[:]); err != nil {
				return r.fail(step, fmt.Errorf("importing share %d of %d: %w", i+1, len(kd.Import), err))
			}
		}
		res, err := r.checkKeyDomain(n, kd)
		if err != nil {
			return r.fail(step, err)
		}
		r.res.KeyDomains = append(r.res.KeyDomains, res)
		detail := fmt.Sprintf("%d of %d %s imported", len(kd.Import), kd.Shares, plural(kd.Shares, "share", "shares"))
		if res.KCV != nil {
			detail += fmt.Sprintf(", key check value %X", res.KCV[:])
		}
		r.done(step, detail)
	}
	return nil
}

// checkKeyDomain queries key domain n and compares it with what was sent.
func (r *runner) checkKeyDomain(n int, kd KeyDomainSetup) (KeyDomainResult, error) {
	st, err := r.card.DKEKStatus(byte(n))
	if err != nil {
		return KeyDomainResult{}, fmt.Errorf("reading key domain %d back: %w", n, err)
	}
	res := KeyDomainResult{KeyDomain: n, Total: st.Total, Outstanding: st.Outstanding}
	if st.Total != kd.Shares || st.Outstanding != kd.Shares-len(kd.Import) {
		return res, fmt.Errorf("key domain %d reports %d of %d shares outstanding, expected %d of %d",
			n, st.Outstanding, st.Total, kd.Shares-len(kd.Import), kd.Shares)
	}
	if st.Outstanding > 0 {
		return res, nil
	}
	kcv := st.KCV
	res.KCV = &kcv
	if want := dkek.KCV(dkek.Combine(kd.Import...)); kcv != want {
		return res, fmt.Errorf("%w: key domain %d reports %X, the shares give %X", ErrKCVMismatch, n, kcv, want)
	}
	return res, nil
}

// listKeyDomainsRemaining adds the key domain steps a person still has to
// take.
func (r *runner) listKeyDomainsRemaining(add func(format string, args ...any)) {
	s := r.req.Settings
	created := len(r.res.KeyDomains)
	if created == 0 {
		add("create the %d %s with MANAGE KEY DOMAIN in an authenticated session (sc-hsm-init dkek domain create)", s.KeyDomains, plural(s.KeyDomains, "key domain", "key domains"))
		if s.DKEKShares > 0 {
			add("import the %d %s into key domain 0 once it exists", s.DKEKShares, plural(s.DKEKShares, "DKEK share", "DKEK shares"))
		}
		return
	}
	if created < s.KeyDomains {
		add("create key domains %d to %d with their share counts (sc-hsm-init dkek domain create)", created, s.KeyDomains-1)
	}
	for _, kd := range r.res.KeyDomains {
		if kd.Outstanding > 0 {
			add("import the other %d of %d DKEK shares into key domain %d (sc-hsm-init dkek import --key-domain %d)", kd.Outstanding, kd.Total, kd.KeyDomain, kd.KeyDomain)
		}
	}
}

// planDomain is a key domain of the dry-run model.
type planDomain struct {
	shares   int
	imported [][32]byte
}

// keyDomainAnswer answers MANAGE KEY DOMAIN for the dry-run model of a
// device initialized with key domains: create (P1 01), import and query
// (P1 00).
func (d *blankDevice) keyDomainAnswer(cmd schsm.Command) ([]byte, uint16) {
	if int(cmd.P2) >= d.settings.KeyDomains {
		return nil, swIncorrectP1P2
	}
	if d.domains == nil {
		d.domains = make(map[byte]*planDomain)
	}
	kd := d.domains[cmd.P2]
	switch {
	case cmd.P1 == 0x01 && kd == nil && len(cmd.Data) == 1:
		kd = &planDomain{shares: int(cmd.Data[0])}
		d.domains[cmd.P2] = kd
	case cmd.P1 == 0x00 && kd != nil && len(cmd.Data) == schsm.DKEKShareSize:
		var share [32]byte
		copy(share[:], cmd.Data)
		kd.imported = append(kd.imported, share)
	case cmd.P1 == 0x00 && kd != nil && len(cmd.Data) == 0:
	case kd == nil:
		return nil, swReferenceMissing
	default:
		return nil, swIncorrectP1P2
	}
	var kcv [8]byte
	outstanding := kd.shares - len(kd.imported)
	if outstanding == 0 {
		kcv = dkek.KCV(dkek.Combine(kd.imported...))
	}
	return append([]byte{byte(kd.shares), byte(outstanding)}, kcv[:]...), swOK
}
