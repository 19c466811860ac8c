package schsm

import (
	"strings"
	"testing"
)

func TestMaskCommand(t *testing.T) {
	share := mustHex(t, shareA5)
	maskedShare := strings.TrimSpace(strings.Repeat("** ", 32))
	initCmd, err := InitializeCommand(goldenInitParams())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		cmd  Command
		want string
	}{
		{"VERIFY with PIN", Command{INS: 0x20, P2: 0x81, Data: []byte("648219")}, "00 20 00 81 06 ** ** ** ** ** **"},
		{"VERIFY query", Command{INS: 0x20, P2: 0x88}, "00 20 00 88"},
		{"CHANGE REFERENCE DATA", Command{INS: 0x24, P2: 0x81, Data: []byte("648219123456")},
			"00 24 00 81 0C " + strings.TrimSpace(strings.Repeat("** ", 12))},
		{"RESET RETRY COUNTER", Command{INS: 0x2C, P1: 0x01, P2: 0x81, Data: []byte("57621880")},
			"00 2C 01 81 08 ** ** ** ** ** ** ** **"},
		{"INITIALIZE", initCmd,
			"80 50 00 00 1C 80 02 00 01 81 06 ** ** ** ** ** ** 82 08 ** ** ** ** ** ** ** ** 91 01 03 92 01 01"},
		{"INITIALIZE undecodable", Command{CLA: 0x80, INS: 0x50, Data: []byte{0x81, 0x09, '6', '4'}},
			"80 50 00 00 04 ** ** ** **"},
		{"IMPORT DKEK SHARE", Command{CLA: 0x80, INS: 0x52, P2: 0x01, Data: share, Ne: 256},
			"80 52 00 01 20 " + maskedShare + " 00"},
		{"DKEK status", Command{CLA: 0x80, INS: 0x52, Ne: 256}, "80 52 00 00 00"},
		{"create key domain", Command{CLA: 0x80, INS: 0x52, P1: 0x01, Data: []byte{2}}, "80 52 01 00 01 02"},
		{"PKA status", Command{CLA: 0x80, INS: 0x54, Ne: 256}, "80 54 00 00 00"},
		{"SELECT", Command{INS: 0xA4, P1: 0x04, Data: AID, Ne: 256}, "00 A4 04 00 0B E8 2B 06 01 04 01 81 C3 1F 02 01 00"},
		{"extended VERIFY", Command{INS: 0x20, P2: 0x81, Data: make([]byte, 300)},
			"00 20 00 81 00 01 2C " + strings.TrimSpace(strings.Repeat("** ", 300))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskCommand(tt.cmd); got != tt.want {
				t.Errorf("MaskCommand = %q\nwant          %q", got, tt.want)
			}
		})
	}
}

func TestMaskCommandExtendedForm(t *testing.T) {
	got := maskCommand(Command{CLA: 0x80, INS: 0x58, Ne: 65536}, true)
	if want := "80 58 00 00 00 00 00"; got != want {
		t.Errorf("maskCommand = %q, want %q", got, want)
	}
}
