package wizard

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/pkakey"
)

// Names of the questions, as Question.Name and Step.Name carry them.
const (
	QToken             = "token"
	QPINChoice         = "pin-choice"
	QDefaultPIN        = "default-pin"
	QPIN               = "pin"
	QPINAgain          = "pin-again"
	QSOPINChoice       = "so-pin-choice"
	QSOPIN             = "so-pin"
	QSOPINAgain        = "so-pin-again"
	QDefaultSOPIN      = "default-so-pin"
	QRetries           = "retries"
	QDKEK              = "dkek"
	QDKEKShares        = "dkek-shares"
	QPKATotal          = "pka-total"
	QPKARequired       = "pka-required"
	QKeyDomains        = "key-domains"
	QKeyDomainShares   = "key-domain-shares" // followed by "-N" for key domain N
	QRRC               = "rrc"
	QNoRRC             = "no-rrc-confirm"
	QRRCCounterOnly    = "rrc-counter-only"
	QTransportPIN      = "transport-pin"
	QReplaceTransport  = "replace-transport-pin"
	QNewPIN            = "new-pin"
	QNewPINAgain       = "new-pin-again"
	QPKAReplaceable    = "pka-replaceable"
	QCombinedPINAndPKA = "combined-pin-pka"
	QLabel             = "label"
	QDeviceCertificate = "device-certificate"
	QDeviceCertConfirm = "device-certificate-confirm"
	QConfirm           = "confirm"
)

// Choices of the Select questions.
const (
	OptEnterPIN    = "Enter a new user PIN"
	OptDefaultPIN  = "Use the well-known default PIN 648219 (not recommended)"
	OptGenerateSO  = "Generate a new SO-PIN (recommended)"
	OptEnterSO     = "Enter an SO-PIN"
	OptNoDKEK      = "No DKEK"
	OptRandomDKEK  = "Random DKEK generated on the token"
	OptSharesDKEK  = "DKEK from shares held by custodians"
	WellKnownPIN   = "648219" // the default user PIN of sc-hsm-tool and the Pico HSM tools
	confirmedErase = "erase"
)

// Answers are the result of Ask.
type Answers struct {
	Token    int            // index of the chosen token in the tokens given to Ask
	Settings schsm.Settings // complete and valid, secrets included

	// NewPIN replaces the transport PIN right after INITIALIZE, in the same
	// session (provision.Request.NewPIN). It is zero unless chosen.
	NewPIN schsm.Secret

	// KeyDomainShares is the DKEK share count of key domain 0, 1, ... when
	// Settings.KeyDomains is set, one entry per domain.
	KeyDomainShares []int

	// PublicKeys are the registration files to register right after
	// INITIALIZE (provision.Request.PublicKeys), read from RegistrationFiles.
	PublicKeys        []*pkakey.Registration
	RegistrationFiles []string
	// Custodians authenticate in the provisioning session
	// (provision.Request.Custodians), loaded from CustodianFiles.
	Custodians     []schsm.Signer
	CustodianFiles []string

	DefaultPIN             bool // the well-known user PIN 648219 was chosen
	SOPINGenerated         bool // the SO-PIN was generated and shown once
	ForceDeviceCertificate bool // replace the Pico HSM device certificate online

	// Warnings are those of Settings.Validate.
	Warnings []string
}

// Wipe clears the secrets of the answers.
func (a *Answers) Wipe() {
	a.Settings.UserPIN.Wipe()
	a.NewPIN.Wipe()
	if a.Settings.SOPIN != nil {
		clear(a.Settings.SOPIN[:])
	}
	a.Custodians = nil // drops the references to the custodians' private keys
}

// ErrNoToken is returned by Ask when tokens is empty.
var ErrNoToken = errors.New("no SmartCard-HSM token found; insert one and run the wizard again")

// asker carries the state of one Ask.
type asker struct {
	p   Prompter
	tok TokenInfo
	ans Answers
	def schsm.Settings
}

// Ask asks for every setting of the token to initialize, one question at a
// time, starting from defaults (normally schsm.DefaultSettings). Questions
// that depend on an earlier answer are asked only when they apply. It
// returns ErrInterrupted when the person presses Ctrl-C; nothing has been
// sent to a token by then.
func Ask(p Prompter, tokens []TokenInfo, defaults schsm.Settings) (Answers, error) {
	a := &asker{p: p, def: defaults}
	a.ans.Settings = defaults
	a.ans.Settings.UserPIN = schsm.Secret{}
	a.ans.Settings.SOPIN = nil
	a.ans.Settings.ShareFiles = nil

	steps := []func() error{
		func() error { return a.askToken(tokens) },
		a.askUserPIN,
		a.askSOPIN,
		a.askRetries,
		a.askDKEK,
		a.askPKA,
		a.askKeyDomains,
		a.askRRC,
		a.askTransportPIN,
		a.askPKAOptions,
		a.askPKAKeys,
		a.askLabel,
		a.askDeviceCertificate,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			a.ans.Wipe()
			return Answers{}, err
		}
	}

	a.ans.Settings.Force = a.ans.Settings.Force || a.tok.Status.Initialized
	warnings, err := a.ans.Settings.Validate()
	if err != nil {
		a.ans.Wipe()
		return Answers{}, fmt.Errorf("checking the answers: %w", err)
	}
	a.ans.Warnings = FilterWarnings(warnings, a.ans)
	return a.ans, nil
}

func (a *asker) askToken(tokens []TokenInfo) error {
	switch len(tokens) {
	case 0:
		return ErrNoToken
	case 1:
		a.ans.Token = 0
		a.p.Show("Token: " + tokens[0].Describe())
	default:
		options := make([]string, len(tokens))
		for i, t := range tokens {
			options[i] = fmt.Sprintf("%d. %s", i+1, t.Describe())
		}
		choice, err := a.p.Select(Question{
			Name:    QToken,
			Message: "Which token do you want to initialize?",
			Help: "Initializing erases every key, certificate and data object on the chosen token and sets new PINs. " +
				"The list shows the reader, the device family and firmware version, whether the token is blank, and the PIN tries left.",
			Options: options,
		})
		if err != nil {
			return err
		}
		n, _ := strconv.Atoi(strings.SplitN(choice, ".", 2)[0])
		a.ans.Token = n - 1
	}
	a.tok = tokens[a.ans.Token]
	if a.tok.Pico() && a.tok.Status.Initialized {
		a.p.Show("Warning: initializing this Pico HSM again makes it generate a new device key and a new self-signed device certificate, " +
			"so its serial number may change and earlier attestations no longer match.")
	}
	return nil
}

// askRetries asks for the user PIN retry counter within the range the PIN
// length allows.
func (a *asker) askRetries() error {
	pinLen := a.ans.Settings.UserPIN.Len()
	limit := schsm.RetryLimit(pinLen)
	def := min(a.def.Retries, limit)
	if def < 1 {
		def = min(schsm.DefaultRetries, limit)
	}
	answer, err := a.p.Input(Question{
		Name:    QRetries,
		Message: fmt.Sprintf("User PIN retries (1 to %d):", limit),
		Help: fmt.Sprintf("How many wrong user PINs in a row the token accepts before it blocks the PIN. "+
			"Your %d-character PIN allows at most %d (6 characters: 3, 7: 5, 8 or more: 10). Default: %d.", pinLen, limit, def),
		Default:  strconv.Itoa(def),
		Validate: intValidator(func(n int) error { return schsm.ValidateRetries(pinLen, n) }),
	})
	if err != nil {
		return err
	}
	a.ans.Settings.Retries, _ = strconv.Atoi(strings.TrimSpace(answer))
	return nil
}

func (a *asker) askDKEK() error {
	def := OptNoDKEK
	switch {
	case a.def.DKEKShares == 0:
		def = OptRandomDKEK
	case a.def.DKEKShares > 0:
		def = OptSharesDKEK
	}
	choice, err := a.p.Select(Question{
		Name:    QDKEK,
		Message: "Device key encryption key (DKEK):",
		Help: "The DKEK wraps keys for export, so they can be backed up and restored to another token. " +
			"No DKEK: keys can never leave the token, and a lost token loses them. " +
			"Random DKEK: the token makes one that never leaves it, so wrapped keys only return to this token. " +
			"Shares: custodians each hold a password-protected share file, and the DKEK is the XOR of all shares, " +
			"so every custodian is needed to restore keys on a new token. Default: " + def + ".",
		Options: []string{OptNoDKEK, OptRandomDKEK, OptSharesDKEK},
		Default: def,
	})
	if err != nil {
		return err
	}
	switch choice {
	case OptNoDKEK:
		a.ans.Settings.DKEKShares = schsm.NoDKEK
		return nil
	case OptRandomDKEK:
		a.ans.Settings.DKEKShares = 0
		return nil
	}

	def2 := max(a.def.DKEKShares, 1)
	answer, err := a.p.Input(Question{
		Name:    QDKEKShares,
		Message: fmt.Sprintf("Number of DKEK shares (1 to %d):", schsm.MaxDKEKShares),
		Help: "Each share is a file protected by its own password, one per custodian. All shares are needed to rebuild the DKEK; " +
			"the wizard creates or imports each one after the questions. Default: " + strconv.Itoa(def2) + ".",
		Default: strconv.Itoa(def2),
		Validate: intValidator(func(n int) error {
			if n < 1 {
				return fmt.Errorf("%d DKEK shares is out of range; set 1 to %d shares", n, schsm.MaxDKEKShares)
			}
			return schsm.ValidateDKEKShares(n)
		}),
	})
	if err != nil {
		return err
	}
	a.ans.Settings.DKEKShares, _ = strconv.Atoi(strings.TrimSpace(answer))
	return nil
}

func (a *asker) askPKA() error {
	maxTotal := schsm.MaxPKATotal
	if a.tok.Pico() {
		maxTotal = schsm.PicoMaxPKA
	}
	answer, err := a.p.Input(Question{
		Name:    QPKATotal,
		Message: fmt.Sprintf("Public keys for public key authentication (0 turns it off, at most %d):", maxTotal),
		Help: "With public key authentication, logging in needs a quorum of registered key holders (n of m), for example other " +
			"SmartCard-HSMs, instead of or in addition to the user PIN. Each public key must be registered after initialization. " +
			"Default: " + strconv.Itoa(a.def.PKATotal) + ".",
		Default: strconv.Itoa(a.def.PKATotal),
		Validate: intValidator(func(n int) error {
			if n == 0 {
				return nil
			}
			if a.tok.Pico() && n > schsm.PicoMaxPKA {
				return fmt.Errorf("a Pico HSM stores at most %d public keys; set 0 to %d", schsm.PicoMaxPKA, schsm.PicoMaxPKA)
			}
			return schsm.ValidatePKATotal(n)
		}),
	})
	if err != nil {
		return err
	}
	total, _ := strconv.Atoi(strings.TrimSpace(answer))
	a.ans.Settings.PKATotal = total
	a.ans.Settings.PKARequired = 0
	if total == 0 {
		return nil
	}

	def := min(max(a.def.PKARequired, 1), total)
	answer, err = a.p.Input(Question{
		Name:     QPKARequired,
		Message:  fmt.Sprintf("Public keys required to authenticate (1 to %d):", total),
		Help:     "How many of the registered key holders must authenticate before the token opens. Default: " + strconv.Itoa(def) + ".",
		Default:  strconv.Itoa(def),
		Validate: intValidator(func(n int) error { return schsm.ValidatePKARequired(total, n) }),
	})
	if err != nil {
		return err
	}
	a.ans.Settings.PKARequired, _ = strconv.Atoi(strings.TrimSpace(answer))
	return nil
}

// askKeyDomains is asked only with DKEK shares, because every key domain
// has a DKEK of its own shares.
func (a *asker) askKeyDomains() error {
	a.ans.Settings.KeyDomains = 0
	a.ans.KeyDomainShares = nil
	shares := a.ans.Settings.DKEKShares
	if shares <= 0 {
		return nil
	}
	answer, err := a.p.Input(Question{
		Name:    QKeyDomains,
		Message: fmt.Sprintf("Key domains (0 for none, at most %d):", schsm.MaxKeyDomains),
		Help: fmt.Sprintf("Key domains separate keys into groups, each with its own DKEK made of its own shares, so the custodians "+
			"of one domain cannot unwrap the keys of another. Key domain 0 takes the %d %s chosen above; you choose the share "+
			"count of every other domain next. The Pico HSM tools offer up to %d domains. Default: 0.",
			shares, plural(shares, "share", "shares"), schsm.ToolKeyDomains),
		Default:  strconv.Itoa(a.def.KeyDomains),
		Validate: intValidator(schsm.ValidateKeyDomains),
	})
	if err != nil {
		return err
	}
	n, _ := strconv.Atoi(strings.TrimSpace(answer))
	if n == 0 {
		return nil
	}
	a.ans.Settings.KeyDomains = n
	a.ans.KeyDomainShares = []int{shares}
	for d := 1; d < n; d++ {
		answer, err := a.p.Input(Question{
			Name:    fmt.Sprintf("%s-%d", QKeyDomainShares, d),
			Message: fmt.Sprintf("DKEK shares of key domain %d (1 to %d):", d, schsm.MaxDKEKShares),
			Help: fmt.Sprintf("The number of share files whose XOR is the DKEK of key domain %d. Default: %d, as key domain 0.",
				d, shares),
			Default: strconv.Itoa(shares),
			Validate: intValidator(func(n int) error {
				if n < 1 || n > schsm.MaxDKEKShares {
					return fmt.Errorf("%d DKEK shares is out of range; set 1 to %d shares", n, schsm.MaxDKEKShares)
				}
				return nil
			}),
		})
		if err != nil {
			return err
		}
		count, _ := strconv.Atoi(strings.TrimSpace(answer))
		a.ans.KeyDomainShares = append(a.ans.KeyDomainShares, count)
	}
	return nil
}

func (a *asker) askRRC() error {
	for {
		allowed, err := a.p.Confirm(Question{
			Name:    QRRC,
			Message: "Allow the SO-PIN to unblock the user PIN (RESET RETRY COUNTER)?",
			Help: "With this option the security officer can unblock a blocked user PIN with the SO-PIN. Without it, a blocked " +
				"user PIN can only be cleared by initializing the token again, which erases every key. Default: " + yesNo(a.def.ResetRetryCounter) + ".",
			DefaultYes: a.def.ResetRetryCounter,
		})
		if err != nil {
			return err
		}
		a.ans.Settings.ResetRetryCounter = allowed
		if allowed {
			break
		}
		a.p.Show("Warning: without RESET RETRY COUNTER, a blocked user PIN means initializing the token again and losing every key on it.")
		sure, err := a.p.Confirm(Question{
			Name:    QNoRRC,
			Message: "Disable RESET RETRY COUNTER anyway?",
			Help:    "Yes: a blocked user PIN can never be unblocked. No: ask the question again.",
		})
		if err != nil {
			return err
		}
		if sure {
			a.ans.Settings.RRCResetsCounterOnly = false
			return nil
		}
	}

	only, err := a.p.Confirm(Question{
		Name:    QRRCCounterOnly,
		Message: "Let RESET RETRY COUNTER only reset the error counter, keeping the old PIN?",
		Help: "Yes: the security officer can unblock the user PIN but cannot set a new one, so the user must still know it. " +
			"No: unblocking can also set a new user PIN. Default: " + yesNo(a.def.RRCResetsCounterOnly) + ".",
		DefaultYes: a.def.RRCResetsCounterOnly,
	})
	if err != nil {
		return err
	}
	a.ans.Settings.RRCResetsCounterOnly = only
	return nil
}

func (a *asker) askPKAOptions() error {
	s := &a.ans.Settings
	s.PKAReplaceable, s.CombinedPINAndPKA = false, false
	if s.PKATotal == 0 {
		return nil
	}
	var err error
	s.PKAReplaceable, err = a.p.Confirm(Question{
		Name:    QPKAReplaceable,
		Message: "May registered public keys be replaced later?",
		Help: "Yes: a registered key holder can be replaced, for example when a card is lost. No: the registrations are final " +
			"until the token is initialized again. Default: " + yesNo(a.def.PKAReplaceable) + ".",
		DefaultYes: a.def.PKAReplaceable,
	})
	if err != nil {
		return err
	}
	s.CombinedPINAndPKA, err = a.p.Confirm(Question{
		Name:    QCombinedPINAndPKA,
		Message: "Require the user PIN and the public key quorum together?",
		Help: "Yes (option 0010): logging in needs both the user PIN and the required key holders. No: either the user PIN " +
			"alone or the quorum of key holders alone opens the token. Default: " + yesNo(a.def.CombinedPINAndPKA) + ".",
		DefaultYes: a.def.CombinedPINAndPKA,
	})
	return err
}

func (a *asker) askLabel() error {
	help := fmt.Sprintf("The token label that PKCS#11 applications show, at most %d bytes. OpenSC shows labels longer than %d bytes "+
		"cut short. Empty: no label.", schsm.MaxLabelLength, schsm.OpenSCLabelLength)
	if a.tok.Pico() {
		help += " A Pico HSM generates its label itself (\"Pico-HSM\"), so a label set here is not written."
	}
	answer, err := a.p.Input(Question{
		Name:     QLabel,
		Message:  "Token label (optional):",
		Help:     help,
		Default:  a.def.Label,
		Validate: schsm.ValidateLabel,
	})
	if err != nil {
		return err
	}
	a.ans.Settings.Label = answer
	if answer != "" && a.tok.Pico() {
		a.p.Show("Warning: a Pico HSM generates its label itself, so OpenSC will show \"Pico-HSM\" instead.")
	}
	return nil
}

// askDeviceCertificate is asked only for a Pico HSM.
func (a *asker) askDeviceCertificate() error {
	if !a.tok.Pico() {
		return nil
	}
	force, err := a.p.Confirm(Question{
		Name:    QDeviceCertificate,
		Message: "Advanced: replace the device certificate through the vendor's online service?",
		Help: "Only for third-party software that rejects the Pico HSM's own attestation certificate. The device's public key " +
			"is sent to the vendor's service, which returns a new certificate chain; the current certificate is backed up first. " +
			"Default: no.",
	})
	if err != nil || !force {
		return err
	}
	a.p.Show("Warning: this sends the device's public key over the network and replaces the attestation certificate. " +
		"Choose it only when a third-party application rejects the current certificate.")
	a.ans.ForceDeviceCertificate, err = a.p.Confirm(Question{
		Name:    QDeviceCertConfirm,
		Message: "Replace the device certificate?",
		Help:    "Yes: replace it after initialization. No: keep the current certificate.",
	})
	return err
}

// intValidator parses a decimal answer and checks it with check.
func intValidator(check func(int) error) func(string) error {
	return func(answer string) error {
		n, err := strconv.Atoi(strings.TrimSpace(answer))
		if err != nil {
			return fmt.Errorf("%q is not a whole number; enter digits only", answer)
		}
		return check(n)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Names of the questions the wizard command asks after provisioning.
const (
	QRecordPath = "record-path"
	QSaveConfig = "save-config"
	QConfigPath = "config-path"
)
