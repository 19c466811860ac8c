package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sc-hsm-init/sc-hsm-init/pkcs11bridge"
	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/provision"
	"github.com/sc-hsm-init/sc-hsm-init/wizard"
)

// wizardFlags are the flags of the wizard command.
type wizardFlags struct {
	dir    string // folder of new share files and the default output files
	verify verifyFlags
	// deviceCertURL is the certification service of the device
	// certificate step, asked for only on a Pico HSM.
	deviceCertURL string
}

// errNoTerminal is the error of the wizard without a terminal.
var errNoTerminal = errors.New("the wizard needs a terminal on standard input and standard output; " +
	"in a script use sc-hsm-init init with flags, or init --config FILE with a config file the wizard saved")

func (a *app) wizardCommand() *cobra.Command {
	var f wizardFlags
	cmd := &cobra.Command{
		Use:   "wizard",
		Short: "Initialize a token by answering questions one at a time",
		Long: `wizard lists the tokens, asks for every setting with an explanation of what it
does and costs (type ? at a question), checks each answer, shows a summary with
the secrets hidden, and initializes the token only after a typed confirmation.
Ctrl-C before that leaves the token untouched.

It then runs the DKEK ceremony custodian by custodian, provisions the token as
init does, verifies it through PKCS#11, and writes a ceremony record (JSON,
mode 0600, without secrets). The answers can be saved as a config file that
"sc-hsm-init init --config FILE" replays on the next tokens.

The wizard needs a terminal; scripts use init.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runWizard(cmd, &f)
		},
	}
	cmd.Flags().StringVar(&f.dir, "dir", ".", "folder for new DKEK share files, the ceremony record and the config file")
	cmd.Flags().StringVar(&f.deviceCertURL, "device-cert-url", defaultDeviceCertURL,
		"certification service that the Pico HSM device certificate step sends the device's public key to; it is shown and confirmed first")
	f.verify.register(cmd.Flags())
	return cmd
}

// terminalStdio returns standard input and output when both are terminals.
func (a *app) terminalStdio() (*os.File, *os.File, bool) {
	in, ok1 := a.stdin.(*os.File)
	out, ok2 := a.stdout.(*os.File)
	if !ok1 || !ok2 || !term.IsTerminal(int(in.Fd())) || !term.IsTerminal(int(out.Fd())) {
		return nil, nil, false
	}
	return in, out, true
}

func (a *app) runWizard(cmd *cobra.Command, f *wizardFlags) error {
	in, out, ok := a.terminalStdio()
	if !ok {
		return withExit(exitUsage, errNoTerminal)
	}
	if a.jsonOut {
		return withExit(exitUsage, errors.New("the wizard is interactive and has no JSON output; use sc-hsm-init init --json"))
	}
	if !f.verify.skip {
		if err := f.verify.resolveModule(); err != nil {
			return err
		}
	}
	tokens, err := a.listTokens()
	if err != nil {
		return err
	}

	started := time.Now().UTC()
	p := &wizard.SurveyPrompter{In: in, Out: out, Err: a.stderr}
	ans, err := wizard.Ask(p, tokens, schsm.DefaultSettings())
	if err != nil {
		return stoppedBeforeInit(err)
	}
	defer ans.Wipe()
	tok := tokens[ans.Token]
	a.reader = tok.Reader

	ctx, cancel := context.WithCancel(commandContext(cmd))
	defer cancel()
	ceremony := &wizard.Ceremony{Prompter: p, Deriver: a.keyDeriver(), NewShare: a.wizardShare, Dir: f.dir,
		Progress: func(names []string) wizard.ProgressDisplay { return progressDisplay{a.newProgress(names)} }}
	custodians, err := ceremony.Collect(ctx, wizard.ShareSlots(ans))
	if err != nil {
		return stoppedBeforeInit(err)
	}
	// A wrong password of an imported share file is asked again here,
	// before the summary and the confirmation.
	if err := ceremony.CheckImports(ctx, custodians); err != nil {
		return stoppedBeforeInit(err)
	}

	p.Show(wizard.Summary(tok, ans))
	if err := wizard.ConfirmInitialize(p, tok); err != nil {
		return stoppedBeforeInit(err)
	}

	shares, err := ceremony.Finish(ctx, custodians)
	if err != nil {
		return stoppedBeforeInit(err)
	}
	defer clear(shares)

	req := provision.Request{Settings: ans.Settings, NewPIN: ans.NewPIN, Force: ans.Settings.Force, BeforeErase: a.printErasure,
		PublicKeys: ans.PublicKeys, Custodians: ans.Custodians}
	if ans.Settings.KeyDomains > 0 {
		req.KeyDomains = make([]provision.KeyDomainSetup, len(ans.KeyDomainShares))
		for d, n := range ans.KeyDomainShares {
			req.KeyDomains[d].Shares = n
		}
		for i, cs := range custodians {
			d := cs.Slot.KeyDomain
			req.KeyDomains[d].Import = append(req.KeyDomains[d].Import, shares[i])
		}
	} else {
		req.Shares = shares
		for _, cs := range custodians {
			req.Settings.ShareFiles = append(req.Settings.ShareFiles, cs.Path)
		}
	}

	result, runErr := a.provisionAndVerify(cmd, req, &f.verify)
	var deviceCert string
	if ans.ForceDeviceCertificate {
		deviceCert, runErr = a.afterProvisioningDeviceCertificate(ctx, p, f, ans, runErr)
	}
	record := newCeremonyRecord(started, tok, ans, custodians, shares, result, runErr)
	record.DeviceCertificate = deviceCert
	if err := a.saveRecord(p, f, record); err != nil {
		fmt.Fprintf(a.stderr, "sc-hsm-init: %v\n", err)
	}
	if err := a.saveWizardConfig(p, f, wizard.ConfigFromAnswers(ans, wizard.ShareFileArgs(custodians))); err != nil {
		fmt.Fprintf(a.stderr, "sc-hsm-init: %v\n", err)
	}
	return runErr
}

// stoppedBeforeInit attaches an exit code to a stop before INITIALIZE and
// says that the token is unchanged: 130 after Ctrl-C, as a shell reports a
// command ended by SIGINT, and 2 otherwise.
func stoppedBeforeInit(err error) error {
	switch {
	case errors.Is(err, wizard.ErrInterrupted):
		return withExit(exitInterrupted, errors.New("interrupted; nothing was sent to the token"))
	case errors.Is(err, wizard.ErrNotConfirmed), errors.Is(err, wizard.ErrNoToken):
		return withExit(exitUsage, err)
	default:
		return withExit(exitUsage, fmt.Errorf("%w; nothing was sent to the token", err))
	}
}

// wizardShare returns a new share for the ceremony, from the operating
// system's random source XOR the token's GET CHALLENGE, as dkek create does.
func (a *app) wizardShare() ([32]byte, [8]byte, error) {
	share, salt, _, err := a.newShare(false)
	return share, salt, err
}

// progressDisplay shows the ceremony's key derivations with the progress
// display of the dkek commands.
type progressDisplay struct{ p *progress }

func (d progressDisplay) Set(index int, fraction float64) { d.p.set(index, fraction) }
func (d progressDisplay) Stop()                           { d.p.stop() }

// listTokens reads the state of every SmartCard-HSM-family token present,
// without presenting a PIN. With --reader it lists only matching readers.
func (a *app) listTokens() ([]wizard.TokenInfo, error) {
	ctx, err := schsm.EstablishContext()
	if err != nil {
		return nil, classifyPCSC(fmt.Errorf("connecting to the PC/SC service: %w", err))
	}
	defer ctx.Release()
	probes, err := ctx.Probe()
	if err != nil {
		return nil, classifyPCSC(fmt.Errorf("looking for tokens: %w", err))
	}

	var tokens []wizard.TokenInfo
	for _, pr := range probes {
		switch {
		case pr.Err != nil:
			a.warn("skipping reader %q: %v", pr.Reader, pr.Err)
			continue
		case !pr.SmartCardHSM:
			continue
		case a.reader != "" && !strings.Contains(strings.ToLower(pr.Reader), strings.ToLower(a.reader)):
			continue
		}
		t, err := readTokenInfo(ctx, pr.Reader)
		if err != nil {
			a.warn("skipping reader %q: %v", pr.Reader, err)
			continue
		}
		tokens = append(tokens, t)
	}
	if len(tokens) == 0 {
		return nil, withExit(exitNoToken, schsm.ErrNoToken)
	}
	return tokens, nil
}

func readTokenInfo(ctx *schsm.PCSCContext, reader string) (wizard.TokenInfo, error) {
	tr, err := ctx.Connect(reader)
	if err != nil {
		return wizard.TokenInfo{}, err
	}
	defer tr.Close()
	card := schsm.NewCard(tr)
	st, err := card.Status()
	if err != nil {
		return wizard.TokenInfo{}, fmt.Errorf("reading token status: %w", err)
	}
	t := wizard.TokenInfo{Reader: reader, Status: st}
	if st.Initialized {
		if counts, err := card.CountObjects(); err == nil {
			t.Objects = &counts
		}
	}
	return t, nil
}

// ceremonyRecord is the JSON record of one wizard run for an auditor. It
// holds no PIN, SO-PIN, share or password.
type ceremonyRecord struct {
	Tool           string             `json:"tool"`
	Started        time.Time          `json:"started"`
	Finished       time.Time          `json:"finished"`
	Reader         string             `json:"reader"`
	Serial         string             `json:"serial,omitempty"`
	Family         string             `json:"family"`
	Firmware       string             `json:"firmware"`
	WasInitialized bool               `json:"was_initialized"`
	Erased         *provision.Erasure `json:"erased,omitempty"`
	Settings       wizard.Config      `json:"settings"`
	SOPINGenerated bool               `json:"so_pin_generated"`
	DefaultPIN     bool               `json:"well_known_user_pin"`
	TransportPIN   string             `json:"transport_pin,omitempty"`
	Options        string             `json:"options_read_back,omitempty"`
	OptionNames    []string           `json:"option_names,omitempty"`
	Shares         []shareRecord      `json:"dkek_shares,omitempty"`
	DKEKKCV        string             `json:"dkek_kcv,omitempty"`
	KeyDomains     []keyDomainRecord  `json:"key_domains,omitempty"`

	// PublicKeys counts the public keys registered for public key
	// authentication when the run ended.
	PublicKeys          *publicKeysRecord      `json:"public_keys,omitempty"`
	Steps               []provision.StepResult `json:"steps"`
	Remaining           []string               `json:"remaining,omitempty"`
	Verification        *pkcs11bridge.Report   `json:"verification,omitempty"`
	VerificationSkipped string                 `json:"verification_skipped,omitempty"`
	Warnings            []string               `json:"warnings,omitempty"`
	OK                  bool                   `json:"ok"`
	ExitCode            int                    `json:"exit_code"`
	Error               string                 `json:"error,omitempty"`
	// DeviceCertificate is the outcome of the Pico HSM device certificate
	// replacement, when it was chosen.
	DeviceCertificate string `json:"device_certificate,omitempty"`
}

type shareRecord struct {
	KeyDomain int    `json:"key_domain"`
	Index     int    `json:"index"`
	File      string `json:"file"`
	Created   bool   `json:"created"`
	KCV       string `json:"kcv"` // of this share alone
}

type keyDomainRecord struct {
	KeyDomain   int    `json:"key_domain"`
	Total       int    `json:"shares_total"`
	Outstanding int    `json:"shares_outstanding"`
	KCV         string `json:"kcv,omitempty"`
}

type publicKeysRecord struct {
	Total      int `json:"total"`
	Required   int `json:"required"`
	Registered int `json:"registered"`
	// RegisteredNow are the CHRs of the keys this run registered.
	RegisteredNow []string `json:"registered_now,omitempty"`
	// Custodians are the CHRs of the custodians who authenticated in the
	// provisioning session, and QuorumReached whether they reached it.
	Custodians    []string `json:"custodians,omitempty"`
	QuorumReached *bool    `json:"quorum_reached,omitempty"`
}

func newCeremonyRecord(started time.Time, tok wizard.TokenInfo, ans wizard.Answers, custodians []*wizard.CustodianShare,
	shares [][32]byte, out initOutput, runErr error) ceremonyRecord {
	res := out.Result
	rec := ceremonyRecord{
		Tool:                "sc-hsm-init wizard",
		Started:             started,
		Finished:            time.Now().UTC(),
		Reader:              tok.Reader,
		Serial:              tok.Status.Serial,
		Family:              tok.Status.Info.Family.String(),
		Firmware:            tok.Status.Info.Version(),
		WasInitialized:      tok.Status.Initialized,
		Erased:              res.Erased,
		Settings:            wizard.ConfigFromAnswers(ans, wizard.ShareFileArgs(custodians)),
		SOPINGenerated:      ans.SOPINGenerated,
		DefaultPIN:          ans.DefaultPIN,
		Steps:               res.Steps,
		Remaining:           res.Remaining,
		Verification:        out.Verification,
		VerificationSkipped: out.VerificationSkipped,
		Warnings:            wizard.FilterWarnings(append(append([]string(nil), ans.Warnings...), res.Warnings...), ans),
		OK:                  runErr == nil,
		ExitCode:            exitCodeOf(runErr),
	}
	if runErr != nil {
		rec.Error = runErr.Error()
	}
	switch {
	case ans.Settings.TransportPIN && !ans.NewPIN.IsZero():
		rec.TransportPIN = "set and replaced by the user's own PIN in the same session"
	case ans.Settings.TransportPIN:
		rec.TransportPIN = "set; the user must change it before use"
	}
	if res.Serial != "" {
		rec.Serial = res.Serial
	}
	if after := res.After; after != nil {
		rec.Options = fmt.Sprintf("%04X", after.Info.Options)
		rec.OptionNames = optionNames(after.Info.Options)
		rec.Firmware = after.Info.Version()
		if after.PKA != nil {
			rec.PublicKeys = &publicKeysRecord{Total: after.PKA.Total, Required: after.PKA.Required, Registered: after.PKA.Total - after.PKA.Missing}
		}
	}
	if pka := res.PKA; pka != nil {
		if rec.PublicKeys == nil {
			rec.PublicKeys = &publicKeysRecord{Total: ans.Settings.PKATotal, Required: ans.Settings.PKARequired}
		}
		rec.PublicKeys.RegisteredNow = pka.Registered
		rec.PublicKeys.Custodians = ans.CustodianCHRs()
		quorum := pka.QuorumReached
		rec.PublicKeys.QuorumReached = &quorum
	}
	for i, cs := range custodians {
		r := shareRecord{KeyDomain: cs.Slot.KeyDomain, Index: cs.Slot.Index, File: cs.Path, Created: cs.Created}
		if i < len(shares) {
			kcv := dkek.KCV(shares[i])
			r.KCV = fmt.Sprintf("%X", kcv[:])
		}
		rec.Shares = append(rec.Shares, r)
	}
	if res.KCV != nil {
		rec.DKEKKCV = fmt.Sprintf("%X", res.KCV[:])
	}
	for _, kd := range res.KeyDomains {
		r := keyDomainRecord{KeyDomain: kd.KeyDomain, Total: kd.Total, Outstanding: kd.Outstanding}
		if kd.KCV != nil {
			r.KCV = fmt.Sprintf("%X", kd.KCV[:])
		}
		rec.KeyDomains = append(rec.KeyDomains, r)
	}
	return rec
}

// saveRecord asks for the record's path and writes it with mode 0600.
func (a *app) saveRecord(p wizard.Prompter, f *wizardFlags, rec ceremonyRecord) error {
	name := rec.Serial
	if name == "" {
		name = "token"
	}
	def := filepath.Join(f.dir, fmt.Sprintf("ceremony-%s-%s.json", name, rec.Finished.Format("20060102-150405")))
	path, err := p.Input(wizard.Question{
		Name:     wizard.QRecordPath,
		Message:  "Ceremony record file:",
		Help:     "A JSON file without secrets for an auditor: the token, the options, key check values, verification results and times. Mode 0600.",
		Default:  def,
		Validate: validateOutputPath,
	})
	if err != nil {
		return fmt.Errorf("ceremony record not written: %w", err)
	}
	if err := wizard.WriteJSONFile(path, rec); err != nil {
		return fmt.Errorf("writing the ceremony record: %w", err)
	}
	p.Show("Ceremony record written to " + path)
	return nil
}

// saveWizardConfig offers to save the answers for init --config.
func (a *app) saveWizardConfig(p wizard.Prompter, f *wizardFlags, c wizard.Config) error {
	save, err := p.Confirm(wizard.Question{
		Name:       wizard.QSaveConfig,
		Message:    "Save these answers (without secrets) for sc-hsm-init init --config?",
		Help:       "The config file replays the same settings on the next tokens without questions. PINs are never saved.",
		DefaultYes: true,
	})
	if err != nil || !save {
		return err
	}
	path, err := p.Input(wizard.Question{
		Name:     wizard.QConfigPath,
		Message:  "Config file:",
		Help:     "JSON, mode 0600. Replay it with: sc-hsm-init init --config FILE --so-pin prompt --pin prompt",
		Default:  filepath.Join(f.dir, "sc-hsm-init-config.json"),
		Validate: validateOutputPath,
	})
	if err != nil {
		return err
	}
	if err := wizard.WriteConfig(path, c); err != nil {
		return err
	}
	p.Show("Config written to " + path)
	return nil
}

// validateOutputPath checks that path names a file in an existing folder.
func validateOutputPath(path string) error {
	if path == "" {
		return errors.New("the path is empty; enter a file name")
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("folder %s does not exist; create it or choose another path", dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a folder; enter a file name", path)
	}
	return nil
}
