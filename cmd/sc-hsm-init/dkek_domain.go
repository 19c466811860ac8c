package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
)

// keyDomainView is one key domain in the output of the DKEK commands.
type keyDomainView struct {
	KeyDomain   int    `json:"key_domain"`
	State       string `json:"state"` // "undefined", "no DKEK", "pending" or "complete"
	Total       int    `json:"shares_total"`
	Outstanding int    `json:"shares_outstanding"`
	KCV         string `json:"kcv,omitempty"`
	ZeroDKEK    bool   `json:"zero_dkek,omitempty"` // the KCV is that of an all-zero DKEK
}

func viewKeyDomain(kd schsm.KeyDomain) keyDomainView {
	v := keyDomainView{KeyDomain: kd.Number, Total: kd.DKEK.Total, Outstanding: kd.DKEK.Outstanding}
	switch {
	case !kd.Defined:
		v.State = "undefined"
	case !kd.DKEK.Configured:
		v.State = "no DKEK"
	case kd.DKEK.Outstanding > 0:
		v.State = "pending"
	default:
		v.State = "complete"
		v.KCV = fmt.Sprintf("%X", kd.DKEK.KCV[:])
		v.ZeroDKEK = kd.DKEK.KCV == zeroDKEKKCV
	}
	return v
}

// describe returns one line that says what the domain holds.
func (v keyDomainView) describe() string {
	switch v.State {
	case "pending":
		return fmt.Sprintf("%d %s, %d outstanding", v.Total, pluralWord(v.Total, "share", "shares"), v.Outstanding)
	case "complete":
		line := fmt.Sprintf("%d %s, complete, key check value %s", v.Total, pluralWord(v.Total, "share", "shares"), v.KCV)
		if v.ZeroDKEK {
			line += fmt.Sprintf(" — WARNING: an all-zero DKEK, because the shares cancelled out; clear the domain (dkek domain clear --key-domain %d) and import distinct shares", v.KeyDomain)
		}
		return line
	default:
		return v.State
	}
}

// dkekStatusOutput is the result document of dkek status and of the key
// domain commands.
type dkekStatusOutput struct {
	outcome
	Reader     string          `json:"reader,omitempty"`
	Action     string          `json:"action,omitempty"`
	DeleteSW   string          `json:"delete_sw,omitempty"`
	KeyDomains []keyDomainView `json:"key_domains"`
	Warnings   []string        `json:"warnings,omitempty"`
}

func (a *app) finishDKEKStatus(out *dkekStatusOutput, err error) error {
	if out.KeyDomains == nil {
		out.KeyDomains = []keyDomainView{}
	}
	if a.writeJSONResult(out, err) {
		return err
	}
	for _, w := range out.Warnings {
		a.warn("%s", w)
	}
	if out.Reader != "" && (err == nil || len(out.KeyDomains) > 0) {
		printKeyDomains(a.stdout, out)
	}
	return err
}

func printKeyDomains(w io.Writer, out *dkekStatusOutput) {
	fmt.Fprintf(w, "Reader:        %s\n", out.Reader)
	if out.Action != "" {
		fmt.Fprintf(w, "Done:          %s\n", out.Action)
	}
	if len(out.KeyDomains) == 0 {
		fmt.Fprintln(w, "Key domains:   none (the token has no DKEK or key domains)")
	}
	for _, v := range out.KeyDomains {
		fmt.Fprintf(w, "Key domain %-3d %s\n", v.KeyDomain, v.describe())
	}
}

func (a *app) dkekStatusCommand() *cobra.Command {
	var domain int
	var all bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the DKEK shares, outstanding shares and key check value of key domains",
		Long: `status selects the applet and queries the DKEK status of one key domain
(--key-domain, default 0) or, with --all, of every key domain the token has:
it queries domain 0, 1, 2 and so on until the token reports the end. It needs
no PIN and changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := &dkekStatusOutput{}
			// dkek domain status shows every domain unless --key-domain
			// names one.
			domainStatus := cmd.Parent() != nil && cmd.Parent().Name() == "domain"
			err := a.runDKEKStatus(cmd, domain, all || domainStatus && !cmd.Flags().Changed("key-domain"), out)
			return a.finishDKEKStatus(out, err)
		},
	}
	cmd.Flags().IntVar(&domain, "key-domain", 0, "key domain to show, 0 to 15")
	cmd.Flags().BoolVar(&all, "all", false, "show every key domain")
	return cmd
}

func (a *app) runDKEKStatus(cmd *cobra.Command, domain int, all bool, out *dkekStatusOutput) error {
	kd, err := parseKeyDomain(domain)
	if err != nil {
		return err
	}
	if all && cmd.Flags().Changed("key-domain") {
		return withExit(exitUsage, errors.New("--all and --key-domain exclude each other"))
	}
	sess, err := a.openAppletSession(&out.Reader)
	if err != nil {
		return err
	}
	defer sess.close()
	if all {
		domains, err := sess.card.KeyDomains()
		if err != nil {
			return classifyPCSC(fmt.Errorf("reading the key domains: %w", err))
		}
		for _, d := range domains {
			out.KeyDomains = append(out.KeyDomains, viewKeyDomain(d))
		}
		return nil
	}
	d, err := readKeyDomain(sess.card, kd)
	if err != nil {
		return err
	}
	out.KeyDomains = append(out.KeyDomains, viewKeyDomain(d))
	return nil
}

// dkekDomainCommand groups the key domain commands.
func (a *app) dkekDomainCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "domain",
		Short: "Create, show, clear and delete DKEK key domains",
		Long: `A token initialized with key domains (init --key-domains N) has N key domains,
each with its own DKEK. Every domain is undefined until it is created with its
number of DKEK shares. create, clear and delete first query the domain, which
needs no PIN, and reject a change the domain's state rules out before any PIN
is presented. They then verify the user PIN and authenticate the custodians
given with --key-file or --pkcs11-key (a token initialized with option 0010,
--require-pka-and-pin, needs both) in the same session, and query the domain
again afterwards to confirm the change.`,
	}
	status := a.dkekStatusCommand()
	status.Short = "Show every key domain (same as dkek status --all), or one with --key-domain"
	status.Long = `status selects the applet and queries the DKEK status of every key domain the
token has (domain 0, 1, 2 and so on until the token reports the end) or, with
--key-domain, of that one domain. It needs no PIN and changes nothing.`
	cmd.AddCommand(a.dkekDomainCreateCommand(), status, a.dkekDomainClearCommand(), a.dkekDomainDeleteCommand())
	return cmd
}

// domainChange is one change of a key domain that needs an authenticated
// session. check runs on the domain's state before any PIN is presented;
// apply makes the change.
type domainChange struct {
	check func(card *schsm.Card, kd schsm.KeyDomain) error
	apply func(card *schsm.Card, domain byte, out *dkekStatusOutput) error
}

// domainAuthFlags are the authentication flags of the key domain commands.
type domainAuthFlags struct {
	pin        pinFlags
	custodians custodianFlags
}

func (f *domainAuthFlags) register(cmd *cobra.Command) {
	f.pin.register(cmd.Flags(), "")
	cmd.Flags().Lookup("pin").Usage = "user PIN source: env:NAME, file:PATH or prompt (default: prompt, unless custodians are given)"
	f.custodians.register(cmd.Flags())
}

// readDKEKAuth reads the user PIN and opens the custodian keys before the
// card is touched. With custodians and no --pin, no PIN is read, so that a
// token protected by public key authentication alone needs none.
func (a *app) readDKEKAuth(cmd *cobra.Command, p *pinFlags, cf *custodianFlags) ([]byte, *custodians, error) {
	var pin []byte
	if !cf.given() || cmd.Flags().Changed("pin") {
		var err error
		if pin, err = a.readPIN(cmd, p); err != nil {
			return nil, nil, err
		}
	}
	cust, err := a.openCustodians(cf)
	if err != nil {
		clear(pin)
		return nil, nil, err
	}
	return pin, cust, nil
}

// runDomainChange queries the domain, runs change.check, authenticates the
// session and runs change.apply, then reads the domain back into out.
func (a *app) runDomainChange(cmd *cobra.Command, domain int, f *domainAuthFlags, change domainChange) error {
	out := &dkekStatusOutput{}
	err := func() error {
		kd, err := parseKeyDomain(domain)
		if err != nil {
			return err
		}
		pin, cust, err := a.readDKEKAuth(cmd, &f.pin, &f.custodians)
		if err != nil {
			return err
		}
		defer clear(pin)
		defer cust.close()

		sess, err := a.openDKEKSession(&out.Reader, cust)
		if err != nil {
			return err
		}
		defer sess.close()
		before, err := readKeyDomain(sess.card, kd)
		if err != nil {
			return err
		}
		if err := change.check(sess.card, before); err != nil {
			return err
		}
		pinVerified, err := a.authenticateDKEKSession(sess, pin, f.pin.force, cust, &out.Warnings)
		if err != nil {
			return err
		}
		if err := change.apply(sess.card, kd, out); err != nil {
			return authorizationHint(err, sess.info, pinVerified, len(cust.signers) > 0)
		}
		after, err := sess.card.KeyDomain(kd)
		if err != nil {
			return classifyPCSC(fmt.Errorf("reading key domain %d back: %w", kd, err))
		}
		out.KeyDomains = []keyDomainView{viewKeyDomain(after)}
		return nil
	}()
	return a.finishDKEKStatus(out, err)
}

func (a *app) dkekDomainCreateCommand() *cobra.Command {
	var domain, shares int
	var f domainAuthFlags
	cmd := &cobra.Command{
		Use:   "create --key-domain N --shares M",
		Short: "Create a DKEK key domain that expects M shares (MANAGE KEY DOMAIN P1 01)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if shares < 1 || shares > schsm.MaxDKEKShares {
				return withExit(exitUsage, fmt.Errorf("--shares %d is out of range; use 1 to %d", shares, schsm.MaxDKEKShares))
			}
			return a.runDomainChange(cmd, domain, &f, domainChange{
				check: func(_ *schsm.Card, before schsm.KeyDomain) error {
					if before.Defined {
						return withExit(exitUsage, fmt.Errorf("key domain %d already exists (%s); delete it first", before.Number, viewKeyDomain(before).describe()))
					}
					return nil
				},
				apply: func(card *schsm.Card, kd byte, out *dkekStatusOutput) error {
					if _, err := card.CreateKeyDomain(kd, shares); err != nil {
						return classifyPCSC(err)
					}
					out.Action = fmt.Sprintf("created key domain %d for %d DKEK %s", kd, shares, pluralWord(shares, "share", "shares"))
					return nil
				},
			})
		},
	}
	cmd.Flags().IntVar(&domain, "key-domain", 0, "key domain to create, 0 to 15")
	cmd.Flags().IntVar(&shares, "shares", 0, fmt.Sprintf("number of DKEK shares the domain expects, 1 to %d", schsm.MaxDKEKShares))
	f.register(cmd)
	_ = cmd.MarkFlagRequired("shares")
	return cmd
}

func (a *app) dkekDomainClearCommand() *cobra.Command {
	var domain int
	var f domainAuthFlags
	cmd := &cobra.Command{
		Use:   "clear --key-domain N",
		Short: "Delete the DKEK of a key domain but keep the domain and its share count (P1 04)",
		Long: `clear deletes the DKEK of a key domain, so that every share is outstanding again.
Keys wrapped under the old DKEK can then no longer be imported into this domain.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runDomainChange(cmd, domain, &f, domainChange{
				check: requireDefinedDomain,
				apply: func(card *schsm.Card, kd byte, out *dkekStatusOutput) error {
					if _, err := card.ClearKeyDomain(kd); err != nil {
						return classifyPCSC(err)
					}
					out.Action = fmt.Sprintf("cleared the DKEK of key domain %d", kd)
					return nil
				},
			})
		},
	}
	cmd.Flags().IntVar(&domain, "key-domain", 0, "key domain to clear, 0 to 15")
	f.register(cmd)
	_ = cmd.MarkFlagRequired("key-domain")
	return cmd
}

func (a *app) dkekDomainDeleteCommand() *cobra.Command {
	var domain int
	var f domainAuthFlags
	cmd := &cobra.Command{
		Use:   "delete --key-domain N",
		Short: "Delete a key domain (P1 03); it must hold no keys",
		Long: `delete makes a key domain undefined. The token refuses it while keys of the
domain exist. Because it cannot be undone, it asks for the domain number on a
terminal, and needs --force otherwise.

The Pico HSM firmware reports a successful delete with status word 6A88, so
the delete counts as done when the domain is undefined afterwards.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !f.pin.force {
				if err := a.confirmDelete(domain); err != nil {
					return err
				}
			}
			return a.runDomainChange(cmd, domain, &f, domainChange{
				check: requireDefinedDomain,
				apply: func(card *schsm.Card, kd byte, out *dkekStatusOutput) error {
					sw, err := card.DeleteKeyDomain(kd)
					out.DeleteSW = fmt.Sprintf("%04X", sw)
					if err != nil {
						return classifyPCSC(err)
					}
					out.Action = fmt.Sprintf("deleted key domain %d (the delete returned SW %04X; a query confirms it is undefined)", kd, sw)
					return nil
				},
			})
		},
	}
	cmd.Flags().IntVar(&domain, "key-domain", 0, "key domain to delete, 0 to 15")
	f.register(cmd)
	cmd.Flags().Lookup("force").Usage = "delete without asking, and present the PIN even when only one try is left"
	_ = cmd.MarkFlagRequired("key-domain")
	return cmd
}

// confirmDelete asks the user to type the domain number on a terminal.
func (a *app) confirmDelete(domain int) error {
	if !a.secrets.isTTY() {
		return withExit(exitUsage, fmt.Errorf("deleting key domain %d cannot be undone; give --force to delete it without a terminal", domain))
	}
	fmt.Fprintf(a.stderr, "Deleting key domain %d cannot be undone. Type the domain number to confirm: ", domain)
	var answer string
	if _, err := fmt.Fscanln(a.stdin, &answer); err != nil || strings.TrimSpace(answer) != fmt.Sprint(domain) {
		return withExit(exitUsage, errors.New("not confirmed; nothing was changed"))
	}
	return nil
}

// dkekKCVOutput is the result document of dkek kcv.
type dkekKCVOutput struct {
	outcome
	Files    []fileKCV `json:"files"`
	Combined string    `json:"combined_kcv,omitempty"`
	Warnings []string  `json:"warnings,omitempty"`
}

type fileKCV struct {
	File string `json:"file"`
	KCV  string `json:"kcv"`
}

func (a *app) dkekKCVCommand() *cobra.Command {
	var pw passwordFlags
	cmd := &cobra.Command{
		Use:   "kcv FILE...",
		Short: "Compute the key check value of share files offline, without a token",
		Long: `kcv decrypts share files and prints the key check value (the first 8 bytes of
SHA-256) of each share alone and, for several files, of their XOR: the DKEK
that importing all of them into an empty key domain gives. Custodians can so
check their files against the value a token reports, with no token present.
Passwords are given as for dkek import. The same share given twice is
rejected, as dkek import rejects it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if pw.nOfM() && len(args) != 1 {
				return withExit(exitUsage, fmt.Errorf("password shares open one share file per run, but %d files are given", len(args)))
			}
			files, err := readShareFiles(args)
			if err != nil {
				return err
			}
			shares, err := a.decryptShareFiles(cmd, files, &pw)
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
			out := dkekKCVOutput{}
			for i, s := range shares {
				kcv := dkek.KCV(s)
				out.Files = append(out.Files, fileKCV{File: files[i].path, KCV: fmt.Sprintf("%X", kcv[:])})
			}
			if len(shares) > 1 {
				combined := dkek.Combine(shares...)
				kcv := dkek.KCV(combined)
				out.Combined = fmt.Sprintf("%X", kcv[:])
				if combined == ([dkek.ShareSize]byte{}) {
					out.Warnings = append(out.Warnings, "the shares XOR to an all-zero DKEK; a share is given twice or the files pair up")
				}
				clear(combined[:])
			}
			if a.writeJSONResult(&out, nil) {
				return nil
			}
			for _, w := range out.Warnings {
				a.warn("%s", w)
			}
			for _, f := range out.Files {
				fmt.Fprintf(a.stdout, "%s  %s\n", f.KCV, f.File)
			}
			if out.Combined != "" {
				fmt.Fprintf(a.stdout, "%s  DKEK of all %d shares (XOR)\n", out.Combined, len(out.Files))
			}
			return nil
		},
	}
	pw.register(cmd.Flags())
	return cmd
}
