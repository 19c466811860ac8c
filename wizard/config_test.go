package wizard

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

func TestConfigRoundTrip(t *testing.T) {
	high := byte(0x01)
	ans := Answers{
		Settings: schsm.Settings{UserPIN: schsm.SecretFromString(testPIN), Retries: 5, DKEKShares: 2, KeyDomains: 2,
			PKATotal: 3, PKARequired: 2, ResetRetryCounter: true, RRCResetsCounterOnly: true, TransportPIN: true,
			PKAReplaceable: true, CombinedPINAndPKA: true, OptionsHigh: &high, Label: "Vault 1"},
		NewPIN:          schsm.SecretFromString(testNewPIN),
		KeyDomainShares: []int{2, 1},
	}
	sopin, _ := schsm.ParseSOPIN(testSOPINHex)
	ans.Settings.SOPIN = &sopin

	path := filepath.Join(t.TempDir(), "config.json")
	c := ConfigFromAnswers(ans, []string{"a.pbe", "b.pbe", "1:c.pbe"})
	if err := WriteConfig(path, c); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode = %04o, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	for _, secret := range []string{testPIN, testNewPIN, testSOPINHex, testSOPINStr, schsm.Redacted} {
		if strings.Contains(string(data), secret) {
			t.Errorf("config file contains a secret or its placeholder:\n%s", data)
		}
	}

	back, err := ReadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("read back %+v, want %+v", back, c)
	}
	got := back.Settings()
	want := ans.Settings
	want.UserPIN, want.SOPIN = schsm.Secret{}, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settings = %+v, want %+v", got, want)
	}
}

func TestReadConfigRejects(t *testing.T) {
	tests := []struct {
		name, json, want string
	}{
		{"secret", `{"version":1,"retries":3,"dkek_shares":-1,"pin":"48Q291"}`, "never hold secrets"},
		{"SO-PIN", `{"version":1,"retries":3,"dkek_shares":-1,"so_pin":"x"}`, "never hold secrets"},
		{"unknown field", `{"version":1,"retries":3,"dkek_shares":-1,"retry":3}`, `unknown field "retry"`},
		{"version", `{"version":2,"retries":3,"dkek_shares":-1}`, "has version 2"},
		{"retries", `{"version":1,"retries":11,"dkek_shares":-1}`, "the retry counter is 11"},
		{"DKEK", `{"version":1,"retries":3,"dkek_shares":11}`, "11 DKEK shares is out of range"},
		{"PKA", `{"version":1,"retries":3,"dkek_shares":-1,"pka_total":2,"pka_required":3}`, "3 required keys of 2"},
		{"key domain shares", `{"version":1,"retries":3,"dkek_shares":1,"key_domains":1,"key_domain_shares":[1,1]}`, "2 key domain share counts for 1"},
		{"label", `{"version":1,"retries":3,"dkek_shares":-1,"label":"` + strings.Repeat("x", 33) + `"}`, "the label has 33 bytes"},
		{"not JSON", `retries: 3`, "is not a JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.json")
			if err := os.WriteFile(path, []byte(tc.json), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := ReadConfig(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
			if tc.name == "secret" && (!errors.Is(err, ErrSecretInConfig) || strings.Contains(err.Error(), "48Q291")) {
				t.Errorf("error = %v, want ErrSecretInConfig without the value", err)
			}
		})
	}
}
