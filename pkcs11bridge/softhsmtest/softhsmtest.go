// Package softhsmtest creates throwaway SoftHSM2 tokens for tests that need
// a PKCS#11 key outside the SmartCard-HSM, such as a custodian key.
package softhsmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Module is the PKCS#11 module of Debian's softhsm2 package.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// Labels of the token and key that NewToken creates. The key has ID 01.
const (
	TokenLabel = "custodian-token"
	KeyLabel   = "custodian"
)

// soPIN is the throwaway SO-PIN of the token.
const soPIN = "12345678"

// NewToken creates a SoftHSM2 token with user PIN userPIN and an EC P-256
// key in a temporary folder, and returns the path of the key's public key
// as DER SubjectPublicKeyInfo. It sets SOFTHSM2_CONF for the test, so the
// test and the processes it starts find the token. It skips the test when
// SoftHSM2, softhsm2-util or pkcs11-tool is missing.
func NewToken(t *testing.T, userPIN string) string {
	t.Helper()
	if _, err := os.Stat(Module); err != nil {
		t.Skipf("SoftHSM2 is not installed (apt-get install softhsm2): %v", err)
	}
	for _, tool := range []string{"softhsm2-util", "pkcs11-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is missing: %v", tool, err)
		}
	}

	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)

	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	run("softhsm2-util", "--init-token", "--free", "--label", TokenLabel, "--so-pin", soPIN, "--pin", userPIN)
	run("pkcs11-tool", "--module", Module, "--token-label", TokenLabel, "--login", "--pin", userPIN,
		"--keypairgen", "--key-type", "EC:prime256v1", "--label", KeyLabel, "--id", "01")
	pub := filepath.Join(dir, "custodian.pub.der")
	run("pkcs11-tool", "--module", Module, "--token-label", TokenLabel,
		"--read-object", "--type", "pubkey", "--id", "01", "--output-file", pub)
	return pub
}
