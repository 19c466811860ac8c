package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyShareFile copies a share file under a new name in a test folder.
func copyShareFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "copy-"+filepath.Base(path))
	if err := os.WriteFile(copyPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return copyPath
}

// assertNoPINPresented fails when a VERIFY with data (a PIN) reached the
// card since mark; an empty VERIFY (5 bytes) only queries the tries.
func assertNoPINPresented(t *testing.T, mark int) {
	t.Helper()
	for _, apdu := range card.since(mark) {
		if apdu.INS == 0x20 && apdu.Len > 5 {
			t.Errorf("a PIN was presented (VERIFY of %d bytes)", apdu.Len)
		}
	}
}

// assertNoShareSent fails when a DKEK share import reached the card since
// mark; status queries of MANAGE KEY DOMAIN carry no data.
func assertNoShareSent(t *testing.T, mark int) {
	t.Helper()
	for _, apdu := range card.since(mark) {
		if apdu.INS == 0x52 && apdu.P1 == 0x00 && apdu.Len > 5 {
			t.Errorf("a DKEK share was sent (MANAGE KEY DOMAIN of %d bytes)", apdu.Len)
		}
	}
}

func TestDKEKImportZeroDKEKAcrossRuns(t *testing.T) {
	own, _ := shares(t)
	initOutstanding(t, "2")
	r := run(t, append(append([]string{"dkek", "import", own.path}, pwArgs...), pinArgs...)...)
	if r.code != exitOK {
		t.Fatalf("first import exited %d\n%s", r.code, r.output())
	}
	r = run(t, append(append([]string{"dkek", "import", copyShareFile(t, own.path)}, pwArgs...), pinArgs...)...)
	if r.code != exitVerifyFailed {
		t.Errorf("importing the same share again exited %d, want %d\n%s", r.code, exitVerifyFailed, r.output())
	}
	if !strings.Contains(r.stderr, "cancelled out") || !strings.Contains(r.stderr, "66687AADF862BD77") {
		t.Errorf("message does not name the all-zero DKEK\n%s", r.stderr)
	}

	st := run(t, "dkek", "status", "--json")
	var doc dkekStatusOutput
	if err := json.Unmarshal([]byte(st.stdout), &doc); err != nil || len(doc.KeyDomains) != 1 {
		t.Fatalf("dkek status --json: %v\n%s", err, st.output())
	}
	if !doc.KeyDomains[0].ZeroDKEK {
		t.Errorf("dkek status does not flag the all-zero DKEK: %+v", doc.KeyDomains[0])
	}
	if text := run(t, "dkek", "status"); !strings.Contains(text.stdout, "all-zero DKEK") {
		t.Errorf("dkek status text does not flag the all-zero DKEK\n%s", text.stdout)
	}
}

func TestDKEKImportWrongExpectedKCV(t *testing.T) {
	own, _ := shares(t)
	initOutstanding(t, "1")
	mark := card.mark()
	r := run(t, append(append([]string{"dkek", "import", own.path, "--expect-kcv", "0011223344556677"}, pwArgs...), pinArgs...)...)
	if r.code != exitVerifyFailed || !strings.Contains(r.stderr, "nothing was imported") {
		t.Errorf("import with a wrong --expect-kcv exited %d, want %d before sending\n%s", r.code, exitVerifyFailed, r.output())
	}
	assertNoShareSent(t, mark)
	assertNoPINPresented(t, mark)

	r = run(t, append(append([]string{"dkek", "import", own.path, "--expect-kcv", kcvHex(own.share)}, pwArgs...), pinArgs...)...)
	if r.code != exitOK {
		t.Errorf("import with the right --expect-kcv exited %d\n%s", r.code, r.output())
	}
}

func TestDKEKDomainChecksBeforePIN(t *testing.T) {
	own, _ := shares(t)
	r := initCard(t, "--key-domains", "2", "--key-domain-shares", "1", "--key-domain-shares", "1", "--no-verify")
	if r.code != exitStepsRemain {
		t.Fatalf("init with two key domains exited %d, want %d\n%s", r.code, exitStepsRemain, r.output())
	}
	wrongPINArgs := []string{"--pin", "env:" + envWrongPIN}

	mark := card.mark()
	r = run(t, append([]string{"dkek", "domain", "create", "--key-domain", "1", "--shares", "2"}, wrongPINArgs...)...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("create of an existing domain exited %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	assertNoPINPresented(t, mark)

	r = run(t, append([]string{"dkek", "domain", "delete", "--key-domain", "1", "--force"}, pinArgs...)...)
	if r.code != exitOK {
		t.Fatalf("delete of key domain 1 exited %d\n%s", r.code, r.output())
	}
	for _, command := range []string{"clear", "delete"} {
		mark = card.mark()
		r = run(t, append([]string{"dkek", "domain", command, "--key-domain", "1", "--force"}, wrongPINArgs...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "key domain 1 is not defined") || !strings.Contains(r.stderr, "key domain 0 is defined") {
			t.Errorf("%s of an undefined domain exited %d, want %d naming the defined domains\n%s", command, r.code, exitUsage, r.output())
		}
		assertNoPINPresented(t, mark)
	}

	mark = card.mark()
	r = run(t, append(append([]string{"dkek", "import", "--key-domain", "3", own.path}, pwArgs...), pinArgs...)...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "has key domains 0 to 1") {
		t.Errorf("import into a domain the token lacks exited %d, want %d naming its domains\n%s", r.code, exitUsage, r.output())
	}
	assertNoPINPresented(t, mark)

	r = run(t, "dkek", "domain", "status", "--key-domain", "0", "--json")
	var doc dkekStatusOutput
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != exitOK || len(doc.KeyDomains) != 1 || doc.KeyDomains[0].KeyDomain != 0 {
		t.Errorf("dkek domain status --key-domain 0 exited %d, %v\n%s", r.code, err, r.output())
	}
	r = run(t, "dkek", "domain", "status", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.KeyDomains) != 2 {
		t.Errorf("dkek domain status without --key-domain lists %d domains, want 2 (%v)\n%s", len(doc.KeyDomains), err, r.output())
	}
}

func TestDKEKCreateImportChecksTokenFirst(t *testing.T) {
	waitCard(t)
	if r := initCard(t, "--no-verify"); r.code != exitOK {
		t.Fatalf("init without DKEK exited %d\n%s", r.code, r.output())
	}
	path := filepath.Join(t.TempDir(), "never-written.pbe")
	r := run(t, append(append([]string{"dkek", "create", path, "--no-token", "--import"}, pwArgs...), pinArgs...)...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "no share file was written") {
		t.Errorf("dkek create --import on a token without DKEK exited %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	if _, err := os.Lstat(path); err == nil {
		t.Errorf("%s was written although the token cannot take the share", path)
	}
}

func TestDKEKKCVChecks(t *testing.T) {
	own, tool := shares(t)
	env := envWith(secretEnv())
	r := runWithEnv(t, env, binaryPath, append([]string{"dkek", "kcv", "--json", own.path, tool.path}, pwArgs...)...)
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("dkek kcv --json: %v\n%s", err, r.output())
	}
	if code, ok := doc["exit_code"]; !ok || code != float64(exitOK) {
		t.Errorf("dkek kcv --json exit_code = %v (present %t), want 0\n%s", code, ok, r.stdout)
	}

	r = runWithEnv(t, env, binaryPath, append([]string{"dkek", "kcv", own.path, copyShareFile(t, own.path)}, pwArgs...)...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "same DKEK share") {
		t.Errorf("dkek kcv with the same share twice exited %d, want %d\n%s", r.code, exitUsage, r.output())
	}
}
