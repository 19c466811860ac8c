package teststack

import (
	"log/slog"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/virtualcard"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/vpcd"
)

// newDefaultCard creates the card a stack serves when no WithCard option is
// given: a new virtual SmartCard-HSM without a state file, logging next to
// the vpcd link.
func newDefaultCard(logger *slog.Logger) (vpcd.Card, error) {
	return virtualcard.New(virtualcard.Options{Logger: logger})
}
