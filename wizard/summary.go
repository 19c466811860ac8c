package wizard

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// ErrNotConfirmed is returned by ConfirmInitialize when the person does
// not confirm.
var ErrNotConfirmed = errors.New("initialization not confirmed; nothing was sent to the token")

// Summary returns the answers as text for a last check, with every secret
// masked, and what initializing the token erases.
func Summary(tok TokenInfo, a Answers) string {
	s := a.Settings
	var b strings.Builder
	line := func(name, format string, args ...any) {
		fmt.Fprintf(&b, "  %-28s %s\n", name+":", fmt.Sprintf(format, args...))
	}

	b.WriteString("Summary\n")
	line("Token", "%s", tok.Describe())
	line("Erases", "%s", tok.describeObjects())

	pin := "set (hidden)"
	if a.DefaultPIN {
		pin = "the well-known default 648219"
	}
	line("User PIN", "%s", pin)
	switch {
	case a.SOPINGenerated:
		line("SO-PIN", "generated and shown once (hidden)")
	case s.SOPIN != nil && *s.SOPIN == schsm.DefaultSOPIN:
		line("SO-PIN", "the well-known default")
	default:
		line("SO-PIN", "set (hidden)")
	}
	line("User PIN retries", "%d", s.Retries)
	line("DKEK", "%s", describeDKEK(s, a.KeyDomainShares))
	if s.PKATotal > 0 {
		line("Public key authentication", "%d of %d keys, replaceable: %s, with the user PIN: %s",
			s.PKARequired, s.PKATotal, yesNo(s.PKAReplaceable), yesNo(s.CombinedPINAndPKA))
		describePKAKeys(line, a)
	} else {
		line("Public key authentication", "off")
	}
	switch {
	case !s.ResetRetryCounter:
		line("Reset retry counter", "disabled: a blocked user PIN means initializing again")
	case s.RRCResetsCounterOnly:
		line("Reset retry counter", "allowed, resets the error counter only")
	default:
		line("Reset retry counter", "allowed, can set a new user PIN")
	}
	switch {
	case s.TransportPIN && !a.NewPIN.IsZero():
		line("Transport PIN", "yes, replaced by the user's own PIN (hidden) right after initialization")
	case s.TransportPIN:
		line("Transport PIN", "yes, the user must change it before use")
	default:
		line("Transport PIN", "no")
	}
	label := s.Label
	if label == "" {
		label = "(none)"
	}
	line("Label", "%s", label)
	if tok.Pico() {
		line("Replace device certificate", "%s", yesNo(a.ForceDeviceCertificate))
	}
	for _, w := range a.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	return b.String()
}

func describeDKEK(s schsm.Settings, domainShares []int) string {
	switch {
	case s.DKEKShares == schsm.NoDKEK:
		return "none"
	case s.DKEKShares == 0:
		return "random, generated on the token"
	case s.KeyDomains > 0:
		parts := make([]string, len(domainShares))
		for i, n := range domainShares {
			parts[i] = fmt.Sprintf("domain %d: %d %s", i, n, plural(n, "share", "shares"))
		}
		return fmt.Sprintf("%d key domains (%s)", s.KeyDomains, strings.Join(parts, ", "))
	default:
		return fmt.Sprintf("%d %s", s.DKEKShares, plural(s.DKEKShares, "share", "shares"))
	}
}

// ConfirmationWord returns what the person must type to confirm: the serial
// number of an initialized token when it is known, otherwise "erase".
// A blank token needs no typed word, and ConfirmationWord returns "".
func ConfirmationWord(tok TokenInfo) string {
	switch {
	case !tok.Status.Initialized:
		return ""
	case tok.Status.Serial != "":
		return tok.Status.Serial
	default:
		return confirmedErase
	}
}

// ConfirmInitialize asks for the go-ahead. For an initialized token the
// person must type the word ConfirmationWord returns; a blank token takes
// a yes-or-no answer. It returns ErrNotConfirmed on no or on an empty
// answer.
func ConfirmInitialize(p Prompter, tok TokenInfo) error {
	word := ConfirmationWord(tok)
	if word == "" {
		yes, err := p.Confirm(Question{
			Name:       QConfirm,
			Message:    "Initialize the token now?",
			Help:       "Yes: initialize the blank token with these settings. No: stop; nothing is sent to the token.",
			DefaultYes: true,
		})
		if err != nil {
			return err
		}
		if !yes {
			return ErrNotConfirmed
		}
		return nil
	}

	what := "its serial number " + word
	if word == confirmedErase {
		what = `the word "erase"`
	}
	answer, err := p.Input(Question{
		Name:    QConfirm,
		Message: fmt.Sprintf("This erases %s. Type %s to go on, or press Enter to stop:", tok.describeObjects(), what),
		Help:    "Initializing cannot be undone. Nothing has been sent to the token yet; an empty answer or Ctrl-C stops here.",
		Validate: func(s string) error {
			if s != "" && s != word {
				return fmt.Errorf("that is not %s; type it exactly, or leave the answer empty to stop", what)
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	if answer != word {
		return ErrNotConfirmed
	}
	return nil
}

// describePKAKeys adds the keys to register and the custodians who
// authenticate, by CHR and file name, and what stays undone.
func describePKAKeys(line func(name, format string, args ...any), a Answers) {
	s := a.Settings
	if len(a.PublicKeys) == 0 {
		line("Public keys to register", "none now; register %d later with sc-hsm-init pka register", s.PKATotal)
		return
	}
	for i, reg := range a.PublicKeys {
		line(fmt.Sprintf("Public key %d of %d", i+1, s.PKATotal), "%s (%s)", reg.CHR(), a.RegistrationFiles[i])
	}
	if n := s.PKATotal - len(a.PublicKeys); n > 0 {
		line("Public keys left", "%d, to register later with sc-hsm-init pka register", n)
	}
	if len(a.Custodians) == 0 {
		line("Custodians authenticating", "none")
		return
	}
	quorum := "the quorum is reached"
	if len(a.Custodians) < s.PKARequired {
		quorum = fmt.Sprintf("fewer than the %d required, so the quorum is not reached in this session", s.PKARequired)
	}
	line("Custodians authenticating", "%s (%d: %s)", strings.Join(a.CustodianCHRs(), ", "), len(a.Custodians), quorum)
}

// keyDomainWarning is the start of the schsm.Settings.Validate warning that
// key domain 0 must be created before shares are imported. The wizard
// creates every key domain it asks for, so the warning does not apply.
const keyDomainWarning = "with key domains, INITIALIZE leaves every domain undefined"

// FilterWarnings returns the warnings without repeats and without those
// that the wizard's own steps take care of: with key domains, the ceremony
// creates domain 0 before it imports the shares.
func FilterWarnings(warnings []string, a Answers) []string {
	var out []string
	for _, w := range warnings {
		if a.Settings.KeyDomains > 0 && strings.HasPrefix(w, keyDomainWarning) {
			continue
		}
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}
