package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sc-hsm-init/sc-hsm-init/pkcs11bridge"
	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// childCommand is the hidden subcommand that runs the PKCS#11 checks in a
// child process, so that each verification loads the module afresh and a
// crashing module cannot take the tool down with it.
const childCommand = "internal-pkcs11-verify"

type verifyFlags struct {
	module    string
	skip      bool
	forceLast bool
}

func (v *verifyFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&v.module, "module", "", "path of OpenSC's PKCS#11 module (default: $SC_HSM_INIT_PKCS11_MODULE, p11-kit's list, then the usual install paths)")
	fl.BoolVar(&v.skip, "no-verify", false, "skip the PKCS#11 verification")
	fl.BoolVar(&v.forceLast, "force-last-try", false, "present the PIN through PKCS#11 even when only one try is left")
}

func (a *app) verifyCommand() *cobra.Command {
	var f verifyFlags
	var pinSpec string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check a token through OpenSC's PKCS#11 module: slot, token, login and objects",
		Long: `verify reads the token's serial and PIN tries over PC/SC, releases the reader
without a reset, then loads OpenSC's PKCS#11 module in a child process, finds
the token by reader and serial (never "slot 0"), logs in with the user PIN and
lists slots, token flags, mechanisms and objects. It refuses to present the
PIN when only one try is left unless --force-last-try is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pin, err := a.secrets.read(secretSpec{flag: "pin", value: pinSpec, given: cmd.Flags().Changed("pin")}, "user PIN", false)
			if err != nil {
				return withExit(exitUsage, err)
			}
			defer clear(pin)

			st, reader, err := a.readStatus()
			if err != nil {
				return err
			}

			out := verifyOutput{Reader: reader, Serial: st.Serial, UserPIN: &st.UserPIN, NotChecked: verifyLimits(st)}
			if st.UserPIN.TransportPIN {
				// Every login fails with SW 6984 until the PIN is changed.
				return a.finishVerify(&out, withExit(exitStepsRemain,
					errors.New("transport PIN active: change it before use with sc-hsm-init pin change; nothing was presented")))
			}
			out.Report, err = a.verifyToken(cmd, &f, reader, st.Serial, pin, st.UserPIN.KnownTriesLeft())
			return a.finishVerify(&out, err)
		},
	}
	cmd.Flags().StringVar(&pinSpec, "pin", "", "user PIN source: env:NAME, file:PATH or prompt")
	f.register(cmd.Flags())
	cmd.Flags().Lookup("no-verify").Hidden = true
	cmd.Flags().BoolVar(&f.forceLast, "force", false, "same as --force-last-try")
	return cmd
}

// verifyLimits lists what a PKCS#11 login with the user PIN alone cannot
// prove on a token with this status.
func verifyLimits(st schsm.DeviceStatus) []string {
	if st.PKA == nil || st.Info.Options&schsm.OptionCombinedPINPKA == 0 {
		return nil
	}
	return []string{"the token has option 0010 (combined PIN and public key authentication): " +
		"operations that need the user PIN also need the public key quorum, which OpenSC's PKCS#11 module cannot provide, " +
		"so the login and listing above do not show that keys can be generated, used or imported; " +
		"sc-hsm-init pka authenticate --pin with the custodians checks the quorum"}
}

// verifyToken runs the PKCS#11 checks in a child process of this binary.
func (a *app) verifyToken(cmd *cobra.Command, f *verifyFlags, reader, serial string, pin []byte, triesLeft int) (*pkcs11bridge.Report, error) {
	module, err := pkcs11bridge.FindModule(f.module)
	if err != nil {
		return nil, withExit(exitUsage, fmt.Errorf("finding the PKCS#11 module: %w", err))
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this program to run the PKCS#11 checks: %w", err)
	}
	if !a.jsonOut {
		fmt.Fprintf(a.stderr, "… verifying through %s\n", module)
	}

	req := pkcs11bridge.Request{
		ModulePath:       module,
		Reader:           reader,
		Serial:           serial,
		PIN:              pin,
		UserPINTriesLeft: triesLeft,
		Force:            f.forceLast,
	}
	report, err := pkcs11bridge.VerifyInChild(commandContext(cmd), exe, []string{childCommand}, req)
	if err != nil {
		return nil, withExit(exitVerifyFailed, fmt.Errorf("PKCS#11 verification: %w", err))
	}
	if !report.Passed() {
		return &report, withExit(exitVerifyFailed, fmt.Errorf("PKCS#11 verification failed: %s", firstFailure(report)))
	}
	return &report, nil
}

func firstFailure(r pkcs11bridge.Report) string {
	for _, c := range r.Checks {
		if !c.Passed {
			return c.Name + ": " + c.Reason
		}
	}
	return "no check passed"
}

func (a *app) childCommand() *cobra.Command {
	return &cobra.Command{
		Use:    childCommand,
		Short:  "Run PKCS#11 checks for a parent sc-hsm-init process (request on standard input)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			a.reported = true // the parent reads only JSON from standard output
			if err := pkcs11bridge.ServeChild(os.Stdin, os.Stdout); err != nil {
				fmt.Fprintf(a.stderr, "sc-hsm-init %s: %v\n", childCommand, err)
				return err
			}
			return nil
		},
	}
}
