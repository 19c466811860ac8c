package wizard

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// SOPINAlphabet is the alphabet of generated SO-PINs: letters and digits
// without 0, O, o, 1, I and l, which are easily confused when written down.
// Every character is printable ASCII, so a generated SO-PIN has both an
// 8-character and a 16-hex-digit spelling.
const SOPINAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"

// GenerateSOPIN returns an SO-PIN of 8 characters drawn uniformly from
// SOPINAlphabet with crypto/rand (about 46 bits).
func GenerateSOPIN() (schsm.SOPIN, error) {
	var p schsm.SOPIN
	n := big.NewInt(int64(len(SOPINAlphabet)))
	for i := range p {
		k, err := rand.Int(rand.Reader, n)
		if err != nil {
			return schsm.SOPIN{}, fmt.Errorf("generating the SO-PIN: %w", err)
		}
		p[i] = SOPINAlphabet[k.Int64()]
	}
	return p, nil
}

// errEntriesDiffer is shown when the second entry of a secret differs.
var errEntriesDiffer = errors.New("the two entries differ; enter it again, twice")

// askTwice asks for a new secret twice and returns it once both entries
// match. validate checks the first entry.
func (a *asker) askTwice(name, againName, message, help string, validate func(string) error) (string, error) {
	for {
		first, err := a.p.Password(Question{Name: name, Message: message, Help: help, Validate: validate})
		if err != nil {
			return "", err
		}
		second, err := a.p.Password(Question{Name: againName, Message: "Again, to check:", Help: "Type the same value once more."})
		if err != nil {
			return "", err
		}
		if first == second {
			return first, nil
		}
		a.p.Show(errEntriesDiffer.Error())
	}
}

func (a *asker) askUserPIN() error {
	for {
		choice, err := a.p.Select(Question{
			Name:    QPINChoice,
			Message: "User PIN:",
			Help: "The user PIN unlocks the keys on the token for everyday use. 648219 is the default of sc-hsm-tool and the " +
				"Pico HSM tools, so anyone who has the token can try it first. Default: enter a new PIN.",
			Options: []string{OptEnterPIN, OptDefaultPIN},
			Default: OptEnterPIN,
		})
		if err != nil {
			return err
		}

		if choice == OptDefaultPIN {
			a.p.Show("Warning: 648219 is published in every guide. Use it only on a test token, or together with a transport PIN " +
				"that the user replaces before first use.")
			sure, err := a.p.Confirm(Question{Name: QDefaultPIN, Message: "Use the well-known PIN 648219 anyway?",
				Help: "Yes: set 648219. No: choose again."})
			if err != nil {
				return err
			}
			if !sure {
				continue
			}
			a.ans.DefaultPIN = true
			a.ans.Settings.UserPIN = schsm.SecretFromString(WellKnownPIN)
			return nil
		}

		pin, err := a.askTwice(QPIN, QPINAgain, fmt.Sprintf("New user PIN (%d to %d characters):", schsm.MinUserPINLength, schsm.MaxUserPINLength),
			fmt.Sprintf("%d to %d printable ASCII characters. The length decides the retry counter allowed: 6 characters allow 3 retries, "+
				"7 allow 5 and 8 or more allow 10. OpenSC's PKCS#11 module accepts at most %d characters at login.",
				schsm.MinUserPINLength, schsm.MaxUserPINLength, schsm.OpenSCMaxPINLength),
			validateNewUserPIN)
		if err != nil {
			return err
		}
		a.ans.Settings.UserPIN = schsm.SecretFromString(pin)
		if len(pin) > schsm.OpenSCMaxPINLength {
			a.p.Show(fmt.Sprintf("Warning: OpenSC's PKCS#11 module accepts at most %d characters at login, so this PIN works "+
				"with sc-hsm-tool but not through PKCS#11.", schsm.OpenSCMaxPINLength))
		}
		return nil
	}
}

// validateNewUserPIN checks a typed user PIN and rejects the well-known
// default, which must be chosen on purpose.
func validateNewUserPIN(pin string) error {
	if err := schsm.ValidateUserPIN(schsm.SecretFromString(pin)); err != nil {
		return err
	}
	if pin == WellKnownPIN {
		return fmt.Errorf("this is the well-known default PIN; choose %q in the previous question to use it on purpose", OptDefaultPIN)
	}
	return nil
}

func (a *asker) askSOPIN() error {
	st := a.tok.Status
	if st.Initialized && !a.tok.Pico() {
		tries := "an unknown number of"
		if n := st.SOPIN.KnownTriesLeft(); n >= 0 {
			tries = fmt.Sprint(n)
		}
		a.p.Show(fmt.Sprintf("This token is initialized. A SmartCard-HSM or Nitrokey HSM 2 keeps its SO-PIN when it is initialized again, "+
			"so enter the current SO-PIN. Each wrong SO-PIN spends one of its %s tries left, and a blocked SO-PIN can never be recovered.", tries))
		return a.enterSOPIN("Current SO-PIN (16 hex digits or 8 characters):")
	}

	choice, err := a.p.Select(Question{
		Name:    QSOPINChoice,
		Message: "SO-PIN (security officer PIN):",
		Help: "The SO-PIN is needed to initialize the token again and, when allowed, to unblock the user PIN. It allows 15 wrong " +
			"entries in a row; then it is blocked for good, because nothing can unblock an SO-PIN, so the token can never be " +
			"initialized again and a blocked user PIN stays blocked. It is 8 bytes, written as 16 hex digits (sc-hsm-tool, " +
			"pkcs11-tool) or as 8 characters (pypicohsm, PicoKey tools). A generated SO-PIN uses 8 unambiguous letters and digits " +
			"and is shown once in both spellings to be written down. Default: generate.",
		Options: []string{OptGenerateSO, OptEnterSO},
		Default: OptGenerateSO,
	})
	if err != nil {
		return err
	}
	if choice == OptEnterSO {
		return a.enterSOPIN("New SO-PIN (16 hex digits or 8 characters):")
	}

	p, err := GenerateSOPIN()
	if err != nil {
		return err
	}
	chars, _ := p.Chars()
	if err := a.p.ShowSecret(fmt.Sprintf("Your new SO-PIN. Write it down now and keep it safe; it is shown only this once.\n\n"+
		"  as 8 characters (pypicohsm, PicoKey tools):   %s\n  as 16 hex digits (sc-hsm-tool, pkcs11-tool):   %s",
		chars, p.Hex())); err != nil {
		return err
	}
	a.ans.Settings.SOPIN = &p
	a.ans.SOPINGenerated = true
	return nil
}

// enterSOPIN asks for an SO-PIN twice. The entries may use different
// spellings of the same 8 bytes.
func (a *asker) enterSOPIN(message string) error {
	help := "16 hex digits, as sc-hsm-tool takes it, or 8 printable ASCII characters, as pypicohsm and the PicoKey tools take it. " +
		"Both spellings of the same 8 bytes are the same SO-PIN. It allows 15 wrong entries in a row, and a blocked SO-PIN can " +
		"never be unblocked: the token can then neither be initialized again nor have its user PIN unblocked."
	validate := func(s string) error {
		_, err := schsm.ParseSOPIN(s)
		return err
	}
	for {
		first, err := a.p.Password(Question{Name: QSOPIN, Message: message, Help: help, Validate: validate})
		if err != nil {
			return err
		}
		second, err := a.p.Password(Question{Name: QSOPINAgain, Message: "Again, to check:", Help: "Either spelling of the same SO-PIN.", Validate: validate})
		if err != nil {
			return err
		}
		p1, _ := schsm.ParseSOPIN(first)
		p2, _ := schsm.ParseSOPIN(second)
		if p1 != p2 {
			a.p.Show(errEntriesDiffer.Error())
			continue
		}
		if p1 == schsm.DefaultSOPIN {
			a.p.Show("Warning: this is the well-known default SO-PIN 57621880 (3537363231383830) from the sc-hsm-tool and PicoKey " +
				"documentation. Anyone with the token can initialize it again or unblock the user PIN with it.")
			sure, err := a.p.Confirm(Question{Name: QDefaultSOPIN, Message: "Use the well-known SO-PIN anyway?", Help: "Yes: use it. No: enter another."})
			if err != nil {
				return err
			}
			if !sure {
				continue
			}
		}
		a.ans.Settings.SOPIN = &p1
		return nil
	}
}

func (a *asker) askTransportPIN() error {
	s := &a.ans.Settings
	s.TransportPIN = false
	a.ans.NewPIN = schsm.Secret{}
	def := a.def.TransportPIN
	help := "With a transport PIN, the user PIN you entered only opens the token for a PIN change: the token rejects every login " +
		"until the user sets their own PIN, so nobody on the way to the user can use it. The wizard can replace it right after " +
		"initialization. Default: " + yesNo(def) + "."
	if a.tok.keepsTransportPIN() {
		def = false
		a.p.Show(fmt.Sprintf("Warning: Pico HSM firmware %s never leaves transport-PIN mode, even after the PIN is changed, so every "+
			"later user PIN VERIFY fails with SW 6984. Answer no unless you test exactly that.", a.tok.Status.Info.Version()))
		help += " On this Pico HSM the user PIN would stay unusable."
	}
	yes, err := a.p.Confirm(Question{Name: QTransportPIN, Message: "Make the user PIN a transport PIN?", Help: help, DefaultYes: def})
	if err != nil || !yes {
		return err
	}
	s.TransportPIN = true
	if a.tok.keepsTransportPIN() {
		s.Force = true // provision rejects a transport PIN on this firmware unless forced
		return nil
	}

	replace, err := a.p.Confirm(Question{
		Name:    QReplaceTransport,
		Message: "Replace the transport PIN with the user's own PIN right after initialization?",
		Help: "Yes: the user types their own PIN now, and the token leaves transport-PIN mode in the same session. " +
			"No: the user changes it later with sc-hsm-init pin change. Default: yes.",
		DefaultYes: true,
	})
	if err != nil || !replace {
		return err
	}
	retries := s.Retries
	pin, err := a.askTwice(QNewPIN, QNewPINAgain, "The user's own PIN (6 to 16 characters):",
		"Replaces the transport PIN. It must differ from the transport PIN and be long enough for the retry counter chosen.",
		func(p string) error {
			if err := validateNewUserPIN(p); err != nil {
				return err
			}
			if schsm.SecretFromString(p).Equal(s.UserPIN) {
				return errors.New("the new PIN equals the transport PIN; choose a different PIN")
			}
			if limit := schsm.RetryLimit(len(p)); retries > limit {
				return fmt.Errorf("a PIN of %d characters allows at most %d retries, but %d were chosen; use a longer PIN", len(p), limit, retries)
			}
			return nil
		})
	if err != nil {
		return err
	}
	a.ans.NewPIN = schsm.SecretFromString(pin)
	return nil
}
