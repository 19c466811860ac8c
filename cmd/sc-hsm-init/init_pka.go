package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/provision"
)

// initPKAFlags are the public key authentication flags of init.
type initPKAFlags struct {
	registerFiles []string
	custodianFlags
}

func (f *initPKAFlags) register(fl *pflag.FlagSet) {
	fl.StringArrayVar(&f.registerFiles, "register-public-key", nil, "registration file (sc-hsm-tool --register-public-key format) to register after INITIALIZE; repeat for up to --public-key-auth files")
	f.custodianFlags.register(fl)
}

func (f *initPKAFlags) given() bool {
	return len(f.registerFiles) > 0 || f.custodianFlags.given()
}

// initPKA reads and checks the registration files and opens the custodian
// keys before the token is touched, and puts them into req. The caller
// closes the returned custodians.
func (a *app) initPKA(f *initFlags, req *provision.Request) (*custodians, error) {
	if !f.pka.given() {
		return &custodians{}, nil
	}
	if f.dryRun {
		return nil, withExit(exitUsage, errors.New("--dry-run does not plan public key registration or authentication; drop --register-public-key, --key-file and --pkcs11-key for the dry run"))
	}
	s := req.Settings
	if s.PKATotal == 0 {
		return nil, withExit(exitUsage, errors.New("--register-public-key, --key-file and --pkcs11-key need public key authentication; add --public-key-auth N and --required-pub-keys M"))
	}
	if len(f.pka.registerFiles) > s.PKATotal {
		return nil, withExit(exitUsage, fmt.Errorf("%d --register-public-key files for %d public keys (--public-key-auth)", len(f.pka.registerFiles), s.PKATotal))
	}

	var notes pkaOutput
	regs, err := a.readRegistrations(f.pka.registerFiles, &notes)
	if err != nil {
		return nil, err
	}
	for _, n := range notes.Notes {
		a.warn("%s", n)
	}
	cust, err := a.openCustodians(&f.pka.custodianFlags)
	if err != nil {
		return nil, err
	}
	if len(f.pka.keyFiles) > 0 && len(notes.Notes) == 0 {
		a.warn("%s", rehearsalNotice)
	}
	req.PublicKeys = regs
	req.Custodians = cust.signers
	return cust, nil
}

// openInitSession holds the reader exclusively when init registers or
// authenticates public keys, and shares it otherwise.
func (a *app) openInitSession(req provision.Request) (*session, error) {
	if len(req.PublicKeys) > 0 || len(req.Custodians) > 0 {
		return a.openSession(shareExclusive)
	}
	return a.openSession(shareShared)
}

// pkaGatesLogin returns why a PKCS#11 login with the user PIN cannot work
// after init, or "" when it can: without a user PIN only public key
// authentication opens the token, and with option 0010 the PIN alone is
// not enough. OpenSC's PKCS#11 module cannot authenticate public keys.
func pkaGatesLogin(s schsm.Settings) string {
	switch {
	case s.PKATotal == 0:
		return ""
	case s.UserPIN.IsZero():
		return "the token has no user PIN, so only public key authentication opens it, which OpenSC's PKCS#11 module cannot perform"
	case s.CombinedPINAndPKA:
		return "option 0010 makes a login need the public key quorum as well as the PIN, which OpenSC's PKCS#11 module cannot provide"
	}
	return ""
}

// printPKAResult prints what init did for public key authentication.
func printPKAResult(w io.Writer, r *provision.PKAResult) {
	if r == nil {
		return
	}
	if st := r.Status; st != nil && r.Custodians > 0 {
		fmt.Fprintf(w, "Public key authentication in the session: %d of %d required keys authenticated (%d %s given)\n",
			st.Authenticated, st.Required, r.Custodians, plural(r.Custodians, "custodian", "custodians"))
	}
	if r.CombinedOption {
		fmt.Fprintf(w, "Combined PIN and public key authentication (option 0010): enforcement %s: %s\n", r.CombinedEnforcement, r.CombinedDetail)
	}
}
