package main

import (
	"fmt"

	"github.com/spf13/cobra"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// statusOutput is the result document of status.
type statusOutput struct {
	OK       bool               `json:"ok"`
	ExitCode int                `json:"exit_code"`
	Reader   string             `json:"reader"`
	Status   schsm.DeviceStatus `json:"status"`
	Options  []string           `json:"options"`
}

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the token's version, options, PIN tries, DKEK and public key authentication state",
		Long: `status reads the token state without spending any PIN try: it selects the
applet (which logs out any session), queries the user PIN and SO-PIN with empty
VERIFY commands, and reads the DKEK and public key authentication status and
the serial number.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			st, reader, err := a.readStatus()
			if err != nil {
				return err
			}

			if a.jsonOut {
				a.writeJSON(a.stdout, statusOutput{OK: true, Reader: reader, Status: st, Options: optionNames(st.Info.Options)})
				return nil
			}
			fmt.Fprintf(a.stdout, "Reader:        %s\n", reader)
			printDeviceStatus(a.stdout, st)
			return nil
		},
	}
}
