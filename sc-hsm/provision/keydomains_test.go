package provision

import (
	"errors"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// keyDomainRequest is the request of the Pico key-domain recording: two
// domains, domain 0 for shares A5 and 5A, domain 1 for share A5.
func keyDomainRequest(t *testing.T) Request {
	req := picoRequest(t)
	req.Shares = nil
	req.Settings.DKEKShares = schsm.NoDKEK
	req.Settings.KeyDomains = 2
	req.KeyDomains = []KeyDomainSetup{
		{Shares: 2, Import: [][32]byte{fill(0xA5), fill(0x5A)}},
		{Shares: 1, Import: [][32]byte{fill(0xA5)}},
	}
	return req
}

func TestPlanKeyDomains(t *testing.T) {
	planned, err := Plan(keyDomainRequest(t), schsm.DeviceInfo{})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	var got []string
	for _, p := range planned {
		if p.Cmd.INS == 0x52 {
			got = append(got, schsm.MaskCommand(p.Cmd))
		}
	}
	// Status reads of the preflight and the read-back enclose the setup.
	want := []string{
		"80 52 00 00 00",
		"80 52 01 00 01 02",
		"80 52 00 00 20 " + maskedShare + " 00",
		"80 52 00 00 20 " + maskedShare + " 00",
		"80 52 00 00 00",
		"80 52 01 01 01 01",
		"80 52 00 01 20 " + maskedShare + " 00",
		"80 52 00 01 00",
		"80 52 00 00 00",
	}
	if len(got) != len(want) {
		t.Fatalf("MANAGE KEY DOMAIN commands = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("command %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// maskedShare is a 32-byte share as MaskCommand prints it.
const maskedShare = "** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** ** **"

func TestCheckKeyDomainsRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Request)
	}{
		{"more domains than configured", func(r *Request) { r.KeyDomains = append(r.KeyDomains, KeyDomainSetup{Shares: 1}) }},
		{"zero shares", func(r *Request) { r.KeyDomains[1].Shares = 0 }},
		{"more imports than shares", func(r *Request) { r.KeyDomains[1].Import = append(r.KeyDomains[1].Import, fill(0x11)) }},
		{"same share twice", func(r *Request) { r.KeyDomains[0].Import[1] = fill(0xA5) }},
		{"zero DKEK", func(r *Request) { r.KeyDomains[1].Import[0] = [32]byte{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := keyDomainRequest(t)
			tt.modify(&req)
			if err := checkKeyDomains(req); !errors.Is(err, ErrShareCount) {
				t.Errorf("checkKeyDomains = %v, want ErrShareCount", err)
			}
		})
	}
	if err := checkKeyDomains(keyDomainRequest(t)); err != nil {
		t.Errorf("checkKeyDomains of the recorded request: %v", err)
	}
}
