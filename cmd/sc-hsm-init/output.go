package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/sc-hsm-init/sc-hsm-init/pkcs11bridge"
	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/provision"
)

// outcome contains the fields that open each result document: whether the
// command succeeded, its exit code and its error message.
type outcome struct {
	OK       bool   `json:"ok"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
}

// outcomeFields returns o, so that a result document that embeds an
// outcome is a resultDocument.
func (o *outcome) outcomeFields() *outcome { return o }

// resultDocument is a result document that embeds an outcome.
type resultDocument interface {
	outcomeFields() *outcome
}

// writeJSONResult records err in the outcome of doc and, with --json,
// writes doc to standard output and marks err as reported, so that main
// does not print it a second time. It returns whether it wrote doc.
func (a *app) writeJSONResult(doc resultDocument, err error) bool {
	o := doc.outcomeFields()
	o.OK = err == nil
	o.ExitCode = exitCodeOf(err)
	if err != nil {
		o.Error = err.Error()
	}
	if !a.jsonOut {
		return false
	}
	a.writeJSON(a.stdout, doc)
	a.reported = true
	return true
}

// initOutput is the result document of init, printed as text or JSON.
type initOutput struct {
	outcome
	Reader              string               `json:"reader"`
	Result              provision.Result     `json:"provisioning"`
	Verification        *pkcs11bridge.Report `json:"verification,omitempty"`
	VerificationSkipped string               `json:"verification_skipped,omitempty"`
	Warnings            []string             `json:"warnings,omitempty"`
}

// verifyOutput is the result document of verify.
type verifyOutput struct {
	outcome
	Reader  string               `json:"reader"`
	Serial  string               `json:"serial"`
	UserPIN *schsm.PINStatus     `json:"user_pin,omitempty"` // read over PC/SC before the PKCS#11 checks
	Report  *pkcs11bridge.Report `json:"verification,omitempty"`
	// NotChecked lists what the PKCS#11 checks could not prove on this
	// token, such as operations that option 0010 also gates by public key
	// authentication.
	NotChecked []string `json:"not_checked,omitempty"`
}

func (a *app) stderrIsTerminal() bool {
	f, ok := a.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// finishInit prints the init result and returns err with its exit code, so
// that main does not print the error a second time in JSON mode.
func (a *app) finishInit(out *initOutput, err error) error {
	if a.writeJSONResult(out, err) {
		return err
	}

	w := a.stdout
	res := out.Result
	fmt.Fprintf(w, "Reader:        %s\n", out.Reader)
	if len(res.Steps) > 0 {
		fmt.Fprintln(w, "Steps:")
		for _, s := range res.Steps {
			line := fmt.Sprintf("  %-8s %s", s.Status, s.Name)
			if s.Detail != "" {
				line += ": " + s.Detail
			}
			fmt.Fprintln(w, line)
		}
	}
	if res.After != nil {
		printDeviceStatus(w, *res.After)
	}
	printCreatedKeyDomains(w, res.KeyDomains)
	if res.KCV != nil && (res.After == nil || res.After.DKEK == nil || !res.After.DKEK.Complete()) {
		// Without a read-back the device status above lacks the DKEK line,
		// which otherwise carries the key check value.
		fmt.Fprintf(w, "DKEK key check value: %X (the first 8 bytes of SHA-256 of the DKEK)\n", res.KCV[:])
	}
	printPKAResult(w, res.PKA)
	for _, r := range res.Remaining {
		fmt.Fprintf(w, "Remaining:     %s\n", r)
	}
	if out.VerificationSkipped != "" {
		fmt.Fprintf(w, "PKCS#11 verification skipped: %s\n", out.VerificationSkipped)
	}
	if out.Verification != nil {
		printReport(w, out.Verification)
	}
	if err != nil {
		a.reported = true
		fmt.Fprintf(a.stderr, "sc-hsm-init: %v\n", err)
		return err
	}
	if out.Verification == nil {
		fmt.Fprintln(w, "Result:        token initialized; PKCS#11 verification skipped")
		return nil
	}
	fmt.Fprintln(w, "Result:        token initialized and verified")
	return nil
}

func (a *app) finishVerify(out *verifyOutput, err error) error {
	if a.writeJSONResult(out, err) {
		return err
	}
	fmt.Fprintf(a.stdout, "Reader:        %s\nSerial:        %s\n", out.Reader, out.Serial)
	if out.UserPIN != nil {
		fmt.Fprintf(a.stdout, "User PIN:      %s\n", describePIN(*out.UserPIN))
	}
	if out.Report != nil {
		printReport(a.stdout, out.Report)
	}
	for _, n := range out.NotChecked {
		fmt.Fprintf(a.stdout, "Not checked:   %s\n", n)
	}
	if err != nil {
		a.reported = true
		fmt.Fprintf(a.stdout, "Result:        FAILED (exit code %d); the error is on standard error\n", out.ExitCode)
		fmt.Fprintf(a.stderr, "sc-hsm-init: %v\n", err)
		return err
	}
	if len(out.NotChecked) > 0 {
		fmt.Fprintln(a.stdout, "Result:        the PKCS#11 checks passed, but they do not cover what \"Not checked\" lists")
		return nil
	}
	fmt.Fprintln(a.stdout, "Result:        all PKCS#11 checks passed")
	return nil
}

// printDeviceStatus prints the fields sc-hsm-tool prints, in its order.
func printDeviceStatus(w io.Writer, st schsm.DeviceStatus) {
	info := st.Info
	fmt.Fprintf(w, "Device:        %s, version %s\n", info.Family, info.Version())
	if st.Serial != "" {
		fmt.Fprintf(w, "Serial:        %s\n", st.Serial)
	}
	if !st.Initialized {
		fmt.Fprintln(w, "State:         not initialized")
		return
	}
	fmt.Fprintf(w, "Options:       %04X (%s)\n", info.Options, strings.Join(optionNames(info.Options), ", "))
	fmt.Fprintf(w, "User PIN:      %s\n", describePIN(st.UserPIN))
	fmt.Fprintf(w, "SO-PIN:        %s\n", describePIN(st.SOPIN))
	if st.DKEK == nil || !st.DKEK.Configured {
		fmt.Fprintln(w, "DKEK:          none")
	} else {
		fmt.Fprintf(w, "DKEK:          %s\n", describeDKEK(0, st.DKEK.Total, st.DKEK.Outstanding, st.DKEK.KCV))
	}
	if st.PKA != nil {
		fmt.Fprintf(w, "Public keys:   %d registered of %d, %d required, %d authenticated\n",
			st.PKA.Total-st.PKA.Missing, st.PKA.Total, st.PKA.Required, st.PKA.Authenticated)
	}
}

// describeDKEK returns the share count and key check value of the DKEK of
// key domain n, with a warning for an all-zero DKEK.
func describeDKEK(n, total, outstanding int, kcv [8]byte) string {
	switch {
	case outstanding > 0:
		return fmt.Sprintf("%d %s, %d still missing", total, plural(total, "share", "shares"), outstanding)
	case kcv == zeroDKEKKCV:
		return fmt.Sprintf("%d %s, key check value %X: WARNING, an all-zero DKEK because the shares cancelled out; clear key domain %d and import distinct shares",
			total, plural(total, "share", "shares"), kcv[:], n)
	default:
		return fmt.Sprintf("%d %s, key check value %X", total, plural(total, "share", "shares"), kcv[:])
	}
}

// printCreatedKeyDomains prints the DKEK of each key domain that init created,
// because the DKEK line of the device status covers key domain 0 only.
func printCreatedKeyDomains(w io.Writer, domains []provision.KeyDomainResult) {
	for _, kd := range domains {
		var kcv [8]byte
		if kd.KCV != nil {
			kcv = *kd.KCV
		}
		fmt.Fprintf(w, "DKEK (key domain %d): %s\n", kd.KeyDomain, describeDKEK(kd.KeyDomain, kd.Total, kd.Outstanding, kcv))
	}
}

func describePIN(p schsm.PINStatus) string {
	switch {
	case !p.Initialized:
		return "not set"
	case p.Blocked:
		return "blocked"
	case p.TransportPIN:
		return "transport PIN active: change it before use"
	case p.Verified:
		return "verified in this session"
	case p.SW&0xFFF0 == 0x63C0:
		return fmt.Sprintf("%d %s left", p.TriesLeft, plural(p.TriesLeft, "try", "tries"))
	default:
		return fmt.Sprintf("status word %04X", p.SW)
	}
}

// optionNames names the configuration option bits.
func optionNames(opts uint16) []string {
	names := []struct {
		bit  uint16
		name string
	}{
		{schsm.OptionResetRetryCounter, "reset retry counter"},
		{schsm.OptionTransportPIN, "transport PIN"},
		{schsm.OptionSessionPIN, "session PIN"},
		{schsm.OptionPKAReplaceable, "public keys replaceable"},
		{schsm.OptionCombinedPINPKA, "PIN and public keys combined"},
		{schsm.OptionRRCResetCounterOnly, "reset retry counter resets the counter only"},
		{schsm.OptionPicoButton, "Pico: press-to-confirm button"},
		{schsm.OptionPicoKeyCounter, "Pico: key usage counter"},
		{schsm.OptionPicoSecureLock, "Pico: secure lock"},
	}
	var out []string
	for _, n := range names {
		if opts&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	if len(out) == 0 {
		out = append(out, "none")
	}
	return out
}

func printReport(w io.Writer, r *pkcs11bridge.Report) {
	fmt.Fprintf(w, "PKCS#11 module: %s\n", r.Module)
	for _, c := range r.Checks {
		state := "passed"
		if !c.Passed {
			state = "FAILED"
		}
		fmt.Fprintf(w, "  %-7s %-11s %s\n", state, c.Name, c.Reason)
	}
	if r.Token != nil {
		fmt.Fprintf(w, "Token:         %q by %s, model %s, serial %s\n", r.Token.Label, r.Token.Manufacturer, r.Token.Model, r.Token.Serial)
		fmt.Fprintf(w, "Token flags:   %s\n", strings.Join(r.Token.Flags, ", "))
	}
	if r.URI != "" {
		fmt.Fprintf(w, "Token URI:     %s\n", r.URI)
	}
	fmt.Fprintf(w, "Mechanisms:    %d\n", len(r.Mechanisms))
	fmt.Fprintf(w, "Objects:       %d\n", len(r.Objects))
	for _, o := range r.Objects {
		line := fmt.Sprintf("  %s %q", o.Class, o.Label)
		if o.ID != "" {
			line += " id " + o.ID
		}
		fmt.Fprintln(w, line)
	}
}
