package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
)

// pinFlags are the user PIN flags of the commands that change DKEK state.
type pinFlags struct {
	pin   string
	noPIN bool
	force bool
}

func (p *pinFlags) register(fl *pflag.FlagSet, noPINHelp string) {
	fl.StringVar(&p.pin, "pin", "", "user PIN source: env:NAME, file:PATH or prompt")
	if noPINHelp != "" {
		fl.BoolVar(&p.noPIN, "no-pin", false, noPINHelp)
	}
	fl.BoolVarP(&p.force, "force", "f", false, "present the PIN even when only one try is left")
}

// readPIN reads the user PIN before the card is touched.
func (a *app) readPIN(cmd *cobra.Command, p *pinFlags) ([]byte, error) {
	if p.noPIN {
		return nil, nil
	}
	pin, err := a.secrets.read(secretSpec{flag: "pin", value: p.pin, given: cmd.Flags().Changed("pin")}, "user PIN", false)
	if err != nil {
		return nil, withExit(exitUsage, err)
	}
	return pin, nil
}

// verifyUserPIN reads the user PIN tries with an empty VERIFY, which spends
// no try, and then verifies pin. It never presents the last try without
// force.
func verifyUserPIN(card *schsm.Card, pin []byte, force bool) error {
	st, err := card.PINStatus(schsm.PINRefUser)
	if err != nil {
		return classifyPCSC(fmt.Errorf("querying the user PIN status: %w", err))
	}
	switch {
	case !st.Initialized:
		return withExit(exitCardRefused, errors.New("the token has no user PIN: initialize it first (sc-hsm-init init)"))
	case st.Blocked:
		return withExit(exitCardRefused, errors.New("the user PIN is blocked; unblock it with the SO-PIN first (sc-hsm-init pin unblock)"))
	case st.TransportPIN:
		return withExit(exitCardRefused, errors.New("the user PIN is a transport PIN; change it first (sc-hsm-init pin change)"))
	case st.KnownTriesLeft() == 1 && !force:
		return withExit(exitUsage, errors.New("the user PIN has one try left, and a wrong PIN would block it; give --force to present it anyway"))
	}
	if err := card.VerifyPIN(schsm.PINRefUser, pin); err != nil {
		var wrong *schsm.WrongPINError
		if errors.As(err, &wrong) {
			return withExit(exitCardRefused, fmt.Errorf("the user PIN is wrong: %d %s left (SW %04X)", wrong.TriesLeft, pluralWord(wrong.TriesLeft, "try", "tries"), wrong.SW))
		}
		return classifyPCSC(fmt.Errorf("verifying the user PIN: %w", err))
	}
	return nil
}

// parseKeyDomain checks a --key-domain value.
func parseKeyDomain(n int) (byte, error) {
	if n < 0 || n > schsm.MaxKeyDomainNumber {
		return 0, withExit(exitUsage, fmt.Errorf("--key-domain %d is out of range; use 0 to %d", n, schsm.MaxKeyDomainNumber))
	}
	return byte(n), nil
}

// parseKCV reads a key check value of 16 hex digits, with optional spaces
// or colons between bytes.
func parseKCV(s string) ([8]byte, error) {
	var kcv [8]byte
	clean := strings.NewReplacer(" ", "", ":", "").Replace(s)
	raw, err := hex.DecodeString(clean)
	if err != nil || len(raw) != len(kcv) {
		return kcv, withExit(exitUsage, fmt.Errorf("--expect-kcv %q is not a key check value; give 16 hex digits as status or dkek kcv print them", s))
	}
	copy(kcv[:], raw)
	return kcv, nil
}

// dkekImportOutput is the result document of dkek import.
type dkekImportOutput struct {
	outcome
	Reader      string   `json:"reader,omitempty"`
	KeyDomain   int      `json:"key_domain"`
	Files       []string `json:"files"`
	Imported    int      `json:"imported"`
	Total       int      `json:"shares_total"`
	Outstanding int      `json:"shares_outstanding"`
	KCV         string   `json:"kcv,omitempty"`
	PINVerified bool     `json:"pin_verified"`
	Warnings    []string `json:"warnings,omitempty"`
}

// dkekImportFlags are the flags of dkek import.
type dkekImportFlags struct {
	passwords  passwordFlags
	pin        pinFlags
	custodians custodianFlags
	domain     int
	expectKCV  string
}

func (a *app) dkekImportCommand() *cobra.Command {
	var f dkekImportFlags
	cmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Import DKEK share files into a key domain (as sc-hsm-tool --import-dkek-share does)",
		Long: `import decrypts every share file before it touches the token, so a wrong password
or a damaged file sends nothing. The files are decrypted in parallel, and each
prompted password starts its file's key derivation at once.

In one PC/SC transaction it then selects the applet and reads the key domain's
DKEK status. It rejects the import before sending a share when the domain has
no DKEK, none or fewer shares are outstanding than files given, the same share
is given twice, the shares would complete an all-zero DKEK, or they would
complete the DKEK with another key check value than --expect-kcv. It verifies
the user PIN, so that the key check value the token returns is real (the Pico
HSM computes it only with the PIN verified), authenticates the custodians
given with --key-file or --pkcs11-key (a token initialized with option 0010,
--require-pka-and-pin, needs both), imports the shares and prints the shares
total, outstanding and, once complete, the key check value. A completed DKEK
whose key check value is that of an all-zero DKEK (shares imported in
separate runs that cancel out) fails with exit code 7.

Passwords: --password (one for every file), n-of-m password shares
(--pwd-shares-total, --pwd-share-file; one share file per run), or a prompt
per file.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := &dkekImportOutput{Files: args, KeyDomain: f.domain}
			return a.finishDKEKImport(out, a.runDKEKImport(cmd, &f, args, out))
		},
	}
	fl := cmd.Flags()
	f.passwords.register(fl)
	f.pin.register(fl, "import without verifying the user PIN, as sc-hsm-tool does; a Pico HSM then reports a zero key check value")
	fl.IntVar(&f.domain, "key-domain", 0, "key domain to import into, 0 to 15")
	fl.StringVar(&f.expectKCV, "expect-kcv", "", "fail with exit code 7 unless the completed DKEK has this key check value (16 hex digits)")
	f.custodians.register(fl)
	return cmd
}

func (a *app) runDKEKImport(cmd *cobra.Command, f *dkekImportFlags, paths []string, out *dkekImportOutput) error {
	domain, err := parseKeyDomain(f.domain)
	if err != nil {
		return err
	}
	var expect *[8]byte
	if f.expectKCV != "" {
		kcv, err := parseKCV(f.expectKCV)
		if err != nil {
			return err
		}
		expect = &kcv
	}
	if f.passwords.nOfM() && len(paths) != 1 {
		return withExit(exitUsage, fmt.Errorf("password shares open one share file per run, but %d files are given; import them one at a time", len(paths)))
	}

	files, err := readShareFiles(paths)
	if err != nil {
		return err
	}
	shares, err := a.decryptShareFiles(cmd, files, &f.passwords)
	if err != nil {
		return err
	}
	defer func() {
		for i := range shares {
			clear(shares[i][:])
		}
	}()
	if err := checkDistinct(files, shares); err != nil {
		return err
	}
	pin, cust, err := a.readDKEKAuth(cmd, &f.pin, &f.custodians)
	if err != nil {
		return err
	}
	defer clear(pin)
	defer cust.close()

	return a.importShares(domain, files, shares, dkekAuth{pin: pin, force: f.pin.force, custodians: cust}, expect, out)
}

// dkekAuth is the authentication of a DKEK import session: the user PIN
// (nil to present none) and the custodians (nil for none).
type dkekAuth struct {
	pin        []byte
	force      bool
	custodians *custodians
}

// importShares imports decrypted shares into key domain domain in one
// session, after the checks that need the token's DKEK status.
func (a *app) importShares(domain byte, files []shareFile, shares [][32]byte, auth dkekAuth, expect *[8]byte, out *dkekImportOutput) error {
	sess, err := a.openDKEKSession(&out.Reader, auth.custodians)
	if err != nil {
		return err
	}
	defer sess.close()
	kd, err := readKeyDomain(sess.card, domain)
	if err != nil {
		return err
	}
	if err := checkImportFits(kd, shares); err != nil {
		return err
	}
	if err := checkExpectedKCV(kd, shares, expect); err != nil {
		return err
	}

	out.PINVerified, err = a.authenticateDKEKSession(sess, auth.pin, auth.force, auth.custodians, &out.Warnings)
	if err != nil {
		return err
	}
	if auth.pin == nil {
		out.Warnings = append(out.Warnings, "the user PIN was not verified, so a Pico HSM reports a zero key check value until the next login")
	}
	custodiansGiven := auth.custodians != nil && len(auth.custodians.signers) > 0

	var st schsm.DKEKStatus
	for i, share := range shares {
		if !a.jsonOut {
			fmt.Fprintf(a.stderr, "… importing %s into key domain %d\n", files[i].path, domain)
		}
		st, err = sess.card.ImportDKEKShare(domain, share[:])
		if err != nil {
			err = authorizationHint(err, sess.info, out.PINVerified, custodiansGiven)
			return classifyPCSC(fmt.Errorf("importing %s (%d of %d; %d imported before it): %w", files[i].path, i+1, len(shares), i, err))
		}
		out.Imported++
		out.Total, out.Outstanding = st.Total, st.Outstanding
	}

	if st.Outstanding > 0 {
		if expect != nil {
			return withExit(exitVerifyFailed, fmt.Errorf("--expect-kcv cannot be checked: %d of %d shares are still outstanding", st.Outstanding, st.Total))
		}
		return nil
	}
	out.KCV = fmt.Sprintf("%X", st.KCV[:])
	if kd.DKEK.Outstanding == kd.DKEK.Total {
		// These shares make the whole DKEK, so its KCV is known here.
		if want := dkek.KCV(dkek.Combine(shares...)); want != st.KCV && out.PINVerified {
			return withExit(exitVerifyFailed, fmt.Errorf("the token reports key check value %X, but the imported shares give %X; clear the key domain and import again", st.KCV, want))
		}
	}
	if st.KCV == zeroDKEKKCV {
		return withExit(exitVerifyFailed, fmt.Errorf("the key check value is %X, that of an all-zero DKEK: the shares cancelled out "+
			"(the same share was imported twice, or the shares pair up), so the DKEK protects nothing. "+
			"Clear the key domain (sc-hsm-init dkek domain clear --key-domain %d) and import distinct shares", st.KCV, domain))
	}
	if expect != nil && *expect != st.KCV {
		return withExit(exitVerifyFailed, fmt.Errorf("the key check value is %X, but --expect-kcv is %X: the shares are not the expected ones", st.KCV, *expect))
	}
	return nil
}

// zeroDKEKKCV is the key check value of an all-zero DKEK, which shares
// that cancel out by XOR give.
var zeroDKEKKCV = dkek.KCV([dkek.ShareSize]byte{})

// checkExpectedKCV rejects, before any share is sent, shares that complete
// an empty domain's DKEK with another key check value than expect.
func checkExpectedKCV(kd schsm.KeyDomain, shares [][32]byte, expect *[8]byte) error {
	if expect == nil || kd.DKEK.Outstanding != kd.DKEK.Total || len(shares) != kd.DKEK.Total {
		return nil
	}
	combined := dkek.Combine(shares...)
	defer clear(combined[:])
	if got := dkek.KCV(combined); got != *expect {
		return withExit(exitVerifyFailed, fmt.Errorf("the shares give key check value %X, but --expect-kcv is %X: the shares are not the expected ones; nothing was imported", got, *expect))
	}
	return nil
}

// checkImportFits rejects an import that the domain's status shows cannot
// succeed, before any share is sent.
func checkImportFits(kd schsm.KeyDomain, shares [][32]byte) error {
	if err := checkDomainTakes(kd, len(shares)); err != nil {
		return err
	}
	st := kd.DKEK
	if st.Outstanding == st.Total && len(shares) == st.Total {
		zero := [dkek.ShareSize]byte{}
		if dkek.Combine(shares...) == zero {
			return withExit(exitUsage, errors.New("the shares XOR to an all-zero DKEK, which protects nothing; use freshly created shares"))
		}
	}
	return nil
}

// checkDomainTakes rejects an import of n shares that the domain's DKEK
// status rules out.
func checkDomainTakes(kd schsm.KeyDomain, n int) error {
	st := kd.DKEK
	switch {
	case !kd.Defined || !st.Configured:
		return withExit(exitUsage, fmt.Errorf("key domain %d has no DKEK to import shares into; initialize with --dkek-shares, or create the domain (sc-hsm-init dkek domain create)", kd.Number))
	case st.Outstanding == 0:
		return withExit(exitUsage, fmt.Errorf("key domain %d expects no more shares: all %d are imported (clear the domain to start over)", kd.Number, st.Total))
	case n > st.Outstanding:
		return withExit(exitUsage, fmt.Errorf("%d share %s given, but key domain %d has only %d of %d shares outstanding; give at most %d",
			n, pluralWord(n, "file", "files"), kd.Number, st.Outstanding, st.Total, st.Outstanding))
	}
	return nil
}

func (a *app) finishDKEKImport(out *dkekImportOutput, err error) error {
	if a.writeJSONResult(out, err) {
		return err
	}
	for _, w := range out.Warnings {
		a.warn("%s", w)
	}
	if out.Imported > 0 {
		var b bytes.Buffer
		fmt.Fprintf(&b, "Reader:        %s\n", out.Reader)
		fmt.Fprintf(&b, "Key domain:    %d\n", out.KeyDomain)
		fmt.Fprintf(&b, "Imported:      %d %s\n", out.Imported, pluralWord(out.Imported, "share", "shares"))
		fmt.Fprintf(&b, "DKEK shares:   %d\n", out.Total)
		if out.Outstanding > 0 {
			fmt.Fprintf(&b, "Outstanding:   %d (no key check value until every share is imported)\n", out.Outstanding)
		} else {
			fmt.Fprintf(&b, "Outstanding:   0\nKey check value: %s\n", out.KCV)
		}
		a.stdout.Write(b.Bytes())
	}
	return err
}
