package main

import (
	"errors"
	"fmt"
	"net"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/virtualcard"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/vpcd"
)

func (a *app) simulateCommand() *cobra.Command {
	var state, host string
	var port int
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Run the virtual SmartCard-HSM in the vpcd reader of pcscd",
		Long: `simulate runs a virtual SmartCard-HSM and connects it to the vpcd reader driver
(Debian package vsmartcard-vpcd) of a local pcscd, where OpenSC and this tool
see it as a token in the reader "Virtual PCD 00 00". Use it to rehearse a
provisioning ceremony before touching hardware.

The token state (PINs, retry counters, DKEK, device key) is kept in --state,
created with mode 0600, so that a ceremony can span several commands. Treat the
file like a token: it holds the DKEK in the clear. Without --state the card
lives in memory only. The card reconnects when pcscd restarts, and runs until
interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port < 1 || port > 65535 {
				return withExit(exitUsage, fmt.Errorf("--port %d is not a TCP port; vpcd listens on 35963 for its first reader", port))
			}
			// Checked before the state file is created: the virtual card
			// holds PINs and keys and talks to a local pcscd only.
			if !isLoopbackHost(host) {
				return withExit(exitUsage, fmt.Errorf("--host %s: %w; use 127.0.0.1, ::1 or localhost", host, vpcd.ErrNotLoopback))
			}
			if state != "" {
				unlock, err := lockStateFile(state)
				if err != nil {
					return withExit(exitUsage, err)
				}
				defer unlock()
			}
			card, err := virtualcard.New(virtualcard.Options{StatePath: state, Logger: a.logger()})
			if err != nil {
				return withExit(exitUsage, fmt.Errorf("starting the virtual card: %w", err))
			}
			addr := net.JoinHostPort(host, strconv.Itoa(port))
			fmt.Fprintf(a.stderr, "virtual SmartCard-HSM, serial %s, connecting to vpcd at %s\n", card.Serial(), addr)

			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			err = vpcd.Serve(ctx, addr, card, a.logger())
			if errors.Is(err, vpcd.ErrNotLoopback) {
				return withExit(exitUsage, err)
			}
			if ctx.Err() != nil {
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "file that keeps the token state between runs (created with mode 0600)")
	cmd.Flags().StringVar(&host, "host", "127.0.0.1", "loopback address where vpcd listens")
	cmd.Flags().IntVar(&port, "port", 35963, "TCP port of the vpcd reader (35963 is the first reader, 35964 the second)")
	return cmd
}
