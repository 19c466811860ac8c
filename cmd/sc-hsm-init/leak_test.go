package main

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// secretForm is one spelling of a test secret to look for in output. The
// name is what a failure message shows; the secret itself is never shown.
type secretForm struct {
	name  string
	value string
}

// secretForms returns every spelling of the secrets that output must not
// contain: as typed, in hex (upper and lower case, with and without spaces
// between bytes).
func secretForms(shares map[string][32]byte) []secretForm {
	forms := []secretForm{
		{"PIN", testPIN},
		{"SO-PIN in hex", testSOPINHex},
		{"SO-PIN in lowercase hex", strings.ToLower(testSOPINHex)},
		{"SO-PIN as 8 characters", testSOPINChars},
		{"share password", testSharePassword},
		{"7-character PIN", testPIN7},
		{"new SO-PIN in hex", newSOPINHex},
		{"new SO-PIN in lowercase hex", strings.ToLower(newSOPINHex)},
	}
	forms = append(forms, hexForms("PIN", []byte(testPIN))...)
	forms = append(forms, hexForms("7-character PIN", []byte(testPIN7))...)
	newSOPIN, err := hex.DecodeString(newSOPINHex)
	if err != nil {
		panic(err)
	}
	forms = append(forms, hexForms("new SO-PIN", newSOPIN)...)
	sopin, err := hex.DecodeString(testSOPINHex)
	if err != nil {
		panic(err)
	}
	forms = append(forms, hexForms("SO-PIN", sopin)...)
	forms = append(forms, hexForms("share password", []byte(testSharePassword))...)
	for name, share := range shares {
		forms = append(forms, hexForms(name, share[:])...)
	}
	return forms
}

// hexForms returns b in hex in the four spellings a trace might use.
func hexForms(name string, b []byte) []secretForm {
	plain := hex.EncodeToString(b)
	spaced := fmt.Sprintf("% x", b)
	return []secretForm{
		{name + " bytes in lowercase hex", plain},
		{name + " bytes in uppercase hex", strings.ToUpper(plain)},
		{name + " bytes in lowercase spaced hex", spaced},
		{name + " bytes in uppercase spaced hex", strings.ToUpper(spaced)},
	}
}

// TestNoSecretLeaks runs every command with --verbose and with --json and
// checks that no output contains a secret in any spelling.
func TestNoSecretLeaks(t *testing.T) {
	own, _ := shares(t)
	mustInit(t)

	shareArgs := []string{"--dkek-shares", "1", "--dkek-share", own.path, "--password", "env:" + envPassword}
	dir := t.TempDir()
	newShares := map[string]string{
		"dkek create --verbose": filepath.Join(dir, "verbose.pbe"),
		"dkek create --json":    filepath.Join(dir, "json.pbe"),
	}

	type invocation struct {
		name string
		args []string
	}
	var runs []invocation
	for _, mode := range []string{"--verbose", "--json"} {
		runs = append(runs,
			invocation{"init with share " + mode, append([]string{"init", "--force", mode}, append(shareArgs, secretArgs...)...)},
			invocation{"init --dry-run " + mode, append([]string{"init", "--dry-run", mode}, append(shareArgs, secretArgs...)...)},
			invocation{"status " + mode, []string{"status", mode}},
			invocation{"verify " + mode, []string{"verify", mode, "--pin", "env:" + envPIN}},
			invocation{"dkek create " + mode, []string{"dkek", "create", newShares["dkek create "+mode], mode, "--password", "env:" + envPassword}},
			invocation{"pin status " + mode, []string{"pin", "status", mode}},
			invocation{"pin change " + mode, []string{"pin", "change", mode, "--pin", "env:" + envPIN, "--new-pin", "env:" + envPIN7}},
			invocation{"pin change back " + mode, []string{"pin", "change", mode, "--pin", "env:" + envPIN7, "--new-pin", "env:" + envPIN}},
			invocation{"wrong pin change " + mode, []string{"pin", "change", mode, "--pin", "env:" + envWrongPIN, "--new-pin", "env:" + envPIN7}},
			invocation{"pin unblock " + mode, []string{"pin", "unblock", mode, "--so-pin", "env:" + envSOPIN, "--new-pin", "env:" + envPIN}},
			invocation{"so-pin change " + mode, []string{"so-pin", "change", mode, "--so-pin", "env:" + envSOPIN, "--new-so-pin", "env:" + envNewSO}},
			invocation{"so-pin change back " + mode, []string{"so-pin", "change", mode, "--so-pin", "env:" + envNewSO, "--new-so-pin", "env:" + envSOPIN}},
			invocation{"failing init " + mode, append([]string{"init", mode}, secretArgs...)},
			invocation{"dkek status " + mode, []string{"dkek", "status", "--all", mode}},
			invocation{"dkek domain status " + mode, []string{"dkek", "domain", "status", mode}},
		)
	}
	runs = append(runs,
		invocation{"dkek kcv --json", []string{"dkek", "kcv", own.path, "--json", "--password", "env:" + envPassword}},
		invocation{"dkek import --verbose", []string{"dkek", "import", own.path, "--verbose", "--password", "env:" + envPassword, "--pin", "env:" + envPIN}},
	)
	runs = append(runs, invocation{"init --dry-run", append([]string{"init", "--dry-run"}, append(shareArgs, secretArgs...)...)})

	outputs := map[string]result{}
	for _, inv := range runs {
		outputs[inv.name] = run(t, inv.args...)
	}

	for _, name := range []string{"init with share --verbose", "init with share --json", "status --verbose", "verify --verbose",
		"pin status --verbose", "pin change --verbose", "pin change back --verbose", "pin unblock --verbose",
		"so-pin change --verbose", "so-pin change back --verbose", "pin change --json", "pin unblock --json", "so-pin change back --json"} {
		if got := outputs[name].code; got != exitOK {
			t.Errorf("%s exited %d, want 0\n%s", name, got, outputs[name].output())
		}
	}
	for _, name := range []string{"failing init --verbose", "failing init --json"} {
		if got := outputs[name].code; got != exitAlreadyInitialized {
			t.Errorf("%s exited %d, want %d\n%s", name, got, exitAlreadyInitialized, outputs[name].output())
		}
	}

	// The shares that dkek create wrote are secrets too; decrypting them
	// costs a key derivation each, so both run at once.
	secrets := map[string][32]byte{"imported share": own.share}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, path := range newShares {
		if outputs[name].code != exitOK {
			t.Errorf("%s exited %d, want 0\n%s", name, outputs[name].code, outputs[name].output())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			share, err := decryptShare(path)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("decrypting the share of %s: %v", name, err)
				return
			}
			secrets["share of "+name] = share
		}()
	}
	wg.Wait()

	forms := secretForms(secrets)
	for name, out := range outputs {
		for _, f := range forms {
			if strings.Contains(out.stdout, f.value) {
				t.Errorf("standard output of %s contains the %s", name, f.name)
			}
			if strings.Contains(out.stderr, f.value) {
				t.Errorf("standard error of %s contains the %s", name, f.name)
			}
		}
	}

	trace := outputs["init with share --verbose"].stderr
	for _, want := range []string{
		"msg=apdu",
		`command="00 20 00 81 06 ** ** ** ** ** **"`,
		"81 06 ** ** ** ** ** ** 82 08 ** ** ** ** ** ** ** **",
		`command="80 52 00 00 20 ** `,
	} {
		if !strings.Contains(trace, want) {
			t.Errorf("verbose trace of init lacks %q", want)
		}
	}

	pinTraces := map[string]string{
		"pin change --verbose":    `command="00 24 00 81 0D ** `,
		"pin unblock --verbose":   `command="00 2C 00 81 0E ** `,
		"so-pin change --verbose": `command="00 24 00 88 10 ** `,
	}
	for name, want := range pinTraces {
		if !strings.Contains(outputs[name].stderr, want) {
			t.Errorf("verbose trace of %s lacks %q", name, want)
		}
	}
}
