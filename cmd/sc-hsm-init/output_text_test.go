package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sc-hsm-init/sc-hsm-init/pkcs11bridge"
	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/provision"
)

func TestDescribePINSingular(t *testing.T) {
	got := describePIN(schsm.PINStatus{SW: 0x63C1, Initialized: true, TriesLeft: 1})
	if got != "1 try left" {
		t.Errorf("describePIN = %q, want %q", got, "1 try left")
	}
}

func TestInitOutputKCVOnce(t *testing.T) {
	kcv := [8]byte{0x96, 0x84, 0xBC, 0xDB, 0xC8, 0x1C, 0x0F, 0xFA}
	after := schsm.DeviceStatus{
		Info:        schsm.DeviceInfo{Family: schsm.FamilySmartCardHSM, VersionMajor: 3, VersionMinor: 5},
		Initialized: true,
		UserPIN:     schsm.PINStatus{SW: 0x63C3, Initialized: true, TriesLeft: 3},
		SOPIN:       schsm.PINStatus{SW: 0x63CF, Initialized: true, TriesLeft: 15},
		DKEK:        &schsm.DKEKStatus{Configured: true, Total: 1, KCV: kcv},
	}
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(""), &stdout, &stderr)
	out := &initOutput{Reader: "Virtual PCD 00 00", Result: provision.Result{After: &after, KCV: &kcv}}
	if err := a.finishInit(out, nil); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout.String(), "9684BCDBC81C0FFA"); n != 1 {
		t.Errorf("the key check value appears %d times, want once:\n%s", n, stdout.String())
	}
	if !strings.Contains(stdout.String(), "DKEK:          1 share, key check value") {
		t.Errorf("output lacks the singular DKEK line:\n%s", stdout.String())
	}
}

func TestInitOutputWithoutReadBack(t *testing.T) {
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(""), &stdout, &stderr)
	out := &initOutput{Reader: "Virtual PCD 00 00"}
	_ = a.finishInit(out, withExit(exitNoToken, errors.New("token lost")))
	if strings.Contains(stdout.String(), "Device:") {
		t.Errorf("a run without read-back prints a device status:\n%s", stdout.String())
	}
}

func TestVerifyOutputText(t *testing.T) {
	report := &pkcs11bridge.Report{
		Module: "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
		Token:  &pkcs11bridge.TokenInfo{Label: "L (UserPIN)", Flags: []string{"CKF_LOGIN_REQUIRED", "CKF_TOKEN_INITIALIZED"}},
		Checks: []pkcs11bridge.Check{
			{Name: pkcs11bridge.CheckToken, Passed: true, Reason: "flags: CKF_LOGIN_REQUIRED, CKF_TOKEN_INITIALIZED"},
			{Name: pkcs11bridge.CheckLogin, Passed: false, Reason: "wrong PIN"},
		},
		Objects: []pkcs11bridge.ObjectInfo{{Class: "CKO_PROFILE"}, {Class: "CKO_DATA", Label: "d", ID: "01"}},
	}
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(""), &stdout, &stderr)
	out := &verifyOutput{Reader: "Virtual PCD 00 00", Serial: "DECM0102330", UserPIN: &schsm.PINStatus{SW: 0x63C2, Initialized: true, TriesLeft: 2}, Report: report}
	err := a.finishVerify(out, withExit(exitVerifyFailed, errors.New("PKCS#11 verification failed: login: wrong PIN")))
	if exitCodeOf(err) != exitVerifyFailed {
		t.Errorf("exit code = %d, want %d", exitCodeOf(err), exitVerifyFailed)
	}
	text := stdout.String()
	if v, _ := lineValue(text, "User PIN:"); v != "2 tries left" {
		t.Errorf("User PIN line = %q, want the tries read over PC/SC\n%s", v, text)
	}
	if v, ok := lineValue(text, "Result:"); !ok || !strings.Contains(v, "FAILED") {
		t.Errorf("Result line = %q, want FAILED\n%s", v, text)
	}
	if v, _ := lineValue(text, "Token flags:"); v != "CKF_LOGIN_REQUIRED, CKF_TOKEN_INITIALIZED" {
		t.Errorf("Token flags line = %q, want the check's spelling", v)
	}
	if strings.Contains(text, `CKO_PROFILE "" id`) {
		t.Errorf("an object without CKA_ID prints an empty id:\n%s", text)
	}
	if !strings.Contains(text, `CKO_DATA "d" id 01`) {
		t.Errorf("an object with CKA_ID lacks it:\n%s", text)
	}
}

// fakeFileInfo is an os.FileInfo with a chosen mode.
type fakeFileInfo struct{ mode os.FileMode }

func (f fakeFileInfo) Name() string       { return "stdin" }
func (f fakeFileInfo) Size() int64        { return 0 }
func (f fakeFileInfo) Mode() os.FileMode  { return f.mode }
func (f fakeFileInfo) ModTime() time.Time { return time.Time{} }
func (f fakeFileInfo) IsDir() bool        { return false }
func (f fakeFileInfo) Sys() any           { return nil }

func TestSecretFileModeWarningRegularOnly(t *testing.T) {
	r, stderr := newTestSecretReader(nil)
	r.readFile = func(string) ([]byte, error) { return []byte("482913\n"), nil }
	r.statFile = func(string) (os.FileInfo, error) {
		return fakeFileInfo{mode: os.ModeDevice | os.ModeCharDevice | 0o666}, nil
	}
	if _, err := r.read(secretSpec{flag: "pin", value: "file:/dev/stdin", given: true}, "user PIN", false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr.String(), "chmod") {
		t.Errorf("warning %q for a character device", stderr.String())
	}

	r, stderr = newTestSecretReader(nil)
	r.readFile = func(string) ([]byte, error) { return []byte("482913\n"), nil }
	r.statFile = func(string) (os.FileInfo, error) { return fakeFileInfo{mode: 0o644}, nil }
	if _, err := r.read(secretSpec{flag: "pin", value: "file:pin.txt", given: true}, "user PIN", false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "chmod 600") {
		t.Errorf("no warning for a regular file of mode 0644: %q", stderr.String())
	}
}

func TestSecretSchemeTypos(t *testing.T) {
	tests := []struct {
		value   string
		wantErr bool
	}{
		{"FILE:pin", true},
		{"Env:P", true},
		{"File:/run/secrets/pin", true},
		{"PROMPT", true},
		{"Prompt:", true},
		{"pass:word", true},
		{"482913", false},
		{"a:b:c123", false},
		{"12:34:56", false},
		{"Qm7#vX2p", false},
	}
	for _, tt := range tests {
		r, _ := newTestSecretReader(nil)
		got, err := r.read(secretSpec{flag: "pin", value: tt.value, given: true}, "user PIN", false)
		if (err != nil) != tt.wantErr {
			t.Errorf("read(%q) error = %v, want error %t", tt.value, err, tt.wantErr)
			continue
		}
		if err == nil {
			if string(got) != tt.value {
				t.Errorf("read(%q) = %q", tt.value, got)
			}
			continue
		}
		if !errors.Is(err, errLiteralLooksLikeSource) || !strings.Contains(err.Error(), "env:NAME") {
			t.Errorf("read(%q) error = %q, want the accepted forms", tt.value, err)
		}
		if strings.Contains(err.Error(), tt.value) {
			t.Errorf("read(%q) error %q repeats the value, which may be the secret", tt.value, err)
		}
	}
}

func TestSecretPromptWithoutTerminal(t *testing.T) {
	r, _ := newTestSecretReader(nil)
	_, err := r.read(secretSpec{flag: "so-pin", value: "prompt", given: true}, "SO-PIN", true)
	want := "cannot prompt for the SO-PIN: standard input is not a terminal; give --so-pin env:NAME or --so-pin file:PATH"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	if !errors.Is(err, errNoSecretSource) {
		t.Errorf("error %v does not match errNoSecretSource", err)
	}
}

func TestInitOutputKeyDomainDKEKs(t *testing.T) {
	kcv1 := [8]byte{0x96, 0x84, 0xBC, 0xDB, 0xC8, 0x1C, 0x0F, 0xFA}
	zero := zeroDKEKKCV
	after := schsm.DeviceStatus{
		Info:        schsm.DeviceInfo{Family: schsm.FamilySmartCardHSM, VersionMajor: 3, VersionMinor: 5},
		Initialized: true,
		UserPIN:     schsm.PINStatus{SW: 0x63C3, Initialized: true, TriesLeft: 3},
		SOPIN:       schsm.PINStatus{SW: 0x63CF, Initialized: true, TriesLeft: 15},
		DKEK:        &schsm.DKEKStatus{Configured: true, Total: 2, Outstanding: 1},
	}
	domains := []provision.KeyDomainResult{
		{KeyDomain: 0, Total: 2, Outstanding: 1},
		{KeyDomain: 1, Total: 1, KCV: &kcv1},
		{KeyDomain: 2, Total: 2, KCV: &zero},
	}
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(""), &stdout, &stderr)
	out := &initOutput{Reader: "Virtual PCD 00 00", Result: provision.Result{After: &after, KeyDomains: domains}}
	if err := a.finishInit(out, nil); err != nil {
		t.Fatal(err)
	}

	text := stdout.String()
	for _, want := range []string{
		"DKEK:          2 shares, 1 still missing\n",
		"DKEK (key domain 0): 2 shares, 1 still missing\n",
		"DKEK (key domain 1): 1 share, key check value 9684BCDBC81C0FFA\n",
		"DKEK (key domain 2): 2 shares, key check value 66687AADF862BD77: WARNING, an all-zero DKEK",
		"clear key domain 2 and import distinct shares",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}
