package wizard

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/pkakey"
)

// custodianFiles are the files of one rehearsal custodian.
type custodianFiles struct {
	key, reg, chr string
}

// writeCustodians writes rehearsal custodians into a new folder.
func writeCustodians(t *testing.T, names ...string) []custodianFiles {
	t.Helper()
	dir := t.TempDir()
	var out []custodianFiles
	for _, name := range names {
		c, err := pkakey.NewRehearsalCustodian(name)
		if err != nil {
			t.Fatal(err)
		}
		key, reg, err := c.WriteFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, custodianFiles{key: key, reg: reg, chr: c.CHR()})
	}
	return out
}

// pkaHead answers every question up to the public key files for public
// key authentication total of required, with the default PKA options.
func pkaHead(total, required string) []Step {
	return concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries}, {Name: QDKEK},
		{Name: QPKATotal, Answer: total}, {Name: QPKARequired, Answer: required},
		{Name: QRRC}, {Name: QRRCCounterOnly}, {Name: QTransportPIN}, {Name: QPKAReplaceable}, {Name: QCombinedPINAndPKA}})
}

func reg(i int, answer string) Step {
	return Step{Name: QPKARegistration + "-" + strconv.Itoa(i), Answer: answer}
}
func key(i int, answer string) Step {
	return Step{Name: QCustodianKey + "-" + strconv.Itoa(i), Answer: answer}
}
func keyReg(i int, answer string) Step {
	return Step{Name: QCustodianRegistration + "-" + strconv.Itoa(i), Answer: answer}
}

func TestAskPublicKeysTwoOfThree(t *testing.T) {
	cs := writeCustodians(t, "alice", "bob", "carol")
	steps := concat(pkaHead("3", "2"), []Step{
		reg(1, cs[0].reg), reg(2, cs[1].reg), reg(3, cs[2].reg),
		key(1, cs[0].key), keyReg(1, ""), // Enter takes the file next to the key
		key(2, cs[1].key), keyReg(2, ""),
		key(3, ""),
		{Name: QLabel},
	})
	script := &Script{Steps: steps}
	ans, err := Ask(script, []TokenInfo{blankHSM()}, schsm.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	if len(script.Steps) != 0 {
		t.Fatalf("%d scripted answers left unasked, next %q", len(script.Steps), script.Steps[0].Name)
	}
	if got, want := ans.PublicKeyCHRs(), []string{cs[0].chr, cs[1].chr, cs[2].chr}; !slices.Equal(got, want) {
		t.Errorf("public keys = %v, want %v", got, want)
	}
	if !slices.Equal(ans.RegistrationFiles, []string{cs[0].reg, cs[1].reg, cs[2].reg}) {
		t.Errorf("registration files = %v", ans.RegistrationFiles)
	}
	if got, want := ans.CustodianCHRs(), []string{cs[0].chr, cs[1].chr}; !slices.Equal(got, want) {
		t.Errorf("custodians = %v, want %v", got, want)
	}
	if n := countShown(script, "rehearsal registration files"); n != 1 {
		t.Errorf("rehearsal note shown %d times, want once", n)
	}
	if shownContains(script, "quorum is not reached") {
		t.Error("note about a missing quorum shown although 2 of 2 custodians authenticate")
	}

	q := script.Asked[slices.Index(askNames(script), QCustodianKey+"-1")]
	if !strings.Contains(q.Help, "--pkcs11-key") {
		t.Errorf("custodian help does not point to init --pkcs11-key: %q", q.Help)
	}
	q = script.Asked[slices.Index(askNames(script), QPKARegistration+"-1")]
	if !strings.Contains(q.Help, "sc-hsm-tool --register-public-key") {
		t.Errorf("registration help does not name the file format: %q", q.Help)
	}

	sum := Summary(blankHSM(), ans)
	for _, want := range []string{cs[0].chr, cs[1].chr, cs[2].chr, filepath.Base(cs[2].reg), "the quorum is reached"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	for _, secret := range []string{"PRIVATE KEY", filepath.Base(cs[0].key)} {
		if strings.Contains(sum, secret) {
			t.Errorf("summary names key material %q:\n%s", secret, sum)
		}
	}
}

func TestAskPublicKeysDependencies(t *testing.T) {
	cs := writeCustodians(t, "alice", "bob", "carol")
	tests := []struct {
		name    string
		steps   []Step
		skipped []string
		note    string // a note that must be shown
		summary string // text the summary must show
		custs   int
	}{
		{
			name:    "no registration files skips custodians",
			steps:   concat(pkaHead("3", "2"), []Step{reg(1, ""), {Name: QLabel}}),
			skipped: []string{QCustodianKey + "-1"},
			note:    "0 of 3 public keys will be registered",
			summary: "none now; register 3 later",
		},
		{
			name:    "fewer custodians than required",
			steps:   concat(pkaHead("3", "2"), []Step{reg(1, cs[0].reg), reg(2, cs[1].reg), reg(3, ""), key(1, cs[0].key), keyReg(1, ""), key(2, ""), {Name: QLabel}}),
			note:    "1 of the 2 required custodians authenticate",
			summary: "quorum is not reached in this session",
			custs:   1,
		},
		{
			name: "custodians limited to the keys registered",
			steps: concat(pkaHead("3", "1"), []Step{reg(1, cs[0].reg), reg(2, ""), key(1, cs[0].key), keyReg(1, cs[0].reg),
				{Name: QLabel}}),
			skipped: []string{QCustodianKey + "-2"},
			note:    "1 of 3 public keys will be registered",
			summary: "Public keys left:",
			custs:   1,
		},
		{
			name: "registration answer dropped asks for the key again",
			steps: concat(pkaHead("2", "1"), []Step{reg(1, cs[0].reg), reg(2, cs[1].reg), key(1, cs[0].key), keyReg(1, dropKeyFile),
				key(1, cs[1].key), keyReg(1, ""), key(2, ""), {Name: QLabel}}),
			summary: cs[1].chr,
			custs:   1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			script := &Script{Steps: tc.steps}
			ans, err := Ask(script, []TokenInfo{blankHSM()}, schsm.DefaultSettings())
			if err != nil {
				t.Fatal(err)
			}
			if len(script.Steps) != 0 {
				t.Errorf("%d scripted answers left unasked, next %q", len(script.Steps), script.Steps[0].Name)
			}
			for _, name := range tc.skipped {
				if slices.Contains(askNames(script), name) {
					t.Errorf("question %q was asked", name)
				}
			}
			if tc.note != "" && !shownContains(script, tc.note) {
				t.Errorf("no note containing %q: %q", tc.note, script.Shown)
			}
			if len(ans.Custodians) != tc.custs {
				t.Errorf("custodians = %v, want %d", ans.CustodianCHRs(), tc.custs)
			}
			if sum := Summary(blankHSM(), ans); !strings.Contains(sum, tc.summary) {
				t.Errorf("summary lacks %q:\n%s", tc.summary, sum)
			}
		})
	}
}

func TestAskPublicKeysValidationMessages(t *testing.T) {
	cs := writeCustodians(t, "alice", "bob", "dave")
	garbage := filepath.Join(t.TempDir(), "garbage.pka")
	if err := os.WriteFile(garbage, []byte("not a registration file"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		before []Step
		bad    Step
		want   string
		after  []Step
	}{
		{"registration file missing", pkaHead("2", "1"), reg(1, filepath.Join(t.TempDir(), "absent.pka")), "no such file",
			[]Step{reg(1, ""), {Name: QLabel}}},
		{"registration file malformed", pkaHead("2", "1"), reg(1, garbage), "registration",
			[]Step{reg(1, ""), {Name: QLabel}}},
		{"registration file twice", concat(pkaHead("2", "1"), []Step{reg(1, cs[0].reg)}), reg(2, cs[0].reg), "give each key once",
			[]Step{reg(2, ""), key(1, ""), {Name: QLabel}}},
		{"custodian key file missing", concat(pkaHead("2", "1"), []Step{reg(1, cs[0].reg), reg(2, "")}), key(1, filepath.Join(t.TempDir(), "absent.key.pem")),
			"no such file", []Step{key(1, ""), {Name: QLabel}}},
		{"custodian key not registered", concat(pkaHead("2", "1"), []Step{reg(1, cs[0].reg), reg(2, cs[1].reg), key(1, cs[2].key)}), keyReg(1, ""),
			"is not among the registration files given above", []Step{keyReg(1, dropKeyFile), key(1, ""), {Name: QLabel}}},
		{"custodian key and registration differ", concat(pkaHead("2", "1"), []Step{reg(1, cs[0].reg), reg(2, cs[1].reg), key(1, cs[0].key)}), keyReg(1, cs[1].reg),
			"does not match the key", []Step{keyReg(1, ""), key(2, ""), {Name: QLabel}}},
		{"custodian given twice", concat(pkaHead("2", "1"), []Step{reg(1, cs[0].reg), reg(2, cs[1].reg), key(1, cs[0].key), keyReg(1, ""), key(2, cs[0].key)}),
			keyReg(2, ""), "is given already", []Step{keyReg(2, dropKeyFile), key(2, ""), {Name: QLabel}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			script := &Script{Steps: concat(tc.before, []Step{tc.bad}, tc.after)}
			if _, err := Ask(script, []TokenInfo{blankHSM()}, schsm.DefaultSettings()); err != nil {
				t.Fatal(err)
			}
			if len(script.Steps) != 0 {
				t.Errorf("%d scripted answers left unasked, next %q", len(script.Steps), script.Steps[0].Name)
			}
			if len(script.Rejected) != 1 {
				t.Fatalf("rejections = %q, want one", script.Rejected)
			}
			if r := script.Rejected[0]; r.Name != tc.bad.Name || !strings.Contains(r.Message, tc.want) {
				t.Errorf("rejection = %q: %q, want %q containing %q", r.Name, r.Message, tc.bad.Name, tc.want)
			}
		})
	}
}

func TestAskHelpTexts(t *testing.T) {
	script := &Script{Steps: concat(pkaHead("2", "1"), []Step{reg(1, ""), {Name: QLabel}})}
	if _, err := Ask(script, []TokenInfo{blankHSM()}, schsm.DefaultSettings()); err != nil {
		t.Fatal(err)
	}
	help := func(name string) string { return script.Asked[slices.Index(askNames(script), name)].Help }

	combined := help(QCombinedPINAndPKA)
	if !strings.Contains(combined, "either the user PIN alone or the quorum of key holders alone") {
		t.Errorf("combined PIN and PKA help does not say that either one opens the token without the option: %q", combined)
	}
	so := help(QSOPINChoice)
	for _, want := range []string{"15 wrong entries", "blocked for good", "initialize the token again", "unblock the user PIN", "pypicohsm, PicoKey tools"} {
		if !strings.Contains(so, want) {
			t.Errorf("SO-PIN help lacks %q: %q", want, so)
		}
	}
	if strings.Contains(so, "Pico HSM tools") {
		t.Errorf("SO-PIN help uses the old label: %q", so)
	}

	generated := &Script{Steps: concat(pinSteps(testPIN), []Step{{Name: QSOPINChoice}}, tail())}
	if _, err := Ask(generated, []TokenInfo{blankHSM()}, schsm.DefaultSettings()); err != nil {
		t.Fatal(err)
	}
	if len(generated.Secrets) != 1 || !strings.Contains(generated.Secrets[0], "as 8 characters (pypicohsm, PicoKey tools):") {
		t.Errorf("generated SO-PIN label differs from init's: %q", generated.Secrets)
	}
}

func TestFilterWarnings(t *testing.T) {
	s := settingsWithShares(2)
	s.KeyDomains = 2
	s.UserPIN = schsm.SecretFromString(testPIN)
	so, err := schsm.ParseSOPIN(testSOPINHex)
	if err != nil {
		t.Fatal(err)
	}
	s.SOPIN = &so
	warnings, err := s.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(warnings, func(w string) bool { return strings.HasPrefix(w, keyDomainWarning) }) {
		t.Fatalf("Validate no longer warns %q..., so FilterWarnings matches nothing: %q", keyDomainWarning, warnings)
	}
	doubled := append(slices.Clone(warnings), warnings...)
	doubled = append(doubled, "other warning", "other warning")

	got := FilterWarnings(doubled, Answers{Settings: s})
	if slices.ContainsFunc(got, func(w string) bool { return strings.HasPrefix(w, keyDomainWarning) }) {
		t.Errorf("key domain warning kept: %q", got)
	}
	if n := slices.Index(got, "other warning"); n < 0 || slices.Contains(got[n+1:], "other warning") {
		t.Errorf("repeated warning not kept exactly once: %q", got)
	}

	s.KeyDomains = 0
	if got := FilterWarnings([]string{keyDomainWarning + "; x"}, Answers{Settings: s}); len(got) != 1 {
		t.Errorf("warning dropped without key domains: %q", got)
	}
}

func countShown(s *Script, part string) int {
	n := 0
	for _, text := range s.Shown {
		if strings.Contains(text, part) {
			n++
		}
	}
	return n
}
