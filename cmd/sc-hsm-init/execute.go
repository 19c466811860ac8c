package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
)

// execute runs the command line args (without the program name), prints an
// error that the command did not print itself, and returns the error with
// its exit code. An error before the command started, such as an unknown
// command or a wrong number of arguments, is a usage error.
func (a *app) execute(args []string) error {
	root := a.root()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return nil
	}
	if !a.started {
		err = withExit(exitUsage, err)
		// When parsing failed, --json may not have been parsed, but the
		// caller still expects one JSON document.
		if !a.jsonOut && wantsJSON(args) {
			a.jsonOut = true
		}
	}
	if !a.reported {
		a.printError(err)
	}
	return err
}

// wantsJSON reports whether args ask for JSON output with --json or
// --json=BOOL before a "--" that ends the flags.
func wantsJSON(args []string) bool {
	for _, arg := range args {
		switch {
		case arg == "--":
			return false
		case arg == "--json":
			return true
		case len(arg) > len("--json=") && arg[:len("--json=")] == "--json=":
			v, err := strconv.ParseBool(arg[len("--json="):])
			return err == nil && v
		}
	}
	return false
}

// requireSubcommand makes a command group such as "dkek", and each group
// below it, reject an unknown subcommand as a usage error. Cobra checks
// unknown commands only below the root; under a group it would print the
// help and exit 0.
func requireSubcommand(group *cobra.Command) {
	if !group.HasSubCommands() {
		return
	}
	for _, c := range group.Commands() {
		requireSubcommand(c)
	}
	if group.Run != nil || group.RunE != nil {
		return
	}
	group.Args = cobra.ArbitraryArgs
	group.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return withExit(exitUsage, fmt.Errorf("unknown command %q for %q; run %s --help for the list", args[0], cmd.CommandPath(), cmd.CommandPath()))
		}
		return cmd.Help()
	}
}
