package main

import (
	"context"

	"github.com/spf13/cobra"
)

// commands returns the subcommands.
func (a *app) commands() []*cobra.Command {
	return []*cobra.Command{
		a.initCommand(),
		a.statusCommand(),
		a.verifyCommand(),
		a.pinCommand(),
		a.soPINCommand(),
		a.dkekCommand(),
		a.pkaCommand(),
		a.wizardCommand(),
		a.simulateCommand(),
		a.childCommand(),
	}
}

// commandContext returns the command's context, or a background one.
func commandContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
