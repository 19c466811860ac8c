package schsm

import (
	"errors"
	"testing"
)

func TestParseDeviceInfo(t *testing.T) {
	tests := []struct {
		name   string
		fcp    string
		family Family
		typ    byte
		opts   uint16
		major  byte
		minor  byte
	}{
		{"Pico blank", picoFCPBlank, FamilyPicoHSM, 0xFF, 0x0000, 6, 6},
		{"Pico with RRC", picoFCPRRC, FamilyPicoHSM, 0xFF, 0x0001, 6, 6},
		{"Pico high options", "6207 85 05 05 01 FF 06 06", FamilyPicoHSM, 0xFF, 0x0501, 6, 6},
		{"SmartCard-HSM JCOP", "6F0A 82 01 78 85 05 00 03 00 03 05", FamilySmartCardHSM, 0x00, 0x0003, 3, 5},
		{"SmartCard-HSM demo", "6F07 85 05 00 01 01 02 04", FamilySmartCardHSM, 0x01, 0x0001, 2, 4},
		{"other type", "6F07 85 05 00 00 42 04 01", FamilySmartCardHSM, 0x42, 0x0000, 4, 1},
		{"version 1.2 only", "6F07 82 01 78 85 02 01 02", FamilySmartCardHSM, 0x00, 0x0000, 1, 2},
		{"3-byte tag 85", "6205 85 03 FF 01 00", FamilyPicoHSM, 0xFF, 0x0000, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := parseDeviceInfo(mustHex(t, tt.fcp))
			if err != nil {
				t.Fatalf("parseDeviceInfo: %v", err)
			}
			if info.Family != tt.family {
				t.Errorf("Family = %v, want %v", info.Family, tt.family)
			}
			if info.Type != tt.typ {
				t.Errorf("Type = %02X, want %02X", info.Type, tt.typ)
			}
			if info.Options != tt.opts {
				t.Errorf("Options = %04X, want %04X", info.Options, tt.opts)
			}
			if info.OptionsHigh != byte(tt.opts>>8) || info.OptionsLow != byte(tt.opts) {
				t.Errorf("OptionsHigh, OptionsLow = %02X %02X, want %04X", info.OptionsHigh, info.OptionsLow, tt.opts)
			}
			if info.VersionMajor != tt.major || info.VersionMinor != tt.minor {
				t.Errorf("version = %d.%d, want %d.%d", info.VersionMajor, info.VersionMinor, tt.major, tt.minor)
			}
			if !equalBytes(info.FCP, mustHex(t, tt.fcp)) {
				t.Errorf("FCP = %X, want the SELECT answer", info.FCP)
			}
		})
	}
}

func TestParseDeviceInfoErrors(t *testing.T) {
	tests := []struct {
		name string
		fcp  string
	}{
		{"empty", ""},
		{"no tag 85", "6203 82 01 01"},
		{"1-byte tag 85", "6203 85 01 06"},
		{"wrong template", "6104 85 02 06 06"},
		{"trailing bytes", "6204 85 02 06 06 00"},
		{"broken inner TLV", "6204 85 05 06 06"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseDeviceInfo(mustHex(t, tt.fcp))
			if !errors.Is(err, ErrMalformedFCP) {
				t.Errorf("parseDeviceInfo error = %v, want ErrMalformedFCP", err)
			}
		})
	}
}

func TestParseFileSize(t *testing.T) {
	tests := []struct {
		fcp   string
		size  int
		sized bool
	}{
		{picoDevAutFCP, 443, true},
		{picoTokenInfoFCP, 44, true},
		{"6207 80 02 01 00 82 01 01", 256, true},
		{"6203 82 01 01", 0, false},
	}
	for _, tt := range tests {
		size, sized, err := parseFileSize(mustHex(t, tt.fcp))
		if err != nil || size != tt.size || sized != tt.sized {
			t.Errorf("parseFileSize(%s) = %d, %v, %v; want %d, %v, nil", tt.fcp, size, sized, err, tt.size, tt.sized)
		}
	}
}

func TestSelectAppletPico(t *testing.T) {
	s := newScript(t, exchange{picoSelectAPDU, picoFCPRRC + "9000"})
	info, err := NewCard(s).SelectApplet()
	if err != nil {
		t.Fatalf("SelectApplet: %v", err)
	}
	s.done()
	if info.Family != FamilyPicoHSM || info.Version() != "6.6" || info.Options != 0x0001 {
		t.Errorf("SelectApplet = %v %s options %04X, want Pico HSM 6.6 options 0001", info.Family, info.Version(), info.Options)
	}
}

func TestSelectAppletNotFound(t *testing.T) {
	s := newScript(t, exchange{picoSelectAPDU, "6A82"})
	_, err := NewCard(s).SelectApplet()
	if !errors.Is(err, ErrFileNotFound) {
		t.Errorf("SelectApplet error = %v, want ErrFileNotFound", err)
	}
}

func FuzzParseDeviceInfo(f *testing.F) {
	f.Add(mustHex(f, picoFCPBlank))
	f.Add(mustHex(f, "6F07 82 01 78 85 02 01 02"))
	f.Add(mustHex(f, picoDevAutFCP))
	f.Add([]byte{0x62, 0x81, 0x02, 0x85, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := parseDeviceInfo(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedFCP) {
				t.Fatalf("error %v does not wrap ErrMalformedFCP", err)
			}
			return
		}
		if info.Family == FamilyUnknown {
			t.Fatal("decoded FCP has family unknown")
		}
		if info.Options != uint16(info.OptionsHigh)<<8|uint16(info.OptionsLow) {
			t.Fatalf("Options %04X disagrees with its bytes", info.Options)
		}
		_, _, _ = parseFileSize(b)
	})
}
