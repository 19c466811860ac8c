package wizard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/pkakey"
)

// Question name prefixes of public key authentication. Each is followed by
// "-N", counting from 1.
const (
	QPKARegistration       = "pka-registration"
	QCustodianKey          = "custodian-key"
	QCustodianRegistration = "custodian-registration"
)

// dropKeyFile is the answer to a custodian's registration question that
// drops the key file and asks for another.
const dropKeyFile = "-"

// RehearsalNote is shown when a registration file comes from the rehearsal
// PKI that "sc-hsm-init pka rehearsal-custodian" uses.
const RehearsalNote = "Note: rehearsal registration files work only with the virtual card (sc-hsm-init simulate) and give no " +
	"security, because their certificate authority keys come from a seed published in the source code. Real tokens reject them."

// CheckRegistrationFile reads a registration file in the format of OpenSC's
// sc-hsm-tool --register-public-key and checks it offline: its structure,
// every signature that needs no trust anchor, and for a rehearsal file the
// whole chain up to the rehearsal root. A real file's DICA is checked by
// the token when the key is registered.
func CheckRegistrationFile(path string) (*pkakey.Registration, error) {
	reg, err := pkakey.ReadRegistrationFile(path)
	if err != nil {
		return nil, err
	}
	if err := reg.CheckLinks(); err != nil {
		return nil, fmt.Errorf("registration file %s: %w", path, err)
	}
	if reg.IsRehearsal() {
		if err := reg.VerifyRehearsalChain(); err != nil {
			return nil, fmt.Errorf("registration file %s: %w", path, err)
		}
	}
	return reg, nil
}

// RegistrationNextTo returns the registration file name that
// "sc-hsm-init pka rehearsal-custodian" writes next to a custodian key file.
func RegistrationNextTo(keyPath string) string {
	return strings.TrimSuffix(keyPath, pkakey.KeyFileSuffix) + pkakey.RegistrationFileSuffix
}

// askPKAKeys asks, with public key authentication on, for the registration
// files to register after INITIALIZE and then for the custodians who
// authenticate in the same session. Both may stay short of the settings:
// provisioning then lists what remains.
func (a *asker) askPKAKeys() error {
	a.ans.PublicKeys, a.ans.RegistrationFiles = nil, nil
	a.ans.Custodians, a.ans.CustodianFiles = nil, nil
	s := a.ans.Settings
	if s.PKATotal == 0 {
		return nil
	}
	if err := a.askRegistrations(s.PKATotal); err != nil {
		return err
	}
	n := len(a.ans.PublicKeys)
	if n < s.PKATotal {
		a.p.Show(fmt.Sprintf("Note: %d of %d public keys will be registered. Register the other %d later with "+
			"sc-hsm-init pka register FILE; until then the token cannot reach its quorum of %d.",
			n, s.PKATotal, s.PKATotal-n, s.PKARequired))
	}
	if n == 0 {
		return nil
	}
	if err := a.askCustodians(min(n, s.PKATotal)); err != nil {
		return err
	}
	if c := len(a.ans.Custodians); c < s.PKARequired {
		a.p.Show(fmt.Sprintf("Note: %d of the %d required custodians authenticate during initialization, so the quorum is not "+
			"reached in that session. The token is still initialized and the keys registered, and the provisioning report lists "+
			"what remains.", c, s.PKARequired))
	}
	return nil
}

func (a *asker) askRegistrations(total int) error {
	seen := map[string]string{} // CHR to file
	rehearsal := false
	for i := 1; i <= total; i++ {
		var reg *pkakey.Registration
		path, err := a.p.Input(Question{
			Name:    fmt.Sprintf("%s-%d", QPKARegistration, i),
			Message: fmt.Sprintf("Registration file of public key %d of %d (Enter when there are no more):", i, total),
			Help: "A registration file is what OpenSC's sc-hsm-tool --register-public-key takes: the custodian's public key, " +
				"signed by the custodian's own SmartCard-HSM, with that device's certificate. sc-hsm-init pka rehearsal-custodian " +
				"makes rehearsal files for the virtual card. Each file is checked now, before anything is sent, and registered " +
				"right after initialization. Keys not given here can be registered later with sc-hsm-init pka register.",
			Validate: func(path string) error {
				if path == "" {
					return nil
				}
				r, err := CheckRegistrationFile(path)
				if err != nil {
					return err
				}
				if prev, ok := seen[r.CHR()]; ok {
					return fmt.Errorf("%s carries the key %q, as %s does; give each key once", path, r.CHR(), prev)
				}
				reg = r
				return nil
			},
		})
		if err != nil {
			return err
		}
		if path == "" {
			return nil
		}
		if reg == nil { // the prompter did not run the validator
			if reg, err = CheckRegistrationFile(path); err != nil {
				return err
			}
		}
		seen[reg.CHR()] = path
		a.ans.PublicKeys = append(a.ans.PublicKeys, reg)
		a.ans.RegistrationFiles = append(a.ans.RegistrationFiles, path)
		a.p.Show(fmt.Sprintf("Public key %d: %s", i, reg.CHR()))
		if reg.IsRehearsal() && !rehearsal {
			rehearsal = true
			a.p.Show(RehearsalNote)
		}
	}
	return nil
}

// askCustodians asks for up to limit custodian key files, each with the
// registration file of its key, which must be one of those registered now.
func (a *asker) askCustodians(limit int) error {
	registered := make([]string, len(a.ans.PublicKeys))
	for i, r := range a.ans.PublicKeys {
		registered[i] = r.CHR()
	}
	required := a.ans.Settings.PKARequired
	for i := 1; i <= limit; {
		keyPath, err := a.p.Input(Question{
			Name: fmt.Sprintf("%s-%d", QCustodianKey, i),
			Message: fmt.Sprintf("Key file of custodian %d, who authenticates now (%d required; Enter when there are no more):",
				i, required),
			Help: fmt.Sprintf("A custodian key file (PEM PKCS#8 P-256, mode 0600), as sc-hsm-init pka rehearsal-custodian writes it. "+
				"Right after registering the keys, the custodians given here sign a challenge in the same session; %d of them "+
				"reach the quorum. Authentication lasts only for that session. Custodians whose keys are on a PKCS#11 token "+
				"cannot authenticate in the wizard: use sc-hsm-init init --register-public-key FILE --pkcs11-key SPEC instead.",
				required),
			Validate: func(path string) error {
				if path == "" {
					return nil
				}
				_, err := pkakey.ReadPrivateKeyFile(path)
				return err
			},
		})
		if err != nil {
			return err
		}
		if keyPath == "" {
			return nil
		}

		var signer *pkakey.KeySigner
		regDefault := RegistrationNextTo(keyPath)
		if _, err := os.Stat(regDefault); err != nil {
			regDefault = ""
		}
		regPath, err := a.p.Input(Question{
			Name:    fmt.Sprintf("%s-%d", QCustodianRegistration, i),
			Message: "Registration file of this custodian's key (" + dropKeyFile + " to choose another key file):",
			Help: "The registration file made for this key, one of those registered above. It gives the name (CHR) the token " +
				"knows the key by. Answer " + dropKeyFile + " to give another key file instead. Default: the file next to the key " +
				"file ending in " + pkakey.RegistrationFileSuffix + ".",
			Default: regDefault,
			Validate: func(path string) error {
				switch path {
				case dropKeyFile:
					return nil
				case "":
					return errors.New("the path is empty; enter the registration file of this key, or " + dropKeyFile + " to choose another key file")
				}
				s, err := pkakey.LoadKeySigner(keyPath, path)
				if err != nil {
					return err
				}
				if !slices.Contains(registered, s.CHR()) {
					return fmt.Errorf("the key %q is not among the registration files given above; only keys registered now can authenticate", s.CHR())
				}
				if slices.ContainsFunc(a.ans.Custodians, func(c schsm.Signer) bool { return c.CHR() == s.CHR() }) {
					return fmt.Errorf("the custodian key %q is given already; each custodian authenticates once", s.CHR())
				}
				signer = s
				return nil
			},
		})
		if err != nil {
			return err
		}
		if regPath == dropKeyFile {
			continue // ask for key file i again
		}
		if signer == nil { // the prompter did not run the validator
			if signer, err = pkakey.LoadKeySigner(keyPath, regPath); err != nil {
				return err
			}
		}
		a.ans.Custodians = append(a.ans.Custodians, signer)
		a.ans.CustodianFiles = append(a.ans.CustodianFiles, filepath.Clean(keyPath))
		a.p.Show(fmt.Sprintf("Custodian %d: %s", i, signer.CHR()))
		i++
	}
	return nil
}

// CustodianCHRs returns the CHRs of the custodians who authenticate.
func (a Answers) CustodianCHRs() []string {
	out := make([]string, len(a.Custodians))
	for i, c := range a.Custodians {
		out[i] = c.CHR()
	}
	return out
}

// PublicKeyCHRs returns the CHRs of the public keys to register.
func (a Answers) PublicKeyCHRs() []string {
	out := make([]string, len(a.PublicKeys))
	for i, r := range a.PublicKeys {
		out[i] = r.CHR()
	}
	return out
}
