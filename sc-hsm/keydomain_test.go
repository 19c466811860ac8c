package schsm

import (
	"errors"
	"fmt"
	"testing"
)

// The exchanges below are those of the Pico HSM 6.6 key-domain recording:
// a device initialized with two domains, domain 0 complete with shares A5
// and 5A, domain 1 complete with share A5.

func TestKeyDomainsListPico(t *testing.T) {
	s := newScript(t,
		exchange{"8052000000", "0200AF9613760F72635F" + "9000"},
		exchange{"8052000100", "0100FC8B64001C5FDD0F" + "9000"},
		exchange{"8052000200", "6A86"},
	)
	domains, err := NewCard(s).KeyDomains()
	if err != nil {
		t.Fatalf("KeyDomains: %v", err)
	}
	if len(domains) != 2 {
		t.Fatalf("KeyDomains returned %d domains, want 2", len(domains))
	}
	if d := domains[0]; !d.Defined || d.Number != 0 || d.DKEK.Total != 2 || !d.DKEK.Complete() {
		t.Errorf("domain 0 = %+v, want defined with 2 shares, complete", d)
	}
	wantKCV := [8]byte{0xFC, 0x8B, 0x64, 0x00, 0x1C, 0x5F, 0xDD, 0x0F}
	if d := domains[1]; !d.Defined || d.Number != 1 || d.DKEK.KCV != wantKCV {
		t.Errorf("domain 1 = %+v, want defined with KCV %X", d, wantKCV)
	}
	s.done()
}

func TestKeyDomainsUndefinedAndEnd(t *testing.T) {
	tests := []struct {
		name    string
		steps   []exchange
		defined []bool
	}{
		{"undefined domain 0", []exchange{{"8052000000", "6A88"}, {"8052000100", "6A86"}}, []bool{false}},
		{"blank Pico", []exchange{{"8052000000", "6B00"}}, nil},
		{"no DKEK support", []exchange{{"8052000000", "6D00"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, tt.steps...)
			domains, err := NewCard(s).KeyDomains()
			if err != nil {
				t.Fatalf("KeyDomains: %v", err)
			}
			if len(domains) != len(tt.defined) {
				t.Fatalf("KeyDomains returned %d domains, want %d", len(domains), len(tt.defined))
			}
			for i, want := range tt.defined {
				if domains[i].Defined != want {
					t.Errorf("domain %d defined = %v, want %v", i, domains[i].Defined, want)
				}
			}
			s.done()
		})
	}
}

func TestKeyDomainsStopsAtSixteen(t *testing.T) {
	var steps []exchange
	for n := 0; n <= MaxKeyDomainNumber; n++ {
		steps = append(steps, exchange{fmt.Sprintf("805200%02X00", n), "6A88"})
	}
	s := newScript(t, steps...)
	domains, err := NewCard(s).KeyDomains()
	if err != nil || len(domains) != 16 {
		t.Errorf("KeyDomains = %d domains, %v; want 16 undefined", len(domains), err)
	}
	s.done()
}

func TestKeyDomainsCardError(t *testing.T) {
	s := newScript(t, exchange{"8052000000", "6F00"})
	if _, err := NewCard(s).KeyDomains(); err == nil {
		t.Error("KeyDomains after SW 6F00: no error")
	}
}

func TestClearKeyDomainPico(t *testing.T) {
	s := newScript(t,
		exchange{"8052040100", "01010000000000000000" + "9000"},
		exchange{"8052040100", "6985"},
	)
	card := NewCard(s)
	st, err := card.ClearKeyDomain(1)
	if err != nil || st.Total != 1 || st.Outstanding != 1 {
		t.Errorf("ClearKeyDomain(1) = %+v, %v; want 1 of 1 outstanding", st, err)
	}
	if _, err := card.ClearKeyDomain(1); !errors.Is(err, ErrConditionsNotSatisfied) {
		t.Errorf("ClearKeyDomain without PIN = %v, want ErrConditionsNotSatisfied", err)
	}
	s.done()
}

func TestDeleteKeyDomain(t *testing.T) {
	tests := []struct {
		name   string
		steps  []exchange
		wantSW uint16
		want   error // nil for success
	}{
		{"Pico success as 6A88", []exchange{{"8052030100", "6A88"}, {"8052000100", "6A88"}}, 0x6A88, nil},
		{"success as 9000", []exchange{{"8052030100", "9000"}, {"8052000100", "6A88"}}, 0x9000, nil},
		{"still defined", []exchange{{"8052030100", "6A88"}, {"8052000100", "01010000000000000000" + "9000"}}, 0x6A88, ErrKeyDomainStillDefined},
		{"not logged in", []exchange{{"8052030100", "6985"}}, 0x6985, ErrConditionsNotSatisfied},
		{"domain holds keys", []exchange{{"8052030100", "6A89"}}, 0x6A89, ErrKeyDomainNotEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, tt.steps...)
			sw, err := NewCard(s).DeleteKeyDomain(1)
			if sw != tt.wantSW {
				t.Errorf("DeleteKeyDomain SW = %04X, want %04X", sw, tt.wantSW)
			}
			switch {
			case tt.want == nil && err != nil:
				t.Errorf("DeleteKeyDomain: %v", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("DeleteKeyDomain = %v, want %v", err, tt.want)
			}
			s.done()
		})
	}
}
