package main

import (
	"errors"
	"fmt"
	"strings"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// dkekSession is the session of a command that changes DKEK state: the
// applet is selected, and custodians, when given, authenticate in it.
type dkekSession struct {
	*session
	info schsm.DeviceInfo
}

// openDKEKSession opens a session and selects the applet. With custodians
// it connects exclusively, because another application's SELECT would
// clear public key authentication between the commands of the session.
func (a *app) openDKEKSession(reader *string, cust *custodians) (*dkekSession, error) {
	mode := shareShared
	if cust != nil && len(cust.signers) > 0 {
		mode = shareExclusive
	}
	sess, err := a.openSession(mode)
	if err != nil {
		return nil, err
	}
	*reader = sess.reader
	info, err := sess.card.SelectApplet()
	if err != nil {
		sess.close()
		return nil, classifyPCSC(fmt.Errorf("selecting the applet: %w", err))
	}
	return &dkekSession{session: sess, info: info}, nil
}

// readKeyDomain queries key domain domain. A domain number beyond the
// token's key domains (SW 6A86, or 6B00 without a key domain table) is a
// usage error that names the domains the token has.
func readKeyDomain(card *schsm.Card, domain byte) (schsm.KeyDomain, error) {
	kd, err := card.KeyDomain(domain)
	if err == nil {
		return kd, nil
	}
	if errors.Is(err, schsm.ErrIncorrectP1P2) || errors.Is(err, schsm.ErrWrongP1P2) {
		domains, listErr := card.KeyDomains()
		if listErr == nil {
			return kd, withExit(exitUsage, fmt.Errorf("the token has no key domain %d: %s", domain, describeKeyDomains(domains)))
		}
	}
	return kd, classifyPCSC(fmt.Errorf("reading key domain %d: %w", domain, err))
}

// describeKeyDomains names the key domain numbers a token has and which of
// them are defined.
func describeKeyDomains(domains []schsm.KeyDomain) string {
	if len(domains) == 0 {
		return "it has no key domains (initialize it with --dkek-shares or --key-domains)"
	}
	var defined []string
	for _, d := range domains {
		if d.Defined {
			defined = append(defined, fmt.Sprint(d.Number))
		}
	}
	have := "it has key domain 0 only"
	if len(domains) > 1 {
		have = fmt.Sprintf("it has key domains 0 to %d", len(domains)-1)
	}
	switch len(defined) {
	case 0:
		return have + ", and none of them is defined"
	case 1:
		return fmt.Sprintf("%s, and key domain %s is defined", have, defined[0])
	default:
		return fmt.Sprintf("%s, and key domains %s are defined", have, strings.Join(defined, ", "))
	}
}

// requireDefinedDomain rejects a change of a domain that is not defined,
// before any PIN is presented.
func requireDefinedDomain(card *schsm.Card, kd schsm.KeyDomain) error {
	if kd.Defined {
		return nil
	}
	domains, err := card.KeyDomains()
	if err != nil {
		return withExit(exitUsage, fmt.Errorf("key domain %d is not defined; create it first (sc-hsm-init dkek domain create)", kd.Number))
	}
	return withExit(exitUsage, fmt.Errorf("key domain %d is not defined; %s", kd.Number, describeKeyDomains(domains)))
}

// authenticateDKEKSession verifies the user PIN, when pin is not nil, and
// authenticates the custodians in the session. Custodians whose key the
// token lists as unregistered are skipped with a warning.
func (a *app) authenticateDKEKSession(sess *dkekSession, pin []byte, force bool, cust *custodians, warnings *[]string) (pinVerified bool, err error) {
	if pin != nil {
		if err := verifyUserPIN(sess.card, pin, force); err != nil {
			return false, err
		}
		pinVerified = true
	}
	if cust == nil || len(cust.signers) == 0 {
		return pinVerified, nil
	}
	signers := cust.signers
	if keys, err := sess.card.EnumeratePublicKeys(); err == nil {
		var skipped []string
		signers, skipped = dropUnregistered(signers, keys)
		*warnings = append(*warnings, skipped...)
	}
	if len(signers) == 0 {
		return pinVerified, withExit(exitCardRefused, errors.New("none of the given custodian keys is registered on the token; nothing was changed"))
	}
	st, err := sess.card.AuthenticatePublicKeys(signers)
	if err != nil {
		return pinVerified, classifyPCSC(fmt.Errorf("public key authentication: %w", err))
	}
	if st.Authenticated < st.Required {
		return pinVerified, withExit(exitStepsRemain, fmt.Errorf("only %d of %d required public keys authenticated; nothing was changed", st.Authenticated, st.Required))
	}
	return pinVerified, nil
}

// dropUnregistered returns the signers whose CHR is registered in keys,
// and one warning for each other signer.
func dropUnregistered(signers []schsm.Signer, keys []schsm.RegisteredPublicKey) ([]schsm.Signer, []string) {
	registered := make(map[string]bool)
	for _, k := range keys {
		if k.Registered {
			registered[k.CHR] = true
		}
	}
	var kept []schsm.Signer
	var warnings []string
	for _, s := range signers {
		if registered[s.CHR()] {
			kept = append(kept, s)
			continue
		}
		warnings = append(warnings, fmt.Sprintf("the custodian key %q is not registered on the token, so it was skipped", s.CHR()))
	}
	return kept, warnings
}

// authorizationHint adds what the token needs to an error of a DKEK
// change that the token refused for lack of authentication (SW 6982 or
// 6985).
func authorizationHint(err error, info schsm.DeviceInfo, pinVerified, custodiansGiven bool) error {
	if !errors.Is(err, schsm.ErrConditionsNotSatisfied) && !errors.Is(err, schsm.ErrSecurityStatus) {
		return err
	}
	combined := info.Options&schsm.OptionCombinedPINPKA != 0
	switch {
	case combined && !custodiansGiven:
		return fmt.Errorf("%w; the token was initialized with option 0010 (combined PIN and public key authentication), "+
			"so it needs the user PIN and the public key quorum: give the custodians with --key-file or --pkcs11-key", err)
	case combined && !pinVerified:
		return fmt.Errorf("%w; the token was initialized with option 0010 (combined PIN and public key authentication), "+
			"so it needs the user PIN and the public key quorum: give --pin too", err)
	case !pinVerified && !custodiansGiven:
		return fmt.Errorf("%w; the token needs an authenticated session: give --pin, or custodians with --key-file or --pkcs11-key", err)
	default:
		return fmt.Errorf("%w; the token did not accept the session's authentication for this command", err)
	}
}
