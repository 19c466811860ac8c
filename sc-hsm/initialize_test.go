package schsm

import (
	"errors"
	"strings"
	"testing"
)

func goldenInitParams() InitParams {
	var so [8]byte
	copy(so[:], "57621880")
	return InitParams{Options: 0x0001, UserPIN: []byte("648219"), SOPIN: so, Retries: 3, DKEKShares: 1}
}

func TestInitializeCommandGolden(t *testing.T) {
	cmd, err := InitializeCommand(goldenInitParams())
	if err != nil {
		t.Fatalf("InitializeCommand: %v", err)
	}
	raw, err := cmd.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	want := mustHex(t, "80 50 00 00 1C 80 02 00 01 81 06 36 34 38 32 31 39 82 08 35 37 36 32 31 38 38 30 91 01 03 92 01 01")
	if !equalBytes(raw, want) {
		t.Errorf("INITIALIZE = %X\nwant         %X", raw, want)
	}
}

func TestInitializeCommandOptions(t *testing.T) {
	tests := []struct {
		name    string
		options uint16
		tag80   string
	}{
		{"none", 0x0000, "80020000"},
		{"reset retry counter", OptionResetRetryCounter, "80020001"},
		{"transport PIN", OptionTransportPIN, "80020002"},
		{"session PIN", OptionSessionPIN, "80020004"},
		{"PKA replaceable", OptionPKAReplaceable, "80020008"},
		{"combined PIN and PKA", OptionCombinedPINPKA, "80020010"},
		{"RRC resets counter only", OptionRRCResetCounterOnly, "80020020"},
		{"RRC and counter only", OptionResetRetryCounter | OptionRRCResetCounterOnly, "80020021"},
		{"Pico high byte", 0x0500, "80020500"},
		{"Pico high byte with RRC", OptionPicoButton | OptionPicoSecureLock | OptionResetRetryCounter, "80020501"},
		{"all bits", 0xFFFF, "8002FFFF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := goldenInitParams()
			p.Options = tt.options
			cmd, err := InitializeCommand(p)
			if err != nil {
				t.Fatalf("InitializeCommand: %v", err)
			}
			if got := cmd.Data[:4]; !equalBytes(got, mustHex(t, tt.tag80)) {
				t.Errorf("tag 80 = %X, want %s", got, tt.tag80)
			}
		})
	}
}

func TestInitializeCommandTags(t *testing.T) {
	const head = "80020001 8106363438323139 82083537363231383830 910103"
	tests := []struct {
		name   string
		modify func(*InitParams)
		data   string
	}{
		{"random DKEK", func(p *InitParams) { p.DKEKShares = 0 }, head + "920100"},
		{"no DKEK", func(p *InitParams) { p.DKEKShares = -1 }, head},
		{"PKA 3 of 5", func(p *InitParams) { p.PKATotal, p.PKARequired = 5, 3 }, head + "920101 9302 0503"},
		{"key domains", func(p *InitParams) { p.KeyDomains = 2 }, head + "920101 970102"},
		{"all tags", func(p *InitParams) { p.PKATotal, p.PKARequired, p.KeyDomains = 2, 1, 4 },
			head + "920101 9302 0201 970104"},
		{"no user PIN", func(p *InitParams) { p.UserPIN = nil; p.PKATotal, p.PKARequired = 1, 1 },
			"80020001 82083537363231383830 910103 920101 93020101"},
		{"16-byte PIN", func(p *InitParams) { p.UserPIN = []byte("0123456789abcdef") },
			"80020001 811030313233343536373839616263646566 82083537363231383830 910103 920101"},
		{"10 retries", func(p *InitParams) { p.Retries = 10 }, "80020001 8106363438323139 82083537363231383830 91010A 920101"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := goldenInitParams()
			tt.modify(&p)
			cmd, err := InitializeCommand(p)
			if err != nil {
				t.Fatalf("InitializeCommand: %v", err)
			}
			if cmd.CLA != 0x80 || cmd.INS != 0x50 || cmd.P1 != 0 || cmd.P2 != 0 || cmd.Ne != 0 {
				t.Errorf("header %v, want 80 50 00 00 without Le", cmd)
			}
			if want := mustHex(t, tt.data); !equalBytes(cmd.Data, want) {
				t.Errorf("data = %X\nwant   %X", cmd.Data, want)
			}
		})
	}
}

func TestInitializeCommandInvalid(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*InitParams)
	}{
		{"PIN too short", func(p *InitParams) { p.UserPIN = []byte("64821") }},
		{"PIN too long", func(p *InitParams) { p.UserPIN = []byte("64821964821964821") }},
		{"empty PIN", func(p *InitParams) { p.UserPIN = []byte{} }},
		{"zero retries", func(p *InitParams) { p.Retries = 0 }},
		{"retries beyond a byte", func(p *InitParams) { p.Retries = 256 }},
		{"DKEK shares below -1", func(p *InitParams) { p.DKEKShares = -2 }},
		{"DKEK shares beyond a byte", func(p *InitParams) { p.DKEKShares = 256 }},
		{"PKA required above total", func(p *InitParams) { p.PKATotal, p.PKARequired = 2, 3 }},
		{"PKA required zero", func(p *InitParams) { p.PKATotal = 2 }},
		{"PKA total zero", func(p *InitParams) { p.PKARequired = 1 }},
		{"negative key domains", func(p *InitParams) { p.KeyDomains = -1 }},
		{"key domains beyond a byte", func(p *InitParams) { p.KeyDomains = 256 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := goldenInitParams()
			tt.modify(&p)
			_, err := InitializeCommand(p)
			if !errors.Is(err, ErrInvalidInitParams) {
				t.Fatalf("error = %v, want ErrInvalidInitParams", err)
			}
			for _, secret := range []string{"648219", "57621880", "64821"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains a PIN", err)
				}
			}
		})
	}
}

func TestInitializePico(t *testing.T) {
	s := newScript(t, exchange{picoInitializeAPDU, "9000"})
	if err := NewCard(s).Initialize(goldenInitParams()); err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	s.done()
}

func TestInitializeRejected(t *testing.T) {
	s := newScript(t, exchange{picoInitializeAPDU, "6982"})
	err := NewCard(s).Initialize(goldenInitParams())
	if !errors.Is(err, ErrSecurityStatus) {
		t.Errorf("Initialize error = %v, want ErrSecurityStatus", err)
	}
	if !strings.HasPrefix(err.Error(), "initializing device: ") {
		t.Errorf("Initialize error %q does not name the step", err)
	}
}
