package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// pinState is one PIN in the result documents of the pin and so-pin
// commands.
type pinState struct {
	State        string `json:"state"`
	TriesLeft    int    `json:"tries_left"` // -1 when the token does not report it
	Blocked      bool   `json:"blocked"`
	TransportPIN bool   `json:"transport_pin"`
	Initialized  bool   `json:"initialized"`
	SW           string `json:"sw"`
}

func newPINState(p schsm.PINStatus) *pinState {
	return &pinState{
		State:        describePIN(p),
		TriesLeft:    p.KnownTriesLeft(),
		Blocked:      p.Blocked,
		TransportPIN: p.TransportPIN,
		Initialized:  p.Initialized,
		SW:           fmt.Sprintf("%04X", p.SW),
	}
}

// pinOutput is the result document of pin status, pin change, pin unblock
// and so-pin change. Before is the state of the PIN that the command
// presented, read before presenting it.
type pinOutput struct {
	outcome
	Reader            string           `json:"reader"`
	Command           string           `json:"command"`
	Done              string           `json:"done,omitempty"`
	Before            *pinState        `json:"before,omitempty"`
	UserPIN           *pinState        `json:"user_pin,omitempty"`
	SOPIN             *pinState        `json:"so_pin,omitempty"`
	ResetRetryCounter string           `json:"reset_retry_counter,omitempty"`
	Options           []string         `json:"options,omitempty"`
	PKA               *schsm.PKAStatus `json:"public_key_auth,omitempty"`
	Warnings          []string         `json:"warnings,omitempty"`
}

// rrcMode names what RESET RETRY COUNTER may do on a token with options.
func rrcMode(options uint16) string {
	switch {
	case options&schsm.OptionResetRetryCounter == 0:
		return "disabled"
	case options&schsm.OptionRRCResetCounterOnly != 0:
		return "counter only"
	default:
		return "new PIN"
	}
}

// describeRRC explains rrcMode for the text output. A blocked SO-PIN rules
// out every reset.
func describeRRC(mode string, soPINBlocked bool) string {
	switch {
	case mode == "disabled":
		return "disabled: only initializing again, which erases all keys, clears a blocked user PIN"
	case soPINBlocked:
		return "not possible: the SO-PIN is blocked, so it can neither set a new user PIN nor reset the retry counter"
	case mode == "counter only":
		return "the SO-PIN can reset the retry counter only (pin unblock --counter-only)"
	default:
		return "the SO-PIN can set a new user PIN (pin unblock --new-pin)"
	}
}

func (a *app) pinCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pin",
		Short: "Show, change and unblock the user PIN",
		Long: `pin shows the user PIN and SO-PIN state, changes the user PIN, and unblocks it
with the SO-PIN. Every subcommand reads the tries left with an empty VERIFY, which
spends no try, before it presents a PIN. With one try left it asks on a terminal,
and a script must give --force.`,
	}
	cmd.AddCommand(a.pinStatusCommand(), a.pinChangeCommand(), a.pinUnblockCommand())
	return cmd
}

func (a *app) soPINCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "so-pin",
		Short: "Change the SO-PIN",
	}
	cmd.AddCommand(a.soPINChangeCommand())
	return cmd
}

func (a *app) pinStatusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the user PIN and SO-PIN tries, transport PIN, reset mode and public key authentication",
		Long: `status selects the applet and queries both PINs with empty VERIFY commands,
which spend no try. It presents no PIN.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			st, reader, err := a.readStatus()
			if err != nil {
				return err
			}
			out := pinOutput{Reader: reader, Command: "pin status", PKA: st.PKA}
			if st.Initialized {
				out.UserPIN, out.SOPIN = newPINState(st.UserPIN), newPINState(st.SOPIN)
				out.ResetRetryCounter = rrcMode(st.Info.Options)
				out.Options = optionNames(st.Info.Options)
			}
			return a.finishPIN(&out, nil)
		},
	}
}

// pinSession is an open session with the applet selected.
type pinSession struct {
	*session
	info schsm.DeviceInfo
}

// openPINSession opens a session and selects the applet, which logs out
// any earlier session, so that the PIN queries that follow are fresh.
func (a *app) openPINSession() (*pinSession, error) {
	sess, err := a.openSession(shareShared)
	if err != nil {
		return nil, err
	}
	info, err := sess.card.SelectApplet()
	if err != nil {
		sess.close()
		return nil, classifyPCSC(fmt.Errorf("on %q: %w", sess.reader, err))
	}
	return &pinSession{session: sess, info: info}, nil
}

// queryPIN reads the state of PIN ref with an empty VERIFY. A status word
// without PIN meaning is kept in the result and reported as a warning.
func (a *app) queryPIN(s *pinSession, ref byte, what string, out *pinOutput) (schsm.PINStatus, error) {
	st, err := s.card.PINStatus(ref)
	var statusErr *schsm.StatusError
	switch {
	case errors.As(err, &statusErr):
		out.Warnings = append(out.Warnings, fmt.Sprintf("the %s status query returned SW %04X, so its tries left are unknown", what, statusErr.SW))
		return st, nil
	case err != nil:
		return st, classifyPCSC(fmt.Errorf("reading the %s status on %q: %w", what, s.reader, err))
	}
	return st, nil
}

// checkUsable returns an error when PIN st cannot be presented: not set or
// blocked. unblockHint is the advice for a blocked PIN.
func checkUsable(st schsm.PINStatus, what, unblockHint string) error {
	switch {
	case st.SW == schsm.SWReferenceNotFound:
		return withExit(exitCardRefused, fmt.Errorf("the %s is not set because the token is not initialized; run sc-hsm-init init first", what))
	case st.Blocked:
		return withExit(exitCardRefused, fmt.Errorf("the %s is blocked, so nothing was sent; %s", what, unblockHint))
	}
	return nil
}

// confirmLastTry prompts for confirmation before the last try of a PIN is
// presented. A script (standard input is no terminal) must give --force.
func (a *app) confirmLastTry(st schsm.PINStatus, what string, force bool) error {
	if st.KnownTriesLeft() != 1 || force {
		return nil
	}
	if !a.secrets.isTTY() {
		return withExit(exitUsage, fmt.Errorf("only one %s try is left, and a wrong %s now blocks it; nothing was sent. "+
			"Check the %s and give --force to present it anyway", what, what, what))
	}
	fmt.Fprintf(a.stderr, "Only one %s try is left; a wrong %s blocks it. Present it? [y/N] ", what, what)
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && line == "" {
		return withExit(exitUsage, fmt.Errorf("reading the confirmation: %w", err))
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	default:
		return withExit(exitUsage, fmt.Errorf("stopped with one %s try left; nothing was sent", what))
	}
}

// showSOPINTries prints the SO-PIN tries left before the SO-PIN is used.
func (a *app) showSOPINTries(st schsm.PINStatus) {
	if a.jsonOut {
		return
	}
	if tries := st.KnownTriesLeft(); tries >= 0 {
		fmt.Fprintf(a.stderr, "SO-PIN tries left: %d (a blocked SO-PIN can never be unblocked)\n", tries)
		return
	}
	fmt.Fprintf(a.stderr, "SO-PIN tries left: unknown (the token returned SW %04X to the query)\n", st.SW)
}

// wrongPINError reports a PIN that the card rejected, with the tries left.
func wrongPINError(what string, err error) error {
	var wrong *schsm.WrongPINError
	switch {
	case errors.As(err, &wrong) && wrong.TriesLeft == 0:
		return withExit(exitCardRefused, &rewordedError{fmt.Sprintf("the %s is wrong, and it is now blocked (SW %04X)", what, wrong.SW), err})
	case errors.As(err, &wrong):
		msg := fmt.Sprintf("the %s is wrong: %d %s left (SW %04X)", what, wrong.TriesLeft, plural(wrong.TriesLeft, "try", "tries"), wrong.SW)
		return withExit(exitCardRefused, &rewordedError{msg, err})
	case errors.Is(err, schsm.ErrPINBlocked):
		var status *schsm.StatusError
		if errors.As(err, &status) {
			return withExit(exitCardRefused, &rewordedError{fmt.Sprintf("the %s is blocked (SW %04X)", what, status.SW), err})
		}
		return withExit(exitCardRefused, fmt.Errorf("the %s is blocked: %w", what, err))
	}
	return classifyPCSC(err)
}

// rewordedError replaces the message of err, which would repeat what msg
// says, and keeps err for errors.Is and errors.As.
type rewordedError struct {
	msg string
	err error
}

func (e *rewordedError) Error() string { return e.msg }
func (e *rewordedError) Unwrap() error { return e.err }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// readNewPIN reads a new user PIN (asked twice at a prompt) and validates
// it before anything is sent.
func (a *app) readNewPIN(cmd *cobra.Command, flag, value string) (schsm.Secret, error) {
	raw, err := a.secrets.read(secretSpec{flag: flag, value: value, given: cmd.Flags().Changed(flag)}, "new user PIN", true)
	if err != nil {
		return schsm.Secret{}, withExit(exitUsage, err)
	}
	pin := schsm.NewSecret(raw)
	clear(raw)
	if err := schsm.ValidateUserPIN(pin); err != nil {
		pin.Wipe()
		return schsm.Secret{}, withExit(exitUsage, fmt.Errorf("--%s: %w", flag, err))
	}
	if pin.Len() > schsm.OpenSCMaxPINLength {
		a.warn("the new user PIN has %d characters, but OpenSC's PKCS#11 module accepts at most %d at login", pin.Len(), schsm.OpenSCMaxPINLength)
	}
	return pin, nil
}

// readSOPIN reads and parses an SO-PIN.
func (a *app) readSOPIN(cmd *cobra.Command, flag, value, what string, confirm bool) (schsm.SOPIN, error) {
	raw, err := a.secrets.read(secretSpec{flag: flag, value: value, given: cmd.Flags().Changed(flag)}, what, confirm)
	if err != nil {
		return schsm.SOPIN{}, withExit(exitUsage, err)
	}
	p, err := schsm.ParseSOPIN(string(raw))
	clear(raw)
	if err != nil {
		return schsm.SOPIN{}, withExit(exitUsage, fmt.Errorf("--%s: %w", flag, err))
	}
	return p, nil
}

func (a *app) pinChangeCommand() *cobra.Command {
	var pinSpec, newSpec string
	var force bool
	cmd := &cobra.Command{
		Use:   "change",
		Short: "Change the user PIN, or replace a transport PIN with the user's own",
		Long: `change replaces the user PIN with CHANGE REFERENCE DATA. On a token in
transport-PIN mode the current PIN is the transport PIN, and the change ends the
mode. The new PIN (6 to 16 characters) is checked before anything is sent and is
asked for twice at a prompt. A wrong current PIN spends one try.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runPINChange(cmd, pinSpec, newSpec, force)
		},
	}
	cmd.Flags().StringVar(&pinSpec, "pin", "", "current user PIN or transport PIN source: env:NAME, file:PATH or prompt")
	cmd.Flags().StringVar(&newSpec, "new-pin", "", "new user PIN source: env:NAME, file:PATH or prompt (6 to 16 characters)")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "present the current PIN even when only one try is left")
	return cmd
}

func (a *app) runPINChange(cmd *cobra.Command, pinSpec, newSpec string, force bool) error {
	out := pinOutput{Command: "pin change"}
	oldPIN, err := a.secrets.read(secretSpec{flag: "pin", value: pinSpec, given: cmd.Flags().Changed("pin")}, "current user PIN", false)
	if err != nil {
		return a.finishPIN(&out, withExit(exitUsage, err))
	}
	current := schsm.NewSecret(oldPIN)
	clear(oldPIN)
	defer current.Wipe()
	newPIN, err := a.readNewPIN(cmd, "new-pin", newSpec)
	if err != nil {
		return a.finishPIN(&out, err)
	}
	defer newPIN.Wipe()
	if newPIN.Equal(current) {
		return a.finishPIN(&out, withExit(exitUsage, errors.New("the new PIN equals the current PIN; choose another one")))
	}

	s, err := a.openPINSession()
	if err != nil {
		return a.finishPIN(&out, err)
	}
	defer s.close()
	out.Reader = s.reader

	before, err := a.queryPIN(s, schsm.PINRefUser, "user PIN", &out)
	if err != nil {
		return a.finishPIN(&out, err)
	}
	out.Before = newPINState(before)
	if err := checkUsable(before, "user PIN", unblockHint(s.info.Options)); err != nil {
		return a.finishPIN(&out, err)
	}
	if err := a.confirmLastTry(before, "user PIN", force); err != nil {
		return a.finishPIN(&out, err)
	}

	if err := s.card.ChangePIN(schsm.PINRefUser, current.Bytes(), newPIN.Bytes()); err != nil {
		err = wrongPINError("current user PIN", err)
		a.readAfter(s, schsm.PINRefUser, &out)
		return a.finishPIN(&out, err)
	}

	out.Done = "user PIN changed"
	if before.TransportPIN {
		out.Done = "transport PIN replaced by the new user PIN"
	}
	after := a.readAfter(s, schsm.PINRefUser, &out)
	if before.TransportPIN && after.TransportPIN {
		out.Warnings = append(out.Warnings, "the token still reports transport-PIN mode after the change (Pico HSM firmware never leaves it)")
	}
	return a.finishPIN(&out, nil)
}

// readAfter queries PIN ref after an operation and stores it in out.
func (a *app) readAfter(s *pinSession, ref byte, out *pinOutput) schsm.PINStatus {
	what := "user PIN"
	if ref == schsm.PINRefSOPIN {
		what = "SO-PIN"
	}
	st, err := a.queryPIN(s, ref, what, out)
	if err != nil {
		out.Warnings = append(out.Warnings, fmt.Sprintf("the %s state after the operation is unknown: %v", what, err))
		return st
	}
	if ref == schsm.PINRefSOPIN {
		out.SOPIN = newPINState(st)
	} else {
		out.UserPIN = newPINState(st)
	}
	return st
}

// unblockHint returns how a blocked user PIN is cleared on a token with
// options.
func unblockHint(options uint16) string {
	if options&schsm.OptionResetRetryCounter == 0 {
		return "the token was initialized without reset retry counter, so only initializing it again, which erases all keys, clears it"
	}
	return "unblock it with sc-hsm-init pin unblock and the SO-PIN"
}

func (a *app) soPINChangeCommand() *cobra.Command {
	var soSpec, newSpec string
	var force bool
	cmd := &cobra.Command{
		Use:   "change",
		Short: "Change the SO-PIN",
		Long: `change replaces the SO-PIN with CHANGE REFERENCE DATA. Both SO-PINs are 16 hex
digits (as sc-hsm-tool takes them) or 8 characters. The tool shows the SO-PIN
tries left before it presents the SO-PIN and does nothing when the SO-PIN is
blocked. A wrong current SO-PIN spends one of its 15 tries, and a blocked SO-PIN
can never be unblocked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runSOPINChange(cmd, soSpec, newSpec, force)
		},
	}
	cmd.Flags().StringVar(&soSpec, "so-pin", "", "current SO-PIN source: env:NAME, file:PATH or prompt")
	cmd.Flags().StringVar(&newSpec, "new-so-pin", "", "new SO-PIN source: env:NAME, file:PATH or prompt (16 hex digits or 8 characters)")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "present the current SO-PIN even when only one try is left")
	return cmd
}

func (a *app) runSOPINChange(cmd *cobra.Command, soSpec, newSpec string, force bool) error {
	out := pinOutput{Command: "so-pin change"}
	oldSO, err := a.readSOPIN(cmd, "so-pin", soSpec, "current SO-PIN", false)
	if err != nil {
		return a.finishPIN(&out, err)
	}
	newSO, err := a.readSOPIN(cmd, "new-so-pin", newSpec, "new SO-PIN", true)
	if err != nil {
		return a.finishPIN(&out, err)
	}
	if oldSO == newSO {
		return a.finishPIN(&out, withExit(exitUsage, errors.New("the new SO-PIN equals the current SO-PIN; choose another one")))
	}
	if newSO == schsm.DefaultSOPIN {
		a.warn("the new SO-PIN is the well-known default from the sc-hsm-tool and PicoKey documentation; choose another one")
	}

	s, err := a.openPINSession()
	if err != nil {
		return a.finishPIN(&out, err)
	}
	defer s.close()
	out.Reader = s.reader

	before, err := a.queryPIN(s, schsm.PINRefSOPIN, "SO-PIN", &out)
	if err != nil {
		return a.finishPIN(&out, err)
	}
	out.Before = newPINState(before)
	if err := checkUsable(before, "SO-PIN", "a blocked SO-PIN cannot be unblocked, and the token cannot be initialized again"); err != nil {
		return a.finishPIN(&out, err)
	}
	a.showSOPINTries(before)
	if err := a.confirmLastTry(before, "SO-PIN", force); err != nil {
		return a.finishPIN(&out, err)
	}

	if err := s.card.ChangePIN(schsm.PINRefSOPIN, oldSO[:], newSO[:]); err != nil {
		err = wrongPINError("current SO-PIN", err)
		a.readAfter(s, schsm.PINRefSOPIN, &out)
		return a.finishPIN(&out, err)
	}
	out.Done = "SO-PIN changed"
	a.readAfter(s, schsm.PINRefSOPIN, &out)
	a.showSOPINSpellings(newSO)
	return a.finishPIN(&out, nil)
}

func (a *app) pinUnblockCommand() *cobra.Command {
	var soSpec, newSpec string
	var counterOnly, force bool
	cmd := &cobra.Command{
		Use:   "unblock",
		Short: "Unblock the user PIN with the SO-PIN: set a new PIN, or reset the retry counter only",
		Long: `unblock sends RESET RETRY COUNTER with the SO-PIN. With --new-pin it sets a new
user PIN and resets its retry counter. With --counter-only it resets the counter
and keeps the PIN, which is the only mode of a token initialized with
--no-pin-reset, and which such a token requires.

The tool reads the token options first and sends nothing when the token was
initialized without reset retry counter (--no-rrc): then only initializing it
again, which erases all keys, clears a blocked user PIN. It shows the SO-PIN
tries left before it presents the SO-PIN, and does nothing when the SO-PIN is
blocked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runPINUnblock(cmd, soSpec, newSpec, counterOnly, force)
		},
	}
	cmd.Flags().StringVar(&soSpec, "so-pin", "", "SO-PIN source: env:NAME, file:PATH or prompt")
	cmd.Flags().StringVar(&newSpec, "new-pin", "", "new user PIN source: env:NAME, file:PATH or prompt (6 to 16 characters)")
	cmd.Flags().BoolVar(&counterOnly, "counter-only", false, "reset the retry counter and keep the current user PIN; only for a token initialized with --no-pin-reset (option 0020)")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "present the SO-PIN even when only one try is left")
	return cmd
}

func (a *app) runPINUnblock(cmd *cobra.Command, soSpec, newSpec string, counterOnly, force bool) error {
	out := pinOutput{Command: "pin unblock"}
	if counterOnly && cmd.Flags().Changed("new-pin") {
		return a.finishPIN(&out, withExit(exitUsage, errors.New("--new-pin and --counter-only exclude each other; give one")))
	}

	so, err := a.readSOPIN(cmd, "so-pin", soSpec, "SO-PIN", false)
	if err != nil {
		return a.finishPIN(&out, err)
	}
	var newPIN schsm.Secret
	if !counterOnly {
		if newPIN, err = a.readNewPIN(cmd, "new-pin", newSpec); err != nil {
			return a.finishPIN(&out, err)
		}
		defer newPIN.Wipe()
	}

	s, err := a.openPINSession()
	if err != nil {
		return a.finishPIN(&out, err)
	}
	defer s.close()
	out.Reader = s.reader
	out.ResetRetryCounter = rrcMode(s.info.Options)
	out.Options = optionNames(s.info.Options)

	// The options from SELECT decide before any PIN is presented.
	// NOTE: an applet before version 2.0 reports no options, so it looks
	// like a token without reset retry counter here.
	switch mode := rrcMode(s.info.Options); {
	case mode == "disabled":
		return a.finishPIN(&out, withExit(exitCardRefused, errors.New("the token was initialized without reset retry counter (option 0001), "+
			"so the SO-PIN cannot unblock the user PIN and nothing was sent; only initializing the token again, which erases all keys, clears a blocked user PIN")))
	case mode == "counter only" && !counterOnly:
		return a.finishPIN(&out, withExit(exitUsage, errors.New("the token was initialized to reset only the retry counter (option 0020), "+
			"so it does not accept a new PIN; give --counter-only to keep the current PIN")))
	case mode == "new PIN" && counterOnly:
		return a.finishPIN(&out, withExit(exitUsage, errors.New("the token resets the retry counter only together with a new PIN "+
			"(option 0020 is not set); give --new-pin instead of --counter-only")))
	}

	user, err := a.queryPIN(s, schsm.PINRefUser, "user PIN", &out)
	if err != nil {
		return a.finishPIN(&out, err)
	}
	out.UserPIN = newPINState(user)
	if user.SW == schsm.SWReferenceNotFound {
		return a.finishPIN(&out, checkUsable(user, "user PIN", ""))
	}
	before, err := a.queryPIN(s, schsm.PINRefSOPIN, "SO-PIN", &out)
	if err != nil {
		return a.finishPIN(&out, err)
	}
	out.Before = newPINState(before)
	if err := checkUsable(before, "SO-PIN", "a blocked SO-PIN cannot be unblocked, so the user PIN cannot be unblocked either"); err != nil {
		return a.finishPIN(&out, err)
	}
	a.showSOPINTries(before)
	if err := a.confirmLastTry(before, "SO-PIN", force); err != nil {
		return a.finishPIN(&out, err)
	}

	var pinBytes []byte
	if !counterOnly {
		pinBytes = newPIN.Bytes()
	}
	if err := s.card.ResetRetryCounter(so, pinBytes); err != nil {
		if errors.Is(err, schsm.ErrCommandNotAllowed) {
			err = withExit(exitCardRefused, fmt.Errorf("the token rejected RESET RETRY COUNTER in this mode: %w", err))
		} else {
			err = wrongPINError("SO-PIN", err)
		}
		a.readAfter(s, schsm.PINRefSOPIN, &out)
		return a.finishPIN(&out, err)
	}

	out.Done = "user PIN unblocked with a new PIN"
	if counterOnly {
		out.Done = "user PIN retry counter reset; the PIN is unchanged"
	}
	a.readAfter(s, schsm.PINRefUser, &out)
	a.readAfter(s, schsm.PINRefSOPIN, &out)
	return a.finishPIN(&out, nil)
}

// finishPIN prints the result of a pin or so-pin command and returns err,
// so that main does not print the error a second time.
func (a *app) finishPIN(out *pinOutput, err error) error {
	if a.writeJSONResult(out, err) {
		return err
	}
	a.reported = true // the error is printed below

	w := a.stdout
	if out.Reader != "" {
		fmt.Fprintf(w, "Reader:        %s\n", out.Reader)
	}
	if out.Done != "" {
		fmt.Fprintf(w, "Done:          %s\n", out.Done)
	}
	if out.Command == "pin status" && out.UserPIN == nil {
		fmt.Fprintln(w, "State:         not initialized")
	}
	if out.UserPIN != nil {
		fmt.Fprintf(w, "User PIN:      %s\n", out.UserPIN.State)
	}
	if out.SOPIN != nil {
		fmt.Fprintf(w, "SO-PIN:        %s\n", out.SOPIN.State)
	}
	if out.ResetRetryCounter != "" {
		fmt.Fprintf(w, "PIN reset:     %s\n", describeRRC(out.ResetRetryCounter, out.SOPIN != nil && out.SOPIN.Blocked))
	}
	if out.PKA != nil {
		fmt.Fprintf(w, "Public keys:   %d registered of %d, %d required, %d authenticated\n",
			out.PKA.Total-out.PKA.Missing, out.PKA.Total, out.PKA.Required, out.PKA.Authenticated)
	}
	for _, warning := range out.Warnings {
		a.warn("%s", warning)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "sc-hsm-init: %v\n", err)
	}
	return err
}
