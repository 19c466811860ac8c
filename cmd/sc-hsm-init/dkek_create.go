package main

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek/pwshare"
)

// dkekCreateOutput is the result document of dkek create.
type dkekCreateOutput struct {
	OK             bool                `json:"ok"`
	ExitCode       int                 `json:"exit_code"`
	File           string              `json:"file"`
	Source         string              `json:"random_source"`
	KCV            string              `json:"kcv"`
	PasswordShares *passwordSharesView `json:"password_shares,omitempty"`
	Import         *dkekImportOutput   `json:"import,omitempty"`
}

// passwordSharesView describes the n-of-m split of a generated password.
// Values holds the printouts only when they went to standard output.
type passwordSharesView struct {
	Threshold int      `json:"threshold"`
	Total     int      `json:"total"`
	Files     []string `json:"files,omitempty"`
	Printouts []string `json:"printouts,omitempty"`
}

// dkekCreateFlags are the flags of dkek create.
type dkekCreateFlags struct {
	password  string
	noToken   bool
	threshold int
	total     int
	sharesDir string
	importNow bool
	domain    int
	pin       pinFlags
}

func (a *app) dkekCreateCommand() *cobra.Command {
	var f dkekCreateFlags
	cmd := &cobra.Command{
		Use:   "create FILE",
		Short: "Create a password-protected DKEK share file (.pbe, as sc-hsm-tool --create-dkek-share writes it)",
		Long: `create writes a new 32-byte DKEK share to FILE, encrypted with a password in the
64-byte format of sc-hsm-tool (AES-256-CBC under a key derived with
10,000,000 rounds of MD5), so either tool can import it.

The share's random bytes are those of the operating system, combined by XOR
with the token's GET CHALLENGE when a SmartCard-HSM is present, so neither
source alone decides the share. The file is written with mode 0600 and an
existing file is never overwritten. The key check value printed is that of
this share alone.

With --pwd-shares-threshold T --pwd-shares-total N the password is 8 random
bytes split into N password shares, any T of which rebuild it (the scheme of
sc-hsm-tool, which imports such files with --pwd-shares-total). On a terminal
each custodian's share is shown on its own screen; otherwise all are printed
with a separator, or, with --pwd-shares-dir DIR, written to one file per
custodian (mode 0600). The key derivation runs while the shares are shown.

With --import the new share is imported right away (see dkek import), reusing
the derived key.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runDKEKCreate(cmd, &f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.password, "password", "", "share password source: env:NAME, file:PATH or prompt (at least 6 characters)")
	fl.BoolVar(&f.noToken, "no-token", false, "use only the operating system's random source, even when a token is present")
	fl.IntVar(&f.threshold, "pwd-shares-threshold", 0, "number of password shares needed to rebuild the password (n-of-m)")
	fl.IntVar(&f.total, "pwd-shares-total", 0, "number of password shares to create, at most 255")
	fl.StringVar(&f.sharesDir, "pwd-shares-dir", "", "write each password share to its own file in this existing folder instead of showing it")
	fl.BoolVar(&f.importNow, "import", false, "import the new share into the token right after writing it")
	fl.IntVar(&f.domain, "key-domain", 0, "with --import: key domain to import into, 0 to 15")
	f.pin.register(fl, "with --import: import without verifying the user PIN")
	return cmd
}

func (a *app) runDKEKCreate(cmd *cobra.Command, f *dkekCreateFlags, path string) error {
	nOfM := f.threshold != 0 || f.total != 0
	if err := checkCreateFlags(cmd, f, path, nOfM); err != nil {
		return err
	}
	domain, err := parseKeyDomain(f.domain)
	if err != nil {
		return err
	}

	// Every input is read before the first key derivation.
	var password []byte
	var split []pwshare.Share
	if nOfM {
		raw, shares, err := pwshare.NewSplit(f.threshold, f.total)
		if err != nil {
			return withExit(exitUsage, err)
		}
		password, split = raw[:], shares
	} else {
		password, err = a.secrets.read(secretSpec{flag: "password", value: f.password, given: cmd.Flags().Changed("password")}, "share password", true)
		if err != nil {
			return withExit(exitUsage, err)
		}
		if len(password) < 6 {
			clear(password)
			return withExit(exitUsage, fmt.Errorf("--password: the share password has %d characters; use at least 6 (sc-hsm-tool requires 6 too)", len(password)))
		}
	}
	defer clear(password)
	var pin []byte
	if f.importNow {
		if pin, err = a.readPIN(cmd, &f.pin); err != nil {
			return err
		}
		defer clear(pin)
		// A token that cannot take the share is found before the share
		// file is written.
		if err := a.checkTokenTakesShare(domain); err != nil {
			return err
		}
	}

	share, salt, source, err := a.newShare(f.noToken)
	if err != nil {
		return err
	}
	defer clear(share[:])

	// The derivation runs in the background while custodians note their
	// password shares.
	ctx := commandContext(cmd)
	pending := a.keyDeriver().StartEncrypt(ctx, share, password, salt)
	out := dkekCreateOutput{File: path, Source: source}
	if nOfM {
		view, err := a.handOutPasswordShares(split, f, path)
		if err != nil {
			return err
		}
		out.PasswordShares = view
	}

	bar := a.newProgress([]string{path})
	for done := false; !done; {
		select {
		case <-pending.Done():
			done = true
		case <-time.After(progressTick):
			bar.set(0, pending.Progress())
		}
	}
	bar.set(0, 1)
	bar.stop()
	file, err := pending.Wait()
	if err != nil {
		return fmt.Errorf("encrypting the share: %w", err)
	}
	if err := dkek.WriteFile(path, file); err != nil {
		return withExit(exitUsage, fmt.Errorf("writing DKEK share file %s: %w", path, err))
	}
	kcv := dkek.KCV(share)
	out.KCV = fmt.Sprintf("%X", kcv[:])
	out.OK = true

	if f.importNow {
		// Decrypting the written file checks it and hits the key cache.
		files := []shareFile{{path: path, data: file}}
		list := []dkek.File{{Path: path, Data: file, Password: password}}
		shares, err := a.decryptInParallel(ctx, list)
		if err != nil {
			return err
		}
		imp := &dkekImportOutput{Files: []string{path}, KeyDomain: int(domain)}
		err = a.importShares(domain, files, shares, dkekAuth{pin: pin, force: f.pin.force}, nil, imp)
		clear(shares[0][:])
		imp.OK, imp.ExitCode = err == nil, exitCodeOf(err)
		if err != nil {
			imp.Error = err.Error()
		}
		out.Import = imp
		out.OK, out.ExitCode = err == nil, exitCodeOf(err)
		a.logDerivations()
		a.printCreate(&out)
		return err
	}
	a.logDerivations()
	a.printCreate(&out)
	return nil
}

// checkTokenTakesShare reads the DKEK status of key domain domain and
// rejects an import of one share that it rules out.
func (a *app) checkTokenTakesShare(domain byte) error {
	var reader string
	sess, err := a.openDKEKSession(&reader, nil)
	if err != nil {
		return err
	}
	defer sess.close()
	kd, err := readKeyDomain(sess.card, domain)
	if err != nil {
		return err
	}
	if err := checkDomainTakes(kd, 1); err != nil {
		return fmt.Errorf("%w; no share file was written", err)
	}
	return nil
}

// checkCreateFlags checks the flags and the target paths before anything
// random is drawn.
func checkCreateFlags(cmd *cobra.Command, f *dkekCreateFlags, path string, nOfM bool) error {
	fl := cmd.Flags()
	switch {
	case nOfM && (f.threshold == 0 || f.total == 0):
		return withExit(exitUsage, errors.New("give both --pwd-shares-threshold and --pwd-shares-total"))
	case nOfM && (f.threshold < 2 || f.threshold > f.total || f.total > pwshare.MaxShares):
		return withExit(exitUsage, fmt.Errorf("--pwd-shares-threshold %d of --pwd-shares-total %d: use 2 <= threshold <= total <= %d", f.threshold, f.total, pwshare.MaxShares))
	case nOfM && fl.Changed("password"):
		return withExit(exitUsage, errors.New("--password and --pwd-shares-threshold exclude each other: password shares come with a random password"))
	case !nOfM && f.sharesDir != "":
		return withExit(exitUsage, errors.New("--pwd-shares-dir needs --pwd-shares-threshold and --pwd-shares-total"))
	case !f.importNow && (fl.Changed("key-domain") || fl.Changed("pin") || fl.Changed("no-pin")):
		return withExit(exitUsage, errors.New("--key-domain, --pin and --no-pin apply only with --import"))
	}
	if _, err := os.Lstat(path); err == nil {
		return withExit(exitUsage, fmt.Errorf("%s exists already, and a share file is never overwritten; choose another name", path))
	}
	if err := checkParentFolder(path); err != nil {
		return withExit(exitUsage, err)
	}
	if f.sharesDir != "" {
		if info, err := os.Stat(f.sharesDir); err != nil || !info.IsDir() {
			return withExit(exitUsage, fmt.Errorf("--pwd-shares-dir %s is not an existing folder; create it first", f.sharesDir))
		}
		for id := 1; id <= f.total; id++ {
			p := passwordSharePath(f.sharesDir, path, id)
			if _, err := os.Lstat(p); err == nil {
				return withExit(exitUsage, fmt.Errorf("%s exists already; choose another --pwd-shares-dir", p))
			}
		}
	}
	return nil
}

// passwordSharePath names custodian id's password share file of the share
// file sharePath.
func passwordSharePath(dir, sharePath string, id int) string {
	base := strings.TrimSuffix(filepath.Base(sharePath), filepath.Ext(sharePath))
	return filepath.Join(dir, fmt.Sprintf("%s.password-share-%d.txt", base, id))
}

// newShare draws the share and the salt from the operating system, XORed
// with the token's GET CHALLENGE unless noToken is set or no token answers.
func (a *app) newShare(noToken bool) (share [dkek.ShareSize]byte, salt [dkek.SaltSize]byte, source string, err error) {
	if _, err := rand.Read(share[:]); err != nil {
		return share, salt, "", fmt.Errorf("reading random bytes: %w", err)
	}
	if _, err := rand.Read(salt[:]); err != nil {
		return share, salt, "", fmt.Errorf("reading random bytes: %w", err)
	}
	source = "operating system"
	if noToken {
		return share, salt, source, nil
	}
	cardBytes, reader, err := a.tokenRandom(dkek.ShareSize + dkek.SaltSize)
	if err != nil {
		if !a.jsonOut {
			fmt.Fprintf(a.stderr, "note: no token used for randomness (%v); using the operating system's random source alone\n", err)
		}
		return share, salt, source, nil
	}
	defer clear(cardBytes)
	for i := range share {
		share[i] ^= cardBytes[i]
	}
	for i := range salt {
		salt[i] ^= cardBytes[dkek.ShareSize+i]
	}
	return share, salt, "operating system XOR token in " + reader, nil
}

// handOutPasswordShares writes the password shares to files, shows them
// one custodian at a time on a terminal, or prints them all.
func (a *app) handOutPasswordShares(split []pwshare.Share, f *dkekCreateFlags, path string) (*passwordSharesView, error) {
	view := &passwordSharesView{Threshold: f.threshold, Total: f.total}
	switch {
	case f.sharesDir != "":
		for _, s := range split {
			p := passwordSharePath(f.sharesDir, path, s.ID)
			if err := pwshare.WriteShareFile(p, s); err != nil {
				return nil, withExit(exitUsage, err)
			}
			view.Files = append(view.Files, p)
		}
		if !a.jsonOut {
			fmt.Fprintf(a.stderr, "Password shares (%d of %d needed) written to %s, one file per custodian, mode 0600\n", f.threshold, f.total, f.sharesDir)
		}
	case a.jsonOut:
		for _, s := range split {
			view.Printouts = append(view.Printouts, pwshare.Format(s))
		}
	case a.secrets.isTTY() && a.stderrIsTerminal():
		a.showSharesOnScreens(split, f)
	default:
		fmt.Fprintf(a.stdout, "The share file's password is split into %d shares; any %d of them rebuild it.\n", f.total, f.threshold)
		for i, s := range split {
			fmt.Fprintf(a.stdout, "----- password share %d of %d -----\n%s", i+1, len(split), pwshare.Format(s))
		}
		fmt.Fprintln(a.stdout, "-----")
	}
	return view, nil
}

// clearScreen is the ANSI sequence that homes the cursor, clears the
// screen and clears the scrollback buffer (ESC [3J, an xterm extension that
// most terminals support), so that the previous custodian's share cannot be
// scrolled back to.
const clearScreen = "\033[H\033[2J\033[3J"

// showSharesOnScreens shows each custodian's share alone and waits for
// Enter before and after, clearing the screen in between.
func (a *app) showSharesOnScreens(split []pwshare.Share, f *dkekCreateFlags) {
	in := bufio.NewReader(a.stdin)
	wait := func() { _, _ = in.ReadString('\n') }
	fmt.Fprintf(a.stderr, "The share file's password is 8 random bytes split into %d shares; any %d of them rebuild it.\n"+
		"Each custodian notes the prime, the share ID and the share value.\n", f.total, f.threshold)
	for i, s := range split {
		fmt.Fprintf(a.stderr, "\nPress Enter to show password share %d of %d", i+1, len(split))
		wait()
		fmt.Fprint(a.stderr, clearScreen)
		fmt.Fprintf(a.stderr, "Password share %d of %d\n\n%s\nNote all three values, then press Enter", i+1, len(split), pwshare.Format(s))
		wait()
		fmt.Fprint(a.stderr, clearScreen)
	}
}

func (a *app) printCreate(out *dkekCreateOutput) {
	if a.jsonOut {
		a.writeJSON(a.stdout, out)
		a.reported = true
		return
	}
	fmt.Fprintf(a.stdout, "DKEK share written to %s (mode 0600)\nRandom source:  %s\nKey check value of this share: %s\n", out.File, out.Source, out.KCV)
	if imp := out.Import; imp != nil && imp.Imported > 0 {
		_ = a.finishDKEKImport(imp, nil)
	}
}

// logDerivations logs how many key derivations the run started, at debug
// level (shown with --verbose).
func (a *app) logDerivations() {
	if a.deriver != nil {
		a.logger().Debug("share key derivations", "count", a.deriver.Derivations())
	}
}
