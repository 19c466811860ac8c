package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/provision"
)

// readInitNewPIN reads the PIN that replaces the transport PIN right after
// INITIALIZE. It returns the zero Secret when --new-pin is absent.
func (a *app) readInitNewPIN(cmd *cobra.Command, f *initFlags) (schsm.Secret, error) {
	if !cmd.Flags().Changed("new-pin") {
		return schsm.Secret{}, nil
	}
	if !f.transportPIN {
		return schsm.Secret{}, withExit(exitUsage, errors.New("--new-pin replaces a transport PIN right after initialization; "+
			"add --transport-pin, or set the user PIN with --pin alone"))
	}
	return a.readNewPIN(cmd, "new-pin", f.newPIN)
}

// printErasure shows what initializing the token again destroys, before
// INITIALIZE is sent. In JSON mode the counts are in provisioning.erased.
func (a *app) printErasure(e provision.Erasure) error {
	if a.jsonOut {
		return nil
	}
	what := "every key, certificate and data object on the token (ENUMERATE OBJECTS failed, so they were not counted)"
	if e.Counted {
		o := e.Objects
		what = fmt.Sprintf("%d %s, %d %s and %d %s",
			o.Keys, plural(o.Keys, "key", "keys"),
			o.Certificates, plural(o.Certificates, "certificate", "certificates"),
			o.DataObjects, plural(o.DataObjects, "data object", "data objects"))
	}
	fmt.Fprintf(a.stderr, "Initializing again erases %s.\n", what)
	if e.SOPINTriesLeft >= 0 {
		fmt.Fprintf(a.stderr, "SO-PIN tries left: %d (a wrong SO-PIN spends one for good)\n", e.SOPINTriesLeft)
	} else {
		fmt.Fprintln(a.stderr, "SO-PIN tries left: unknown (the token does not report them)")
	}
	return nil
}
