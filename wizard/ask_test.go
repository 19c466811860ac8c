package wizard

import (
	"errors"
	"slices"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// Test secrets; none of them is a default of any tool.
const (
	testPIN      = "48Q29173" // 8 characters: up to 10 retries
	testPIN6     = "48Q291"
	testNewPIN   = "77K40215"
	testSOPINHex = "516D372376583270"
	testSOPINStr = "Qm7#vX2p" // the same 8 bytes as testSOPINHex
)

func blankHSM() TokenInfo {
	return TokenInfo{Reader: "Virtual PCD 00 00", Status: schsm.DeviceStatus{
		Info: schsm.DeviceInfo{Family: schsm.FamilySmartCardHSM, VersionMajor: 3, VersionMinor: 6}}}
}

func initializedHSM() TokenInfo {
	t := blankHSM()
	t.Status.Initialized = true
	t.Status.Serial = "DECM0102330"
	t.Status.UserPIN = schsm.PINStatus{SW: 0x63C3, Initialized: true, TriesLeft: 3}
	t.Status.SOPIN = schsm.PINStatus{SW: 0x63CF, Initialized: true, TriesLeft: 15}
	t.Objects = &schsm.ObjectCounts{Keys: 3, Certificates: 2, DataObjects: 1}
	return t
}

func blankPico() TokenInfo {
	return TokenInfo{Reader: "Pico Key 00 00", Status: schsm.DeviceStatus{
		Info: schsm.DeviceInfo{Family: schsm.FamilyPicoHSM, Type: 0xFF, VersionMajor: 6, VersionMinor: 6}}}
}

func initializedPico() TokenInfo {
	t := blankPico()
	t.Status.Initialized = true
	t.Status.SOPIN = schsm.PINStatus{SW: 0x9000, Initialized: true}
	return t
}

// pinSteps enter pin twice through the "enter a new PIN" choice.
func pinSteps(pin string) []Step {
	return []Step{{Name: QPINChoice}, {Name: QPIN, Answer: pin}, {Name: QPINAgain, Answer: pin}}
}

// soPINSteps enter an SO-PIN twice, in two spellings.
func soPINSteps() []Step {
	return []Step{{Name: QSOPINChoice, Answer: OptEnterSO}, {Name: QSOPIN, Answer: testSOPINHex}, {Name: QSOPINAgain, Answer: testSOPINStr}}
}

// tail answers every question after the SO-PIN with Enter, for a
// SmartCard-HSM and the default settings.
func tail() []Step {
	return []Step{{Name: QRetries}, {Name: QDKEK}, {Name: QPKATotal}, {Name: QRRC}, {Name: QRRCCounterOnly}, {Name: QTransportPIN}, {Name: QLabel}}
}

func concat(parts ...[]Step) []Step { return slices.Concat(parts...) }

func askNames(s *Script) []string {
	names := make([]string, len(s.Asked))
	for i, q := range s.Asked {
		names[i] = q.Name
	}
	return names
}

func shownContains(s *Script, part string) bool {
	return slices.ContainsFunc(s.Shown, func(t string) bool { return strings.Contains(t, part) })
}

func TestAskDefaultsExceptPINs(t *testing.T) {
	script := &Script{Steps: concat(pinSteps(testPIN), []Step{{Name: QSOPINChoice}}, tail())}
	ans, err := Ask(script, []TokenInfo{blankHSM()}, schsm.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	s := ans.Settings
	if string(s.UserPIN.Bytes()) != testPIN {
		t.Error("user PIN is not the one typed")
	}
	if s.Retries != 3 || s.DKEKShares != schsm.NoDKEK || !s.ResetRetryCounter || s.RRCResetsCounterOnly || s.TransportPIN ||
		s.PKATotal != 0 || s.KeyDomains != 0 || s.Label != "" || s.Force {
		t.Errorf("settings differ from the defaults: %+v", s)
	}
	if !ans.SOPINGenerated || s.SOPIN == nil {
		t.Fatal("SO-PIN was not generated")
	}
	chars, ok := s.SOPIN.Chars()
	if !ok || strings.Trim(chars, SOPINAlphabet) != "" {
		t.Errorf("generated SO-PIN has characters outside the alphabet")
	}
	if len(script.Secrets) != 1 || !strings.Contains(script.Secrets[0], chars) || !strings.Contains(script.Secrets[0], s.SOPIN.Hex()) {
		t.Error("generated SO-PIN was not shown once in both spellings")
	}
	if slices.Contains(askNames(script), QToken) {
		t.Error("token question asked for a single token")
	}
	if len(script.Steps) != 0 {
		t.Errorf("%d scripted answers left unasked", len(script.Steps))
	}
}

func TestAskEverySetting(t *testing.T) {
	other := blankHSM()
	other.Reader = "Virtual PCD 00 01"
	steps := concat(
		[]Step{{Name: QToken, Answer: "2. " + other.Describe()}},
		pinSteps(testPIN), soPINSteps(),
		[]Step{
			{Name: QRetries, Answer: "10"},
			{Name: QDKEK, Answer: OptSharesDKEK},
			{Name: QDKEKShares, Answer: "3"},
			{Name: QPKATotal, Answer: "3"},
			{Name: QPKARequired, Answer: "2"},
			{Name: QKeyDomains, Answer: "3"},
			{Name: QKeyDomainShares + "-1", Answer: "2"},
			{Name: QKeyDomainShares + "-2"},
			{Name: QRRC, Answer: "yes"},
			{Name: QRRCCounterOnly, Answer: "yes"},
			{Name: QTransportPIN, Answer: "yes"},
			{Name: QReplaceTransport},
			{Name: QNewPIN, Answer: testNewPIN},
			{Name: QNewPINAgain, Answer: testNewPIN},
			{Name: QPKAReplaceable, Answer: "yes"},
			{Name: QCombinedPINAndPKA, Answer: "yes"},
			{Name: QPKARegistration + "-1"},
			{Name: QLabel, Answer: "Vault 1"},
		})
	script := &Script{Steps: steps}
	ans, err := Ask(script, []TokenInfo{blankHSM(), other}, schsm.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	s := ans.Settings
	want := schsm.Settings{Retries: 10, DKEKShares: 3, PKATotal: 3, PKARequired: 2, KeyDomains: 3, ResetRetryCounter: true,
		TransportPIN: true, PKAReplaceable: true, CombinedPINAndPKA: true, RRCResetsCounterOnly: true, Label: "Vault 1"}
	got := s
	got.UserPIN, got.SOPIN = schsm.Secret{}, nil
	if got.Retries != want.Retries || got.DKEKShares != want.DKEKShares || got.PKATotal != want.PKATotal ||
		got.PKARequired != want.PKARequired || got.KeyDomains != want.KeyDomains || got.ResetRetryCounter != want.ResetRetryCounter ||
		got.TransportPIN != want.TransportPIN || got.PKAReplaceable != want.PKAReplaceable ||
		got.CombinedPINAndPKA != want.CombinedPINAndPKA || got.RRCResetsCounterOnly != want.RRCResetsCounterOnly || got.Label != want.Label {
		t.Errorf("settings = %+v, want %+v", got, want)
	}
	if ans.Token != 1 {
		t.Errorf("token = %d, want 1", ans.Token)
	}
	if s.SOPIN == nil || s.SOPIN.Hex() != testSOPINHex || ans.SOPINGenerated {
		t.Error("SO-PIN is not the one entered")
	}
	if string(ans.NewPIN.Bytes()) != testNewPIN {
		t.Error("new PIN is not the one entered")
	}
	if !slices.Equal(ans.KeyDomainShares, []int{3, 2, 3}) {
		t.Errorf("key domain shares = %v, want [3 2 3]", ans.KeyDomainShares)
	}
	if _, err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, w := range ans.Warnings {
		if strings.Contains(w, "domain 0 must be created") {
			t.Errorf("warning %q kept, but the wizard creates key domain 0 itself", w)
		}
	}
}

func TestAskDependencies(t *testing.T) {
	tests := []struct {
		name    string
		tokens  []TokenInfo
		steps   []Step
		skipped []string // questions that must not be asked
		check   func(t *testing.T, a Answers, s *Script)
	}{
		{
			name:  "no DKEK skips shares and key domains",
			steps: concat(pinSteps(testPIN), soPINSteps(), tail()),
			skipped: []string{QDKEKShares, QKeyDomains, QPKARequired, QPKAReplaceable, QCombinedPINAndPKA, QReplaceTransport, QDeviceCertificate,
				QPKARegistration + "-1", QCustodianKey + "-1"},
		},
		{
			name: "random DKEK skips key domains",
			steps: concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries}, {Name: QDKEK, Answer: OptRandomDKEK}, {Name: QPKATotal},
				{Name: QRRC}, {Name: QRRCCounterOnly}, {Name: QTransportPIN}, {Name: QLabel}}),
			skipped: []string{QDKEKShares, QKeyDomains},
			check: func(t *testing.T, a Answers, _ *Script) {
				if a.Settings.DKEKShares != 0 {
					t.Errorf("DKEK shares = %d, want 0 (random)", a.Settings.DKEKShares)
				}
			},
		},
		{
			name: "RRC disabled skips counter only",
			steps: concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries}, {Name: QDKEK}, {Name: QPKATotal},
				{Name: QRRC, Answer: "no"}, {Name: QNoRRC, Answer: "no"}, {Name: QRRC, Answer: "no"}, {Name: QNoRRC, Answer: "yes"},
				{Name: QTransportPIN}, {Name: QLabel}}),
			skipped: []string{QRRCCounterOnly},
			check: func(t *testing.T, a Answers, s *Script) {
				if a.Settings.ResetRetryCounter {
					t.Error("reset retry counter still allowed")
				}
				if !shownContains(s, "factory") && !shownContains(s, "losing every key") {
					t.Error("no warning about a blocked PIN")
				}
			},
		},
		{
			name: "transport PIN kept for later",
			steps: concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries}, {Name: QDKEK}, {Name: QPKATotal},
				{Name: QRRC}, {Name: QRRCCounterOnly}, {Name: QTransportPIN, Answer: "yes"}, {Name: QReplaceTransport, Answer: "no"}, {Name: QLabel}}),
			skipped: []string{QNewPIN},
			check: func(t *testing.T, a Answers, _ *Script) {
				if !a.Settings.TransportPIN || !a.NewPIN.IsZero() {
					t.Error("want a transport PIN without a new PIN")
				}
			},
		},
		{
			name:   "initialized SmartCard-HSM asks the current SO-PIN",
			tokens: []TokenInfo{initializedHSM()},
			steps: concat(pinSteps(testPIN), []Step{{Name: QSOPIN, Answer: testSOPINStr}, {Name: QSOPINAgain, Answer: testSOPINStr}},
				tail()),
			skipped: []string{QSOPINChoice},
			check: func(t *testing.T, a Answers, s *Script) {
				if !a.Settings.Force {
					t.Error("Force not set for an initialized token")
				}
				if !shownContains(s, "15 tries left") {
					t.Errorf("SO-PIN tries not shown: %q", s.Shown)
				}
			},
		},
		{
			name:   "initialized Pico HSM warns about the device key",
			tokens: []TokenInfo{initializedPico()},
			steps:  concat(pinSteps(testPIN), soPINSteps(), tail(), []Step{{Name: QDeviceCertificate}}),
			check: func(t *testing.T, a Answers, s *Script) {
				if !shownContains(s, "new device key") {
					t.Errorf("no device key warning: %q", s.Shown)
				}
			},
		},
		{
			name:   "Pico HSM 6.x transport PIN",
			tokens: []TokenInfo{blankPico()},
			steps: concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries}, {Name: QDKEK}, {Name: QPKATotal, Answer: "9"},
				{Name: QPKATotal}, {Name: QRRC}, {Name: QRRCCounterOnly}, {Name: QTransportPIN, Answer: "yes"}, {Name: QLabel, Answer: "x"},
				{Name: QDeviceCertificate, Answer: "yes"}, {Name: QDeviceCertConfirm, Answer: "yes"}}),
			skipped: []string{QReplaceTransport},
			check: func(t *testing.T, a Answers, s *Script) {
				if !shownContains(s, "never leaves transport-PIN mode") {
					t.Error("no Pico transport PIN warning")
				}
				if !a.Settings.TransportPIN || !a.Settings.Force {
					t.Error("want a forced transport PIN")
				}
				if !shownContains(s, "Pico-HSM") {
					t.Error("no Pico label warning")
				}
				if !a.ForceDeviceCertificate || !shownContains(s, "replaces the attestation certificate") {
					t.Error("device certificate answer or warning missing")
				}
				if len(s.Rejected) != 1 || !strings.Contains(s.Rejected[0].Message, "at most 8 public keys") {
					t.Errorf("rejections = %q, want the Pico public key limit", s.Rejected)
				}
			},
		},
		{
			name: "well-known PIN needs an explicit choice",
			steps: concat([]Step{{Name: QPINChoice, Answer: OptDefaultPIN}, {Name: QDefaultPIN}, {Name: QPINChoice, Answer: OptDefaultPIN},
				{Name: QDefaultPIN, Answer: "yes"}}, soPINSteps(), tail()),
			check: func(t *testing.T, a Answers, s *Script) {
				if !a.DefaultPIN || string(a.Settings.UserPIN.Bytes()) != WellKnownPIN {
					t.Error("the well-known PIN was not set")
				}
				if !shownContains(s, "published in every guide") {
					t.Error("no warning about the well-known PIN")
				}
			},
		},
		{
			name: "well-known SO-PIN needs a confirmation",
			steps: concat(pinSteps(testPIN), []Step{{Name: QSOPINChoice, Answer: OptEnterSO}, {Name: QSOPIN, Answer: "57621880"},
				{Name: QSOPINAgain, Answer: "3537363231383830"}, {Name: QDefaultSOPIN, Answer: "no"},
				{Name: QSOPIN, Answer: testSOPINHex}, {Name: QSOPINAgain, Answer: testSOPINHex}}, tail()),
			check: func(t *testing.T, a Answers, s *Script) {
				if a.Settings.SOPIN.Hex() != testSOPINHex {
					t.Error("SO-PIN is not the second one entered")
				}
			},
		},
		{
			name: "differing entries are asked again",
			steps: concat([]Step{{Name: QPINChoice}, {Name: QPIN, Answer: testPIN}, {Name: QPINAgain, Answer: testNewPIN},
				{Name: QPIN, Answer: testPIN}, {Name: QPINAgain, Answer: testPIN}}, soPINSteps(), tail()),
			check: func(t *testing.T, _ Answers, s *Script) {
				if !shownContains(s, errEntriesDiffer.Error()) {
					t.Error("no message about differing entries")
				}
			},
		},
		{
			name: "retries range follows the PIN length",
			steps: concat(pinSteps(testPIN6), soPINSteps(), []Step{{Name: QRetries, Answer: "4"}, {Name: QRetries, Answer: "3"},
				{Name: QDKEK}, {Name: QPKATotal}, {Name: QRRC}, {Name: QRRCCounterOnly}, {Name: QTransportPIN}, {Name: QLabel}}),
			check: func(t *testing.T, a Answers, s *Script) {
				if q := s.Asked[slices.Index(askNames(s), QRetries)]; !strings.Contains(q.Message, "1 to 3") {
					t.Errorf("retries question %q does not give the range 1 to 3", q.Message)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tokens := tc.tokens
			if tokens == nil {
				tokens = []TokenInfo{blankHSM()}
			}
			script := &Script{Steps: tc.steps}
			ans, err := Ask(script, tokens, schsm.DefaultSettings())
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
			if tc.check != nil {
				tc.check(t, ans, script)
			}
		})
	}
}

func TestAskValidationMessages(t *testing.T) {
	long := strings.Repeat("x", 33)
	tests := []struct {
		name   string
		before []Step // answers up to the question
		bad    Step
		want   string
		after  []Step // a valid answer and the rest
	}{
		{"short PIN", []Step{{Name: QPINChoice}}, Step{Name: QPIN, Answer: "123"}, "the user PIN has 3 characters; it needs 6 to 16",
			concat([]Step{{Name: QPIN, Answer: testPIN}, {Name: QPINAgain, Answer: testPIN}}, soPINSteps(), tail())},
		{"non-ASCII PIN", []Step{{Name: QPINChoice}}, Step{Name: QPIN, Answer: "48Q2917é"}, "non-ASCII characters",
			concat([]Step{{Name: QPIN, Answer: testPIN}, {Name: QPINAgain, Answer: testPIN}}, soPINSteps(), tail())},
		{"well-known PIN typed", []Step{{Name: QPINChoice}}, Step{Name: QPIN, Answer: WellKnownPIN}, "well-known default PIN",
			concat([]Step{{Name: QPIN, Answer: testPIN}, {Name: QPINAgain, Answer: testPIN}}, soPINSteps(), tail())},
		{"SO-PIN length", concat(pinSteps(testPIN), []Step{{Name: QSOPINChoice, Answer: OptEnterSO}}), Step{Name: QSOPIN, Answer: "12345"},
			"enter exactly 16 hex digits", concat([]Step{{Name: QSOPIN, Answer: testSOPINHex}, {Name: QSOPINAgain, Answer: testSOPINHex}}, tail())},
		{"SO-PIN hex", concat(pinSteps(testPIN), []Step{{Name: QSOPINChoice, Answer: OptEnterSO}}), Step{Name: QSOPIN, Answer: "51G6372376583270"},
			"is not a hex digit", concat([]Step{{Name: QSOPIN, Answer: testSOPINHex}, {Name: QSOPINAgain, Answer: testSOPINHex}}, tail())},
		{"retries too many", concat(pinSteps(testPIN6), soPINSteps()), Step{Name: QRetries, Answer: "5"}, "5 retries is too many for a PIN of 6 characters",
			concat([]Step{{Name: QRetries}}, tail()[1:])},
		{"retries zero", concat(pinSteps(testPIN), soPINSteps()), Step{Name: QRetries, Answer: "0"}, "the retry counter is 0; set 1 to 10 retries",
			concat([]Step{{Name: QRetries}}, tail()[1:])},
		{"retries not a number", concat(pinSteps(testPIN), soPINSteps()), Step{Name: QRetries, Answer: "three"}, "is not a whole number",
			concat([]Step{{Name: QRetries}}, tail()[1:])},
		{"DKEK shares too many", concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries}, {Name: QDKEK, Answer: OptSharesDKEK}}),
			Step{Name: QDKEKShares, Answer: "11"}, "11 DKEK shares is out of range",
			[]Step{{Name: QDKEKShares}, {Name: QPKATotal}, {Name: QKeyDomains}, {Name: QRRC}, {Name: QRRCCounterOnly}, {Name: QTransportPIN}, {Name: QLabel}}},
		{"DKEK shares zero", concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries}, {Name: QDKEK, Answer: OptSharesDKEK}}),
			Step{Name: QDKEKShares, Answer: "0"}, "0 DKEK shares is out of range",
			[]Step{{Name: QDKEKShares}, {Name: QPKATotal}, {Name: QKeyDomains}, {Name: QRRC}, {Name: QRRCCounterOnly}, {Name: QTransportPIN}, {Name: QLabel}}},
		{"PKA total", concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries}, {Name: QDKEK}}), Step{Name: QPKATotal, Answer: "91"},
			"public key authentication with 91 keys is out of range", concat([]Step{{Name: QPKATotal}}, tail()[3:])},
		{"PKA required", concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries}, {Name: QDKEK}, {Name: QPKATotal, Answer: "3"}}),
			Step{Name: QPKARequired, Answer: "4"}, "4 required keys of 3 is out of range",
			[]Step{{Name: QPKARequired}, {Name: QRRC}, {Name: QRRCCounterOnly}, {Name: QTransportPIN}, {Name: QPKAReplaceable}, {Name: QCombinedPINAndPKA},
				{Name: QPKARegistration + "-1"}, {Name: QLabel}}},
		{"key domains", concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries}, {Name: QDKEK, Answer: OptSharesDKEK}, {Name: QDKEKShares}, {Name: QPKATotal}}),
			Step{Name: QKeyDomains, Answer: "17"}, "17 key domains is out of range",
			[]Step{{Name: QKeyDomains}, {Name: QRRC}, {Name: QRRCCounterOnly}, {Name: QTransportPIN}, {Name: QLabel}}},
		{"key domain shares", concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries}, {Name: QDKEK, Answer: OptSharesDKEK}, {Name: QDKEKShares},
			{Name: QPKATotal}, {Name: QKeyDomains, Answer: "2"}}), Step{Name: QKeyDomainShares + "-1", Answer: "0"}, "0 DKEK shares is out of range",
			[]Step{{Name: QKeyDomainShares + "-1"}, {Name: QRRC}, {Name: QRRCCounterOnly}, {Name: QTransportPIN}, {Name: QLabel}}},
		{"label too long", concat(pinSteps(testPIN), soPINSteps(), tail()[:6]), Step{Name: QLabel, Answer: long}, "the label has 33 bytes",
			[]Step{{Name: QLabel}}},
		{"label control character", concat(pinSteps(testPIN), soPINSteps(), tail()[:6]), Step{Name: QLabel, Answer: "a\tb"}, "control character",
			[]Step{{Name: QLabel}}},
		{"new PIN equals transport PIN", concat(pinSteps(testPIN), soPINSteps(), tail()[:5], []Step{{Name: QTransportPIN, Answer: "yes"}, {Name: QReplaceTransport}}),
			Step{Name: QNewPIN, Answer: testPIN}, "equals the transport PIN",
			[]Step{{Name: QNewPIN, Answer: testNewPIN}, {Name: QNewPINAgain, Answer: testNewPIN}, {Name: QLabel}}},
		{"new PIN too short for the retries", concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries, Answer: "10"}}, tail()[1:5],
			[]Step{{Name: QTransportPIN, Answer: "yes"}, {Name: QReplaceTransport}}),
			Step{Name: QNewPIN, Answer: testPIN6}, "allows at most 3 retries, but 10 were chosen",
			[]Step{{Name: QNewPIN, Answer: testNewPIN}, {Name: QNewPINAgain, Answer: testNewPIN}, {Name: QLabel}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			script := &Script{Steps: concat(tc.before, []Step{tc.bad}, tc.after)}
			if _, err := Ask(script, []TokenInfo{blankHSM()}, schsm.DefaultSettings()); err != nil {
				t.Fatal(err)
			}
			if len(script.Rejected) != 1 {
				t.Fatalf("rejections = %q, want one", script.Rejected)
			}
			r := script.Rejected[0]
			if r.Name != tc.bad.Name || !strings.Contains(r.Message, tc.want) {
				t.Errorf("rejection = %q: %q, want %q containing %q", r.Name, r.Message, tc.bad.Name, tc.want)
			}
			if strings.Contains(r.Message, tc.bad.Answer) && tc.bad.Answer != WellKnownPIN && (tc.bad.Name == QPIN || tc.bad.Name == QSOPIN || tc.bad.Name == QNewPIN) {
				t.Error("the rejection message contains the secret")
			}
		})
	}
}

func TestAskInterruptAndNoToken(t *testing.T) {
	script := &Script{Steps: concat(pinSteps(testPIN), soPINSteps(), []Step{{Name: QRetries, Interrupt: true}})}
	ans, err := Ask(script, []TokenInfo{blankHSM()}, schsm.DefaultSettings())
	if !errors.Is(err, ErrInterrupted) {
		t.Errorf("error = %v, want ErrInterrupted", err)
	}
	if !ans.Settings.UserPIN.IsZero() || ans.Settings.SOPIN != nil {
		t.Error("an interrupted Ask returned secrets")
	}

	if _, err := Ask(&Script{}, nil, schsm.DefaultSettings()); !errors.Is(err, ErrNoToken) {
		t.Errorf("error without tokens = %v, want ErrNoToken", err)
	}
}

func TestSummaryMasksSecrets(t *testing.T) {
	script := &Script{Steps: concat(pinSteps(testPIN), soPINSteps(), tail()[:5],
		[]Step{{Name: QTransportPIN, Answer: "yes"}, {Name: QReplaceTransport}, {Name: QNewPIN, Answer: testNewPIN}, {Name: QNewPINAgain, Answer: testNewPIN}, {Name: QLabel}})}
	tok := initializedHSM()
	script.Steps = slices.DeleteFunc(script.Steps, func(s Step) bool { return s.Name == QSOPINChoice })
	ans, err := Ask(script, []TokenInfo{tok}, schsm.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	sum := Summary(tok, ans)
	for _, secret := range []string{testPIN, testNewPIN, testSOPINHex, testSOPINStr} {
		if strings.Contains(sum, secret) {
			t.Errorf("summary contains a secret:\n%s", sum)
		}
	}
	for _, want := range []string{"3 keys, 2 certificates and 1 data object", "DECM0102330", "replaced by the user's own PIN"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
}

func TestConfirmInitialize(t *testing.T) {
	tests := []struct {
		name    string
		tok     TokenInfo
		steps   []Step
		wantErr error
		reject  string
	}{
		{"blank yes", blankHSM(), []Step{{Name: QConfirm}}, nil, ""},
		{"blank no", blankHSM(), []Step{{Name: QConfirm, Answer: "no"}}, ErrNotConfirmed, ""},
		{"serial typed", initializedHSM(), []Step{{Name: QConfirm, Answer: "DECM0102330"}}, nil, ""},
		{"wrong word then empty", initializedHSM(), []Step{{Name: QConfirm, Answer: "yes"}, {Name: QConfirm}}, ErrNotConfirmed, "that is not its serial number DECM0102330"},
		{"erase without serial", initializedPico(), []Step{{Name: QConfirm, Answer: "erase"}}, nil, ""},
		{"interrupt", initializedHSM(), []Step{{Name: QConfirm, Interrupt: true}}, ErrInterrupted, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			script := &Script{Steps: tc.steps}
			err := ConfirmInitialize(script, tc.tok)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
			if tc.reject != "" && (len(script.Rejected) != 1 || !strings.Contains(script.Rejected[0].Message, tc.reject)) {
				t.Errorf("rejections = %q, want %q", script.Rejected, tc.reject)
			}
		})
	}
}

func TestGenerateSOPINAlphabet(t *testing.T) {
	seen := map[schsm.SOPIN]bool{}
	for range 200 {
		p, err := GenerateSOPIN()
		if err != nil {
			t.Fatal(err)
		}
		chars, ok := p.Chars()
		if !ok || strings.Trim(chars, SOPINAlphabet) != "" {
			t.Fatal("generated SO-PIN outside the alphabet")
		}
		if strings.ContainsAny(chars, "0O1lIo") {
			t.Fatal("generated SO-PIN contains an ambiguous character")
		}
		back, err := schsm.ParseSOPIN(p.Hex())
		if err != nil || back != p {
			t.Fatal("hex spelling does not parse back")
		}
		seen[p] = true
	}
	if len(seen) < 199 {
		t.Errorf("%d distinct SO-PINs in 200", len(seen))
	}
}

func settingsWithShares(n int) schsm.Settings {
	s := schsm.DefaultSettings()
	s.DKEKShares = n
	return s
}
