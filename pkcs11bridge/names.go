package pkcs11bridge

import (
	"fmt"
	"strings"

	"github.com/miekg/pkcs11"
)

type flagName struct {
	bit  uint
	name string
}

// tokenFlags lists the CK_TOKEN_INFO flags of PKCS#11 v2.40 in bit order.
var tokenFlags = []flagName{
	{pkcs11.CKF_RNG, "CKF_RNG"},
	{pkcs11.CKF_WRITE_PROTECTED, "CKF_WRITE_PROTECTED"},
	{pkcs11.CKF_LOGIN_REQUIRED, "CKF_LOGIN_REQUIRED"},
	{pkcs11.CKF_USER_PIN_INITIALIZED, "CKF_USER_PIN_INITIALIZED"},
	{pkcs11.CKF_RESTORE_KEY_NOT_NEEDED, "CKF_RESTORE_KEY_NOT_NEEDED"},
	{pkcs11.CKF_CLOCK_ON_TOKEN, "CKF_CLOCK_ON_TOKEN"},
	{pkcs11.CKF_PROTECTED_AUTHENTICATION_PATH, "CKF_PROTECTED_AUTHENTICATION_PATH"},
	{pkcs11.CKF_DUAL_CRYPTO_OPERATIONS, "CKF_DUAL_CRYPTO_OPERATIONS"},
	{pkcs11.CKF_TOKEN_INITIALIZED, "CKF_TOKEN_INITIALIZED"},
	{pkcs11.CKF_SECONDARY_AUTHENTICATION, "CKF_SECONDARY_AUTHENTICATION"},
	{pkcs11.CKF_USER_PIN_COUNT_LOW, "CKF_USER_PIN_COUNT_LOW"},
	{pkcs11.CKF_USER_PIN_FINAL_TRY, "CKF_USER_PIN_FINAL_TRY"},
	{pkcs11.CKF_USER_PIN_LOCKED, "CKF_USER_PIN_LOCKED"},
	{pkcs11.CKF_USER_PIN_TO_BE_CHANGED, "CKF_USER_PIN_TO_BE_CHANGED"},
	{pkcs11.CKF_SO_PIN_COUNT_LOW, "CKF_SO_PIN_COUNT_LOW"},
	{pkcs11.CKF_SO_PIN_FINAL_TRY, "CKF_SO_PIN_FINAL_TRY"},
	{pkcs11.CKF_SO_PIN_LOCKED, "CKF_SO_PIN_LOCKED"},
	{pkcs11.CKF_SO_PIN_TO_BE_CHANGED, "CKF_SO_PIN_TO_BE_CHANGED"},
	{pkcs11.CKF_ERROR_STATE, "CKF_ERROR_STATE"},
}

// slotFlags lists the CK_SLOT_INFO flags.
var slotFlags = []flagName{
	{pkcs11.CKF_TOKEN_PRESENT, "CKF_TOKEN_PRESENT"},
	{pkcs11.CKF_REMOVABLE_DEVICE, "CKF_REMOVABLE_DEVICE"},
	{pkcs11.CKF_HW_SLOT, "CKF_HW_SLOT"},
}

// TokenFlagNames returns the CKF_ names of the bits set in CK_TOKEN_INFO
// flags. A set bit without a name appears as its hex value.
func TokenFlagNames(flags uint) []string { return flagNames(flags, tokenFlags) }

// SlotFlagNames returns the CKF_ names of the bits set in CK_SLOT_INFO flags.
func SlotFlagNames(flags uint) []string { return flagNames(flags, slotFlags) }

func flagNames(flags uint, table []flagName) []string {
	names := []string{}
	known := uint(0)
	for _, f := range table {
		known |= f.bit
		if flags&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	for bit := uint(1); bit != 0 && bit <= flags; bit <<= 1 {
		if flags&bit != 0 && known&bit == 0 {
			names = append(names, fmt.Sprintf("0x%08X", bit))
		}
	}
	return names
}

// MechanismName returns the CKM_ name of a mechanism type, or its hex value
// with the prefix CKM_ when the name is unknown (vendor mechanisms).
func MechanismName(m uint) string {
	if name, ok := mechanismNames[m]; ok {
		return name
	}
	return fmt.Sprintf("CKM_0x%08X", m)
}

var objectClassNames = map[uint]string{
	pkcs11.CKO_DATA:              "CKO_DATA",
	pkcs11.CKO_CERTIFICATE:       "CKO_CERTIFICATE",
	pkcs11.CKO_PUBLIC_KEY:        "CKO_PUBLIC_KEY",
	pkcs11.CKO_PRIVATE_KEY:       "CKO_PRIVATE_KEY",
	pkcs11.CKO_SECRET_KEY:        "CKO_SECRET_KEY",
	pkcs11.CKO_HW_FEATURE:        "CKO_HW_FEATURE",
	pkcs11.CKO_DOMAIN_PARAMETERS: "CKO_DOMAIN_PARAMETERS",
	pkcs11.CKO_MECHANISM:         "CKO_MECHANISM",
	pkcs11.CKO_OTP_KEY:           "CKO_OTP_KEY",
	// CKO_PROFILE is defined by PKCS#11 3.0 and missing from miekg/pkcs11
	// v1.1.2. OpenSC 0.23 shows one profile object per token.
	ckoProfile:                "CKO_PROFILE",
	pkcs11.CKO_VENDOR_DEFINED: "CKO_VENDOR_DEFINED",
}

const ckoProfile = 0x00000009

// ObjectClassName returns the CKO_ name of an object class.
func ObjectClassName(class uint) string {
	if name, ok := objectClassNames[class]; ok {
		return name
	}
	return fmt.Sprintf("CKO_0x%08X", class)
}

// returnValueName returns the CKR_ name of a PKCS#11 return value, such as
// "CKR_PIN_INCORRECT (0xA0)".
func returnValueName(e pkcs11.Error) string {
	// pkcs11.Error formats as "pkcs11: 0xA0: CKR_PIN_INCORRECT".
	msg := e.Error()
	if i := len("pkcs11: "); len(msg) > i {
		msg = msg[i:]
	}
	code, name, ok := strings.Cut(msg, ": ")
	if !ok || name == "" {
		return fmt.Sprintf("CKR 0x%X", uint(e))
	}
	return fmt.Sprintf("%s (%s)", name, code)
}

func versionString(v pkcs11.Version) string {
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}
