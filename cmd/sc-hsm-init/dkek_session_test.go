package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek/pwshare"
)

func TestZeroDKEKKCVValue(t *testing.T) {
	sum := sha256.Sum256(make([]byte, 32))
	if !bytes.Equal(zeroDKEKKCV[:], sum[:8]) {
		t.Errorf("zeroDKEKKCV = %X, want %X", zeroDKEKKCV, sum[:8])
	}
	if got := fmt.Sprintf("%X", zeroDKEKKCV[:]); got != "66687AADF862BD77" {
		t.Errorf("zeroDKEKKCV = %s, want 66687AADF862BD77", got)
	}
}

func TestViewKeyDomainFlagsZeroDKEK(t *testing.T) {
	zero := viewKeyDomain(schsm.KeyDomain{Number: 1, Defined: true, DKEK: schsm.DKEKStatus{Configured: true, Total: 2, KCV: zeroDKEKKCV}})
	if !zero.ZeroDKEK || !strings.Contains(zero.describe(), "all-zero DKEK") {
		t.Errorf("all-zero DKEK view = %+v, %q; want it flagged", zero, zero.describe())
	}
	normal := viewKeyDomain(schsm.KeyDomain{Number: 1, Defined: true, DKEK: schsm.DKEKStatus{Configured: true, Total: 2, KCV: [8]byte{1}}})
	if normal.ZeroDKEK || strings.Contains(normal.describe(), "WARNING") {
		t.Errorf("normal DKEK view = %+v, %q; want no flag", normal, normal.describe())
	}
}

func TestDescribeKeyDomains(t *testing.T) {
	tests := []struct {
		name    string
		domains []schsm.KeyDomain
		want    string
	}{
		{"none", nil, "it has no key domains"},
		{"one undefined", []schsm.KeyDomain{{Number: 0}}, "it has key domain 0 only, and none of them is defined"},
		{"one of two", []schsm.KeyDomain{{Number: 0, Defined: true}, {Number: 1}}, "it has key domains 0 to 1, and key domain 0 is defined"},
		{"two of three", []schsm.KeyDomain{{Number: 0, Defined: true}, {Number: 1}, {Number: 2, Defined: true}}, "it has key domains 0 to 2, and key domains 0, 2 are defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeKeyDomains(tt.domains); !strings.HasPrefix(got, tt.want) {
				t.Errorf("describeKeyDomains = %q, want prefix %q", got, tt.want)
			}
		})
	}
}

// chrSigner is a Signer that only has a CHR.
type chrSigner string

func (s chrSigner) CHR() string                   { return string(s) }
func (s chrSigner) Sign([32]byte) ([]byte, error) { return nil, errors.New("not used") }

func TestDropUnregistered(t *testing.T) {
	keys := []schsm.RegisteredPublicKey{{Slot: 0, Registered: true, CHR: "alice"}, {Slot: 1}, {Slot: 2, Registered: true, CHR: "bob"}}
	kept, warnings := dropUnregistered([]schsm.Signer{chrSigner("carol"), chrSigner("bob"), chrSigner("alice")}, keys)
	if len(kept) != 2 || kept[0].CHR() != "bob" || kept[1].CHR() != "alice" {
		t.Errorf("kept = %v, want bob and alice in order", kept)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"carol" is not registered`) {
		t.Errorf("warnings = %q, want one for carol", warnings)
	}
}

func TestAuthorizationHint(t *testing.T) {
	refused := &schsm.StatusError{SW: schsm.SWConditionsNotSatisfied}
	combined := schsm.DeviceInfo{Options: schsm.OptionCombinedPINPKA}
	tests := []struct {
		name                string
		err                 error
		info                schsm.DeviceInfo
		pinVerified, custOK bool
		want                string
	}{
		{"0010 without custodians", refused, combined, true, false, "give the custodians"},
		{"0010 without PIN", refused, combined, false, true, "give --pin too"},
		{"nothing given", refused, schsm.DeviceInfo{}, false, false, "needs an authenticated session"},
		{"other error", &schsm.StatusError{SW: 0x6A80}, combined, true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := authorizationHint(tt.err, tt.info, tt.pinVerified, tt.custOK)
			if !errors.Is(got, tt.err) && got != tt.err {
				t.Errorf("the hint lost the status error: %v", got)
			}
			if tt.want == "" {
				if got != tt.err {
					t.Errorf("authorizationHint changed an unrelated error to %q", got)
				}
				return
			}
			if !strings.Contains(got.Error(), tt.want) || !strings.Contains(got.Error(), "6985") {
				t.Errorf("authorizationHint = %q, want %q and the status word", got, tt.want)
			}
		})
	}
}

func TestCheckExpectedKCV(t *testing.T) {
	shares := [][32]byte{{1}, {2}}
	right := dkek.KCV(dkek.Combine(shares...))
	wrong := [8]byte{9}
	empty := schsm.KeyDomain{Defined: true, DKEK: schsm.DKEKStatus{Configured: true, Total: 2, Outstanding: 2}}
	partial := schsm.KeyDomain{Defined: true, DKEK: schsm.DKEKStatus{Configured: true, Total: 3, Outstanding: 3}}

	if err := checkExpectedKCV(empty, shares, &right); err != nil {
		t.Errorf("right KCV: %v", err)
	}
	err := checkExpectedKCV(empty, shares, &wrong)
	if exitCodeOf(err) != exitVerifyFailed {
		t.Errorf("wrong KCV: exit code %d (%v), want %d", exitCodeOf(err), err, exitVerifyFailed)
	}
	if err := checkExpectedKCV(partial, shares, &wrong); err != nil {
		t.Errorf("shares that do not complete the DKEK cannot be checked offline, got %v", err)
	}
	if err := checkExpectedKCV(empty, shares, nil); err != nil {
		t.Errorf("no --expect-kcv: %v", err)
	}
}

func TestClearScreenClearsScrollback(t *testing.T) {
	_, split, err := pwshare.NewSplit(2, 2)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader("\n\n\n\n"), &stdout, &stderr)
	a.showSharesOnScreens(split, &dkekCreateFlags{threshold: 2, total: 2})
	if n := strings.Count(stderr.String(), "\033[3J"); n != 4 {
		t.Errorf("the scrollback is cleared %d times, want 4 (before and after each share)", n)
	}
}

func TestSecretSpecPrompts(t *testing.T) {
	tests := []struct {
		spec secretSpec
		want bool
	}{
		{secretSpec{}, true},
		{secretSpec{value: "prompt", given: true}, true},
		{secretSpec{value: "env:SO", given: true}, false},
		{secretSpec{value: "file:/run/so", given: true}, false},
	}
	for _, tt := range tests {
		if got := tt.spec.prompts(); got != tt.want {
			t.Errorf("%+v.prompts() = %t, want %t", tt.spec, got, tt.want)
		}
	}
}

func TestDescribeRRCBlockedSOPIN(t *testing.T) {
	for _, mode := range []string{"new PIN", "counter only"} {
		if got := describeRRC(mode, true); !strings.Contains(got, "SO-PIN is blocked") {
			t.Errorf("describeRRC(%q, blocked) = %q, want the blocked SO-PIN named", mode, got)
		}
	}
	if got := describeRRC("new PIN", false); !strings.Contains(got, "can set a new user PIN") {
		t.Errorf("describeRRC(new PIN) = %q", got)
	}
}

func TestWrongPINErrorBlocked(t *testing.T) {
	err := wrongPINError("current SO-PIN", fmt.Errorf("changing PIN 88: %w", &schsm.StatusError{SW: schsm.SWPINBlocked}))
	if err.Error() != "the current SO-PIN is blocked (SW 6983)" {
		t.Errorf("message = %q", err)
	}
	if !errors.Is(err, schsm.ErrPINBlocked) || exitCodeOf(err) != exitCardRefused {
		t.Errorf("err = %v, exit %d; want ErrPINBlocked and exit %d", err, exitCodeOf(err), exitCardRefused)
	}
}

func TestVerifyLimitsCombinedOption(t *testing.T) {
	combined := schsm.DeviceStatus{Info: schsm.DeviceInfo{Options: schsm.OptionCombinedPINPKA}, PKA: &schsm.PKAStatus{Total: 2, Required: 1}}
	limits := verifyLimits(combined)
	if len(limits) != 1 || !strings.Contains(limits[0], "option 0010") {
		t.Fatalf("verifyLimits = %q, want the option 0010 limit", limits)
	}
	if got := verifyLimits(schsm.DeviceStatus{PKA: &schsm.PKAStatus{Total: 2, Required: 1}}); got != nil {
		t.Errorf("verifyLimits without option 0010 = %q, want none", got)
	}

	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(""), &stdout, &stderr)
	if err := a.finishVerify(&verifyOutput{Reader: "r", NotChecked: limits}, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout.String(), "all PKCS#11 checks passed") || !strings.Contains(stdout.String(), "Not checked:") {
		t.Errorf("verify output claims more than it checked:\n%s", stdout.String())
	}
}

func TestCapitalizePrompt(t *testing.T) {
	if got := capitalize("password of DKEK share file a.pbe"); got != "Password of DKEK share file a.pbe" {
		t.Errorf("capitalize = %q", got)
	}
	if got := capitalize(""); got != "" {
		t.Errorf("capitalize(\"\") = %q", got)
	}
}
