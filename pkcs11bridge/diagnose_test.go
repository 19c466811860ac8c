package pkcs11bridge

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/pkcs11"
)

// openSCToken is the token information OpenSC 0.23 reports for an initialized
// SmartCard-HSM: user PIN of 6 to 15 characters.
func openSCToken(extraFlags uint) pkcs11.TokenInfo {
	return pkcs11.TokenInfo{
		Flags:     pkcs11.CKF_RNG | pkcs11.CKF_LOGIN_REQUIRED | pkcs11.CKF_USER_PIN_INITIALIZED | pkcs11.CKF_TOKEN_INITIALIZED | extraFlags,
		MinPinLen: 6,
		MaxPinLen: 15,
	}
}

func TestLoginPrecheck(t *testing.T) {
	pin := []byte("648219")
	tests := []struct {
		name      string
		pin       []byte
		token     pkcs11.TokenInfo
		triesLeft int
		force     bool
		wantEmpty bool
		wantText  string
	}{
		{name: "ready", pin: pin, token: openSCToken(0), triesLeft: 3, wantEmpty: true},
		{name: "tries unknown", pin: pin, token: openSCToken(0), triesLeft: -1, wantEmpty: true},
		{name: "count low", pin: pin, token: openSCToken(pkcs11.CKF_USER_PIN_COUNT_LOW), triesLeft: 2, wantEmpty: true},
		{name: "PIN pad", pin: pin, token: openSCToken(pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH), triesLeft: 3, wantText: "OpenSC would log in through a PIN pad"},
		{name: "locked flag", pin: pin, token: openSCToken(pkcs11.CKF_USER_PIN_LOCKED), triesLeft: -1, wantText: "user PIN blocked"},
		{name: "zero tries", pin: pin, token: openSCToken(0), triesLeft: 0, wantText: "retry counter read from the card is 0"},
		{name: "transport PIN", pin: pin, token: openSCToken(pkcs11.CKF_USER_PIN_TO_BE_CHANGED), triesLeft: 3, wantText: "transport PIN active: change it before use"},
		{name: "empty PIN", pin: nil, token: openSCToken(0), triesLeft: 3, wantText: "no user PIN given"},
		{name: "16 characters", pin: []byte("1234567890123456"), token: openSCToken(0), triesLeft: 3, wantText: "accepts at most 15 characters (CKR_ARGUMENTS_BAD / CKR_PIN_LEN_RANGE) although the card accepts 16: choose a PIN of 6 to 15 characters"},
		{name: "17 characters", pin: []byte("12345678901234567"), token: openSCToken(0), triesLeft: 3, wantText: "17 characters, but the PKCS#11 module accepts at most 15"},
		{name: "max unknown", pin: []byte("1234567890123456"), token: pkcs11.TokenInfo{}, triesLeft: 3, wantText: "accepts at most 15 characters"},
		{name: "too short", pin: []byte("12345"), token: openSCToken(0), triesLeft: 3, wantText: "requires at least 6"},
		{name: "last try from card", pin: pin, token: openSCToken(0), triesLeft: 1, wantText: "only one user PIN try is left (retry counter read from the card)"},
		{name: "last try flag", pin: pin, token: openSCToken(pkcs11.CKF_USER_PIN_FINAL_TRY), triesLeft: -1, wantText: "CKF_USER_PIN_FINAL_TRY"},
		{name: "last try forced", pin: pin, token: openSCToken(pkcs11.CKF_USER_PIN_FINAL_TRY), triesLeft: 1, force: true, wantEmpty: true},
		{name: "force keeps lock", pin: pin, token: openSCToken(pkcs11.CKF_USER_PIN_LOCKED), triesLeft: 0, force: true, wantText: "user PIN blocked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loginPrecheck(tt.pin, tt.token, tt.triesLeft, tt.force)
			if tt.wantEmpty {
				if got != "" {
					t.Errorf("loginPrecheck() = %q, want no objection", got)
				}
				return
			}
			if !strings.Contains(got, tt.wantText) {
				t.Errorf("loginPrecheck() = %q, want it to contain %q", got, tt.wantText)
			}
			if strings.Contains(got, string(pin)) {
				t.Errorf("loginPrecheck() = %q contains the PIN", got)
			}
		})
	}
}

func TestDiagnoseLoginError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		pinLen   int
		wantText string
	}{
		{"incorrect", pkcs11.Error(pkcs11.CKR_PIN_INCORRECT), 6, "PIN incorrect (CKR_PIN_INCORRECT (0xA0)): the card counted one failed try"},
		{"locked", pkcs11.Error(pkcs11.CKR_PIN_LOCKED), 6, "user PIN blocked"},
		{"expired", pkcs11.Error(pkcs11.CKR_PIN_EXPIRED), 6, "transport PIN active"},
		{"arguments bad 16", pkcs11.Error(pkcs11.CKR_ARGUMENTS_BAD), 16, "accepts at most 15 characters"},
		{"length range 16", pkcs11.Error(pkcs11.CKR_PIN_LEN_RANGE), 16, "choose a PIN of 6 to 15 characters"},
		{"length range 4", pkcs11.Error(pkcs11.CKR_PIN_LEN_RANGE), 4, "rejected a PIN of 4 characters (CKR_PIN_LEN_RANGE (0xA2))"},
		{"invalid", pkcs11.Error(pkcs11.CKR_PIN_INVALID), 6, "characters the token does not accept"},
		{"removed", pkcs11.Error(pkcs11.CKR_DEVICE_REMOVED), 6, "removed during login"},
		{"other code", pkcs11.Error(pkcs11.CKR_GENERAL_ERROR), 6, "login failed: CKR_GENERAL_ERROR (0x5)"},
		{"wrapped code", fmt.Errorf("C_Login: %w", pkcs11.Error(pkcs11.CKR_PIN_INCORRECT)), 6, "PIN incorrect"},
		{"not a PKCS#11 error", errors.New("boom"), 6, "login failed: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diagnoseLoginError(tt.err, tt.pinLen)
			if !strings.Contains(got, tt.wantText) {
				t.Errorf("diagnoseLoginError() = %q, want it to contain %q", got, tt.wantText)
			}
		})
	}
}
