package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) dkekCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dkek",
		Short: "Create, check and import DKEK share files compatible with sc-hsm-tool; manage key domains",
	}
	cmd.AddCommand(a.dkekCreateCommand(), a.dkekImportCommand(), a.dkekStatusCommand(), a.dkekKCVCommand(), a.dkekDomainCommand())
	return cmd
}

// tokenRandom returns n bytes from the token's GET CHALLENGE.
func (a *app) tokenRandom(n int) ([]byte, string, error) {
	sess, err := a.openSession(shareShared)
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
