package provision

import (
	"errors"
	"fmt"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// Steps of public key authentication in Run.
const (
	StepAuthenticatePublicKeys = "authenticate public keys"
	StepCheckCombinedAuth      = "check combined PIN and public key authentication"
)

// RegisterStepName returns the name of the step that registers public key
// i (from 1) of n.
func RegisterStepName(i, n int) string {
	return fmt.Sprintf("register public key %d of %d", i, n)
}

// Enforcement of option 0010 (combined PIN and public key authentication),
// as PKAResult.CombinedEnforcement reports it.
const (
	// EnforcementObserved: with the quorum but without the user PIN the
	// token refused to create key domain 0 in this run.
	EnforcementObserved = "observed"
	// EnforcementNotEnforced: the token created key domain 0 with the
	// quorum alone in this run, or it is a Pico HSM, whose firmware
	// defines the option but does not check it.
	EnforcementNotEnforced = "not enforced"
	// EnforcementUnknown: the run had no harmless way to test it.
	EnforcementUnknown = "unknown"
)

// PKAResult is the outcome of public key authentication in Run. Status is
// the state at the end of the authentication step, in the session of the
// run. The read-back SELECT clears the authenticated count again.
type PKAResult struct {
	Registered          []string         `json:"registered,omitempty"` // CHRs registered by this run
	Status              *schsm.PKAStatus `json:"status,omitempty"`
	Custodians          int              `json:"custodians"`     // signers given
	QuorumReached       bool             `json:"quorum_reached"` // Authenticated >= Required in the session
	CombinedOption      bool             `json:"combined_option"`
	CombinedEnforcement string           `json:"combined_enforcement,omitempty"`
	CombinedDetail      string           `json:"combined_detail,omitempty"`

	// createdDomain0 is set when the enforcement check created key domain
	// 0, so setUpKeyDomains must not create it again.
	createdDomain0 bool
}

// ErrPKARequest means Request.PublicKeys or Request.Custodians do not fit
// the settings.
var ErrPKARequest = errors.New("invalid public key authentication request")

// checkPKA validates the public keys and custodians without the card: the
// signatures that need no trust anchor (pkakey.Registration.CheckLinks),
// the counts and duplicate CHRs.
func checkPKA(req Request) error {
	s := req.Settings
	if len(req.PublicKeys) == 0 && len(req.Custodians) == 0 {
		return nil
	}
	if s.PKATotal == 0 {
		return fmt.Errorf("%w: public keys or custodians are given, but the settings configure no public key authentication; add --public-key-auth", ErrPKARequest)
	}
	if len(req.PublicKeys) > s.PKATotal {
		return fmt.Errorf("%w: %d public keys to register, but the settings configure %d", ErrPKARequest, len(req.PublicKeys), s.PKATotal)
	}
	seen := make(map[string]bool)
	for i, reg := range req.PublicKeys {
		if reg == nil {
			return fmt.Errorf("%w: public key %d is missing", ErrPKARequest, i+1)
		}
		if seen[reg.CHR()] {
			return fmt.Errorf("%w: public key %q is given twice", ErrPKARequest, reg.CHR())
		}
		seen[reg.CHR()] = true
		if err := reg.CheckLinks(); err != nil {
			return fmt.Errorf("%w: public key %q: %w", ErrPKARequest, reg.CHR(), err)
		}
	}
	custodians := make(map[string]bool)
	for _, c := range req.Custodians {
		if custodians[c.CHR()] {
			return fmt.Errorf("%w: custodian key %q is given twice", ErrPKARequest, c.CHR())
		}
		custodians[c.CHR()] = true
	}
	return nil
}

// registerPublicKeys registers Request.PublicKeys after INITIALIZE and
// VERIFY, in the sequence of OpenSC's sc-hsm-tool --register-public-key.
func (r *runner) registerPublicKeys() error {
	keys := r.req.PublicKeys
	if r.req.Settings.PKATotal == 0 {
		return nil
	}
	r.res.PKA = &PKAResult{
		Custodians:     len(r.req.Custodians),
		CombinedOption: r.req.Settings.CombinedPINAndPKA,
	}
	for i, reg := range keys {
		step := RegisterStepName(i+1, len(keys))
		r.begin(step)
		st, err := r.card.RegisterPublicKey(reg.DICA.Raw, reg.Device.Raw, reg.Request.Raw)
		if err != nil {
			return r.fail(step, err)
		}
		r.res.PKA.Registered = append(r.res.PKA.Registered, reg.CHR())
		r.res.PKA.Status = &st
		r.done(step, fmt.Sprintf("%q registered, %d of %d still missing", reg.CHR(), st.Missing, st.Total))
	}
	return nil
}

// authenticatePublicKeys authenticates with Request.Custodians on one
// challenge. With option 0010, a user PIN and key domains to create, it
// also tests whether the token enforces the option. It selects the applet
// again, which logs the PIN out, and authenticates. Then it tries to create
// key domain 0, which the run creates anyway, and verifies the PIN again.
func (r *runner) authenticatePublicKeys() error {
	pka := r.res.PKA
	if pka == nil {
		return nil
	}
	s := r.req.Settings
	if len(r.req.Custodians) == 0 {
		r.describeEnforcement()
		return nil
	}
	if s.CombinedPINAndPKA && len(r.req.KeyDomains) > 0 && !s.UserPIN.IsZero() && !r.transportActive() {
		return r.authenticateAndCheckCombined()
	}

	r.begin(StepAuthenticatePublicKeys)
	if err := r.authenticate(); err != nil {
		return r.fail(StepAuthenticatePublicKeys, err)
	}
	r.done(StepAuthenticatePublicKeys, describeQuorum(*pka.Status))
	r.describeEnforcement()
	return nil
}

func (r *runner) authenticate() error {
	st, err := r.card.AuthenticatePublicKeys(r.req.Custodians)
	if err != nil {
		return err
	}
	r.res.PKA.Status = &st
	r.res.PKA.QuorumReached = st.Authenticated >= st.Required
	return nil
}

func describeQuorum(st schsm.PKAStatus) string {
	if st.Authenticated >= st.Required {
		return fmt.Sprintf("%d of %d required public keys authenticated: the session is authenticated", st.Authenticated, st.Required)
	}
	return fmt.Sprintf("only %d of %d required public keys authenticated", st.Authenticated, st.Required)
}

func (r *runner) authenticateAndCheckCombined() error {
	pka := r.res.PKA
	r.begin(StepAuthenticatePublicKeys)
	// SELECT ends the session that INITIALIZE and VERIFY authenticated, so
	// that only public key authentication is in effect.
	if _, err := r.card.SelectApplet(); err != nil {
		return r.fail(StepAuthenticatePublicKeys, fmt.Errorf("selecting the applet to log the user PIN out: %w", err))
	}
	if err := r.authenticate(); err != nil {
		return r.fail(StepAuthenticatePublicKeys, err)
	}
	r.done(StepAuthenticatePublicKeys, describeQuorum(*pka.Status))

	r.begin(StepCheckCombinedAuth)
	if pka.QuorumReached {
		kd := r.req.KeyDomains[0]
		_, err := r.card.CreateKeyDomain(0, kd.Shares)
		var statusErr *schsm.StatusError
		switch {
		case err == nil:
			pka.createdDomain0 = true
			pka.CombinedEnforcement = EnforcementNotEnforced
			pka.CombinedDetail = "the token created key domain 0 with public key authentication alone, without the user PIN, although option 0010 is set"
			r.res.Warnings = append(r.res.Warnings, "option 0010 (combined PIN and public key authentication) is set, but the token does not enforce it: "+pka.CombinedDetail)
		case errors.As(err, &statusErr) && (statusErr.SW == schsm.SWSecurityStatus || statusErr.SW == schsm.SWConditionsNotSatisfied):
			pka.CombinedEnforcement = EnforcementObserved
			pka.CombinedDetail = fmt.Sprintf("with the quorum but without the user PIN, the token refused to create key domain 0 (SW %04X)", statusErr.SW)
		default:
			return r.fail(StepCheckCombinedAuth, fmt.Errorf("creating key domain 0 with public key authentication alone: %w", err))
		}
	} else {
		pka.CombinedEnforcement = EnforcementUnknown
		pka.CombinedDetail = "not tested, because fewer custodians authenticated than required"
	}

	if err := r.card.VerifyPIN(schsm.PINRefUser, r.sessionPIN().Bytes()); err != nil {
		return r.fail(StepCheckCombinedAuth, fmt.Errorf("verifying the user PIN again after the test: %w", err))
	}
	r.done(StepCheckCombinedAuth, pka.CombinedDetail+"; the user PIN is verified again")
	return nil
}

// describeEnforcement states what is known about option 0010 on the token
// when the run did not test it.
func (r *runner) describeEnforcement() {
	pka := r.res.PKA
	if !pka.CombinedOption || pka.CombinedEnforcement != "" {
		return
	}
	if r.res.Before != nil && r.res.Before.Info.Family == schsm.FamilyPicoHSM {
		pka.CombinedEnforcement = EnforcementNotEnforced
		pka.CombinedDetail = "the Pico HSM firmware defines option 0010 but does not check it (pico-hsm sc_hsm.h HSM_OPT_COMBINED_AUTH, firmware source up to 6.x), " +
			"so public key authentication alone or the user PIN alone authenticates the session"
		r.res.Warnings = append(r.res.Warnings, "option 0010 (combined PIN and public key authentication) is set, but "+pka.CombinedDetail)
		return
	}
	pka.CombinedEnforcement = EnforcementUnknown
	pka.CombinedDetail = "not tested in this run; give the custodians and --key-domains to init so that it tests the option while creating key domain 0"
}

// sessionAuthenticated reports whether the session of the run may perform
// operations that need the user, following the options sent. Without
// public key authentication that takes the user PIN. With it, the PIN or
// the quorum is enough, unless option 0010 requires both.
func (r *runner) sessionAuthenticated() bool {
	s := r.req.Settings
	pin := !s.UserPIN.IsZero() && !r.transportActive()
	if s.PKATotal == 0 {
		return pin
	}
	quorum := r.res.PKA != nil && r.res.PKA.QuorumReached
	if s.CombinedPINAndPKA {
		return pin && quorum
	}
	return pin || quorum
}

// createdByCheck reports whether the enforcement check created key domain n.
func (r *runner) createdByCheck(n int) bool {
	return n == 0 && r.res.PKA != nil && r.res.PKA.createdDomain0
}

// listPKARemaining adds what remains of public key authentication: keys to
// register, and custodians when fewer than required authenticated.
func (r *runner) listPKARemaining(add func(format string, args ...any)) {
	s := r.req.Settings
	missing := s.PKATotal
	if r.res.After != nil && r.res.After.PKA != nil {
		missing = r.res.After.PKA.Missing
	} else if r.res.PKA != nil && r.res.PKA.Status != nil {
		missing = r.res.PKA.Status.Missing
	}
	switch {
	case missing == s.PKATotal:
		add("register %d public %s for public key authentication (sc-hsm-init pka register FILE, or sc-hsm-tool --register-public-key)",
			missing, plural(missing, "key", "keys"))
	case missing > 0:
		add("register the other %d of %d public keys for public key authentication (sc-hsm-init pka register FILE, or sc-hsm-tool --register-public-key)",
			missing, s.PKATotal)
	}
	pka := r.res.PKA
	if pka == nil || len(r.req.Custodians) == 0 || pka.QuorumReached {
		return
	}
	authenticated := 0
	if pka.Status != nil {
		authenticated = pka.Status.Authenticated
	}
	add("authenticate %d more of the %d required public keys: this run authenticated %d with the %d %s given",
		s.PKARequired-authenticated, s.PKARequired, authenticated, len(r.req.Custodians), plural(len(r.req.Custodians), "custodian", "custodians"))
}
