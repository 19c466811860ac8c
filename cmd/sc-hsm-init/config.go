package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/wizard"
)

// applyConfigFile reads init --config and sets every init flag that the
// command line did not set to the config's value, as if it had been given.
// The rest of init then runs as with flags alone, so a config and the
// equivalent flags give the same settings. Secrets never come from a config.
func applyConfigFile(cmd *cobra.Command, f *initFlags) error {
	if f.config == "" {
		return nil
	}
	c, err := wizard.ReadConfig(f.config)
	if err != nil {
		return withExit(exitUsage, fmt.Errorf("--config: %w", err))
	}

	fl := cmd.Flags()
	var setErr error
	set := func(value string, names ...string) {
		for _, n := range names {
			if fl.Changed(n) {
				return // the command line overrides the config
			}
		}
		if err := fl.Set(names[0], value); err != nil && setErr == nil {
			setErr = withExit(exitUsage, fmt.Errorf("--config %s: value %q for --%s: %w", f.config, value, names[0], err))
		}
	}

	set(strconv.Itoa(c.Retries), "pin-retry")
	if c.DKEKShares != schsm.NoDKEK {
		set(strconv.Itoa(c.DKEKShares), "dkek-shares")
	}
	if c.KeyDomains > 0 {
		set(strconv.Itoa(c.KeyDomains), "key-domains", "key-domain")
	}
	if len(c.KeyDomainShares) > 0 {
		counts := make([]string, len(c.KeyDomainShares))
		for i, n := range c.KeyDomainShares {
			counts[i] = strconv.Itoa(n)
		}
		set(strings.Join(counts, ","), "key-domain-shares")
	}
	if c.PKATotal > 0 {
		set(strconv.Itoa(c.PKATotal), "public-key-auth")
		set(strconv.Itoa(c.PKARequired), "required-pub-keys")
	}
	set(strconv.FormatBool(!c.ResetRetryCounter), "no-rrc")
	set(strconv.FormatBool(c.RRCResetsCounterOnly), "no-pin-reset")
	set(strconv.FormatBool(c.TransportPIN), "transport-pin")
	set(strconv.FormatBool(c.PKAReplaceable), "replace-key-allowed")
	set(strconv.FormatBool(c.CombinedPINAndPKA), "require-pka-and-pin")
	if c.OptionsHigh != nil {
		set(fmt.Sprintf("%02X", *c.OptionsHigh), "pico-options")
	}
	if c.Label != "" {
		set(c.Label, "label")
	}
	if !fl.Changed("dkek-share") {
		for _, file := range c.ShareFiles {
			if err := fl.Set("dkek-share", file); err != nil && setErr == nil {
				setErr = withExit(exitUsage, fmt.Errorf("--config %s: share file %s: %w", f.config, file, err))
			}
		}
	}
	return setErr
}
