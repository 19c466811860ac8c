package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sc-hsm-init/sc-hsm-init/pkcs11bridge/softhsmtest"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/pkakey"
)

const softHSMModule = softhsmtest.Module

// Throwaway PINs of the temporary SoftHSM custodian token. The user PIN
// reaches the binary through envSoftHSMPIN.
const (
	softHSMUserPIN = "57X913"
	envSoftHSMPIN  = "SCHSM_TEST_SOFTHSM_PIN"
)

// newSoftHSMCustodian creates a SoftHSM2 token "custodian-token" with an
// EC P-256 key labelled "custodian" in a temporary folder, and returns the
// DER file of its public key. SOFTHSM2_CONF is set for the test, so the
// binary's PKCS#11 calls find the token.
func newSoftHSMCustodian(t *testing.T) string {
	t.Helper()
	pub := softhsmtest.NewToken(t, softHSMUserPIN)
	t.Setenv(envSoftHSMPIN, softHSMUserPIN)
	return pub
}

// TestPKAPKCS11Custodian wraps a key of a SoftHSM2 token into a rehearsal
// registration file, registers it in init and authenticates with it through
// PKCS#11, in init and in pka authenticate.
func TestPKAPKCS11Custodian(t *testing.T) {
	pub := newSoftHSMCustodian(t)
	dir := t.TempDir()
	key := "module=" + softHSMModule + ",token-label=custodian-token,key-label=custodian,pin=env:" + envSoftHSMPIN

	doc, r := runPKA(t, "pka", "rehearsal-custodian", "softhsm", "--dir", dir, "--pkcs11-key", key, "--public-key", pub)
	if r.code != exitOK || len(doc.Files) != 1 {
		t.Fatalf("pka rehearsal-custodian --pkcs11-key exited %d\n%s", r.code, r.output())
	}
	regPath := filepath.Join(dir, "softhsm"+pkakey.RegistrationFileSuffix)
	if doc.Files[0] != regPath {
		t.Errorf("wrote %v, want %s", doc.Files, regPath)
	}
	if _, err := os.Stat(filepath.Join(dir, "softhsm"+pkakey.KeyFileSuffix)); err == nil {
		t.Error("a key file was written for a key that stays on the PKCS#11 token")
	}

	custodian := key + ",registration=" + regPath
	init, r := runPKAInit(t, "init", "--force", "--so-pin", "env:"+envSOPIN, "--public-key-auth", "1", "--required-pub-keys", "1",
		"--register-public-key", regPath, "--pkcs11-key", custodian)
	if r.code != exitOK {
		t.Fatalf("init with a PKCS#11 custodian exited %d\n%s", r.code, r.output())
	}
	if init.Provisioning.PKA == nil || !init.Provisioning.PKA.QuorumReached {
		t.Errorf("init did not reach the quorum with the PKCS#11 custodian: %+v", init.Provisioning.PKA)
	}

	auth, r := runPKA(t, "pka", "authenticate", "--pkcs11-key", custodian)
	if r.code != exitOK || auth.QuorumReached == nil || !*auth.QuorumReached {
		t.Fatalf("pka authenticate --pkcs11-key exited %d\n%s", r.code, r.output())
	}
	if strings.Contains(r.output(), softHSMUserPIN) {
		t.Error("the output contains the custodian token's PIN")
	}

	// A registration file of another key is caught before the target
	// token is touched.
	other := newCustodians(t, "zoe")[0]
	m := card.mark()
	_, r = runPKA(t, "pka", "authenticate", "--pkcs11-key", key+",registration="+other.regPath)
	if r.code != exitUsage || !strings.Contains(r.stdout, "is not the key") {
		t.Errorf("a mismatched registration exited %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	if sent := card.since(m); len(sent) != 0 {
		t.Errorf("a mismatched registration sent %d APDUs, want none", len(sent))
	}
}
