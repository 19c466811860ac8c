package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/wizard"
)

// wizardConfig answers the wizard's questions through the scripted
// prompter with non-default settings and saves the answers as a config.
func wizardConfig(t *testing.T) (wizard.Answers, string) {
	t.Helper()
	steps := []wizard.Step{
		{Name: wizard.QPINChoice}, {Name: wizard.QPIN, Answer: testPIN7}, {Name: wizard.QPINAgain, Answer: testPIN7},
		{Name: wizard.QSOPIN, Answer: testSOPINChars}, {Name: wizard.QSOPINAgain, Answer: testSOPINHex},
		{Name: wizard.QRetries, Answer: "5"},
		{Name: wizard.QDKEK, Answer: wizard.OptRandomDKEK},
		{Name: wizard.QPKATotal},
		{Name: wizard.QRRC}, {Name: wizard.QRRCCounterOnly, Answer: "yes"},
		{Name: wizard.QTransportPIN},
		{Name: wizard.QLabel, Answer: "Replayed"},
	}
	tok := wizard.TokenInfo{Reader: "Virtual PCD 00 00", Status: schsm.DeviceStatus{Initialized: true,
		Info: schsm.DeviceInfo{Family: schsm.FamilySmartCardHSM}}}
	ans, err := wizard.Ask(&wizard.Script{Steps: steps}, []wizard.TokenInfo{tok}, schsm.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := wizard.WriteConfig(path, wizard.ConfigFromAnswers(ans, nil)); err != nil {
		t.Fatal(err)
	}
	return ans, path
}

func TestInitConfigReplaysWizardAnswers(t *testing.T) {
	ans, path := wizardConfig(t)
	waitCard(t)
	data, _ := os.ReadFile(path)
	for _, secret := range []string{testPIN7, testSOPINHex, testSOPINChars} {
		if strings.Contains(string(data), secret) {
			t.Fatalf("config file contains a secret:\n%s", data)
		}
	}

	r := run(t, "init", "--config", path, "--force", "--so-pin", "env:"+envSOPIN, "--pin", "env:"+envPIN7)
	if r.code != exitOK {
		t.Fatalf("init --config exited %d\n%s", r.code, r.output())
	}

	st := run(t, "status")
	s := ans.Settings
	want := map[string]string{
		"Options:":  "0021 (reset retry counter, reset retry counter resets the counter only)",
		"User PIN:": "5 tries left",
	}
	if s.Retries != 5 || !s.RRCResetsCounterOnly || s.DKEKShares != 0 {
		t.Fatalf("the scripted answers are not the intended ones: %+v", s)
	}
	for prefix, v := range want {
		if got, _ := lineValue(st.stdout, prefix); got != v {
			t.Errorf("status %s %q, want %q\n%s", prefix, got, v, st.stdout)
		}
	}
	if got, _ := lineValue(st.stdout, "DKEK:"); !strings.Contains(got, "key check value") {
		t.Errorf("status DKEK %q, want a random DKEK with a key check value", got)
	}
	login := runTool(t, "pkcs11-tool", "--module", pkcs11Module, "--login", "--pin", testPIN7, "--list-token-slots")
	if !strings.Contains(login.stdout, "Replayed") {
		t.Errorf("pkcs11-tool does not show the label from the config:\n%s", login.output())
	}
}

func TestInitConfigFlagsOverride(t *testing.T) {
	_, path := wizardConfig(t)
	waitCard(t)
	r := run(t, "init", "--config", path, "--force", "--pin-retry", "2", "--no-pin-reset=false", "--so-pin", "env:"+envSOPIN, "--pin", "env:"+envPIN7)
	if r.code != exitOK {
		t.Fatalf("init --config exited %d\n%s", r.code, r.output())
	}
	st := run(t, "status")
	if got, _ := lineValue(st.stdout, "User PIN:"); got != "2 tries left" {
		t.Errorf("User PIN %q, want 2 tries left from --pin-retry", got)
	}
	if got, _ := lineValue(st.stdout, "Options:"); got != "0001 (reset retry counter)" {
		t.Errorf("Options %q, want 0001 from --no-pin-reset=false", got)
	}
}

func TestInitConfigRejectsSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(`{"version":1,"retries":3,"dkek_shares":-1,"pin":"`+testPIN+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	before := card.mark()
	r := run(t, "init", "--config", path, "--force", "--so-pin", "env:"+envSOPIN, "--pin", "env:"+envPIN)
	if r.code != exitUsage {
		t.Errorf("exit code = %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	if !strings.Contains(r.stderr, "never hold secrets") || strings.Contains(r.output(), testPIN) {
		t.Errorf("message does not reject the secret, or repeats it:\n%s", r.output())
	}
	if sent := card.since(before); len(sent) != 0 {
		t.Errorf("%d APDUs sent for a rejected config", len(sent))
	}
}
