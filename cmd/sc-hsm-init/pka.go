package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/pkakey"
)

// pkaKey is one slot of public key authentication in the output.
type pkaKey struct {
	Slot          int    `json:"slot"`
	Registered    bool   `json:"registered"`
	CHR           string `json:"chr,omitempty"`
	Authenticated bool   `json:"authenticated"`
}

// pkaOutput is the result document of the pka commands.
type pkaOutput struct {
	outcome
	Command        string           `json:"command"`
	Reader         string           `json:"reader,omitempty"`
	Configured     bool             `json:"configured"`
	Status         *schsm.PKAStatus `json:"status,omitempty"`
	Keys           []pkaKey         `json:"keys,omitempty"`
	KeysListed     bool             `json:"keys_listed"` // the token lists its keys (80 54 02 returns 9000 or 9001)
	Replaceable    bool             `json:"replaceable"`
	CombinedOption bool             `json:"combined_pin_and_pka"`
	Registered     []string         `json:"registered,omitempty"`
	// CustodianKey is the CHR of the key that pka rehearsal-custodian
	// wrote a registration file for. The key is not registered on any
	// token yet.
	CustodianKey  string   `json:"custodian_key,omitempty"`
	Custodians    []string `json:"custodians,omitempty"`
	QuorumReached *bool    `json:"quorum_reached,omitempty"`
	Files         []string `json:"files,omitempty"`
	Notes         []string `json:"notes,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`

	family schsm.Family // device family from SELECT, for messages
}

// rehearsalNotice is printed by every command that writes or reads a
// rehearsal custodian.
const rehearsalNotice = "rehearsal custodians work only with the virtual card (sc-hsm-init simulate) and give no security: " +
	"their certificate authority keys are derived from a seed published in the source code, and real tokens reject them"

// sessionNote explains why authentication does not outlast a command.
const sessionNote = "public key authentication lasts only for this command's PC/SC session: the next SELECT, by any process, clears it. " +
	"Authenticate in the command that needs it, such as init with --key-file or --pkcs11-key"

func (a *app) pkaCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pka",
		Short: "Public key (n-of-m) authentication: status, register keys, authenticate, rehearsal custodians",
		Long: `pka manages public key authentication: a token initialized with --public-key-auth N
and --required-pub-keys M holds N registered public keys, and M of their holders
(custodians) must sign a challenge in a session before the token allows what
otherwise needs the user PIN (or, with --require-pka-and-pin, in addition to it).

Authentication lasts until the next SELECT of the applet, which any process can
send, so the commands that authenticate hold the reader exclusively.`,
	}
	cmd.AddCommand(a.pkaStatusCommand(), a.pkaRegisterCommand(), a.pkaAuthenticateCommand(), a.pkaRehearsalCustodianCommand())
	return cmd
}

func (a *app) pkaStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the number of public keys, missing, required and authenticated, and the registered keys",
		Long: `status selects the applet, which starts a new session, and reads the public key
authentication status (80 54 00 00) and, where the token lists them (Pico HSM,
virtual card), the registered keys (80 54 02 slot). It presents no PIN.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			out := pkaOutput{Command: "pka status"}
			sess, err := a.openPKASession(shareShared, &out)
			if err != nil {
				return a.finishPKA(&out, err)
			}
			defer sess.close()
			if out.Configured {
				out.Notes = append(out.Notes, "authenticated counts only this command's session, which starts with SELECT, so it is 0 here")
			}
			return a.finishPKA(&out, nil)
		},
	}
}

// openPKASession opens a session in the given share mode and reads the
// public key authentication state into out. It closes the session when the
// reading fails.
func (a *app) openPKASession(mode shareMode, out *pkaOutput) (*session, error) {
	sess, err := a.openSession(mode)
	if err != nil {
		return nil, err
	}
	out.Reader = sess.reader
	if _, err := a.readPKA(sess, out); err != nil {
		sess.close()
		return nil, err
	}
	return sess, nil
}

// readOptionalPIN reads the user PIN from the source that --pin names, or
// returns a zero Secret when --pin is absent. The caller wipes the PIN.
func (a *app) readOptionalPIN(cmd *cobra.Command, pinSpec string) (schsm.Secret, error) {
	if !cmd.Flags().Changed("pin") {
		return schsm.Secret{}, nil
	}
	raw, err := a.secrets.read(secretSpec{flag: "pin", value: pinSpec, given: true}, "user PIN", false)
	if err != nil {
		return schsm.Secret{}, withExit(exitUsage, err)
	}
	pin := schsm.NewSecret(raw)
	clear(raw)
	return pin, nil
}

// readPKA selects the applet and fills out with the options, the status
// and, when the token lists them, the registered keys.
func (a *app) readPKA(sess *session, out *pkaOutput) (schsm.DeviceInfo, error) {
	info, err := sess.card.SelectApplet()
	if err != nil {
		return info, classifyPCSC(fmt.Errorf("on %q: %w", sess.reader, err))
	}
	out.family = info.Family
	out.Replaceable = info.Options&schsm.OptionPKAReplaceable != 0
	out.CombinedOption = info.Options&schsm.OptionCombinedPINPKA != 0
	if err := a.refreshPKA(sess, out); err != nil {
		return info, err
	}
	if out.Configured && out.CombinedOption {
		out.Notes = append(out.Notes, combinedNote(info))
	}
	return info, nil
}

// refreshPKA reads the status and the key list again.
func (a *app) refreshPKA(sess *session, out *pkaOutput) error {
	st, err := sess.card.PKAStatus()
	var statusErr *schsm.StatusError
	switch {
	case errors.As(err, &statusErr):
		// 6A86, 6A82 (Pico HSM) or 6D00: not configured or not supported.
		out.Configured = false
		out.Notes = append(out.Notes, fmt.Sprintf("public key authentication is not configured on this token (SW %04X)", statusErr.SW))
		return nil
	case err != nil:
		return classifyPCSC(fmt.Errorf("on %q: %w", sess.reader, err))
	}
	out.Configured, out.Status = true, &st

	keys, err := sess.card.EnumeratePublicKeys()
	if err != nil {
		out.KeysListed, out.Keys = false, nil
		if errors.As(err, &statusErr) {
			return nil // a real SmartCard-HSM does not list its keys
		}
		return classifyPCSC(fmt.Errorf("on %q: %w", sess.reader, err))
	}
	out.KeysListed, out.Keys = true, nil
	for _, k := range keys {
		out.Keys = append(out.Keys, pkaKey{Slot: k.Slot, Registered: k.Registered, CHR: k.CHR, Authenticated: k.Authenticated})
	}
	return nil
}

// combinedNote states what is known about the enforcement of option 0010
// on the token, without claiming what this tool did not observe.
func combinedNote(info schsm.DeviceInfo) string {
	if info.Family == schsm.FamilyPicoHSM {
		return "option 0010 (combined PIN and public key authentication) is set, but the Pico HSM firmware defines it without checking it " +
			"(pico-hsm source up to 6.x), so the PIN alone or the quorum alone authenticates"
	}
	return "option 0010 (combined PIN and public key authentication) is set; this command did not test whether the token enforces it " +
		"(init tests it when it creates key domains with custodians and a user PIN)"
}

func (a *app) pkaRegisterCommand() *cobra.Command {
	var replace int
	var pinSpec string
	var force bool
	var cf custodianFlags
	cmd := &cobra.Command{
		Use:   "register FILE...",
		Short: "Register public keys from files in sc-hsm-tool --register-public-key format",
		Long: `register reads each registration file (an authenticated CV request with the
device and device issuer certificates, as sc-hsm-tool --register-public-key reads
it), checks every signature that needs no trust anchor, and only then registers
the keys in one session, in the APDU sequence of sc-hsm-tool.

--replace SLOT replaces the key in a slot (0 to N-1) instead; the token must have
been initialized with --replace-key-allowed (option 0008), else nothing is sent.
Replacing needs an authenticated session: give --pin, custodians, or both.
A Pico HSM also needs a verified PIN to register: give --pin.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			replaceSlot := -1
			if cmd.Flags().Changed("replace") {
				replaceSlot = replace
			}
			return a.runPKARegister(cmd, files, replaceSlot, pinSpec, force, &cf)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&replace, "replace", 0, "replace the key in this slot (from 0) instead of registering into a free slot; needs option 0008")
	fl.StringVar(&pinSpec, "pin", "", "user PIN source (env:NAME, file:PATH or prompt), verified before registering; absent: no PIN is presented")
	fl.BoolVarP(&force, "force", "f", false, "present the PIN even when only one try is left")
	cf.register(fl)
	return cmd
}

func (a *app) runPKARegister(cmd *cobra.Command, files []string, replaceSlot int, pinSpec string, force bool, cf *custodianFlags) error {
	out := pkaOutput{Command: "pka register"}
	regs, err := a.readRegistrations(files, &out)
	if err != nil {
		return a.finishPKA(&out, err)
	}
	if replaceSlot >= 0 && len(regs) != 1 {
		return a.finishPKA(&out, withExit(exitUsage, fmt.Errorf("--replace takes exactly one registration file, not %d", len(regs))))
	}

	pin, err := a.readOptionalPIN(cmd, pinSpec)
	if err != nil {
		return a.finishPKA(&out, err)
	}
	defer pin.Wipe()
	cust, err := a.openCustodians(cf)
	if err != nil {
		return a.finishPKA(&out, err)
	}
	defer cust.close()

	sess, err := a.openPKASession(shareExclusive, &out)
	if err != nil {
		return a.finishPKA(&out, err)
	}
	defer sess.close()
	if err := checkRegisterPlan(&out, regs, replaceSlot); err != nil {
		return a.finishPKA(&out, err)
	}
	if replaceSlot >= 0 && pin.IsZero() && len(cust.signers) == 0 {
		return a.finishPKA(&out, withExit(exitUsage, errors.New("--replace needs an authenticated session: give --pin, custodians (--key-file or --pkcs11-key), or both; nothing was replaced")))
	}
	if err := a.authenticateSession(sess, pin, force, cust, &out); err != nil {
		return a.finishPKA(&out, err)
	}

	for _, reg := range regs {
		var st schsm.PKAStatus
		if replaceSlot >= 0 {
			st, err = sess.card.ReplacePublicKey(replaceSlot, reg.DICA.Raw, reg.Device.Raw, reg.Request.Raw)
		} else {
			st, err = sess.card.RegisterPublicKey(reg.DICA.Raw, reg.Device.Raw, reg.Request.Raw)
		}
		if err != nil {
			return a.finishPKA(&out, registrationError(err, pin.IsZero(), out.family))
		}
		out.Registered = append(out.Registered, reg.CHR())
		out.Status = &st
	}
	if err := a.refreshPKA(sess, &out); err != nil {
		return a.finishPKA(&out, err)
	}
	if out.Status.Missing > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d of %d public keys are still to be registered", out.Status.Missing, out.Status.Total))
	}
	return a.finishPKA(&out, nil)
}

// readRegistrations reads and checks the registration files offline.
func (a *app) readRegistrations(files []string, out *pkaOutput) ([]*pkakey.Registration, error) {
	var regs []*pkakey.Registration
	seen := make(map[string]string)
	rehearsal := false
	for _, path := range files {
		reg, err := pkakey.ReadRegistrationFile(path)
		if err != nil {
			return nil, withExit(exitUsage, err)
		}
		if err := reg.CheckLinks(); err != nil {
			return nil, withExit(exitUsage, fmt.Errorf("registration file %s: %w", path, err))
		}
		if reg.IsRehearsal() {
			if err := reg.VerifyRehearsalChain(); err != nil {
				return nil, withExit(exitUsage, fmt.Errorf("registration file %s: %w", path, err))
			}
			rehearsal = true
		}
		if prev, ok := seen[reg.CHR()]; ok {
			return nil, withExit(exitUsage, fmt.Errorf("registration files %s and %s carry the same key %q; give each key once", prev, path, reg.CHR()))
		}
		seen[reg.CHR()] = path
		regs = append(regs, reg)
	}
	if rehearsal {
		out.Notes = append(out.Notes, rehearsalNotice)
	}
	return regs, nil
}

// checkRegisterPlan rejects, before anything is sent, a registration the
// token cannot take: public key authentication not configured, more files
// than free slots, keys registered already, or a replacement without
// option 0008 or beyond the last slot.
func checkRegisterPlan(out *pkaOutput, regs []*pkakey.Registration, replaceSlot int) error {
	if !out.Configured {
		return withExit(exitCardRefused, errors.New("the token is not initialized for public key authentication (init --public-key-auth N --required-pub-keys M); nothing was registered"))
	}
	st := out.Status
	for _, k := range out.Keys {
		for _, reg := range regs {
			if k.Registered && k.CHR == reg.CHR() && k.Slot != replaceSlot {
				return withExit(exitCardRefused, fmt.Errorf("the key %q is registered in slot %d already; nothing was registered", reg.CHR(), k.Slot))
			}
		}
	}
	if replaceSlot < 0 {
		if len(regs) > st.Missing {
			return withExit(exitCardRefused, fmt.Errorf("%d registration files, but only %d of %d slots are free; nothing was registered. "+
				"Replace a key with --replace SLOT if the token was initialized with --replace-key-allowed", len(regs), st.Missing, st.Total))
		}
		return nil
	}
	if !out.Replaceable {
		return withExit(exitCardRefused, errors.New("the token was initialized without --replace-key-allowed (option 0008), so registered keys cannot be replaced; nothing was sent. "+
			"Only initializing it again, which erases all keys, changes that"))
	}
	if replaceSlot >= st.Total {
		return withExit(exitUsage, fmt.Errorf("--replace %d: the token has slots 0 to %d", replaceSlot, st.Total-1))
	}
	return nil
}

// registrationError adds what to do to a rejected registration.
func registrationError(err error, noPIN bool, family schsm.Family) error {
	switch {
	case errors.Is(err, schsm.ErrSecurityStatus) && noPIN && family == schsm.FamilyPicoHSM:
		err = fmt.Errorf("%w; the Pico HSM requires a verified user PIN to register public keys: give --pin", err)
	case errors.Is(err, schsm.ErrSecurityStatus) && noPIN:
		err = fmt.Errorf("%w; the token requires an authenticated session for this command: give --pin, custodians (--key-file or --pkcs11-key), or both", err)
	case errors.Is(err, schsm.ErrCertificateRejected):
		err = fmt.Errorf("%w; the token does not trust the device issuer of the file (a real token trusts only CardContact's root, the virtual card only the rehearsal root)", err)
	}
	return classifyPCSC(err)
}

func (a *app) pkaAuthenticateCommand() *cobra.Command {
	var pinSpec string
	var force bool
	var cf custodianFlags
	cmd := &cobra.Command{
		Use:   "authenticate",
		Short: "Authenticate custodian keys and report the quorum",
		Long: `authenticate signs one challenge of the token with each custodian key, until the
required number is reached, and reports the quorum. Custodians are rehearsal key
files (--key-file) or keys on other tokens through PKCS#11 (--pkcs11-key).

Public key authentication lasts only for this command's PC/SC session: the
next SELECT, by any process, clears it. Authenticate in the command that needs
it, such as init, dkek import or dkek domain with --key-file or --pkcs11-key.

Alone, this command proves that the custodian keys work. A custodian whose key
the token lists as unregistered is skipped with a warning, and the others still
authenticate.

Exit code 6 means fewer custodians authenticated than required; 5 means the token
rejected a key or signature.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runPKAAuthenticate(cmd, pinSpec, force, &cf)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&pinSpec, "pin", "", "user PIN source (env:NAME, file:PATH or prompt), also verified in the session; absent: no PIN is presented")
	fl.BoolVarP(&force, "force", "f", false, "present the PIN even when only one try is left")
	cf.register(fl)
	return cmd
}

func (a *app) runPKAAuthenticate(cmd *cobra.Command, pinSpec string, force bool, cf *custodianFlags) error {
	out := pkaOutput{Command: "pka authenticate"}
	if !cf.given() {
		return a.finishPKA(&out, withExit(exitUsage, errors.New("no custodian given; give --key-file or --pkcs11-key for each custodian")))
	}
	pin, err := a.readOptionalPIN(cmd, pinSpec)
	if err != nil {
		return a.finishPKA(&out, err)
	}
	defer pin.Wipe()
	cust, err := a.openCustodians(cf)
	if err != nil {
		return a.finishPKA(&out, err)
	}
	defer cust.close()
	if len(cf.keyFiles) > 0 {
		out.Notes = append(out.Notes, rehearsalNotice)
	}

	sess, err := a.openPKASession(shareExclusive, &out)
	if err != nil {
		return a.finishPKA(&out, err)
	}
	defer sess.close()
	if !out.Configured {
		return a.finishPKA(&out, withExit(exitCardRefused, errors.New("the token is not initialized for public key authentication; nothing was sent")))
	}
	if err := a.authenticateSession(sess, pin, force, cust, &out); err != nil {
		return a.finishPKA(&out, err)
	}
	out.Notes = append(out.Notes, sessionNote)
	st := out.Status
	if !*out.QuorumReached {
		return a.finishPKA(&out, withExit(exitStepsRemain, fmt.Errorf("only %d of %d required public keys authenticated; %d more %s needed",
			st.Authenticated, st.Required, st.Required-st.Authenticated, plural(st.Required-st.Authenticated, "custodian is", "custodians are"))))
	}
	return a.finishPKA(&out, nil)
}

// authenticateSession verifies the user PIN when one is given (after a
// free status query, refusing a blocked PIN and asking before the last
// try) and authenticates the custodians, in the session of sess.
func (a *app) authenticateSession(sess *session, pin schsm.Secret, force bool, cust *custodians, out *pkaOutput) error {
	if !pin.IsZero() {
		st, err := sess.card.PINStatus(schsm.PINRefUser)
		if err != nil && !errors.Is(err, schsm.ErrPINBlocked) {
			var statusErr *schsm.StatusError
			if !errors.As(err, &statusErr) {
				return classifyPCSC(fmt.Errorf("reading the user PIN status on %q: %w", sess.reader, err))
			}
		}
		if err := checkUsable(st, "user PIN", "unblock it with sc-hsm-init pin unblock"); err != nil {
			return err
		}
		if err := a.confirmLastTry(st, "user PIN", force); err != nil {
			return err
		}
		if err := sess.card.VerifyPIN(schsm.PINRefUser, pin.Bytes()); err != nil {
			return wrongPINError("user PIN", err)
		}
		out.Notes = append(out.Notes, "the user PIN is verified in this session")
	}
	if len(cust.signers) == 0 {
		return nil
	}

	// A custodian whose key the token lists as unregistered is skipped, so
	// that the others still authenticate.
	signers := cust.signers
	if out.KeysListed {
		keys := make([]schsm.RegisteredPublicKey, 0, len(out.Keys))
		for _, k := range out.Keys {
			keys = append(keys, schsm.RegisteredPublicKey{Slot: k.Slot, Registered: k.Registered, CHR: k.CHR})
		}
		var skipped []string
		signers, skipped = dropUnregistered(signers, keys)
		out.Warnings = append(out.Warnings, skipped...)
		if len(signers) == 0 {
			return withExit(exitCardRefused, errors.New("the given custodian keys are not registered on the token; nothing was sent for them"))
		}
	}
	st, err := sess.card.AuthenticatePublicKeys(signers)
	if err != nil {
		return classifyPCSC(fmt.Errorf("on %q: %w", sess.reader, err))
	}
	out.Status = &st
	reached := st.Authenticated >= st.Required
	out.QuorumReached = &reached
	if err := a.refreshPKA(sess, out); err != nil {
		return err
	}
	for _, k := range out.Keys {
		if k.Authenticated {
			out.Custodians = append(out.Custodians, k.CHR)
		}
	}
	if !out.KeysListed {
		out.Custodians = cust.chrs()[:min(len(signers), st.Authenticated)]
	}
	return nil
}

func (a *app) pkaRehearsalCustodianCommand() *cobra.Command {
	var dir, pkcs11Key, publicKey string
	cmd := &cobra.Command{
		Use:   "rehearsal-custodian NAME",
		Short: "Write a rehearsal custodian's key file and registration file (virtual card only, no security)",
		Long: `rehearsal-custodian writes NAME` + pkakey.KeyFileSuffix + ` (the custodian's private key, mode 0600) and
NAME` + pkakey.RegistrationFileSuffix + ` (its registration file, in sc-hsm-tool --register-public-key format)
into --dir, for rehearsing a public key authentication ceremony.

With --pkcs11-key and --public-key it writes only NAME` + pkakey.RegistrationFileSuffix + `, for an existing P-256 key on
a PKCS#11 token: the key self-signs the request through PKCS#11, and a rehearsal
device signs it. Then use that key with pka authenticate --pkcs11-key.

Rehearsal custodians work only with the virtual card (sc-hsm-init simulate) and
give no security: the certificate authority keys of the rehearsal files are
derived from a seed published in the source code, and real tokens reject them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runRehearsalCustodian(args[0], dir, pkcs11Key, publicKey)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dir, "dir", ".", "folder for the files; existing files are never overwritten")
	fl.StringVar(&pkcs11Key, "pkcs11-key", "", "wrap this existing key on a PKCS#11 token instead of generating one: module=PATH, token-label=L or token-serial=S, key-label=L or key-id=HEX, pin=SOURCE")
	fl.StringVar(&publicKey, "public-key", "", "with --pkcs11-key: the key's public key as PEM or DER SubjectPublicKeyInfo (for example from pkcs11-tool --read-object --type pubkey)")
	return cmd
}

func (a *app) runRehearsalCustodian(name, dir, pkcs11Key, publicKey string) error {
	out := pkaOutput{Command: "pka rehearsal-custodian"}
	if (pkcs11Key == "") != (publicKey == "") {
		return a.finishPKA(&out, withExit(exitUsage, errors.New("--pkcs11-key and --public-key go together")))
	}
	if pkcs11Key == "" {
		c, err := pkakey.NewRehearsalCustodian(name)
		if err != nil {
			return a.finishPKA(&out, withExit(exitUsage, err))
		}
		keyPath, regPath, err := c.WriteFiles(dir)
		if err != nil {
			return a.finishPKA(&out, withExit(exitUsage, err))
		}
		out.Files = []string{keyPath, regPath}
		out.CustodianKey = c.CHR()
		out.Notes = []string{rehearsalNotice}
		return a.finishPKA(&out, nil)
	}

	regPath, chr, err := a.wrapPKCS11Key(name, dir, pkcs11Key, publicKey)
	if err != nil {
		return a.finishPKA(&out, err)
	}
	out.Files = []string{regPath}
	out.CustodianKey = chr
	out.Notes = append(out.Notes, rehearsalNotice, fmt.Sprintf("authenticate with --pkcs11-key %s,registration=%s", strings.TrimSuffix(pkcs11Key, ","), regPath))
	return a.finishPKA(&out, nil)
}

// finishPKA prints the result of a pka command and returns err.
func (a *app) finishPKA(out *pkaOutput, err error) error {
	if a.writeJSONResult(out, err) {
		return err
	}
	a.reported = true // the error is printed below

	w := a.stdout
	if out.Reader != "" {
		fmt.Fprintf(w, "Reader:        %s\n", out.Reader)
	}
	if st := out.Status; st != nil {
		fmt.Fprintf(w, "Public keys:   %d registered of %d (%d missing), %d required, %d authenticated\n",
			st.Total-st.Missing, st.Total, st.Missing, st.Required, st.Authenticated)
	}
	for _, k := range out.Keys {
		switch {
		case !k.Registered:
			fmt.Fprintf(w, "Slot %d:        empty\n", k.Slot)
		case k.Authenticated:
			fmt.Fprintf(w, "Slot %d:        %s (authenticated in this session)\n", k.Slot, k.CHR)
		default:
			fmt.Fprintf(w, "Slot %d:        %s\n", k.Slot, k.CHR)
		}
	}
	if out.Configured {
		fmt.Fprintf(w, "Replaceable:   %s\n", yesNo(out.Replaceable))
		fmt.Fprintf(w, "PIN and PKA:   %s\n", map[bool]string{true: "both required (option 0010)", false: "either one authenticates"}[out.CombinedOption])
	}
	for _, chr := range out.Registered {
		fmt.Fprintf(w, "Registered:    %s\n", chr)
	}
	if out.CustodianKey != "" {
		fmt.Fprintf(w, "Custodian key: %s (not registered yet: give its registration file to init --register-public-key or pka register)\n", out.CustodianKey)
	}
	for _, chr := range out.Custodians {
		fmt.Fprintf(w, "Authenticated: %s\n", chr)
	}
	if out.QuorumReached != nil {
		fmt.Fprintf(w, "Quorum:        %s\n", map[bool]string{true: "reached", false: "not reached"}[*out.QuorumReached])
	}
	for _, f := range out.Files {
		fmt.Fprintf(w, "Wrote:         %s\n", f)
	}
	for _, n := range out.Notes {
		fmt.Fprintf(w, "Note:          %s\n", n)
	}
	for _, warning := range out.Warnings {
		a.warn("%s", warning)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "sc-hsm-init: %v\n", err)
	}
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
