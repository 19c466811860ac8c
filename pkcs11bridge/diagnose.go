package pkcs11bridge

import (
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"
)

// OpenSCMaxPINLen is the longest user PIN that OpenSC's PKCS#11 module
// accepts for a SmartCard-HSM (OpenSC pkcs15-sc-hsm.c declares max_length 15),
// although the card itself accepts 16 bytes.
const OpenSCMaxPINLen = 15

// Diagnoses shared by the checks before login and the mapping of C_Login
// errors.
const (
	diagnosisPINPad = "the token reports a protected authentication path (CKF_PROTECTED_AUTHENTICATION_PATH): " +
		"OpenSC would log in through a PIN pad or biometric reader and will not send the PIN, " +
		"so the login was not attempted"
	diagnosisLocked       = "user PIN blocked: unblock it with the SO-PIN (RESET RETRY COUNTER) or re-initialize the token"
	diagnosisTransportPIN = "transport PIN active: change it before use (CHANGE REFERENCE DATA with the transport PIN as the old PIN)"
	diagnosisSixteen      = "the PIN has 16 characters, but OpenSC's PKCS#11 module accepts at most 15 characters " +
		"(CKR_ARGUMENTS_BAD / CKR_PIN_LEN_RANGE) although the card accepts 16: choose a PIN of 6 to 15 characters"
)

// loginPrecheck decides whether the PIN may be presented to C_Login. It
// returns an empty string when it may, or the reason why not.
func loginPrecheck(pin []byte, token pkcs11.TokenInfo, triesLeft int, force bool) string {
	flags := token.Flags
	switch {
	case flags&pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH != 0:
		return diagnosisPINPad
	case flags&pkcs11.CKF_USER_PIN_LOCKED != 0:
		return diagnosisLocked + " (CKF_USER_PIN_LOCKED)"
	case triesLeft == 0:
		return diagnosisLocked + " (the retry counter read from the card is 0)"
	case flags&pkcs11.CKF_USER_PIN_TO_BE_CHANGED != 0:
		return diagnosisTransportPIN + " (CKF_USER_PIN_TO_BE_CHANGED)"
	case len(pin) == 0:
		return "no user PIN given, so the login was not attempted"
	}

	maxLen := token.MaxPinLen
	if maxLen == 0 {
		maxLen = OpenSCMaxPINLen
	}
	if uint(len(pin)) > maxLen {
		if len(pin) == 16 && maxLen == OpenSCMaxPINLen {
			return diagnosisSixteen
		}
		return fmt.Sprintf("the PIN has %d characters, but the PKCS#11 module accepts at most %d", len(pin), maxLen)
	}
	if token.MinPinLen > 0 && uint(len(pin)) < token.MinPinLen {
		return fmt.Sprintf("the PIN has %d characters, but the PKCS#11 module requires at least %d", len(pin), token.MinPinLen)
	}

	if force {
		return ""
	}
	if triesLeft == 1 {
		return "only one user PIN try is left (retry counter read from the card), so a wrong PIN would block the token: " +
			"the PIN was not presented; re-run with --force-last-try to present it anyway"
	}
	if flags&pkcs11.CKF_USER_PIN_FINAL_TRY != 0 {
		return "only one user PIN try is left (CKF_USER_PIN_FINAL_TRY), so a wrong PIN would block the token: " +
			"the PIN was not presented; re-run with --force-last-try to present it anyway"
	}
	return ""
}

// diagnoseLoginError turns a C_Login failure into a sentence that names the
// cause and the next step. pinLen is the length of the PIN that was presented.
func diagnoseLoginError(err error, pinLen int) string {
	var rv pkcs11.Error
	if !errors.As(err, &rv) {
		return fmt.Sprintf("login failed: %v", err)
	}
	name := returnValueName(rv)

	switch rv {
	case pkcs11.CKR_PIN_INCORRECT:
		return "PIN incorrect (" + name + "): the card counted one failed try"
	case pkcs11.CKR_PIN_LOCKED:
		return diagnosisLocked + " (" + name + ")"
	case pkcs11.CKR_PIN_EXPIRED:
		return diagnosisTransportPIN + " (" + name + ")"
	case pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_ARGUMENTS_BAD:
		if pinLen == 16 {
			return diagnosisSixteen
		}
		return fmt.Sprintf("the PKCS#11 module rejected a PIN of %d characters (%s): choose a PIN of 6 to %d characters",
			pinLen, name, OpenSCMaxPINLen)
	case pkcs11.CKR_PIN_INVALID:
		return "the PIN contains characters the token does not accept (" + name + ")"
	case pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_DEVICE_REMOVED:
		return "the token was removed during login (" + name + ")"
	case pkcs11.CKR_USER_ALREADY_LOGGED_IN:
		return "already logged in (" + name + ")"
	}
	return "login failed: " + name
}
