package wizard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// ConfigVersion is the version of the config file format that WriteConfig
// writes and ReadConfig accepts.
const ConfigVersion = 1

// Config is the non-secret part of the answers, saved as a JSON file that
// "sc-hsm-init init --config FILE" replays. It never holds a PIN, an SO-PIN
// or a share password: init reads those from its secret flags.
type Config struct {
	Version              int      `json:"version"`
	Retries              int      `json:"retries"`
	DKEKShares           int      `json:"dkek_shares"` // schsm.NoDKEK (-1), 0 for a random DKEK, or 1 to 10
	KeyDomains           int      `json:"key_domains,omitempty"`
	KeyDomainShares      []int    `json:"key_domain_shares,omitempty"` // DKEK share count of key domain 0, 1, ...
	PKATotal             int      `json:"pka_total,omitempty"`
	PKARequired          int      `json:"pka_required,omitempty"`
	ResetRetryCounter    bool     `json:"reset_retry_counter"`
	RRCResetsCounterOnly bool     `json:"rrc_counter_only,omitempty"`
	TransportPIN         bool     `json:"transport_pin,omitempty"`
	PKAReplaceable       bool     `json:"pka_replaceable,omitempty"`
	CombinedPINAndPKA    bool     `json:"combined_pin_pka,omitempty"`
	OptionsHigh          *byte    `json:"pico_options,omitempty"`
	Label                string   `json:"label,omitempty"`
	ShareFiles           []string `json:"dkek_share_files,omitempty"` // "D:FILE" names a file of key domain D
}

// ConfigFromAnswers returns the config that replays a. shareFiles are the
// DKEK share files of the ceremony, as init --dkek-share takes them.
func ConfigFromAnswers(a Answers, shareFiles []string) Config {
	s := a.Settings
	return Config{
		Version:              ConfigVersion,
		Retries:              s.Retries,
		DKEKShares:           s.DKEKShares,
		KeyDomains:           s.KeyDomains,
		KeyDomainShares:      slices.Clone(a.KeyDomainShares),
		PKATotal:             s.PKATotal,
		PKARequired:          s.PKARequired,
		ResetRetryCounter:    s.ResetRetryCounter,
		RRCResetsCounterOnly: s.RRCResetsCounterOnly,
		TransportPIN:         s.TransportPIN,
		PKAReplaceable:       s.PKAReplaceable,
		CombinedPINAndPKA:    s.CombinedPINAndPKA,
		OptionsHigh:          s.OptionsHigh,
		Label:                s.Label,
		ShareFiles:           slices.Clone(shareFiles),
	}
}

// Settings returns schsm.DefaultSettings with every value of the config.
// The secrets stay unset.
func (c Config) Settings() schsm.Settings {
	s := schsm.DefaultSettings()
	s.Retries = c.Retries
	s.DKEKShares = c.DKEKShares
	s.KeyDomains = c.KeyDomains
	s.PKATotal = c.PKATotal
	s.PKARequired = c.PKARequired
	s.ResetRetryCounter = c.ResetRetryCounter
	s.RRCResetsCounterOnly = c.RRCResetsCounterOnly
	s.TransportPIN = c.TransportPIN
	s.PKAReplaceable = c.PKAReplaceable
	s.CombinedPINAndPKA = c.CombinedPINAndPKA
	s.OptionsHigh = c.OptionsHigh
	s.Label = c.Label
	return s
}

// secretKeys are JSON names that a config file must not contain, because
// they would be secrets.
var secretKeys = []string{"pin", "so_pin", "new_pin", "password", "user_pin"}

// ErrSecretInConfig is returned by ReadConfig for a file with a secret.
var ErrSecretInConfig = errors.New("config files never hold secrets")

// ReadConfig reads and checks a config file. Unknown fields, a secret, a
// version other than ConfigVersion and values that schsm rejects are
// errors, so a typo cannot silently fall back to a default.
func ReadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading config file: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return Config{}, fmt.Errorf("config file %s is not a JSON object: %w", path, err)
	}
	for _, k := range secretKeys {
		if _, found := fields[k]; found {
			return Config{}, fmt.Errorf("config file %s: %w; remove %q and give the secret with its flag (env:NAME, file:PATH or prompt)",
				path, ErrSecretInConfig, k)
		}
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("config file %s: %w", path, err)
	}
	if c.Version != ConfigVersion {
		return Config{}, fmt.Errorf("config file %s has version %d; this sc-hsm-init reads version %d", path, c.Version, ConfigVersion)
	}
	if err := c.check(); err != nil {
		return Config{}, fmt.Errorf("config file %s: %w", path, err)
	}
	return c, nil
}

// check validates the values that do not depend on the secrets.
func (c Config) check() error {
	if err := schsm.ValidateRetries(0, c.Retries); err != nil {
		return err
	}
	if err := schsm.ValidateDKEKShares(c.DKEKShares); err != nil {
		return err
	}
	if err := schsm.ValidateKeyDomains(c.KeyDomains); err != nil {
		return err
	}
	if len(c.KeyDomainShares) > c.KeyDomains {
		return fmt.Errorf("%d key domain share counts for %d key domains; give at most one per domain", len(c.KeyDomainShares), c.KeyDomains)
	}
	if c.PKATotal != 0 || c.PKARequired != 0 {
		if err := schsm.ValidatePKA(c.PKATotal, c.PKARequired); err != nil {
			return err
		}
	}
	if c.OptionsHigh != nil {
		if err := schsm.ValidateOptionsHigh(*c.OptionsHigh); err != nil {
			return err
		}
	}
	return schsm.ValidateLabel(c.Label)
}

// WriteConfig writes c to path as indented JSON with mode 0600, replacing
// an existing file.
func WriteConfig(path string, c Config) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding config: %w", err)
	}
	return writePrivateFile(path, append(data, '\n'))
}

// writePrivateFile writes data to path with mode 0600, also when the file
// existed with a wider mode.
func writePrivateFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteJSONFile writes v to path as indented JSON with mode 0600, for the
// ceremony record.
func WriteJSONFile(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return writePrivateFile(path, append(data, '\n'))
}
