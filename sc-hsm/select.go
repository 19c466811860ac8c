package schsm

import (
	"errors"
	"fmt"
)

// AID is the application identifier of the SmartCard-HSM applet, the BER
// encoding of OID 1.3.6.1.4.1.24991.2.1 behind the byte E8.
var AID = []byte{0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01}

// Tags of the file control parameters (FCP) returned by SELECT.
const (
	tagFCP         = 0x62
	tagFCI         = 0x6F
	tagFCPSize     = 0x80 // number of data bytes
	tagFCPSizeAlt  = 0x81 // number of data bytes, as the SmartCard-HSM and Pico HSM send it
	tagFCPVersion  = 0x85 // proprietary: options, type and firmware version
	typePicoHSM    = 0xFF
	minVersionTag  = 2
	fullVersionTag = 5
)

// ErrMalformedFCP is wrapped when a SELECT response is not an FCP template or
// lacks the version in tag 85, so the selected applet is no SmartCard-HSM.
var ErrMalformedFCP = errors.New("malformed file control parameters")

// Family is the implementation of the SmartCard-HSM applet.
type Family int

const (
	FamilyUnknown      Family = iota
	FamilySmartCardHSM        // CardContact SmartCard-HSM and Nitrokey HSM 2 (type byte 00, 01 or other)
	FamilyPicoHSM             // Pico HSM firmware (type byte FF)
)

func (f Family) String() string {
	switch f {
	case FamilySmartCardHSM:
		return "SmartCard-HSM"
	case FamilyPicoHSM:
		return "Pico HSM"
	default:
		return "unknown"
	}
}

// DeviceInfo is the device description from the SELECT response. Options,
// OptionsHigh, OptionsLow and Type are zero for applets before version 2.0,
// whose tag 85 carries the version only.
type DeviceInfo struct {
	OptionsHigh, OptionsLow    byte
	Options                    uint16
	Type                       byte
	Family                     Family
	VersionMajor, VersionMinor byte
	FCP                        []byte // the SELECT response data as received
}

// Version formats the firmware version as major.minor.
func (d DeviceInfo) Version() string {
	return fmt.Sprintf("%d.%d", d.VersionMajor, d.VersionMinor)
}

// SelectApplet selects the SmartCard-HSM applet and decodes tag 85 of its
// FCP. Selecting resets the security state: a verified PIN and public key
// authentication are lost.
func (c *Card) SelectApplet() (DeviceInfo, error) {
	cmd := Command{CLA: claISO, INS: insSelect, P1: 0x04, P2: 0x00, Data: AID, Ne: maxShortNe}
	data, err := c.run(cmd)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("selecting applet: %w", err)
	}
	info, err := parseDeviceInfo(data)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("selecting applet: %w", err)
	}
	return info, nil
}

// parseDeviceInfo decodes the FCP of the applet. Like OpenSC, it reads the
// version from the last two bytes of tag 85, the type from the third last,
// the low option byte from the fourth last and the high one from the fifth.
func parseDeviceInfo(fcp []byte) (DeviceInfo, error) {
	body, err := parseFCPTemplate(fcp)
	if err != nil {
		return DeviceInfo{}, err
	}
	v, ok, err := findBERTLV(body, tagFCPVersion)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("%w: %w", ErrMalformedFCP, err)
	}
	if !ok || len(v) < minVersionTag {
		return DeviceInfo{}, fmt.Errorf("%w: no version in tag 85", ErrMalformedFCP)
	}

	n := len(v)
	info := DeviceInfo{
		Family:       FamilySmartCardHSM,
		VersionMajor: v[n-2],
		VersionMinor: v[n-1],
		FCP:          append([]byte(nil), fcp...),
	}
	if n >= 3 {
		info.Type = v[n-3]
		if info.Type == typePicoHSM {
			info.Family = FamilyPicoHSM
		}
	}
	if n >= 4 {
		info.OptionsLow = v[n-4]
	}
	if n >= fullVersionTag {
		info.OptionsHigh = v[n-5]
	}
	info.Options = uint16(info.OptionsHigh)<<8 | uint16(info.OptionsLow)
	return info, nil
}

// parseFCPTemplate returns the content of the FCP (62) or FCI (6F) template
// that makes up a SELECT response.
func parseFCPTemplate(fcp []byte) ([]byte, error) {
	obj, rest, err := parseBERTLV(fcp)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedFCP, err)
	}
	if obj.Tag != tagFCP && obj.Tag != tagFCI {
		return nil, fmt.Errorf("%w: template tag %X, expected 62 or 6F", ErrMalformedFCP, obj.Tag)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the template", ErrMalformedFCP, len(rest))
	}
	return obj.Value, nil
}

// parseFileSize returns the file size from tag 80 or 81 of an EF's FCP, and
// false when the FCP carries none.
func parseFileSize(fcp []byte) (int, bool, error) {
	body, err := parseFCPTemplate(fcp)
	if err != nil {
		return 0, false, err
	}
	objs, err := parseBERTLVs(body)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %w", ErrMalformedFCP, err)
	}
	for _, o := range objs {
		if (o.Tag == tagFCPSize || o.Tag == tagFCPSizeAlt) && len(o.Value) >= 1 && len(o.Value) <= 4 {
			size := 0
			for _, b := range o.Value {
				size = size<<8 | int(b)
			}
			return size, true, nil
		}
	}
	return 0, false, nil
}
