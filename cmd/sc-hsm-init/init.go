package main

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/provision"
)

// initFlags are the flags of the init command. Names follow sc-hsm-tool
// where the meaning is the same.
type initFlags struct {
	soPIN, pin, password string
	newPIN               string
	retries              int
	dkekShares           int
	label                string
	pkaTotal, pkaReq     int
	keyDomains           int
	keyDomainShares      []int
	noRRC, noPINReset    bool
	transportPIN         bool
	replaceKeyAllowed    bool
	requirePKAAndPIN     bool
	picoOptions          string
	shareFiles           []string
	force, dryRun        bool
	config               string // --config: a config file the wizard saved
	verify               verifyFlags
	pka                  initPKAFlags
}

func (a *app) initCommand() *cobra.Command {
	var f initFlags
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Initialize a token, import DKEK shares and verify it through PKCS#11",
		Long: `init erases and initializes a SmartCard-HSM-family token in one PC/SC transaction:
preflight status, INITIALIZE DEVICE, VERIFY of the new PIN, DKEK share imports,
key check value, and a read-back of the options and retry counters. It then
loads OpenSC's PKCS#11 module afresh, finds the token by reader and serial,
logs in and lists what it sees.

An initialized token is only initialized again with --force, because that
erases every key on it. On a CardContact SmartCard-HSM or Nitrokey HSM 2 the
SO-PIN must then match the current one, and every wrong SO-PIN spends one of
its 15 tries for good.

Secrets: --so-pin, --pin and --password take env:NAME, file:PATH or "prompt";
when absent, the tool asks on the terminal. The SO-PIN is 16 hex digits (as
sc-hsm-tool takes it) or 8 characters; both give the same 8 bytes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runInit(cmd, &f)
		},
	}

	fl := cmd.Flags()
	fl.StringVar(&f.soPIN, "so-pin", "", "SO-PIN source: env:NAME, file:PATH or prompt (16 hex digits or 8 characters)")
	fl.StringVar(&f.pin, "pin", "", "user PIN source: env:NAME, file:PATH or prompt (6 to 16 characters)")
	fl.IntVar(&f.retries, "pin-retry", schsm.DefaultRetries, "user PIN retry counter (at most 3 for a 6-character PIN, 5 for 7, 10 for 8 or more)")
	fl.IntVarP(&f.dkekShares, "dkek-shares", "s", schsm.NoDKEK, "number of DKEK shares; 0 lets the token generate a random DKEK; absent: no DKEK")
	fl.Lookup("dkek-shares").DefValue = "none"
	fl.StringVarP(&f.label, "label", "l", "", "token label (at most 32 bytes)")
	fl.IntVarP(&f.pkaTotal, "public-key-auth", "K", 0, "number of public keys for n-of-m public key authentication")
	fl.IntVarP(&f.pkaReq, "required-pub-keys", "n", 0, "number of public keys that must authenticate")
	fl.IntVar(&f.keyDomains, "key-domains", 0, "number of key domains")
	fl.IntSliceVar(&f.keyDomainShares, "key-domain-shares", nil, "with --key-domains: DKEK share count of key domain 0, 1, ... in order; each one is created after INITIALIZE (repeat, or separate with commas; default: --dkek-shares for domain 0)")
	fl.BoolVar(&f.noRRC, "no-rrc", false, "disable RESET RETRY COUNTER: a blocked user PIN can then only be cleared by initializing again")
	fl.BoolVar(&f.noPINReset, "no-pin-reset", false, "RESET RETRY COUNTER only resets the retry counter and cannot set a new PIN")
	fl.BoolVar(&f.transportPIN, "transport-pin", false, "the user PIN is a transport PIN that must be changed before use")
	fl.StringVar(&f.newPIN, "new-pin", "", "with --transport-pin: replace the transport PIN with this PIN in the same session (env:NAME, file:PATH or prompt)")
	fl.BoolVar(&f.replaceKeyAllowed, "replace-key-allowed", false, "registered public keys may be replaced later")
	fl.BoolVar(&f.requirePKAAndPIN, "require-pka-and-pin", false, "login needs both the user PIN and the public key quorum")
	fl.StringVar(&f.picoOptions, "pico-options", "", "Pico HSM high option byte in hex (01 press-to-confirm button, 02 key usage counter); absent: keep the token's")
	fl.StringArrayVar(&f.shareFiles, "dkek-share", nil, "DKEK share file (.pbe, as sc-hsm-tool --create-dkek-share writes it) to import; repeat for several; D:FILE imports into key domain D")
	fl.StringVar(&f.password, "password", "", "share file password source: env:NAME, file:PATH or prompt (used for every --dkek-share)")
	fl.BoolVarP(&f.force, "force", "f", false, "initialize a token that is already initialized, erasing its keys")
	fl.StringVar(&f.config, "config", "", "replay a config file saved by sc-hsm-init wizard; flags given on the command line override its values")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the APDUs init would send, with secrets masked, and send nothing")
	f.verify.register(fl)
	f.pka.register(fl)

	// sc-hsm-tool spells the key domain count in the singular.
	fl.IntVar(&f.keyDomains, "key-domain", 0, "same as --key-domains")
	fl.Lookup("key-domain").Hidden = true
	return cmd
}

func (a *app) runInit(cmd *cobra.Command, f *initFlags) error {
	if err := applyConfigFile(cmd, f); err != nil {
		return err
	}
	domainCounts, domainFiles, err := takeKeyDomainShares(cmd, f)
	if err != nil {
		return err
	}
	if !f.dryRun && !f.verify.skip {
		// Before any prompt and any APDU: a bad --module must not fail
		// the run after the token was erased.
		if err := f.verify.resolveModule(); err != nil {
			return err
		}
	}
	settings, shares, err := a.initSettings(cmd, f)
	if err != nil {
		return err
	}
	keyDomains, err := a.keyDomainSetups(cmd, f, domainCounts, domainFiles)
	if err != nil {
		return err
	}
	newPIN, err := a.readInitNewPIN(cmd, f)
	if err != nil {
		return err
	}
	defer newPIN.Wipe()
	req := provision.Request{Settings: settings, Shares: shares, Force: f.force, NewPIN: newPIN, BeforeErase: a.printErasure}
	req.KeyDomains = keyDomains
	cust, err := a.initPKA(f, &req)
	if err != nil {
		return err
	}
	defer cust.close()

	if f.dryRun {
		return a.printPlan(req)
	}

	_, err = a.provisionAndVerify(cmd, req, &f.verify)
	return err
}

// provisionAndVerify provisions the token in one PC/SC session, releases
// it, and runs the PKCS#11 verification unless the PIN cannot log in yet.
// It prints the result with finishInit and returns it with the error that
// finishInit returned. init and the wizard share it.
func (a *app) provisionAndVerify(cmd *cobra.Command, req provision.Request, vf *verifyFlags) (initOutput, error) {
	settings, newPIN := req.Settings, req.NewPIN
	var out initOutput
	finish := func(err error) (initOutput, error) {
		err = a.finishInit(&out, err)
		return out, err
	}
	sess, err := a.openInitSession(req)
	if err != nil {
		return out, err
	}
	out.Reader = sess.reader
	res, err := provision.Run(sess.card, req, func(step string) {
		if !a.jsonOut {
			fmt.Fprintf(a.stderr, "… %s\n", step)
		}
	})
	sess.close()
	out.Result = res
	out.Warnings = res.Warnings
	if err != nil {
		err = a.reportInitError(&out, interruptedInitError(err, res, settings))
		return out, err
	}

	// Steps that remain, such as missing DKEK shares, still leave a PIN
	// that logs in, so verification runs unless the PIN cannot be used
	// yet (transport PIN, public key authentication); then it is skipped
	// and named instead of failing obscurely.
	var remainErr error
	if len(res.Remaining) > 0 {
		remainErr = withExit(exitStepsRemain, errors.New("provisioned, but steps remain: "+strings.Join(res.Remaining, "; ")))
		if !pinUsableAfterInit(settings, newPIN) {
			out.VerificationSkipped = "steps remain before the token can be used: " + strings.Join(res.Remaining, "; ")
			return finish(remainErr)
		}
	}
	if reason := pkaGatesLogin(settings); reason != "" {
		out.VerificationSkipped = reason
		return finish(remainErr)
	}
	if vf.skip {
		out.VerificationSkipped = "--no-verify was given"
		return finish(remainErr)
	}

	loginPIN := settings.UserPIN
	if !newPIN.IsZero() {
		loginPIN = newPIN
	}
	report, err := a.verifyToken(cmd, vf, sess.reader, res.Serial, loginPIN.Bytes(), res.After.UserPIN.TriesLeft)
	out.Verification = report
	if err != nil {
		return finish(err)
	}
	return finish(remainErr)
}

// initSettings builds and validates the settings from the flags, reads the
// secrets and decrypts every share file, all before the card is touched.
func (a *app) initSettings(cmd *cobra.Command, f *initFlags) (schsm.Settings, [][32]byte, error) {
	fl := cmd.Flags()
	s := schsm.DefaultSettings()
	s.Retries = f.retries
	s.DKEKShares = f.dkekShares
	s.Label = f.label
	s.PKATotal = f.pkaTotal
	s.PKARequired = f.pkaReq
	if s.PKATotal > 0 && !fl.Changed("required-pub-keys") {
		s.PKARequired = 1
	}
	s.KeyDomains = f.keyDomains
	s.ResetRetryCounter = !f.noRRC
	s.RRCResetsCounterOnly = f.noPINReset
	s.TransportPIN = f.transportPIN
	s.PKAReplaceable = f.replaceKeyAllowed
	s.CombinedPINAndPKA = f.requirePKAAndPIN
	s.ShareFiles = f.shareFiles
	s.Force = f.force

	if f.picoOptions != "" {
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(f.picoOptions), "0x"), 16, 8)
		if err != nil {
			return s, nil, withExit(exitUsage, fmt.Errorf("--pico-options %q is not a hex byte; give for example 01 for the press-to-confirm button", f.picoOptions))
		}
		b := byte(v)
		s.OptionsHigh = &b
	}

	soSpec := secretSpec{flag: "so-pin", value: f.soPIN, given: fl.Changed("so-pin")}
	soRaw, err := a.secrets.read(soSpec, "SO-PIN", !f.force)
	if err != nil {
		return s, nil, withExit(exitUsage, err)
	}
	sopin, err := schsm.ParseSOPIN(string(soRaw))
	clear(soRaw)
	if err != nil {
		return s, nil, withExit(exitUsage, fmt.Errorf("--so-pin: %w", err))
	}
	s.SOPIN = &sopin
	if soSpec.prompts() {
		a.showSOPINSpellings(sopin)
	}

	// Without a PIN flag, public key authentication alone may protect the
	// token, so the PIN is only asked for when it can be used.
	if fl.Changed("pin") || s.PKATotal == 0 {
		pin, err := a.secrets.read(secretSpec{flag: "pin", value: f.pin, given: fl.Changed("pin")}, "user PIN", true)
		if err != nil {
			return s, nil, withExit(exitUsage, err)
		}
		s.UserPIN = schsm.NewSecret(pin)
		clear(pin)
	}

	warnings, err := s.Validate()
	if err != nil {
		return s, nil, withExit(exitUsage, err)
	}
	for _, w := range warnings {
		a.warn("%s", w)
	}

	shares, err := a.readShares(f.shareFiles, secretSpec{flag: "password", value: f.password, given: fl.Changed("password")})
	if err != nil {
		return s, nil, err
	}
	return s, shares, nil
}

// showSOPINSpellings prints the SO-PIN back in both spellings so that the
// user can write down the one their other tools expect. The caller shows
// them only for an SO-PIN typed at a prompt, never for env: or file:
// sources. It writes only to a terminal: in logs and captured output the
// SO-PIN would be a leaked secret.
func (a *app) showSOPINSpellings(p schsm.SOPIN) {
	if a.jsonOut || !a.stderrIsTerminal() {
		return
	}
	fmt.Fprintf(a.stderr, "SO-PIN as 16 hex digits (sc-hsm-tool, pkcs11-tool): %s\n", p.Hex())
	if chars, ok := p.Chars(); ok {
		fmt.Fprintf(a.stderr, "SO-PIN as 8 characters (pypicohsm, PicoKey tools): %s\n", chars)
	} else {
		fmt.Fprintln(a.stderr, "SO-PIN has no 8-character spelling: some of its bytes are not printable")
	}
}

// readShares reads and decrypts every share file before the card is
// touched, so that a wrong password or a damaged file sends no APDU.
func (a *app) readShares(paths []string, pw secretSpec) ([][32]byte, error) {
	var shares [][32]byte
	var password []byte
	defer func() { clear(password) }()
	var files [][]byte

	for i, path := range paths {
		// dkek.ReadFile names the path in its errors.
		data, err := dkek.ReadFile(path)
		if err != nil {
			return nil, withExit(exitUsage, fmt.Errorf("--dkek-share: %w; %s", err, shareFileHint(err)))
		}
		// A copy of a file under another name needs no key derivation to
		// be found.
		if j := indexOfBytes(files, data); j >= 0 {
			return nil, withExit(exitUsage, duplicateShareFiles(paths[j], path))
		}
		files = append(files, data)
		if password == nil || !pw.given {
			clear(password)
			what := fmt.Sprintf("password of DKEK share file %s", path)
			if password, err = a.secrets.read(pw, what, false); err != nil {
				return nil, withExit(exitUsage, err)
			}
		}
		if !a.jsonOut {
			fmt.Fprintf(a.stderr, "… decrypting DKEK share %d of %d (%s)\n", i+1, len(paths), path)
		}
		share, err := dkek.Decrypt(data, password)
		if err != nil {
			return nil, withExit(exitUsage, fmt.Errorf("decrypting DKEK share file %s: %w; check the password given with --password", path, err))
		}
		if j := slices.Index(shares, share); j >= 0 {
			clear(share[:])
			return nil, withExit(exitUsage, duplicateShareFiles(paths[j], path))
		}
		shares = append(shares, share)
	}
	return shares, nil
}

// shareFileHint returns what to do about a share file that cannot be read.
func shareFileHint(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "check the path given with --dkek-share"
	case errors.Is(err, dkek.ErrNotShareFile):
		return "give --dkek-share the 64-byte file that sc-hsm-tool --create-dkek-share or sc-hsm-init dkek create wrote"
	default:
		return "check the file given with --dkek-share"
	}
}

// printPlan prints the commands of a dry run with secrets masked.
func (a *app) printPlan(req provision.Request) error {
	dev, devNote := planDevice(req.Settings)
	planned, err := provision.Plan(req, dev)
	if err != nil {
		return withExit(exitUsage, err)
	}
	type plannedAPDU struct {
		Step string `json:"step"`
		APDU string `json:"apdu"`
	}
	list := make([]plannedAPDU, 0, len(planned))
	for _, p := range planned {
		list = append(list, plannedAPDU{Step: p.Step, APDU: schsm.MaskCommand(p.Cmd)})
	}
	if a.jsonOut {
		a.writeJSON(a.stdout, map[string]any{"ok": true, "exit_code": exitOK, "dry_run": true, "planned_for": devNote, "apdus": list})
		a.reported = true
		return nil
	}
	fmt.Fprintf(a.stdout, "Dry run: init would send these APDUs to a blank %s (secrets shown as **); nothing was sent.\n", devNote)
	step := ""
	for _, p := range list {
		if p.Step != step {
			step = p.Step
			fmt.Fprintf(a.stdout, "%s:\n", step)
		}
		fmt.Fprintf(a.stdout, "  %s\n", p.APDU)
	}
	return nil
}

// reportInitError attaches exit codes to provisioning errors and adds the
// SO-PIN tries that the user needs before trying again.
func (a *app) reportInitError(out *initOutput, err error) error {
	var already *provision.AlreadyInitializedError
	var refused *provision.InitializeRefusedError
	var invalid *schsm.ValidationError
	switch {
	case errors.As(err, &invalid):
		err = withExit(exitUsage, err)
	case errors.As(err, &already):
		err = withExit(exitAlreadyInitialized, err)
	case errors.Is(err, provision.ErrSOPINBlocked):
		err = withExit(exitCardRefused, err)
	case errors.Is(err, provision.ErrPicoTransportPIN):
		err = withExit(exitUsage, err)
	case errors.As(err, &refused):
		err = withExit(exitCardRefused, err)
	case errors.Is(err, provision.ErrShareCount), errors.Is(err, provision.ErrDuplicateShare), errors.Is(err, provision.ErrPKARequest):
		err = withExit(exitUsage, err)
	case errors.Is(err, provision.ErrKCVMismatch), errors.Is(err, provision.ErrOptionsMismatch):
		err = withExit(exitVerifyFailed, err)
	default:
		err = classifyPCSC(err)
	}
	return a.finishInit(out, err)
}
