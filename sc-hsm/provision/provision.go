// Package provision initializes a SmartCard-HSM, Nitrokey HSM 2 or Pico HSM
// and imports its DKEK shares, then reads the device back to check that it
// holds what was sent.
//
// Run sends the whole sequence over one schsm.Card. The caller keeps the
// PC/SC transaction open around it, because a SELECT from another
// application would log the session out between the steps. Plan lists the
// commands Run would send, for a dry run.
//
// The package never prints or prompts. Settings are validated before the
// first APDU, and every card error stops the run.
package provision

import (
	"errors"
	"fmt"
	"strings"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/pkakey"
)

// Names of the steps of Run, as StepResult.Name, Planned.Step and the
// progress callback report them. Share imports are named by ImportStepName.
const (
	StepReadStatus = "read device status"
	StepInitialize = "initialize device"
	StepVerifyPIN  = "verify user PIN"
	StepCheckDKEK  = "check DKEK"
	StepWriteLabel = "write token label"
	StepReadBack   = "read back device status"
)

// ImportStepName returns the name of the step that imports share i (from 1)
// of n.
func ImportStepName(i, n int) string {
	return fmt.Sprintf("import DKEK share %d of %d", i, n)
}

// Request is the input of Run: the Settings to initialize with, and Shares,
// the decrypted contents of Settings.ShareFiles in the same order.
type Request struct {
	Settings schsm.Settings
	Shares   [][32]byte

	// KeyDomains, with Settings.KeyDomains, are the DKEK key domains to
	// create after INITIALIZE, domain 0 first, and the shares to import
	// into each. Shares must then be empty.
	KeyDomains []KeyDomainSetup

	// Force allows erasing an initialized device. Settings.Force does the
	// same, so either one is enough.
	Force bool

	// NewPIN, with Settings.TransportPIN, replaces the transport PIN right
	// after INITIALIZE in the same session, so that the device leaves
	// transport-PIN mode before anyone else can select it. Run then
	// verifies NewPIN and goes on as without a transport PIN.
	NewPIN schsm.Secret

	// BeforeErase, when not nil, is called with what will be lost before
	// INITIALIZE erases an initialized device. An error from it stops Run
	// before INITIALIZE and is returned.
	BeforeErase func(Erasure) error

	// PublicKeys, with Settings.PKATotal, are registered for public key
	// authentication after VERIFY, and Custodians then authenticate on one
	// challenge in the same session, before the key domains are created.
	// Both need the card connection held exclusively.
	PublicKeys []*pkakey.Registration
	Custodians []schsm.Signer
}

// StepStatus is the outcome of one step.
type StepStatus string

const (
	StepDone    StepStatus = "done"
	StepSkipped StepStatus = "skipped"
	StepFailed  StepStatus = "failed"
)

// StepResult is the outcome of one step of Run. Detail describes what was done or
// why the step was skipped and never contains a secret.
type StepResult struct {
	Name   string     `json:"name"`
	Status StepStatus `json:"status"`
	Detail string     `json:"detail,omitempty"`
}

// Result is the record of a Run: the device status and the steps taken.
// After an error it contains the steps up to the one that failed. Before and After are nil until the device status was
// read, so a run that fails before the read-back has no After.
type Result struct {
	Before *schsm.DeviceStatus `json:"before"`
	After  *schsm.DeviceStatus `json:"after"`
	Steps  []StepResult        `json:"steps"`

	// KCV is the key check value of the DKEK of key domain 0 once every
	// share is in, nil while shares are outstanding or without a DKEK.
	KCV *[8]byte `json:"kcv,omitempty"`

	// Remaining lists what is still to be done before the device is in use,
	// such as changing a transport PIN or registering public keys.
	Remaining []string `json:"remaining,omitempty"`

	// KeyDomains is the state of each key domain Run created.
	KeyDomains []KeyDomainResult `json:"key_domains,omitempty"`
	Warnings   []string          `json:"warnings,omitempty"`

	// Serial is the token serial number that OpenSC shows, read from the
	// device certificate after initialization.
	Serial string `json:"serial,omitempty"`

	// Erased lists the objects that initializing an initialized device
	// destroyed, counted before INITIALIZE. It is nil for a blank device.
	Erased *Erasure `json:"erased,omitempty"`

	// PKA is the outcome of public key registration and authentication,
	// nil without public key authentication.
	PKA *PKAResult `json:"public_key_auth,omitempty"`
}

var (
	// ErrSOPINBlocked means the SO-PIN retry counter is 0. The device can
	// then never be initialized again.
	ErrSOPINBlocked = errors.New("the SO-PIN is blocked, so the device cannot be initialized again")

	// ErrShareCount means Request.Shares does not fit the settings.
	ErrShareCount = errors.New("wrong number of DKEK shares")

	// ErrDuplicateShare means two of Request.Shares are equal. Their XOR
	// would cancel out, so the DKEK would lack both.
	ErrDuplicateShare = errors.New("the same DKEK share was given twice")

	// ErrKCVMismatch means the device reports another key check value than
	// the shares give, so a share went wrong on the way.
	ErrKCVMismatch = errors.New("DKEK key check value mismatch")

	// ErrOptionsMismatch means the options read back after INITIALIZE differ
	// from those sent.
	ErrOptionsMismatch = errors.New("configuration options read back differ from those sent")
)

// AlreadyInitializedError is returned, before anything is changed, when the
// device is initialized and the request does not set Force.
type AlreadyInitializedError struct {
	// SOPINTriesLeft is the SO-PIN retry counter, or -1 when the device does
	// not report it (the Pico HSM returns 9000 to the query).
	SOPINTriesLeft int
}

func (e *AlreadyInitializedError) Error() string {
	return "the device is already initialized, and initializing it again erases all keys, certificates and data; " +
		"give --force to proceed" + triesText(e.SOPINTriesLeft)
}

// InitializeRefusedError is returned when the card rejects INITIALIZE DEVICE,
// most likely because a re-initialization carried a wrong SO-PIN. A
// SmartCard-HSM counts that as a failed SO-PIN try, and 15 failures make it
// unusable.
type InitializeRefusedError struct {
	Err            error
	SOPINTriesLeft int // read after the rejection; -1 when unknown
}

func (e *InitializeRefusedError) Error() string {
	var wrong *schsm.WrongPINError
	if errors.As(e.Err, &wrong) {
		return fmt.Sprintf("the device rejected INITIALIZE: wrong SO-PIN (SW %04X); check the SO-PIN before trying again%s", wrong.SW, triesText(e.SOPINTriesLeft))
	}
	return fmt.Sprintf("the device rejected INITIALIZE: %v; check the SO-PIN before trying again%s", e.Err, triesText(e.SOPINTriesLeft))
}

func (e *InitializeRefusedError) Unwrap() error { return e.Err }

// StepError is the error of a step of Run. Its message is that of Err, which
// names the operation; Step names the step for callers that report it.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

func triesText(tries int) string {
	if tries < 0 {
		return ""
	}
	return fmt.Sprintf(" (SO-PIN tries left: %d)", tries)
}

// runner carries the state of one Run.
type runner struct {
	card     *schsm.Card
	req      Request
	progress func(string)
	res      Result
}

func (r *runner) begin(step string) {
	if r.progress != nil {
		r.progress(step)
	}
}

func (r *runner) done(step, detail string) {
	r.res.Steps = append(r.res.Steps, StepResult{Name: step, Status: StepDone, Detail: detail})
}

func (r *runner) skip(step, detail string) {
	r.res.Steps = append(r.res.Steps, StepResult{Name: step, Status: StepSkipped, Detail: detail})
}

func (r *runner) fail(step string, err error) error {
	r.res.Steps = append(r.res.Steps, StepResult{Name: step, Status: StepFailed, Detail: err.Error()})
	return &StepError{Step: step, Err: err}
}

// Run initializes the device behind card as req requests and reads it back.
// progress, when not nil, is called with the name of each step as it starts.
//
// The steps, in order:
//  1. Validate the request. No APDU is sent when it is invalid.
//  2. Read the device status. Reject an initialized device unless Force is
//     set, and a device whose SO-PIN is blocked.
//  3. Count the objects that re-initialization erases and call BeforeErase.
//  4. INITIALIZE DEVICE, then replace a transport PIN with NewPIN.
//  5. VERIFY the new user PIN.
//  6. Register the public keys and authenticate the custodians.
//  7. Import the shares into key domain 0, or create the key domains and
//     import into each, and compare the key check values with the shares'.
//  8. Write the token label to EF.TokenInfo as sc-hsm-tool --label does.
//  9. SELECT again, which logs out, and check the options, the PIN retry
//     counters and the serial number.
//
// Any card error stops the run and is returned as a *StepError, with the
// steps done so far in the Result.
func Run(card *schsm.Card, req Request, progress func(step string)) (Result, error) {
	r := &runner{card: card, req: req, progress: progress}

	warnings, err := checkRequest(req)
	if err != nil {
		return r.res, err
	}
	r.res.Warnings = append(r.res.Warnings, warnings...)

	if err := r.preflight(); err != nil {
		return r.res, err
	}
	sent, err := r.initialize()
	if err != nil {
		return r.res, err
	}
	if err := r.changeTransportPIN(); err != nil {
		return r.res, err
	}
	if err := r.verifyPIN(); err != nil {
		return r.res, err
	}
	if err := r.registerPublicKeys(); err != nil {
		return r.res, err
	}
	if err := r.authenticatePublicKeys(); err != nil {
		return r.res, err
	}
	if err := r.importShares(); err != nil {
		return r.res, err
	}
	if err := r.setUpKeyDomains(); err != nil {
		return r.res, err
	}
	if err := r.checkDKEK(); err != nil {
		return r.res, err
	}
	if err := r.writeLabel(); err != nil {
		return r.res, err
	}
	if err := r.readBack(sent); err != nil {
		return r.res, err
	}
	r.listRemaining()
	return r.res, nil
}

// checkRequest validates the settings and the shares without the card.
func checkRequest(req Request) ([]string, error) {
	s := req.Settings
	warnings, err := s.Validate()
	if err != nil {
		return nil, err
	}
	if err := checkNewPIN(req); err != nil {
		return nil, err
	}
	if err := checkKeyDomains(req); err != nil {
		return nil, err
	}
	if err := checkPKA(req); err != nil {
		return nil, err
	}

	n := len(req.Shares)
	switch {
	case n == 0:
	case s.DKEKShares <= 0:
		return nil, fmt.Errorf("%w: %d shares given, but the settings ask for no DKEK shares", ErrShareCount, n)
	case n > s.DKEKShares:
		return nil, fmt.Errorf("%w: %d shares given for a DKEK of %d shares", ErrShareCount, n, s.DKEKShares)
	}
	if len(s.ShareFiles) > 0 && n != len(s.ShareFiles) {
		return nil, fmt.Errorf("%w: %d share files named but %d shares decrypted", ErrShareCount, len(s.ShareFiles), n)
	}
	for i := range req.Shares {
		for j := i + 1; j < n; j++ {
			if req.Shares[i] == req.Shares[j] {
				return nil, duplicateShareError(s.ShareFiles, i, j)
			}
		}
	}
	return warnings, nil
}

func (r *runner) preflight() error {
	r.begin(StepReadStatus)
	before, err := r.card.Status()
	if err != nil {
		return r.fail(StepReadStatus, err)
	}
	r.res.Before = &before

	if before.SOPIN.Blocked {
		return r.fail(StepReadStatus, ErrSOPINBlocked)
	}
	if before.Initialized && !(r.req.Force || r.req.Settings.Force) {
		return r.fail(StepReadStatus, &AlreadyInitializedError{SOPINTriesLeft: before.SOPIN.KnownTriesLeft()})
	}

	pico := before.Info.Family == schsm.FamilyPicoHSM
	if pico && before.Initialized {
		r.res.Warnings = append(r.res.Warnings, "re-initializing a Pico HSM without its old PIN verified makes it generate a new device key "+
			"and a new self-signed device certificate, so the serial number may change")
	}
	if err := r.checkPicoTransportPIN(before.Info); err != nil {
		return r.fail(StepReadStatus, err)
	}
	if pico && r.req.Settings.TransportPIN {
		r.res.Warnings = append(r.res.Warnings, "Pico HSM firmware 6.x never leaves transport-PIN mode, even after the PIN is changed, "+
			"so every later user PIN VERIFY fails with SW 6984")
	}
	if before.Initialized {
		if err := r.countErasure(before); err != nil {
			return r.fail(StepReadStatus, err)
		}
	}

	state := "blank"
	if before.Initialized {
		state = "initialized"
	}
	r.done(StepReadStatus, fmt.Sprintf("%v %s, %s", before.Info.Family, before.Info.Version(), state))
	return nil
}

// initialize sends INITIALIZE DEVICE and returns the options it sent.
func (r *runner) initialize() (uint16, error) {
	r.begin(StepInitialize)
	params, err := r.req.Settings.InitParams(r.res.Before.Info)
	if err != nil {
		return 0, r.fail(StepInitialize, err)
	}

	if err := r.card.Initialize(params); err != nil {
		var statusErr *schsm.StatusError
		var wrongPIN *schsm.WrongPINError
		if !errors.As(err, &statusErr) && !errors.As(err, &wrongPIN) {
			return 0, r.fail(StepInitialize, err) // transport failure: the card state is unknown
		}
		// The card rejected the command. Read the SO-PIN counter, which a
		// SmartCard-HSM decrements for a wrong SO-PIN, so the caller can
		// tell the user how many tries remain.
		tries := -1
		if st, qerr := r.card.PINStatus(schsm.PINRefSOPIN); qerr == nil {
			tries = st.KnownTriesLeft()
		}
		return 0, r.fail(StepInitialize, &InitializeRefusedError{Err: err, SOPINTriesLeft: tries})
	}

	r.done(StepInitialize, fmt.Sprintf("options %04X, %d retries, %s", params.Options, params.Retries, describeDKEK(params)))
	return params.Options, nil
}

func describeDKEK(p schsm.InitParams) string {
	var parts []string
	switch {
	case p.DKEKShares == schsm.NoDKEK:
		parts = append(parts, "no DKEK")
	case p.DKEKShares == 0:
		parts = append(parts, "random DKEK")
	default:
		parts = append(parts, fmt.Sprintf("%d DKEK %s", p.DKEKShares, plural(p.DKEKShares, "share", "shares")))
	}
	if p.PKATotal > 0 {
		parts = append(parts, fmt.Sprintf("public key authentication %d of %d", p.PKARequired, p.PKATotal))
	}
	if p.KeyDomains > 0 {
		parts = append(parts, fmt.Sprintf("%d key %s", p.KeyDomains, plural(p.KeyDomains, "domain", "domains")))
	}
	return strings.Join(parts, ", ")
}

func (r *runner) verifyPIN() error {
	s := r.req.Settings
	switch {
	case s.UserPIN.IsZero():
		r.skip(StepVerifyPIN, "no user PIN is set (public key authentication only)")
		return nil
	case r.transportActive():
		// The card returns 6984 to every VERIFY of a transport PIN. The
		// session INITIALIZE left authenticated serves the next steps.
		r.skip(StepVerifyPIN, "a transport PIN cannot be verified before it is changed")
		return nil
	}

	r.begin(StepVerifyPIN)
	if err := r.card.VerifyPIN(schsm.PINRefUser, r.sessionPIN().Bytes()); err != nil {
		return r.fail(StepVerifyPIN, err)
	}
	r.done(StepVerifyPIN, "the new user PIN is accepted")
	return nil
}

func (r *runner) importShares() error {
	shares := r.req.Shares
	if len(shares) == 0 {
		return nil
	}
	if r.req.Settings.KeyDomains > 0 {
		r.skip(ImportStepName(1, len(shares)), "key domains are configured, so key domain 0 must be created before shares can be imported")
		return nil
	}

	for i, share := range shares {
		step := ImportStepName(i+1, len(shares))
		r.begin(step)
		st, err := r.card.ImportDKEKShare(0, share[:])
		if err != nil {
			return r.fail(step, fmt.Errorf("share %d of %d: %w", i+1, len(shares), err))
		}
		r.done(step, fmt.Sprintf("%d of %d %s outstanding", st.Outstanding, st.Total, plural(st.Total, "share", "shares")))
	}
	return nil
}

// checkDKEK reads the DKEK status of key domain 0 and, when every share came
// from this request, compares its key check value with the shares' own.
func (r *runner) checkDKEK() error {
	s := r.req.Settings
	switch {
	case s.DKEKShares == schsm.NoDKEK:
		return nil
	case s.KeyDomains > 0 && len(r.req.KeyDomains) > 0:
		return nil // setUpKeyDomains checked each domain
	case s.KeyDomains > 0:
		r.skip(StepCheckDKEK, "key domains are configured, so key domain 0 has no DKEK yet")
		return nil
	}

	r.begin(StepCheckDKEK)
	st, err := r.card.DKEKStatus(0)
	if err != nil {
		return r.fail(StepCheckDKEK, err)
	}
	imported := len(r.req.Shares)
	if s.DKEKShares > 0 && st.Outstanding != s.DKEKShares-imported {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("the device reports %d of %d DKEK shares outstanding, expected %d",
			st.Outstanding, st.Total, s.DKEKShares-imported))
	}
	if st.Outstanding > 0 {
		r.done(StepCheckDKEK, fmt.Sprintf("%d of %d %s outstanding, so there is no key check value yet", st.Outstanding, st.Total, plural(st.Total, "share", "shares")))
		return nil
	}

	kcv := st.KCV
	r.res.KCV = &kcv
	if s.DKEKShares > 0 && imported == s.DKEKShares {
		want := dkek.KCV(dkek.Combine(r.req.Shares...))
		if kcv != want {
			return r.fail(StepCheckDKEK, fmt.Errorf("%w: the device reports %X, the shares give %X; "+
				"initialize again and re-import the shares", ErrKCVMismatch, kcv, want))
		}
		// The value itself is in Result.KCV; callers print it once.
		r.done(StepCheckDKEK, "the key check value matches the shares")
		return nil
	}
	r.done(StepCheckDKEK, "key check value read")
	return nil
}

// writeLabel writes Settings.Label to EF.TokenInfo (2F03) as a PKCS#15
// TokenInfo with the label and the flag prnGeneration, the bytes OpenSC's
// sc-hsm-tool --initialize --label writes. OpenSC 0.23.0's PKCS#11 module
// then shows the label followed by " (UserPIN)" as the token label.
//
// The card accepts the write only with the user PIN verified in the
// session, so the step is skipped with a transport PIN or without a user
// PIN, and listRemaining lists the label. A Pico HSM generates EF.TokenInfo
// itself, so it gets a warning instead of the write.
func (r *runner) writeLabel() error {
	s := r.req.Settings
	if s.Label == "" {
		return nil
	}
	switch {
	case r.res.Before.Info.Family == schsm.FamilyPicoHSM:
		r.skip(StepWriteLabel, "a Pico HSM generates EF.TokenInfo itself")
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("the label %q is not written: a Pico HSM generates EF.TokenInfo itself, "+
			"so OpenSC shows the firmware's label (\"Pico-HSM\")", s.Label))
		return nil
	case r.transportActive():
		r.skip(StepWriteLabel, "EF.TokenInfo needs a verified user PIN, and a transport PIN cannot be verified")
		return nil
	case !r.sessionAuthenticated():
		r.skip(StepWriteLabel, "EF.TokenInfo needs an authenticated session, which this run does not have without the user PIN or the public key quorum the options require")
		return nil
	}

	r.begin(StepWriteLabel)
	ti := schsm.LabelTokenInfo(s.Label)
	if err := r.card.WriteTokenInfo(ti); err != nil {
		return r.fail(StepWriteLabel, fmt.Errorf("writing token label: %w", err))
	}
	r.done(StepWriteLabel, fmt.Sprintf("label %q written to EF.TokenInfo", s.Label))
	return nil
}

// readBack selects the applet again, which ends the authenticated session,
// and checks what the device reports against what was sent.
func (r *runner) readBack(sentOptions uint16) error {
	r.begin(StepReadBack)
	after, err := r.card.Status()
	if err != nil {
		return r.fail(StepReadBack, err)
	}
	r.res.After = &after
	r.res.Serial = after.Serial

	// The low option byte is echoed by every device; only a Pico HSM keeps
	// options in the high byte.
	readOptions := after.Info.Options
	mask := uint16(0x00FF)
	if after.Info.Family == schsm.FamilyPicoHSM {
		mask = 0xFFFF
	}
	if !r.req.NewPIN.IsZero() {
		// Changing the transport PIN clears option 0002 on a SmartCard-HSM.
		mask &^= schsm.OptionTransportPIN
	}
	if readOptions&mask != sentOptions&mask {
		return r.fail(StepReadBack, fmt.Errorf("%w: sent %04X, read %04X", ErrOptionsMismatch, sentOptions&mask, readOptions&mask))
	}

	s := r.req.Settings
	user := after.UserPIN
	switch {
	case r.transportActive() && !user.TransportPIN:
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("the device does not report transport-PIN mode (user PIN status SW %04X)", user.SW))
	case !r.transportActive() && user.TransportPIN:
		r.res.Warnings = append(r.res.Warnings, "the device still reports transport-PIN mode after the transport PIN was changed")
	case !r.transportActive() && !s.UserPIN.IsZero() && user.TriesLeft != s.Retries:
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("the device reports %d user PIN tries, expected %d (SW %04X)", user.TriesLeft, s.Retries, user.SW))
	}
	if !after.Initialized {
		return r.fail(StepReadBack, fmt.Errorf("reading back device status: the SO-PIN is not set after INITIALIZE (SW %04X)", after.SOPIN.SW))
	}

	detail := fmt.Sprintf("options %04X", readOptions)
	if user.TriesLeft > 0 {
		detail += fmt.Sprintf(", user PIN %d %s", user.TriesLeft, plural(user.TriesLeft, "try", "tries"))
	}
	if tries := after.SOPIN.KnownTriesLeft(); tries >= 0 {
		detail += fmt.Sprintf(", SO-PIN %d %s", tries, plural(tries, "try", "tries"))
	}
	if after.Serial != "" {
		detail += ", serial " + after.Serial
	} else {
		r.res.Warnings = append(r.res.Warnings, "the device certificate could not be read, so the serial number is unknown")
	}
	r.done(StepReadBack, detail)
	return nil
}

// listRemaining fills Result.Remaining with the steps a person still has to
// take, in the order they should take them.
func (r *runner) listRemaining() {
	s := r.req.Settings
	add := func(format string, args ...any) {
		r.res.Remaining = append(r.res.Remaining, fmt.Sprintf(format, args...))
	}

	if r.transportActive() {
		add("change the transport PIN to the user's own PIN (sc-hsm-init pin change, or init --new-pin next time); the device rejects logins until then")
	}
	if s.PKATotal > 0 {
		r.listPKARemaining(add)
	}
	if s.KeyDomains > 0 {
		r.listKeyDomainsRemaining(add)
	} else if s.DKEKShares > 0 && len(r.req.Shares) < s.DKEKShares {
		add("import the other %d of %d DKEK %s (sc-hsm-init dkek import)", s.DKEKShares-len(r.req.Shares), s.DKEKShares, plural(s.DKEKShares, "share", "shares"))
	}
	if s.Label != "" && r.res.Before.Info.Family != schsm.FamilyPicoHSM {
		switch {
		case r.transportActive():
			add("write the token label %q to EF.TokenInfo (2F03) once the transport PIN is changed; "+
				"the device accepts the write only after the user PIN is verified, which a transport PIN prevents", s.Label)
		case !r.sessionAuthenticated():
			add("write the token label %q to EF.TokenInfo (2F03) in a session authenticated as the options require (user PIN, public key quorum, or both with option 0010); "+
				"this run did not authenticate such a session", s.Label)
		}
	}
}
