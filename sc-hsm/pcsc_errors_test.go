package schsm

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// silentCard is a pcscCard whose Transmit returns resp and err.
type silentCard struct {
	resp []byte
	err  error
}

func (c silentCard) Transmit([]byte) ([]byte, error) { return c.resp, c.err }
func (c silentCard) BeginTransaction() error         { return nil }
func (c silentCard) EndTransaction() error           { return nil }
func (c silentCard) Disconnect() error               { return nil }

func TestTransportEmptyResponse(t *testing.T) {
	tr := &PCSCTransport{card: silentCard{}, reader: "Virtual PCD 00 00"}
	_, err := NewCard(tr).SelectApplet()
	if !errors.Is(err, ErrTokenNotResponding) {
		t.Errorf("SelectApplet error = %v, want ErrTokenNotResponding", err)
	}
	if errors.Is(err, ErrMalformedAPDU) {
		t.Errorf("SelectApplet error = %v, reported as a malformed APDU", err)
	}
}

func TestPickReaderByIndexAndMessage(t *testing.T) {
	readers := []string{"Yubico 00 00", "Nitrokey HSM 01 00"}
	tests := []struct {
		name    string
		pick    string
		want    string
		wantErr error
		wantMsg string
	}{
		{"index 1", "1", "Nitrokey HSM 01 00", nil, ""},
		{"index 0 is another card", "0", "", ErrNoToken, "Yubico"},
		{"index out of range", "2", "", ErrNoReader, `no reader matches "2"; readers: 0: "Yubico 00 00", 1: "Nitrokey HSM 01 00"`},
		{"unknown name", "nonexist", "", ErrNoReader, `no reader matches "nonexist"; readers: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePCSC(t).add(readers[0], otherCard).add(readers[1], picoReader)
			ctx := &PCSCContext{sys: f}
			got, err := ctx.PickReader(tt.pick)
			if got != tt.want {
				t.Errorf("PickReader(%q) = %q, want %q", tt.pick, got, tt.want)
			}
			if tt.wantErr == nil && err != nil {
				t.Errorf("PickReader(%q): %v", tt.pick, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("PickReader(%q) error = %v, want %q", tt.pick, err, tt.wantErr)
			}
			if tt.wantMsg != "" && (err == nil || !strings.Contains(err.Error(), tt.wantMsg)) {
				t.Errorf("PickReader(%q) error = %v, want it to contain %q", tt.pick, err, tt.wantMsg)
			}
			if err != nil && strings.Contains(err.Error(), "no smart card reader found") {
				t.Errorf("error %q claims that no reader exists", err)
			}
		})
	}
}

func TestTraceMasksChallenge(t *testing.T) {
	script := newScript(t, exchange{"0084000008", "A1B2C3D4E5F607189000"})
	var entries []TraceEntry
	c := NewCard(script, WithTracer(func(e TraceEntry) { entries = append(entries, e) }))
	got, err := c.GetChallenge(8)
	if err != nil {
		t.Fatalf("GetChallenge: %v", err)
	}
	if len(got) != 8 {
		t.Errorf("GetChallenge returned %d bytes, want 8", len(got))
	}
	if len(entries) != 1 {
		t.Fatalf("%d trace entries, want 1", len(entries))
	}
	if entries[0].Response != strings.Repeat("**", 8) {
		t.Errorf("traced response = %q, want 8 masked bytes", entries[0].Response)
	}
	if entries[0].SW != 0x9000 {
		t.Errorf("traced SW = %04X, want 9000", entries[0].SW)
	}
}

func TestTraceKeepsOtherResponses(t *testing.T) {
	if got := maskResponse(Command{CLA: claISO, INS: insSelect}, []byte{0x62, 0x01}); got != "6201" {
		t.Errorf("maskResponse(SELECT) = %q, want 6201", got)
	}
}

func TestStatusJSONShape(t *testing.T) {
	st := DeviceStatus{
		Info:        DeviceInfo{Options: 0x0001, Type: 0xFF, Family: FamilyPicoHSM, VersionMajor: 6, VersionMinor: 0, FCP: []byte{0x62, 0x00}},
		Initialized: true,
		UserPIN:     PINStatus{SW: 0x63C3, Initialized: true, TriesLeft: 3},
		SOPIN:       PINStatus{SW: 0x63CF, Initialized: true, TriesLeft: 15},
		DKEK:        &DKEKStatus{Configured: true, Total: 1, KCV: [8]byte{0x96, 0x84, 0xBC, 0xDB, 0xC8, 0x1C, 0x0F, 0xFA}},
		Serial:      "ESPICOHSMTR",
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	info, _ := doc["info"].(map[string]any)
	user, _ := doc["user_pin"].(map[string]any)
	so, _ := doc["so_pin"].(map[string]any)
	dkek, _ := doc["dkek"].(map[string]any)
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"info.options", info["options"], "0001"},
		{"info.fcp", info["fcp"], "6200"},
		{"info.type", info["type"], "FF"},
		{"info.family", info["family"], "Pico HSM"},
		{"user_pin.sw", user["sw"], "63C3"},
		{"user_pin.tries_left", user["tries_left"], float64(3)},
		{"so_pin.tries_left", so["tries_left"], float64(15)},
		{"dkek.kcv", dkek["kcv"], "9684BCDBC81C0FFA"},
		{"pka", doc["pka"], nil},
		{"serial", doc["serial"], "ESPICOHSMTR"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v\n%s", c.name, c.got, c.want, b)
		}
	}
	for _, upper := range []string{`"Info"`, `"UserPIN"`, `"SW"`, `"KCV"`} {
		if strings.Contains(string(b), upper) {
			t.Errorf("JSON has the Go field name %s: %s", upper, b)
		}
	}
}

func TestWrongPINErrorSingular(t *testing.T) {
	if got := (&WrongPINError{SW: 0x63C1, TriesLeft: 1}).Error(); !strings.Contains(got, "1 try left") {
		t.Errorf("Error() = %q, want \"1 try left\"", got)
	}
}
