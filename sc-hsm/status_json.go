package schsm

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// The MarshalJSON methods below give the status types snake_case keys, and
// status words, option bits, FCP bytes and key check values as uppercase
// hex strings, the way sc-hsm-tool and the card documentation write them.

func hexUpper(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

func hex16(v uint16) string { return fmt.Sprintf("%04X", v) }

// MarshalJSON encodes the device status with snake_case keys. dkek and pka
// are null when the card reports no DKEK or no public key authentication.
func (s DeviceStatus) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Info        DeviceInfo  `json:"info"`
		Initialized bool        `json:"initialized"`
		UserPIN     PINStatus   `json:"user_pin"`
		SOPIN       PINStatus   `json:"so_pin"`
		DKEK        *DKEKStatus `json:"dkek"`
		PKA         *PKAStatus  `json:"pka"`
		Serial      string      `json:"serial"`
	}{s.Info, s.Initialized, s.UserPIN, s.SOPIN, s.DKEK, s.PKA, s.Serial})
}

// MarshalJSON encodes the device description; options and fcp are hex.
func (d DeviceInfo) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Family  string `json:"family"`
		Type    string `json:"type"`
		Version string `json:"version"`
		Options string `json:"options"`
		FCP     string `json:"fcp"`
	}{d.Family.String(), fmt.Sprintf("%02X", d.Type), d.Version(), hex16(d.Options), hexUpper(d.FCP)})
}

// MarshalJSON encodes the PIN state; sw is the status word in hex.
func (p PINStatus) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		SW           string `json:"sw"`
		Initialized  bool   `json:"initialized"`
		Verified     bool   `json:"verified"`
		Blocked      bool   `json:"blocked"`
		TransportPIN bool   `json:"transport_pin"`
		TriesLeft    int    `json:"tries_left"`
	}{hex16(p.SW), p.Initialized, p.Verified, p.Blocked, p.TransportPIN, p.TriesLeft})
}

// MarshalJSON encodes the DKEK state. kcv is the key check value in hex, or
// "" while shares are outstanding or when the status carries no value,
// because the bytes mean nothing then. A random DKEK (0 shares) has one.
func (s DKEKStatus) MarshalJSON() ([]byte, error) {
	kcv := ""
	if s.Outstanding == 0 && (s.Configured || s.KCV != [8]byte{}) {
		kcv = hexUpper(s.KCV[:])
	}
	return json.Marshal(struct {
		Configured   bool   `json:"configured"`
		Total        int    `json:"total"`
		Outstanding  int    `json:"outstanding"`
		KCV          string `json:"kcv"`
		KeyDomainUID string `json:"key_domain_uid,omitempty"`
	}{s.Configured, s.Total, s.Outstanding, kcv, hexUpper(s.KeyDomainUID)})
}

// MarshalJSON encodes the public key authentication state.
func (s PKAStatus) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Total         int `json:"total"`
		Missing       int `json:"missing"`
		Required      int `json:"required"`
		Authenticated int `json:"authenticated"`
	}{s.Total, s.Missing, s.Required, s.Authenticated})
}
