package provision

import (
	"errors"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/pkakey"
)

func newRegistration(t *testing.T, name string) *pkakey.Custodian {
	t.Helper()
	c, err := pkakey.NewRehearsalCustodian(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckPKA(t *testing.T) {
	a, b := newRegistration(t, "a"), newRegistration(t, "b")
	pka := func(total int) schsm.Settings {
		s := schsm.DefaultSettings()
		s.PKATotal, s.PKARequired = total, 1
		return s
	}
	tests := []struct {
		name    string
		req     Request
		wantErr string
	}{
		{"none", Request{Settings: schsm.DefaultSettings()}, ""},
		{"two of two", Request{Settings: pka(2), PublicKeys: []*pkakey.Registration{a.Registration, b.Registration}, Custodians: []schsm.Signer{a, b}}, ""},
		{"without PKA", Request{Settings: schsm.DefaultSettings(), Custodians: []schsm.Signer{a}}, "configure no public key authentication"},
		{"too many", Request{Settings: pka(1), PublicKeys: []*pkakey.Registration{a.Registration, b.Registration}}, "2 public keys to register"},
		{"key twice", Request{Settings: pka(2), PublicKeys: []*pkakey.Registration{a.Registration, a.Registration}}, "given twice"},
		{"custodian twice", Request{Settings: pka(2), Custodians: []schsm.Signer{a, a}}, "custodian key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPKA(tt.req)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			if !errors.Is(err, ErrPKARequest) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want ErrPKARequest with %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckPKABrokenLink(t *testing.T) {
	a, b := newRegistration(t, "a"), newRegistration(t, "b")
	broken := *a.Registration
	broken.Device = b.Registration.Device // the request is signed by a's device, not b's
	s := schsm.DefaultSettings()
	s.PKATotal, s.PKARequired = 1, 1
	if err := checkPKA(Request{Settings: s, PublicKeys: []*pkakey.Registration{&broken}}); !errors.Is(err, ErrPKARequest) {
		t.Errorf("error %v, want ErrPKARequest", err)
	}
}

func TestListPKARemaining(t *testing.T) {
	s := schsm.DefaultSettings()
	s.PKATotal, s.PKARequired = 3, 2
	a := newRegistration(t, "a")
	r := &runner{req: Request{Settings: s, Custodians: []schsm.Signer{a}}}
	r.res.PKA = &PKAResult{Status: &schsm.PKAStatus{Total: 3, Missing: 1, Required: 2, Authenticated: 1}}
	var got []string
	r.listPKARemaining(func(format string, args ...any) { got = append(got, format) })
	if len(got) != 2 || !strings.Contains(got[0], "register the other") || !strings.Contains(got[1], "authenticate %d more") {
		t.Errorf("remaining = %q", got)
	}
}

func TestSessionAuthenticated(t *testing.T) {
	pin := schsm.NewSecret([]byte("648219"))
	tests := []struct {
		name           string
		pka, combined  bool
		withPIN, quora bool
		want           bool
	}{
		{"PIN only", false, false, true, false, true},
		{"no PIN, no PKA", false, false, false, false, false},
		{"PKA quorum alone", true, false, false, true, true},
		{"PKA, PIN alone", true, false, true, false, true},
		{"combined, PIN alone", true, true, true, false, false},
		{"combined, quorum alone", true, true, false, true, false},
		{"combined, both", true, true, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := schsm.DefaultSettings()
			if tt.withPIN {
				s.UserPIN = pin
			}
			if tt.pka {
				s.PKATotal, s.PKARequired = 2, 1
			}
			s.CombinedPINAndPKA = tt.combined
			r := &runner{req: Request{Settings: s}}
			if tt.pka {
				r.res.PKA = &PKAResult{QuorumReached: tt.quora}
			}
			if got := r.sessionAuthenticated(); got != tt.want {
				t.Errorf("sessionAuthenticated = %v, want %v", got, tt.want)
			}
		})
	}
}
