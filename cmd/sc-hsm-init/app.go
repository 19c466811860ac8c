package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
)

// app holds the streams and the flags shared by every subcommand.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	secrets        *secretReader

	reader   string
	jsonOut  bool
	verbose  bool
	reported bool // the error was already printed in the command's own format
	started  bool // the command line parsed and a command began to run

	deriver *dkek.Deriver // share key cache of this run, see keyDeriver
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr, secrets: newSecretReader(stderr)}
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "sc-hsm-init",
		Short: "Initialize and verify SmartCard-HSM, Nitrokey HSM 2 and Pico HSM tokens",
		Long: `sc-hsm-init initializes SmartCard-HSM-family tokens (CardContact SmartCard-HSM,
Nitrokey HSM 2, Pico HSM) over PC/SC, imports DKEK shares, and proves the result
through OpenSC's PKCS#11 module.

Secrets (PINs, SO-PIN, share passwords) are read from env:NAME, file:PATH or a
terminal prompt. A literal value works for drop-in use with sc-hsm-tool, but other
local users can read it in the process list.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withExit(exitUsage, err) })
	// Cobra checks the command name and the arguments before it runs any
	// PersistentPreRunE, so an error before this hook ran is a usage error.
	// A subcommand that sets its own PersistentPreRunE must set started too.
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		a.started = true
		return nil
	}

	pf := root.PersistentFlags()
	pf.StringVarP(&a.reader, "reader", "r", "", "PC/SC reader name, a unique part of it, or its index from 0 in the reader list as sc-hsm-tool -r takes it (default: the only SmartCard-HSM present)")
	pf.BoolVar(&a.jsonOut, "json", false, "print the result as JSON on standard output")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "trace every APDU on standard error, with PIN and share bytes masked")

	root.AddCommand(a.commands()...)
	for _, c := range root.Commands() {
		requireSubcommand(c)
	}
	return root
}

// logger returns the logger for diagnostic output on standard error.
func (a *app) logger() *slog.Logger {
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
}

func (a *app) writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(a.stderr, "sc-hsm-init: encoding JSON output: %v\n", err)
	}
}

// warn prints a warning on standard error; in JSON mode warnings also go
// into the result document, so they are collected by the caller.
func (a *app) warn(format string, args ...any) {
	fmt.Fprintf(a.stderr, "warning: "+format+"\n", args...)
}
