package schsm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// validSettings returns settings that pass Validate without warnings.
func validSettings() Settings {
	s := DefaultSettings()
	s.UserPIN = SecretFromString("648219")
	so := SOPIN{0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE}
	s.SOPIN = &so
	return s
}

func bytePtr(b byte) *byte { return &b }

func TestDefaultSettings(t *testing.T) {
	s := DefaultSettings()
	if s.Retries != 3 || s.DKEKShares != NoDKEK || !s.ResetRetryCounter {
		t.Errorf("DefaultSettings() = retries %d, DKEK shares %d, RRC %v; want 3, -1, true", s.Retries, s.DKEKShares, s.ResetRetryCounter)
	}
	warnings, err := validSettings().Validate()
	if err != nil {
		t.Fatalf("valid settings rejected: %v", err)
	}
	if len(warnings) != 0 {
		t.Errorf("valid settings warned: %q", warnings)
	}
}

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name      string
		modify    func(*Settings)
		wantField string // "" means valid
		wantText  string
	}{
		{"PIN 5 characters", func(s *Settings) { s.UserPIN = SecretFromString("12345") }, FieldUserPIN, "5 characters"},
		{"PIN 6 characters", func(s *Settings) { s.UserPIN = SecretFromString("123456") }, "", ""},
		{"PIN 16 characters", func(s *Settings) { s.UserPIN = SecretFromString("1234567890123456"); s.Retries = 10 }, "", ""},
		{"PIN 17 characters", func(s *Settings) { s.UserPIN = SecretFromString("12345678901234567") }, FieldUserPIN, "17 characters"},
		{"PIN with control character", func(s *Settings) { s.UserPIN = SecretFromString("1234\t678") }, FieldUserPIN, "character 5"},
		{"PIN with non-ASCII", func(s *Settings) { s.UserPIN = SecretFromString("12345ä") }, FieldUserPIN, "non-ASCII characters (6 characters, 7 bytes"},
		{"PIN of full-width digits", func(s *Settings) { s.UserPIN = SecretFromString("１２３４５６") }, FieldUserPIN, "non-ASCII characters (6 characters, 18 bytes"},
		{"PIN with punctuation", func(s *Settings) { s.UserPIN = SecretFromString("a b~!@#") }, "", ""},
		{"PIN missing", func(s *Settings) { s.UserPIN = Secret{} }, FieldUserPIN, "missing"},
		{"PIN missing with PKA", func(s *Settings) { s.UserPIN = Secret{}; s.PKATotal, s.PKARequired = 2, 1 }, "", ""},
		{"SO-PIN missing", func(s *Settings) { s.SOPIN = nil }, FieldSOPIN, "missing"},

		{"retries 0", func(s *Settings) { s.Retries = 0 }, FieldRetries, "set 1 to 3 retries for a PIN of 6 characters"},
		{"retries negative", func(s *Settings) { s.Retries = -1 }, FieldRetries, "set 1 to 3 retries for a PIN of 6 characters"},
		{"retries 0, 8-character PIN", func(s *Settings) { s.Retries = 0; s.UserPIN = SecretFromString("48291357") }, FieldRetries, "set 1 to 10 retries"},
		{"retries 11", func(s *Settings) { s.Retries = 11 }, FieldRetries, "set 1 to 3 retries"},
		{"retries 4 for 6 chars", func(s *Settings) { s.Retries = 4 }, FieldRetries, "at most 3"},
		{"retries 3 for 6 chars", func(s *Settings) { s.Retries = 3 }, "", ""},
		{"retries 5 for 7 chars", func(s *Settings) { s.UserPIN = SecretFromString("1234567"); s.Retries = 5 }, "", ""},
		{"retries 6 for 7 chars", func(s *Settings) { s.UserPIN = SecretFromString("1234567"); s.Retries = 6 }, FieldRetries, "at most 5"},
		{"retries 10 for 8 chars", func(s *Settings) { s.UserPIN = SecretFromString("12345678"); s.Retries = 10 }, "", ""},
		{"retries 11 for 8 chars", func(s *Settings) { s.UserPIN = SecretFromString("12345678"); s.Retries = 11 }, FieldRetries, "1 to 10"},
		{"retries 10 without PIN", func(s *Settings) { s.UserPIN = Secret{}; s.PKATotal, s.PKARequired = 1, 1; s.Retries = 10 }, "", ""},

		{"DKEK none", func(s *Settings) { s.DKEKShares = NoDKEK }, "", ""},
		{"DKEK random", func(s *Settings) { s.DKEKShares = 0 }, "", ""},
		{"DKEK 10 shares", func(s *Settings) { s.DKEKShares = 10 }, "", ""},
		{"DKEK 11 shares", func(s *Settings) { s.DKEKShares = 11 }, FieldDKEKShares, "1 to 10"},
		{"DKEK -2", func(s *Settings) { s.DKEKShares = -2 }, FieldDKEKShares, "out of range"},

		{"share files without DKEK", func(s *Settings) { s.ShareFiles = []string{"a.pbe"} }, FieldShareFiles, "--dkek-shares"},
		{"share files with random DKEK", func(s *Settings) { s.DKEKShares = 0; s.ShareFiles = []string{"a.pbe"} }, FieldShareFiles, "not set up"},
		{"more files than shares", func(s *Settings) { s.DKEKShares = 1; s.ShareFiles = []string{"a.pbe", "b.pbe"} }, FieldShareFiles, "2 share files"},
		{"same file twice", func(s *Settings) { s.DKEKShares = 2; s.ShareFiles = []string{"a.pbe", "./a.pbe"} }, FieldShareFiles, "given twice"},
		{"files match shares", func(s *Settings) { s.DKEKShares = 2; s.ShareFiles = []string{"a.pbe", "b.pbe"} }, "", ""},

		{"PKA 1 of 1", func(s *Settings) { s.PKATotal, s.PKARequired = 1, 1 }, "", ""},
		{"PKA 90 of 90", func(s *Settings) { s.PKATotal, s.PKARequired = 90, 90 }, "", ""},
		{"PKA 91", func(s *Settings) { s.PKATotal, s.PKARequired = 91, 1 }, FieldPKATotal, "1 to 90"},
		{"PKA required without total", func(s *Settings) { s.PKARequired = 1 }, FieldPKATotal, "0 keys"},
		{"PKA required 0", func(s *Settings) { s.PKATotal = 3 }, FieldPKARequired, "require 1 to 3"},
		{"PKA required above total", func(s *Settings) { s.PKATotal, s.PKARequired = 3, 4 }, FieldPKARequired, "4 required keys of 3"},

		{"key domains 16", func(s *Settings) { s.KeyDomains = 16 }, "", ""},
		{"key domains 17", func(s *Settings) { s.KeyDomains = 17 }, FieldKeyDomains, "0 to 16"},
		{"key domains negative", func(s *Settings) { s.KeyDomains = -1 }, FieldKeyDomains, "out of range"},

		{"RRC counter only without RRC", func(s *Settings) { s.ResetRetryCounter = false; s.RRCResetsCounterOnly = true }, FieldRRCResetsCountOnly, "--no-rrc"},
		{"RRC counter only with RRC", func(s *Settings) { s.RRCResetsCounterOnly = true }, "", ""},
		{"transport PIN without PIN", func(s *Settings) {
			s.TransportPIN = true
			s.UserPIN = Secret{}
			s.PKATotal, s.PKARequired = 1, 1
		}, FieldTransportPIN, "needs a user PIN"},
		{"transport PIN", func(s *Settings) { s.TransportPIN = true }, "", ""},
		{"PKA replaceable without PKA", func(s *Settings) { s.PKAReplaceable = true }, FieldPKAReplaceable, "--public-key-auth"},
		{"PKA replaceable with PKA", func(s *Settings) { s.PKAReplaceable = true; s.PKATotal, s.PKARequired = 2, 2 }, "", ""},
		{"combined without PKA", func(s *Settings) { s.CombinedPINAndPKA = true }, FieldCombinedPINAndPKA, "both"},
		{"combined without PIN", func(s *Settings) {
			s.CombinedPINAndPKA = true
			s.UserPIN = Secret{}
			s.PKATotal, s.PKARequired = 2, 1
		}, FieldCombinedPINAndPKA, "both"},
		{"combined with both", func(s *Settings) { s.CombinedPINAndPKA = true; s.PKATotal, s.PKARequired = 2, 1 }, "", ""},

		{"Pico options button and counter", func(s *Settings) { s.OptionsHigh = bytePtr(0x03) }, "", ""},
		{"Pico options secure lock", func(s *Settings) { s.OptionsHigh = bytePtr(0x04) }, FieldOptionsHigh, "secure lock"},
		{"Pico options unknown bit", func(s *Settings) { s.OptionsHigh = bytePtr(0x80) }, FieldOptionsHigh, "80"},

		{"label 32 bytes", func(s *Settings) { s.Label = strings.Repeat("L", 32) }, "", ""},
		{"label 33 bytes", func(s *Settings) { s.Label = strings.Repeat("L", 33) }, FieldLabel, "33 bytes"},
		{"label with newline", func(s *Settings) { s.Label = "a\nb" }, FieldLabel, "control character"},
		{"label invalid UTF-8", func(s *Settings) { s.Label = "a\xffb" }, FieldLabel, "UTF-8"},
		{"label UTF-8", func(s *Settings) { s.Label = "Schlüssel" }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSettings()
			tt.modify(&s)
			_, err := s.Validate()

			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want no error", err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Validate() = %v, want *ValidationError", err)
			}
			if !errors.Is(err, ErrInvalidSettings) {
				t.Errorf("error does not match ErrInvalidSettings")
			}
			if len(verr.Problems) != 1 {
				t.Fatalf("problems = %+v, want exactly one", verr.Problems)
			}
			p := verr.Problems[0]
			if p.Field != tt.wantField {
				t.Errorf("field = %q, want %q", p.Field, tt.wantField)
			}
			if !strings.Contains(p.Message, tt.wantText) {
				t.Errorf("message %q does not mention %q", p.Message, tt.wantText)
			}
		})
	}
}

func TestValidateCollectsAllProblems(t *testing.T) {
	s := Settings{Retries: 0, DKEKShares: 20, KeyDomains: 20}
	_, err := s.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Validate() = %v, want *ValidationError", err)
	}
	fields := map[string]bool{}
	for _, p := range verr.Problems {
		fields[p.Field] = true
	}
	for _, f := range []string{FieldUserPIN, FieldSOPIN, FieldRetries, FieldDKEKShares, FieldKeyDomains} {
		if !fields[f] {
			t.Errorf("no problem reported for %s; got %+v", f, verr.Problems)
		}
	}
	if !strings.HasPrefix(err.Error(), "invalid settings: ") || !strings.Contains(err.Error(), "so-pin: ") {
		t.Errorf("Error() = %q", err)
	}
}

func TestValidateWarnings(t *testing.T) {
	tests := []struct {
		name     string
		modify   func(*Settings)
		wantText string
	}{
		{"16-character PIN", func(s *Settings) { s.UserPIN = SecretFromString("1234567890123456") }, "at most 15"},
		{"default SO-PIN", func(s *Settings) { so := DefaultSOPIN; s.SOPIN = &so }, "well-known default"},
		{"RRC disabled", func(s *Settings) { s.ResetRetryCounter = false }, "re-initializing"},
		{"9 PKA keys", func(s *Settings) { s.PKATotal, s.PKARequired = 9, 1 }, "at most 8"},
		{"9 key domains", func(s *Settings) { s.KeyDomains = 9 }, "at most 8"},
		{"key domains with DKEK", func(s *Settings) { s.KeyDomains = 1; s.DKEKShares = 1 }, "domain 0 must be created"},
		{"fewer files than shares", func(s *Settings) { s.DKEKShares = 3; s.ShareFiles = []string{"a.pbe"} }, "other 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSettings()
			tt.modify(&s)
			warnings, err := s.Validate()
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if len(warnings) != 1 {
				t.Fatalf("warnings = %q, want one", warnings)
			}
			if !strings.Contains(warnings[0], tt.wantText) {
				t.Errorf("warning %q does not mention %q", warnings[0], tt.wantText)
			}
		})
	}
}

func TestValidateNeverShowsSecrets(t *testing.T) {
	s := validSettings()
	s.UserPIN = SecretFromString("Zx9!Zx9!Zx9!Zx9!Zx9!") // too long
	so, err := ParseSOPIN("Qw3$Qw3$")
	if err != nil {
		t.Fatal(err)
	}
	s.SOPIN = &so
	s.Retries = 99

	warnings, err := s.Validate()
	if err == nil {
		t.Fatal("Validate() accepted a 20-character PIN")
	}
	all := err.Error() + strings.Join(warnings, " ") + fmt.Sprintf("%v %+v %#v", s, s, s)
	j, _ := json.Marshal(s)
	all += string(j)
	for _, secret := range []string{"Zx9!", "Qw3$", so.Hex()} {
		if strings.Contains(all, secret) {
			t.Errorf("output contains secret %q: %s", secret, all)
		}
	}
}

func TestRetryLimit(t *testing.T) {
	tests := []struct{ pinLen, want int }{{0, 3}, {6, 3}, {7, 5}, {8, 10}, {15, 10}, {16, 10}}
	for _, tt := range tests {
		if got := RetryLimit(tt.pinLen); got != tt.want {
			t.Errorf("RetryLimit(%d) = %d, want %d", tt.pinLen, got, tt.want)
		}
	}
}

func TestFieldValidators(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"user PIN ok", ValidateUserPIN(SecretFromString("123456")), false},
		{"user PIN empty", ValidateUserPIN(Secret{}), true},
		{"retries ok", ValidateRetries(7, 5), false},
		{"retries too many", ValidateRetries(7, 6), true},
		{"DKEK none", ValidateDKEKShares(NoDKEK), false},
		{"DKEK 11", ValidateDKEKShares(11), true},
		{"PKA ok", ValidatePKA(3, 2), false},
		{"PKA total 0", ValidatePKA(0, 0), true},
		{"PKA required 0", ValidatePKA(3, 0), true},
		{"key domains ok", ValidateKeyDomains(8), false},
		{"key domains 17", ValidateKeyDomains(17), true},
		{"options high ok", ValidateOptionsHigh(0x02), false},
		{"options high lock", ValidateOptionsHigh(0x04), true},
		{"label ok", ValidateLabel("token"), false},
		{"label long", ValidateLabel(strings.Repeat("x", 40)), true},
	}
	for _, tt := range tests {
		if (tt.err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, tt.err, tt.wantErr)
		}
	}
}

func TestOptionsLow(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Settings)
		want   byte
	}{
		{"defaults", func(s *Settings) {}, 0x01},
		{"no RRC", func(s *Settings) { s.ResetRetryCounter = false }, 0x00},
		{"transport", func(s *Settings) { s.TransportPIN = true }, 0x03},
		{"PKA replaceable", func(s *Settings) { s.PKAReplaceable = true }, 0x09},
		{"combined", func(s *Settings) { s.CombinedPINAndPKA = true }, 0x11},
		{"RRC counter only", func(s *Settings) { s.RRCResetsCounterOnly = true }, 0x21},
		{"all", func(s *Settings) {
			s.TransportPIN, s.PKAReplaceable, s.CombinedPINAndPKA, s.RRCResetsCounterOnly = true, true, true, true
		}, 0x3B},
	}
	for _, tt := range tests {
		s := DefaultSettings()
		tt.modify(&s)
		if got := s.OptionsLow(); got != tt.want {
			t.Errorf("%s: OptionsLow() = %02X, want %02X", tt.name, got, tt.want)
		}
	}
}

func TestInitParams(t *testing.T) {
	pico := DeviceInfo{Family: FamilyPicoHSM, Type: 0xFF, OptionsHigh: 0x02, OptionsLow: 0x01, VersionMajor: 6, VersionMinor: 6}
	scHSM := DeviceInfo{Family: FamilySmartCardHSM, Type: 0x00, VersionMajor: 3, VersionMinor: 6}

	tests := []struct {
		name        string
		modify      func(*Settings)
		dev         DeviceInfo
		wantOptions uint16
	}{
		{"SmartCard-HSM defaults", func(s *Settings) {}, scHSM, 0x0001},
		{"Pico keeps high byte", func(s *Settings) {}, pico, 0x0201},
		{"Pico explicit high byte", func(s *Settings) { s.OptionsHigh = bytePtr(0x01) }, pico, 0x0101},
		{"Pico explicit zero", func(s *Settings) { s.OptionsHigh = bytePtr(0x00) }, pico, 0x0001},
		{"SmartCard-HSM explicit zero", func(s *Settings) { s.OptionsHigh = bytePtr(0x00) }, scHSM, 0x0001},
		{"transport PIN", func(s *Settings) { s.TransportPIN = true }, scHSM, 0x0003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSettings()
			tt.modify(&s)
			p, err := s.InitParams(tt.dev)
			if err != nil {
				t.Fatalf("InitParams: %v", err)
			}
			if p.Options != tt.wantOptions {
				t.Errorf("Options = %04X, want %04X", p.Options, tt.wantOptions)
			}
		})
	}
}

func TestInitParamsGoldenCommand(t *testing.T) {
	// sc-hsm-tool --initialize --so-pin 3537363231383830 --pin 648219
	// --dkek-shares 1, as the Pico HSM 6.6 firmware received it.
	s := DefaultSettings()
	s.UserPIN = SecretFromString("648219")
	so, err := ParseSOPIN("3537363231383830")
	if err != nil {
		t.Fatal(err)
	}
	s.SOPIN = &so
	s.DKEKShares = 1

	p, err := s.InitParams(DeviceInfo{Family: FamilyPicoHSM, Type: 0xFF})
	if err != nil {
		t.Fatalf("InitParams: %v", err)
	}
	cmd, err := InitializeCommand(p)
	if err != nil {
		t.Fatalf("InitializeCommand: %v", err)
	}
	raw, err := cmd.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := "80500000" + "1C" + "80020001" + "8106363438323139" + "82083537363231383830" + "910103" + "920101"
	if got := fmt.Sprintf("%X", raw); got != want {
		t.Errorf("INITIALIZE = %s, want %s", got, want)
	}
}

func TestInitParamsOptionalTags(t *testing.T) {
	s := validSettings()
	s.UserPIN = Secret{}
	s.PKATotal, s.PKARequired = 3, 2
	s.KeyDomains = 2
	s.DKEKShares = 0

	p, err := s.InitParams(DeviceInfo{Family: FamilySmartCardHSM})
	if err != nil {
		t.Fatalf("InitParams: %v", err)
	}
	if p.UserPIN != nil {
		t.Errorf("UserPIN = non-nil, want nil so that tag 81 is omitted")
	}
	if p.PKATotal != 3 || p.PKARequired != 2 || p.KeyDomains != 2 || p.DKEKShares != 0 || p.Retries != 3 {
		t.Errorf("InitParams = PKA %d/%d, domains %d, DKEK %d, retries %d", p.PKARequired, p.PKATotal, p.KeyDomains, p.DKEKShares, p.Retries)
	}
	if p.SOPIN != *s.SOPIN {
		t.Errorf("SOPIN differs")
	}
}

func TestInitParamsErrors(t *testing.T) {
	s := validSettings()
	s.OptionsHigh = bytePtr(0x01)
	_, err := s.InitParams(DeviceInfo{Family: FamilySmartCardHSM})
	var verr *ValidationError
	if !errors.As(err, &verr) || verr.Problems[0].Field != FieldOptionsHigh {
		t.Errorf("Pico options on a SmartCard-HSM: err = %v, want a problem for %s", err, FieldOptionsHigh)
	}

	s = validSettings()
	s.SOPIN = nil
	if _, err := s.InitParams(DeviceInfo{Family: FamilySmartCardHSM}); !errors.Is(err, ErrInvalidSettings) {
		t.Errorf("missing SO-PIN: err = %v, want ErrInvalidSettings", err)
	}
}

func TestSettingsJSONConfig(t *testing.T) {
	s := DefaultSettings()
	config := `{"pin":"648219","so_pin":"57621880","retries":3,"dkek_shares":2,"share_files":["a.pbe","b.pbe"],"label":"HSM 1"}`
	if err := json.Unmarshal([]byte(config), &s); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if string(s.UserPIN.Bytes()) != "648219" || s.SOPIN == nil || *s.SOPIN != DefaultSOPIN {
		t.Errorf("PINs not decoded")
	}
	if s.DKEKShares != 2 || len(s.ShareFiles) != 2 || s.Label != "HSM 1" || !s.ResetRetryCounter {
		t.Errorf("decoded settings = %+v", s)
	}

	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "648219") || strings.Contains(string(out), "57621880") {
		t.Errorf("marshalled settings contain a PIN: %s", out)
	}
}

func TestValidateWarnsLongLabel(t *testing.T) {
	s := DefaultSettings()
	sopin := SOPIN{'1', '2', '3', '4', '5', '6', '7', '8'}
	s.SOPIN = &sopin
	s.UserPIN = SecretFromString("482913")
	s.Label = strings.Repeat("L", OpenSCLabelLength+1)
	warnings, err := s.Validate()
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	found := false
	for _, w := range warnings {
		if strings.Contains(w, "longer than 22 bytes as their first 19 followed by \"...\"") {
			found = true
		}
	}
	if !found {
		t.Errorf("warnings %q lack the OpenSC label length warning", warnings)
	}
}

func TestValidateLabelOfOpenSCLength(t *testing.T) {
	s := DefaultSettings()
	sopin := SOPIN{'1', '2', '3', '4', '5', '6', '7', '8'}
	s.SOPIN = &sopin
	s.UserPIN = SecretFromString("482913")
	s.Label = strings.Repeat("L", 22) // OpenSC 0.23 shows 22 bytes in full
	warnings, err := s.Validate()
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, w := range warnings {
		if strings.Contains(w, "label") {
			t.Errorf("a 22-byte label got the warning %q", w)
		}
	}
	if OpenSCLabelShown != 19 {
		t.Errorf("OpenSCLabelShown = %d, want 19", OpenSCLabelShown)
	}
}

func TestValidateNonASCIIPINNeverShowsIt(t *testing.T) {
	s := DefaultSettings()
	sopin := SOPIN{'1', '2', '3', '4', '5', '6', '7', '8'}
	s.SOPIN = &sopin
	s.UserPIN = SecretFromString("１２３４５６")
	_, err := s.Validate()
	if err == nil {
		t.Fatal("Validate accepted a PIN of full-width digits")
	}
	if strings.Contains(err.Error(), "18 characters") {
		t.Errorf("error %q counts bytes as characters", err)
	}
	if strings.Contains(err.Error(), "１") {
		t.Errorf("error %q shows the PIN", err)
	}
}

func TestShareFileMessagesSingular(t *testing.T) {
	s := DefaultSettings()
	sopin := SOPIN{'1', '2', '3', '4', '5', '6', '7', '8'}
	s.SOPIN = &sopin
	s.UserPIN = SecretFromString("482913")
	s.DKEKShares = 1
	s.ShareFiles = []string{"a.pbe", "b.pbe"}
	_, err := s.Validate()
	if err == nil || !strings.Contains(err.Error(), "give at most 1 file or") {
		t.Errorf("error = %v, want \"give at most 1 file or\"", err)
	}

	s.DKEKShares = 2
	s.ShareFiles = []string{"a.pbe"}
	warnings, err := s.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "1 of 2 DKEK shares is given; the device cannot wrap or unwrap keys until the other 1 is imported") {
		t.Errorf("warnings = %q, want singular verbs", warnings)
	}
}
