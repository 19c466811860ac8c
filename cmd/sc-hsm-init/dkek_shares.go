package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek/pwshare"
)

// keyDeriver returns the run's one Deriver, so that a share key derived
// once (for example by dkek create --import) is reused by later steps.
func (a *app) keyDeriver() *dkek.Deriver {
	if a.deriver == nil {
		a.deriver = dkek.NewDeriver()
	}
	return a.deriver
}

// shareFile is a share file read from disk and checked for size and
// header. Its share is still encrypted.
type shareFile struct {
	path string
	data []byte
}

// readShareFiles reads every share file and checks its format, without a
// password and without the card.
func readShareFiles(paths []string) ([]shareFile, error) {
	files := make([]shareFile, 0, len(paths))
	for _, path := range paths {
		data, err := dkek.ReadFile(path)
		if err != nil {
			return nil, withExit(exitUsage, fmt.Errorf("%w; %s", err, shareFileProblem(err)))
		}
		files = append(files, shareFile{path: path, data: data})
	}
	return files, nil
}

// shareFileProblem returns what to do about a share file that cannot be read.
func shareFileProblem(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "check the path"
	case errors.Is(err, dkek.ErrNotShareFile):
		return "give the 64-byte file that sc-hsm-tool --create-dkek-share or sc-hsm-init dkek create wrote"
	default:
		return "check the file"
	}
}

// passwordFlags select how the passwords of share files are obtained.
type passwordFlags struct {
	password    string
	sharesTotal int
	shareFiles  []string
}

func (p *passwordFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&p.password, "password", "", "share password source for every file: env:NAME, file:PATH or prompt (default: ask for each file on the terminal)")
	fl.IntVar(&p.sharesTotal, "pwd-shares-total", 0, "reconstruct the password from this many n-of-m password shares (sc-hsm-tool --pwd-shares-total), asked for on the terminal unless --pwd-share-file gives them")
	fl.StringArrayVar(&p.shareFiles, "pwd-share-file", nil, "file with one or more password shares (a saved sc-hsm-tool printout or a file of dkek create --pwd-shares-dir); repeat for several")
}

// nOfM reports whether the password comes from password shares.
func (p *passwordFlags) nOfM() bool { return p.sharesTotal > 0 || len(p.shareFiles) > 0 }

// decryptShareFiles decrypts every file with the passwords the flags
// select. A password given once applies to every file, and the files are
// decrypted in parallel. Prompted passwords start their file's derivation
// at once, so it runs while the next password is typed. Errors carry
// exitUsage, and no card is involved.
func (a *app) decryptShareFiles(cmd *cobra.Command, files []shareFile, pw *passwordFlags) ([][32]byte, error) {
	ctx := commandContext(cmd)
	given := cmd.Flags().Changed("password")
	switch {
	case pw.nOfM() && given:
		return nil, withExit(exitUsage, errors.New("--password and the password share flags exclude each other; give one of them"))
	case pw.nOfM():
		return a.decryptWithPasswordShares(ctx, files, pw)
	case given && pw.password != "prompt":
		password, err := a.secrets.read(secretSpec{flag: "password", value: pw.password, given: true}, "share password", false)
		if err != nil {
			return nil, withExit(exitUsage, err)
		}
		defer clear(password)
		list := make([]dkek.File, len(files))
		for i, f := range files {
			list[i] = dkek.File{Path: f.path, Data: f.data, Password: password}
		}
		return a.decryptInParallel(ctx, list)
	default:
		return a.decryptPrompted(ctx, files, pw)
	}
}

// decryptInParallel runs the derivations of every file at once and shows
// their progress.
func (a *app) decryptInParallel(ctx context.Context, files []dkek.File) ([][32]byte, error) {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Path
	}
	bar := a.newProgress(names)
	shares, errs := a.keyDeriver().DecryptFiles(ctx, files, 0, bar.set)
	bar.stop()
	if err := shareErrors(errs); err != nil {
		return nil, err
	}
	return shares, nil
}

// decryptPrompted prompts for one password per file and starts each
// file's derivation as soon as its password is entered. When a password
// typed at the prompt does not open its file, it prompts for that file's
// password again, up to promptAttempts times. Passwords from env: or file:
// fail at once.
func (a *app) decryptPrompted(ctx context.Context, files []shareFile, pw *passwordFlags) ([][32]byte, error) {
	spec := secretSpec{flag: "password", value: pw.password, given: pw.password != ""}
	shares := make([][32]byte, len(files))
	errs := make([]error, len(files))
	todo := make([]int, len(files))
	for i := range todo {
		todo[i] = i
	}

	for try := 1; ; try++ {
		pending := make([]*dkek.Pending[[32]byte], len(todo))
		for k, i := range todo {
			if try > 1 {
				left := promptAttempts - try + 1
				fmt.Fprintf(a.stderr, "The password of %s is wrong, or the file is damaged. Try again (%d %s left).\n",
					files[i].path, left, pluralWord(left, "try", "tries"))
			}
			password, err := a.secrets.read(spec, fmt.Sprintf("password of DKEK share file %s", files[i].path), false)
			if err != nil {
				return nil, withExit(exitUsage, err)
			}
			pending[k] = a.keyDeriver().Start(ctx, files[i].data, password)
			clear(password)
		}
		a.waitDecryptions(files, todo, pending, shares, errs)

		if !spec.prompts() || try == promptAttempts {
			break
		}
		var wrong []int
		for _, i := range todo {
			if errors.Is(errs[i], dkek.ErrWrongPassword) {
				wrong = append(wrong, i)
			}
		}
		if len(wrong) == 0 {
			break
		}
		todo = wrong
	}
	if err := shareErrors(errs); err != nil {
		return nil, err
	}
	return shares, nil
}

// waitDecryptions waits for the derivations pending, one for each file
// index in todo, shows their progress and stores each result at its index
// in shares and errs.
func (a *app) waitDecryptions(files []shareFile, todo []int, pending []*dkek.Pending[[32]byte], shares [][32]byte, errs []error) {
	names := make([]string, len(todo))
	for k, i := range todo {
		names[k] = files[i].path
	}
	bar := a.newProgress(names)
	for k, p := range pending {
		for done := false; !done; {
			select {
			case <-p.Done():
				done = true
			case <-time.After(progressTick):
				for j, q := range pending {
					bar.set(j, q.Progress())
				}
			}
		}
		share, err := p.Wait()
		i := todo[k]
		if err != nil {
			err = fmt.Errorf("decrypting share file %s: %w", files[i].path, err)
		}
		bar.set(k, 1)
		shares[i], errs[i] = share, err
	}
	bar.stop()
}

// decryptWithPasswordShares reconstructs one password from n-of-m password
// shares and decrypts the files with it. It tries the 8-byte password both
// tools create files with, then the shorter form sc-hsm-tool's import
// uses, which differs when the first byte is zero.
func (a *app) decryptWithPasswordShares(ctx context.Context, files []shareFile, pw *passwordFlags) ([][32]byte, error) {
	shares, err := a.collectPasswordShares(pw)
	if err != nil {
		return nil, withExit(exitUsage, err)
	}
	password, err := pwshare.Password(shares, 0)
	if err != nil {
		return nil, withExit(exitUsage, fmt.Errorf("%w; check that the shares belong to this share file", err))
	}
	defer clear(password[:])

	list := make([]dkek.File, len(files))
	for i, f := range files {
		list[i] = dkek.File{Path: f.path, Data: f.data, Password: password[:]}
	}
	result, err := a.decryptInParallel(ctx, list)
	minimal := pwshare.MinimalPassword(password)
	defer clear(minimal)
	if err == nil || !errors.Is(err, dkek.ErrWrongPassword) || len(minimal) == len(password) {
		return result, wrongSharesHint(err)
	}
	for i := range list {
		list[i].Password = minimal
	}
	result, err = a.decryptInParallel(ctx, list)
	return result, wrongSharesHint(err)
}

func wrongSharesHint(err error) error {
	if err == nil || !errors.Is(err, dkek.ErrWrongPassword) {
		return err
	}
	return withExit(exitUsage, fmt.Errorf("%w; the password rebuilt from the password shares does not open the file: "+
		"check the prime, the share IDs and values, and that at least the threshold number of shares was given", err))
}

// collectPasswordShares reads the password shares from --pwd-share-file, or
// asks for them on the terminal the way sc-hsm-tool does: the prime once,
// then each custodian's share ID and share value. The share ID is decimal,
// as both tools print it.
func (a *app) collectPasswordShares(pw *passwordFlags) ([]pwshare.Share, error) {
	var shares []pwshare.Share
	for _, path := range pw.shareFiles {
		s, err := pwshare.ReadShareFile(path)
		if err != nil {
			return nil, err
		}
		shares = append(shares, s...)
	}
	if len(pw.shareFiles) > 0 {
		if pw.sharesTotal > 0 && len(shares) != pw.sharesTotal {
			return nil, fmt.Errorf("--pwd-shares-total is %d, but the --pwd-share-file files hold %d %s", pw.sharesTotal, len(shares), pluralWord(len(shares), "share", "shares"))
		}
		return shares, nil
	}

	if pw.sharesTotal < 2 {
		return nil, fmt.Errorf("--pwd-shares-total %d: give at least 2 password shares", pw.sharesTotal)
	}
	if !a.secrets.isTTY() {
		return nil, fmt.Errorf("%w: password shares are required; give --pwd-share-file FILE for each custodian, or run on a terminal to be asked", errNoSecretSource)
	}
	return a.promptPasswordShares(pw.sharesTotal)
}

// promptPasswordShares prompts for total password shares on the terminal.
// Each input line is checked with pwshare's printout rules as soon as it
// is typed, and prompted for again with the reason, up to promptAttempts
// times. The share values are read without echo.
func (a *app) promptPasswordShares(total int) ([]pwshare.Share, error) {
	in := bufio.NewReader(a.stdin)
	line := func(prompt string) (string, error) {
		fmt.Fprint(a.stderr, prompt)
		s, err := in.ReadString('\n')
		if err != nil && (err != io.EOF || s == "") {
			return "", fmt.Errorf("reading from the terminal: %w", err)
		}
		return strings.TrimSpace(s), nil
	}

	fmt.Fprintf(a.stderr, "Decrypting the DKEK share needs %d key custodians to present their password share.\n"+
		"Only the first custodian enters the prime. Share IDs are decimal, as printed.\n", total)
	var prime string
	err := a.askUntilValid("prime", func() error {
		answer, err := line("Prime: ")
		if err != nil {
			return err
		}
		if _, err := parsePromptedShare(answer, "1", nil); err != nil {
			return err
		}
		prime = answer
		return nil
	})
	if err != nil {
		return nil, err
	}

	shares := make([]pwshare.Share, 0, total)
	for i := range total {
		fmt.Fprintf(a.stderr, "\nShare %d of %d\n", i+1, total)
		var id string
		err := a.askUntilValid("share ID", func() error {
			answer, err := line("Share ID: ")
			if err != nil {
				return err
			}
			s, err := parsePromptedShare(prime, answer, nil)
			if err != nil {
				return err
			}
			for j, earlier := range shares {
				if earlier.ID == s.ID {
					return &invalidInputError{fmt.Sprintf("share ID %d was already given for share %d, but each custodian has a different ID", s.ID, j+1)}
				}
			}
			id = answer
			return nil
		})
		if err != nil {
			return nil, err
		}
		err = a.askUntilValid("share value", func() error {
			value, err := a.secrets.readLine("Share value (not shown): ")
			defer clear(value)
			if err != nil {
				return fmt.Errorf("reading the share value from the terminal: %w", err)
			}
			s, err := parsePromptedShare(prime, id, value)
			if err != nil {
				return err
			}
			shares = append(shares, s)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return shares, nil
}

// promptAttempts is the maximum number of tries at one prompt before the
// command fails.
const promptAttempts = 3

// invalidInputError is input typed at a prompt that failed its check. The
// reason never contains the input, which may be secret.
type invalidInputError struct{ reason string }

func (e *invalidInputError) Error() string { return e.reason }

// askUntilValid runs ask up to promptAttempts times while it returns an
// *invalidInputError, and prints the reason before each new try. Any
// other error, such as a closed terminal, ends it at once.
func (a *app) askUntilValid(what string, ask func() error) error {
	for try := 1; ; try++ {
		err := ask()
		var invalid *invalidInputError
		if !errors.As(err, &invalid) {
			return err
		}
		if try == promptAttempts {
			return fmt.Errorf("no valid %s after %d tries: %s", what, promptAttempts, invalid.reason)
		}
		left := promptAttempts - try
		fmt.Fprintf(a.stderr, "%s. Try again (%d %s left).\n", capitalize(invalid.reason), left, pluralWord(left, "try", "tries"))
	}
}

// parsePromptedShare checks typed input with pwshare.Parse, so that a
// prompt accepts what a saved printout accepts. A nil value is read as
// zero, a valid value, so that the prime or the share ID can be checked
// before the value is typed.
func parsePromptedShare(prime, id string, value []byte) (pwshare.Share, error) {
	if prime == "" {
		return pwshare.Share{}, &invalidInputError{"no prime was entered; type it as printed, hex bytes separated by colons"}
	}
	var printout bytes.Buffer
	fmt.Fprintf(&printout, "Prime : %s\nShare ID : %s\nShare value : ", prime, id)
	printout.Write(value)
	printout.WriteByte('\n')
	text := printout.Bytes()
	defer clear(text)

	shares, err := pwshare.Parse(bytes.NewReader(text))
	if err != nil {
		return pwshare.Share{}, &invalidInputError{parseProblem(err)}
	}
	if len(shares) != 1 {
		return pwshare.Share{}, &invalidInputError{"the input contains more than one share"}
	}
	return shares[0], nil
}

// parseProblem returns the reason of a pwshare.Parse error without the
// printout and line prefix, which mean nothing at a prompt. pwshare
// errors never contain share values.
func parseProblem(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{pwshare.ErrMalformed, pwshare.ErrInvalidShare} {
		prefix := sentinel.Error() + ": "
		if i := strings.Index(msg, prefix); i >= 0 && errors.Is(err, sentinel) {
			return msg[i+len(prefix):]
		}
	}
	return msg
}

// shareErrors joins the errors of a decryption run and attaches exitUsage.
func shareErrors(errs []error) error {
	var joined []error
	for _, err := range errs {
		if err != nil {
			joined = append(joined, err)
		}
	}
	if len(joined) == 0 {
		return nil
	}
	return withExit(exitUsage, errors.Join(joined...))
}

// checkDistinct rejects the same share given twice: the DKEK is the XOR of
// the shares, so two equal shares cancel out.
func checkDistinct(files []shareFile, shares [][32]byte) error {
	for i := range shares {
		for j := i + 1; j < len(shares); j++ {
			if shares[i] == shares[j] {
				return withExit(exitUsage, fmt.Errorf("%s and %s hold the same DKEK share, which would cancel out in the DKEK; give each share once",
					files[i].path, files[j].path))
			}
		}
	}
	return nil
}

// progressTick is how often the progress line is redrawn.
const progressTick = 200 * time.Millisecond

// progress shows the key derivation progress of several files on standard
// error: one redrawn line on a terminal, else a line at each quarter. It
// prints nothing with --json.
type progress struct {
	a         *app
	names     []string
	mu        sync.Mutex
	fractions []float64
	quarter   int
	tty       bool
	quiet     bool
	done      chan struct{}
	wg        sync.WaitGroup
}

func (a *app) newProgress(names []string) *progress {
	p := &progress{a: a, names: names, fractions: make([]float64, len(names)), tty: a.stderrIsTerminal(), quiet: a.jsonOut, done: make(chan struct{})}
	if p.quiet {
		return p
	}
	fmt.Fprintf(a.stderr, "… deriving the key of %d share %s (10,000,000 rounds of MD5 each, in parallel)\n", len(names), pluralWord(len(names), "file", "files"))
	if p.tty {
		p.wg.Go(p.redraw)
	}
	return p
}

// set records the fraction of file index. It matches dkek.FilesProgressFunc.
func (p *progress) set(index int, fraction float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fractions[index] = fraction
	if p.quiet || p.tty {
		return
	}
	total := 0.0
	for _, f := range p.fractions {
		total += f
	}
	if q := int(4 * total / float64(len(p.fractions))); q > p.quarter && q < 4 {
		p.quarter = q
		fmt.Fprintf(p.a.stderr, "… %d%% derived\n", 25*q)
	}
}

func (p *progress) redraw() {
	ticker := time.NewTicker(progressTick)
	defer ticker.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-ticker.C:
			p.mu.Lock()
			parts := make([]string, len(p.names))
			for i, f := range p.fractions {
				parts[i] = fmt.Sprintf("%3.0f%%", 100*f)
			}
			p.mu.Unlock()
			fmt.Fprintf(p.a.stderr, "\r… deriving: %s", strings.Join(parts, "  "))
		}
	}
}

// stop ends the display.
func (p *progress) stop() {
	if p.quiet {
		return
	}
	close(p.done)
	p.wg.Wait()
	if p.tty {
		fmt.Fprint(p.a.stderr, "\r\033[K")
	}
	fmt.Fprintln(p.a.stderr, "… key derivation finished")
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
