package pkakey_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/sc-hsm-init/sc-hsm-init/pkcs11bridge"
	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/pkakey"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/teststack"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/virtualcard"
)

// The signers of key files and of PKCS#11 tokens both serve public key
// authentication.
var (
	_ schsm.Signer = (*pkakey.KeySigner)(nil)
	_ schsm.Signer = (*pkakey.Custodian)(nil)
	_ schsm.Signer = (*pkcs11bridge.Signer)(nil)
)

// TestSCHSMToolRegistersRehearsalFiles checks that OpenSC's sc-hsm-tool
// reads our registration files and that the virtual card serves its
// registration and status commands, through pcscd and vsmartcard-vpcd.
func TestSCHSMToolRegistersRehearsalFiles(t *testing.T) {
	card, err := virtualcard.New(virtualcard.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Initialize in-process, so no PIN appears on a command line:
	// options 0001, user PIN 648219, SO-PIN 3537363231383830, PKA 3 of 2.
	for _, apdu := range []string{
		"00A404000BE82B0601040181C31F020100",
		"805000001D80020001810636343832313982083537363231383830910103 93020302",
	} {
		raw, err := hex.DecodeString(strings.ReplaceAll(apdu, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := schsm.ParseResponse(card.Transmit(raw))
		if err != nil || resp.SW != schsm.SWOK {
			t.Fatalf("setting up the card: %v, SW %04X", err, resp.SW)
		}
	}

	stack := teststack.Start(t, teststack.WithCard(card))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := stack.WaitCardPresent(ctx); err != nil {
		t.Fatalf("waiting for the card: %v", err)
	}

	dir := t.TempDir()
	for i, name := range []string{"alice", "bob", "carol"} {
		cust, err := pkakey.NewRehearsalCustodian(name)
		if err != nil {
			t.Fatal(err)
		}
		_, regPath, err := cust.WriteFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		stdout, stderr, err := stack.Run(t, "sc-hsm-tool", "--register-public-key", regPath)
		if err != nil {
			t.Fatalf("sc-hsm-tool --register-public-key %s: %v\n%s%s", name, err, stdout, stderr)
		}
		wantMissing := []string{"2", "1", "0"}[i]
		if !hasField(stdout, "Missing public keys", wantMissing) {
			t.Fatalf("after registering %s the output does not show %s missing keys:\n%s", name, wantMissing, stdout)
		}
	}

	stdout, stderr, err := stack.Run(t, "sc-hsm-tool", "--public-key-auth-status")
	if err != nil {
		t.Fatalf("sc-hsm-tool --public-key-auth-status: %v\n%s%s", err, stdout, stderr)
	}
	for field, want := range map[string]string{
		"Number of public keys":     "3",
		"Missing public keys":       "0",
		"Required pubkeys for auth": "2",
		"Authenticated public keys": "0",
	} {
		if !hasField(stdout, field, want) {
			t.Errorf("status output lacks %q = %s:\n%s", field, want, stdout)
		}
	}
}

// hasField reports whether a line "name: value" appears in out.
func hasField(out, name, value string) bool {
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == name && strings.TrimSpace(v) == value {
			return true
		}
	}
	return false
}
