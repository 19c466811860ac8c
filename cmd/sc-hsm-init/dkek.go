package main

import (
	"crypto/rand"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
)

func (a *app) dkekCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dkek",
		Short: "Create DKEK share files compatible with sc-hsm-tool",
	}
	cmd.AddCommand(a.dkekCreateCommand())
	return cmd
}

// dkekCreateOutput is the result document of dkek create.
type dkekCreateOutput struct {
	OK     bool   `json:"ok"`
	File   string `json:"file"`
	Source string `json:"random_source"`
	KCV    string `json:"kcv"`
}

func (a *app) dkekCreateCommand() *cobra.Command {
	var pwSpec string
	var noToken bool
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
this share alone.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			password, err := a.secrets.read(secretSpec{flag: "password", value: pwSpec, given: cmd.Flags().Changed("password")}, "share password", true)
			if err != nil {
				return withExit(exitUsage, err)
			}
			defer clear(password)
			if len(password) < 6 {
				return withExit(exitUsage, fmt.Errorf("--password: the share password has %d characters; use at least 6 (sc-hsm-tool requires 6 too)", len(password)))
			}

			var share [dkek.ShareSize]byte
			var salt [dkek.SaltSize]byte
			if _, err := rand.Read(share[:]); err != nil {
				return fmt.Errorf("reading random bytes: %w", err)
			}
			if _, err := rand.Read(salt[:]); err != nil {
				return fmt.Errorf("reading random bytes: %w", err)
			}
			defer clear(share[:])

			source := "operating system"
			if !noToken {
				if cardBytes, reader, err := a.tokenRandom(dkek.ShareSize); err == nil {
					for i := range share {
						share[i] ^= cardBytes[i]
					}
					source = "operating system XOR token in " + reader
				} else if !a.jsonOut {
					fmt.Fprintf(a.stderr, "note: no token used for randomness (%v); using the operating system's random source alone\n", err)
				}
			}

			if !a.jsonOut {
				fmt.Fprintln(a.stderr, "… encrypting the share (10,000,000 rounds of MD5 take a few seconds)")
			}
			file, err := dkek.Encrypt(share, password, salt)
			if err != nil {
				return fmt.Errorf("encrypting the share: %w", err)
			}
			if err := dkek.WriteFile(path, file); err != nil {
				return withExit(exitUsage, fmt.Errorf("writing DKEK share file: %w", err))
			}

			kcv := dkek.KCV(share)
			out := dkekCreateOutput{OK: true, File: path, Source: source, KCV: fmt.Sprintf("%X", kcv[:])}
			if a.jsonOut {
				a.writeJSON(a.stdout, out)
				return nil
			}
			fmt.Fprintf(a.stdout, "DKEK share written to %s (mode 0600)\nRandom source:  %s\nKey check value of this share: %s\n", out.File, out.Source, out.KCV)
			return nil
		},
	}
	cmd.Flags().StringVar(&pwSpec, "password", "", "share password source: env:NAME, file:PATH or prompt (at least 6 characters)")
	cmd.Flags().BoolVar(&noToken, "no-token", false, "use only the operating system's random source, even when a token is present")
	return cmd
}

// tokenRandom returns n bytes from the token's GET CHALLENGE.
func (a *app) tokenRandom(n int) ([]byte, string, error) {
	sess, err := a.openSession()
	if err != nil {
		return nil, "", err
	}
	defer sess.close()
	if _, err := sess.card.SelectApplet(); err != nil {
		return nil, "", err
	}
	b, err := sess.card.GetChallenge(n)
	if err != nil {
		return nil, "", err
	}
	if len(b) != n {
		return nil, "", fmt.Errorf("GET CHALLENGE returned %d bytes, expected %d", len(b), n)
	}
	return b, sess.reader, nil
}
