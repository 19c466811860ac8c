package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/pkakey"
)

// rehearsalCustodian is one custodian written by pka rehearsal-custodian.
type rehearsalCustodian struct {
	name, keyPath, regPath, chr string
}

// newCustodians writes rehearsal custodians with the command under test
// and returns their files.
func newCustodians(t *testing.T, names ...string) []rehearsalCustodian {
	t.Helper()
	dir := t.TempDir()
	var out []rehearsalCustodian
	for _, name := range names {
		r := run(t, "pka", "rehearsal-custodian", name, "--dir", dir, "--json")
		if r.code != exitOK {
			t.Fatalf("pka rehearsal-custodian %s exited %d\n%s", name, r.code, r.output())
		}
		var doc pkaOutput
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("decoding the JSON of pka rehearsal-custodian: %v\n%s", err, r.stdout)
		}
		c := rehearsalCustodian{name: name, keyPath: filepath.Join(dir, name+pkakey.KeyFileSuffix), regPath: filepath.Join(dir, name+pkakey.RegistrationFileSuffix)}
		if doc.CustodianKey == "" {
			t.Fatalf("pka rehearsal-custodian reported no custodian key\n%s", r.stdout)
		}
		if len(doc.Registered) != 0 {
			t.Errorf("pka rehearsal-custodian reported registered keys %v, but it registers none", doc.Registered)
		}
		c.chr = doc.CustodianKey
		info, err := os.Stat(c.keyPath)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %04o, want 0600", info.Mode().Perm())
		}
		if !strings.Contains(r.stdout, "give no security") {
			t.Errorf("pka rehearsal-custodian output lacks the no-security notice:\n%s", r.stdout)
		}
		out = append(out, c)
	}
	return out
}

// pkaInitArgs returns init arguments for public key authentication total
// of required, registering every custodian's file.
func pkaInitArgs(total, required int, custodians []rehearsalCustodian) []string {
	args := []string{"init", "--force", "--so-pin", "env:" + envSOPIN,
		"--public-key-auth", strconv.Itoa(total), "--required-pub-keys", strconv.Itoa(required)}
	for _, c := range custodians {
		args = append(args, "--register-public-key", c.regPath)
	}
	return args
}

func keyFileArgs(custodians ...rehearsalCustodian) []string {
	var args []string
	for _, c := range custodians {
		args = append(args, "--key-file", c.keyPath)
	}
	return args
}

// runPKA runs a pka command with --json and decodes its output.
func runPKA(t *testing.T, args ...string) (pkaOutput, result) {
	t.Helper()
	r := run(t, append(args, "--json")...)
	var doc pkaOutput
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("decoding the JSON of %s: %v\n%s", strings.Join(args, " "), err, r.output())
	}
	return doc, r
}

// pkaInitDoc is the part of the init result document these tests read.
type pkaInitDoc struct {
	ExitCode     int    `json:"exit_code"`
	Error        string `json:"error"`
	Provisioning struct {
		Steps []struct {
			Name, Status, Detail string
		} `json:"steps"`
		Remaining  []string `json:"remaining"`
		KeyDomains []struct {
			KeyDomain   int      `json:"key_domain"`
			Outstanding int      `json:"shares_outstanding"`
			KCV         *[8]byte `json:"kcv"`
		} `json:"key_domains"`
		PKA *struct {
			Registered          []string         `json:"registered"`
			Status              *schsm.PKAStatus `json:"status"`
			QuorumReached       bool             `json:"quorum_reached"`
			CombinedEnforcement string           `json:"combined_enforcement"`
		} `json:"public_key_auth"`
	} `json:"provisioning"`
}

func runPKAInit(t *testing.T, args ...string) (pkaInitDoc, result) {
	t.Helper()
	waitCard(t)
	r := run(t, append(args, "--json")...)
	var doc pkaInitDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("decoding the init JSON: %v\n%s", err, r.output())
	}
	return doc, r
}

func stepStatus(doc pkaInitDoc, name string) string {
	for _, s := range doc.Provisioning.Steps {
		if s.Name == name {
			return s.Status
		}
	}
	return ""
}

// TestPKATwoOfThree registers three rehearsal keys in init and
// authenticates with two (quorum) and with one (exit 6).
func TestPKATwoOfThree(t *testing.T) {
	cs := newCustodians(t, "alice", "bob", "carol")
	doc, r := runPKAInit(t, pkaInitArgs(3, 2, cs)...)
	if r.code != exitOK {
		t.Fatalf("init exited %d, want 0\n%s", r.code, r.output())
	}
	if pka := doc.Provisioning.PKA; pka == nil || len(pka.Registered) != 3 {
		t.Fatalf("init registered %+v, want 3 keys", doc.Provisioning.PKA)
	}

	st, r := runPKA(t, "pka", "status")
	checkThreeKeysTwoRequired(t, st, r, cs)

	two, r := runPKA(t, append([]string{"pka", "authenticate"}, keyFileArgs(cs[0], cs[1])...)...)
	if r.code != exitOK {
		t.Fatalf("pka authenticate with 2 keys exited %d, want 0\n%s", r.code, r.output())
	}
	if two.QuorumReached == nil || !*two.QuorumReached || two.Status.Authenticated != 2 {
		t.Errorf("with 2 keys: quorum %v, status %+v", two.QuorumReached, two.Status)
	}

	one, r := runPKA(t, append([]string{"pka", "authenticate"}, keyFileArgs(cs[2])...)...)
	if r.code != exitStepsRemain {
		t.Fatalf("pka authenticate with 1 key exited %d, want %d\n%s", r.code, exitStepsRemain, r.output())
	}
	if one.Status == nil || one.Status.Authenticated != 1 || one.Status.Required != 2 {
		t.Errorf("with 1 key: status %+v, want 1 authenticated of 2 required", one.Status)
	}
	if !strings.Contains(one.Error, "1 more custodian is needed") {
		t.Errorf("error %q does not say what remains", one.Error)
	}

	// OpenSC reads the same numbers.
	tool := runTool(t, "sc-hsm-tool", "--public-key-auth-status")
	if tool.code != 0 {
		t.Fatalf("sc-hsm-tool --public-key-auth-status exited %d\n%s", tool.code, tool.output())
	}
	for field, want := range map[string]int{
		"Number of public keys":     st.Status.Total,
		"Missing public keys":       st.Status.Missing,
		"Required pubkeys for auth": st.Status.Required,
		"Authenticated public keys": st.Status.Authenticated,
	} {
		if got, _ := lineValue(tool.stdout, field+":"); got != strconv.Itoa(want) {
			t.Errorf("sc-hsm-tool %s = %q, pka status %d", field, got, want)
		}
	}
	status := run(t, "status")
	if got, _ := lineValue(status.stdout, "Public keys:"); got != "3 registered of 3, 2 required, 0 authenticated" {
		t.Errorf("status Public keys line = %q", got)
	}
}

// TestPKAWrongKeyRejected checks that a custodian whose key is not
// registered fails with the card's refusal (exit 5).
func TestPKAWrongKeyRejected(t *testing.T) {
	cs := newCustodians(t, "dora", "eve")
	if _, r := runPKAInit(t, pkaInitArgs(1, 1, cs[:1])...); r.code != exitOK {
		t.Fatalf("init exited %d\n%s", r.code, r.output())
	}
	_, r := runPKA(t, append([]string{"pka", "authenticate"}, keyFileArgs(cs[1])...)...)
	if r.code != exitCardRefused || !strings.Contains(r.stdout, "not registered") {
		t.Errorf("authenticate with an unregistered key exited %d, want %d\n%s", r.code, exitCardRefused, r.output())
	}
}

// TestPKARegisterCommand registers with sc-hsm-tool and with pka register,
// refuses a key beyond the free slots and a replacement the token does not
// allow before sending them, and replaces a key when allowed.
func TestPKARegisterCommand(t *testing.T) {
	cs := newCustodians(t, "frank", "grace", "heidi")
	args := append(pkaInitArgs(2, 1, nil), "--pin", "env:"+envPIN, "--no-verify")
	if _, r := runPKAInit(t, args...); r.code != exitStepsRemain {
		t.Fatalf("init without keys exited %d, want %d (keys remain to be registered)\n%s", r.code, exitStepsRemain, r.output())
	}

	tool := runTool(t, "sc-hsm-tool", "--register-public-key", cs[0].regPath)
	if tool.code != 0 {
		t.Fatalf("sc-hsm-tool --register-public-key of our file exited %d\n%s", tool.code, tool.output())
	}
	doc, r := runPKA(t, "pka", "register", cs[1].regPath)
	if r.code != exitOK || len(doc.Registered) != 1 || doc.Status.Missing != 0 {
		t.Fatalf("pka register exited %d, status %+v\n%s", r.code, doc.Status, r.output())
	}

	m := card.mark()
	_, r = runPKA(t, "pka", "register", cs[2].regPath)
	if r.code != exitCardRefused || !strings.Contains(r.stdout, "slots are free") {
		t.Errorf("pka register beyond the slots exited %d, want %d\n%s", r.code, exitCardRefused, r.output())
	}
	_, r = runPKA(t, "pka", "register", "--replace", "0", cs[2].regPath)
	if r.code != exitCardRefused || !strings.Contains(r.stdout, "replace-key-allowed") {
		t.Errorf("pka register --replace without option 0008 exited %d, want %d\n%s", r.code, exitCardRefused, r.output())
	}
	for _, a := range card.since(m) {
		if a.INS == 0x54 && a.Len > 5 || a.INS == 0x2A {
			t.Errorf("a refused registration sent %02X %02X %02X %02X of %d bytes", a.CLA, a.INS, a.P1, a.P2, a.Len)
		}
	}

	args = append(pkaInitArgs(2, 1, cs[:2]), "--pin", "env:"+envPIN, "--no-verify", "--replace-key-allowed")
	if _, r := runPKAInit(t, args...); r.code != exitOK {
		t.Fatalf("init --replace-key-allowed exited %d\n%s", r.code, r.output())
	}
	doc, r = runPKA(t, "pka", "register", "--replace", "0", "--pin", "env:"+envPIN, cs[2].regPath)
	if r.code != exitOK {
		t.Fatalf("pka register --replace 0 exited %d\n%s", r.code, r.output())
	}
	if len(doc.Keys) < 1 || doc.Keys[0].CHR != cs[2].chr {
		t.Errorf("slot 0 holds %+v after the replacement, want %s", doc.Keys, cs[2].chr)
	}
}

// TestInitPKAKeyDomainShares runs the whole order in one init without a
// user PIN: INITIALIZE, register 3 keys, authenticate 2, create key domain
// 0 and import a share into it.
func TestInitPKAKeyDomainShares(t *testing.T) {
	own, _ := shares(t)
	cs := newCustodians(t, "ivan", "judy", "mallory")
	args := append(pkaInitArgs(3, 2, cs), keyFileArgs(cs[0], cs[1])...)
	args = append(args, "--key-domains", "1", "--key-domain-shares", "1", "--dkek-share", own.path, "--password", "env:"+envPassword)
	doc, r := runPKAInit(t, args...)
	if r.code != exitOK {
		t.Fatalf("init exited %d, want 0\n%s", r.code, r.output())
	}
	if pka := doc.Provisioning.PKA; pka == nil || !pka.QuorumReached {
		t.Errorf("init did not reach the quorum: %+v", doc.Provisioning.PKA)
	}
	if got := stepStatus(doc, "create key domain 0"); got != "done" {
		t.Errorf("step create key domain 0 is %q, want done", got)
	}
	kds := doc.Provisioning.KeyDomains
	if len(kds) != 1 || kds[0].Outstanding != 0 || kds[0].KCV == nil {
		t.Fatalf("key domains %+v, want domain 0 complete", kds)
	}
	if got := strings.ToUpper(fmt.Sprintf("%x", kds[0].KCV[:])); got != kcvHex(own.share) {
		t.Errorf("key check value %s, want %s", got, kcvHex(own.share))
	}
	assertOrder(t, doc, "register public key 3 of 3", "authenticate public keys", "create key domain 0")
}

// assertOrder checks that the named steps ran in this order.
func assertOrder(t *testing.T, doc pkaInitDoc, names ...string) {
	t.Helper()
	last := -1
	for _, name := range names {
		i := slices.IndexFunc(doc.Provisioning.Steps, func(s struct{ Name, Status, Detail string }) bool { return s.Name == name })
		if i < 0 || i < last {
			t.Errorf("step %q is missing or out of order in %+v", name, doc.Provisioning.Steps)
			return
		}
		last = i
	}
}

// TestInitCombinedPINAndPKA checks option 0010 on the virtual card. With
// the quorum but without the PIN the card refuses key domain creation, and
// init reports that as observed enforcement. With both it creates the
// domain. With one custodian of two required, init reports what remains
// (exit 6).
func TestInitCombinedPINAndPKA(t *testing.T) {
	cs := newCustodians(t, "niaj", "olivia", "peggy")
	base := append(pkaInitArgs(3, 2, cs), "--pin", "env:"+envPIN, "--require-pka-and-pin", "--key-domains", "1", "--key-domain-shares", "1")

	doc, r := runPKAInit(t, append(base, keyFileArgs(cs[0], cs[1])...)...)
	if r.code != exitStepsRemain {
		t.Fatalf("init exited %d, want %d (a share of key domain 0 remains)\n%s", r.code, exitStepsRemain, r.output())
	}
	pka := doc.Provisioning.PKA
	if pka == nil || pka.CombinedEnforcement != "observed" {
		t.Errorf("combined enforcement %+v, want observed", pka)
	}
	if got := stepStatus(doc, "create key domain 0"); got != "done" {
		t.Errorf("with PIN and quorum, create key domain 0 is %q, want done", got)
	}

	doc, r = runPKAInit(t, append(base, keyFileArgs(cs[2])...)...)
	if r.code != exitStepsRemain {
		t.Fatalf("init with one custodian exited %d, want %d\n%s", r.code, exitStepsRemain, r.output())
	}
	if got := stepStatus(doc, "create key domain 0"); got != "skipped" {
		t.Errorf("with the PIN but without the quorum, create key domain 0 is %q, want skipped", got)
	}
	joined := strings.Join(doc.Provisioning.Remaining, "\n")
	if !strings.Contains(joined, "authenticate 1 more of the 2 required public keys") {
		t.Errorf("remaining steps lack the missing custodian:\n%s", joined)
	}
}

// TestPKAAPDUAudit records every APDU of the read-only and PKA commands
// and checks that none presents or sets a PIN the user did not give.
func TestPKAAPDUAudit(t *testing.T) {
	cs := newCustodians(t, "rupert", "sybil")
	type command struct {
		name    string
		args    []string
		allowed []string // PIN APDUs the command was asked for
		code    int
	}
	commands := []command{
		{"init", append(pkaInitArgs(2, 1, cs[:1]), "--pin", "env:"+envPIN, "--no-verify"), []string{"VERIFY 81 with data"}, exitStepsRemain},
		{"status", []string{"status"}, nil, exitOK},
		{"pin status", []string{"pin", "status"}, nil, exitOK},
		{"pka status", []string{"pka", "status"}, nil, exitOK},
		{"dkek status", []string{"dkek", "status"}, nil, exitOK},
		{"pka register", []string{"pka", "register", cs[1].regPath}, nil, exitOK},
		{"pka authenticate", append([]string{"pka", "authenticate"}, keyFileArgs(cs[0])...), nil, exitOK},
		{"pka authenticate --pin", append([]string{"pka", "authenticate", "--pin", "env:" + envPIN}, keyFileArgs(cs[1])...), []string{"VERIFY 81 with data"}, exitOK},
		{"verify", []string{"verify", "--pin", "env:" + envPIN}, []string{"VERIFY 81 with data"}, exitOK},
	}
	waitCard(t)
	for _, c := range commands {
		m := card.mark()
		r := run(t, c.args...)
		if r.code != c.code {
			t.Errorf("%s exited %d, want %d\n%s", c.name, r.code, c.code, r.output())
		}
		sent := card.since(m)
		if len(sent) == 0 {
			t.Errorf("%s sent no APDU", c.name)
		}
		for _, p := range pinSecretAPDUs(sent) {
			if !slices.Contains(c.allowed, p) {
				t.Errorf("%s sent %s, which it was not asked for", c.name, p)
			}
		}
	}
}

// TestPKANoSecretLeaks runs the pka commands with --verbose and --json and
// checks that no PIN and no custodian key material reaches the output.
func TestPKANoSecretLeaks(t *testing.T) {
	cs := newCustodians(t, "trent", "victor")
	keyPEM, err := os.ReadFile(cs[0].keyPath)
	if err != nil {
		t.Fatal(err)
	}
	key, err := pkakey.ReadPrivateKeyFile(cs[0].keyPath)
	if err != nil {
		t.Fatal(err)
	}
	forms := secretForms(nil)
	pemBody := strings.Join(strings.Split(string(keyPEM), "\n")[1:3], "")
	forms = append(forms, secretForm{"key PEM body", pemBody}, secretForm{"PEM header", "PRIVATE KEY"})
	forms = append(forms, hexForms("private scalar", key.D.FillBytes(make([]byte, 32)))...)

	var outputs []result
	for _, mode := range []string{"--verbose", "--json"} {
		// init registers one key of two; pka register adds the second.
		outputs = append(outputs,
			run(t, append(append(pkaInitArgs(2, 1, cs[:1]), mode, "--pin", "env:"+envPIN, "--no-verify"), keyFileArgs(cs[0])...)...),
			run(t, "pka", "status", mode),
			run(t, "pka", "register", mode, "--pin", "env:"+envPIN, cs[1].regPath),
			run(t, append([]string{"pka", "authenticate", mode, "--pin", "env:" + envPIN}, keyFileArgs(cs...)...)...),
		)
	}
	for i, out := range outputs {
		if want := map[bool]int{true: exitStepsRemain, false: exitOK}[i%4 == 0]; out.code != want {
			t.Errorf("run %d exited %d\n%s", i, out.code, out.output())
		}
		for _, f := range forms {
			if strings.Contains(out.output(), f.value) {
				t.Errorf("output of run %d contains the %s", i, f.name)
			}
		}
	}
}

// TestPKAExclusiveReader checks that pka authenticate refuses a reader that
// another process holds and names that process.
func TestPKAExclusiveReader(t *testing.T) {
	cs := newCustodians(t, "walter")
	if _, r := runPKAInit(t, pkaInitArgs(1, 1, cs)...); r.code != exitOK {
		t.Fatalf("init exited %d\n%s", r.code, r.output())
	}
	ctx, err := schsm.EstablishContext()
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Release()
	reader, err := ctx.PickReader("")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ctx.Connect(reader)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	_, r := runPKA(t, append([]string{"pka", "authenticate"}, keyFileArgs(cs[0])...)...)
	if r.code != exitNoToken {
		t.Fatalf("pka authenticate on a held reader exited %d, want %d\n%s", r.code, exitNoToken, r.output())
	}
	if want := fmt.Sprintf("(pid %d)", os.Getpid()); !strings.Contains(r.stdout, want) {
		t.Errorf("the error does not name this test process %s:\n%s", want, r.stdout)
	}
}

// checkThreeKeysTwoRequired checks a pka status output of a token with all
// three custodians cs registered, two required and none authenticated.
func checkThreeKeysTwoRequired(t *testing.T, st pkaOutput, r result, cs []rehearsalCustodian) {
	t.Helper()
	if r.code != exitOK || st.Status == nil {
		t.Fatalf("pka status exited %d\n%s", r.code, r.output())
	}
	if *st.Status != (schsm.PKAStatus{Total: 3, Missing: 0, Required: 2, Authenticated: 0}) {
		t.Errorf("pka status = %+v, want 3 total, 0 missing, 2 required, 0 authenticated", *st.Status)
	}
	var listed []string
	for _, k := range st.Keys {
		listed = append(listed, k.CHR)
	}
	for _, c := range cs {
		if !slices.Contains(listed, c.chr) {
			t.Errorf("pka status lists %v, lacking %s's key %s", listed, c.name, c.chr)
		}
	}
}
