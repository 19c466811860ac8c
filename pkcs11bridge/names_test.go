package pkcs11bridge

import (
	"reflect"
	"testing"

	"github.com/miekg/pkcs11"
)

func TestTokenFlagNames(t *testing.T) {
	tests := []struct {
		name  string
		flags uint
		want  []string
	}{
		{"none", 0, []string{}},
		{
			// The flags OpenSC 0.23 reports for an initialized SmartCard-HSM.
			"initialized token",
			pkcs11.CKF_RNG | pkcs11.CKF_LOGIN_REQUIRED | pkcs11.CKF_USER_PIN_INITIALIZED | pkcs11.CKF_TOKEN_INITIALIZED,
			[]string{"CKF_RNG", "CKF_LOGIN_REQUIRED", "CKF_USER_PIN_INITIALIZED", "CKF_TOKEN_INITIALIZED"},
		},
		{
			"PIN states",
			pkcs11.CKF_USER_PIN_COUNT_LOW | pkcs11.CKF_USER_PIN_FINAL_TRY | pkcs11.CKF_USER_PIN_LOCKED | pkcs11.CKF_USER_PIN_TO_BE_CHANGED,
			[]string{"CKF_USER_PIN_COUNT_LOW", "CKF_USER_PIN_FINAL_TRY", "CKF_USER_PIN_LOCKED", "CKF_USER_PIN_TO_BE_CHANGED"},
		},
		{"unknown bit", pkcs11.CKF_RNG | 0x10000000, []string{"CKF_RNG", "0x10000000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TokenFlagNames(tt.flags); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("TokenFlagNames(0x%X) = %v, want %v", tt.flags, got, tt.want)
			}
		})
	}
}

func TestSlotFlagNames(t *testing.T) {
	got := SlotFlagNames(pkcs11.CKF_TOKEN_PRESENT | pkcs11.CKF_REMOVABLE_DEVICE | pkcs11.CKF_HW_SLOT)
	want := []string{"CKF_TOKEN_PRESENT", "CKF_REMOVABLE_DEVICE", "CKF_HW_SLOT"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SlotFlagNames() = %v, want %v", got, want)
	}
}

func TestMechanismName(t *testing.T) {
	tests := []struct {
		mechanism uint
		want      string
	}{
		{pkcs11.CKM_RSA_PKCS, "CKM_RSA_PKCS"},
		{pkcs11.CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256"},
		{pkcs11.CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN"},
		{pkcs11.CKM_SHA256_RSA_PKCS_PSS, "CKM_SHA256_RSA_PKCS_PSS"},
		{0x80001234, "CKM_0x80001234"},
	}
	for _, tt := range tests {
		if got := MechanismName(tt.mechanism); got != tt.want {
			t.Errorf("MechanismName(0x%X) = %q, want %q", tt.mechanism, got, tt.want)
		}
	}
}

func TestObjectClassName(t *testing.T) {
	if got := ObjectClassName(pkcs11.CKO_PRIVATE_KEY); got != "CKO_PRIVATE_KEY" {
		t.Errorf("ObjectClassName(CKO_PRIVATE_KEY) = %q", got)
	}
	if got := ObjectClassName(9); got != "CKO_PROFILE" {
		t.Errorf("ObjectClassName(9) = %q", got)
	}
	if got := ObjectClassName(0x42); got != "CKO_0x00000042" {
		t.Errorf("ObjectClassName(0x42) = %q", got)
	}
}

func TestReturnValueName(t *testing.T) {
	if got := returnValueName(pkcs11.Error(pkcs11.CKR_PIN_INCORRECT)); got != "CKR_PIN_INCORRECT (0xA0)" {
		t.Errorf("returnValueName(CKR_PIN_INCORRECT) = %q", got)
	}
	if got := returnValueName(pkcs11.Error(0x7FFFFFF1)); got != "CKR 0x7FFFFFF1" {
		t.Errorf("returnValueName(unknown) = %q", got)
	}
}

func TestDecodeULong(t *testing.T) {
	eight := make([]byte, 8)
	four := make([]byte, 4)
	// CKO_PRIVATE_KEY is 3 in either byte order's lowest byte position.
	nativeSet(eight, 3)
	nativeSet(four, 3)
	for _, b := range [][]byte{eight, four} {
		got, ok := decodeULong(b)
		if !ok || got != 3 {
			t.Errorf("decodeULong(% x) = %d, %t, want 3, true", b, got, ok)
		}
	}
	if _, ok := decodeULong([]byte{1, 2, 3}); ok {
		t.Error("decodeULong of 3 bytes succeeded, want failure")
	}
}
