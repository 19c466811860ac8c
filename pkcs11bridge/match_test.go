package pkcs11bridge

import (
	"strings"
	"testing"
)

func TestMatchSlot(t *testing.T) {
	longReader := "Identiv uTrust 3700 F CL Reader with a very long name [Contactless Interface] 00 00"
	slots := []SlotInfo{
		{ID: 0, Description: "Virtual PCD 00 00", TokenSerial: "ESPICOHSMTR"},
		{ID: 4, Description: "Virtual PCD 00 01", TokenSerial: "DENK0105461"},
		{ID: 8, Description: longReader[:slotDescriptionLen], TokenSerial: "DECM0102330"},
	}
	tests := []struct {
		name     string
		reader   string
		serial   string
		wantID   uint
		wantNil  bool
		wantText string
	}{
		{name: "first reader", reader: "Virtual PCD 00 00", serial: "ESPICOHSMTR", wantID: 0},
		{name: "second reader", reader: "Virtual PCD 00 01", serial: "DENK0105461", wantID: 4},
		{name: "serial with spaces", reader: "Virtual PCD 00 01", serial: " DENK0105461 ", wantID: 4},
		{name: "long reader name cut to 64 bytes", reader: longReader, serial: "DECM0102330", wantID: 8},
		{name: "serial in another reader", reader: "Virtual PCD 00 00", serial: "DENK0105461", wantNil: true,
			wantText: `reader "Virtual PCD 00 00" has no token with serial "DENK0105461"; serials seen in that reader: "ESPICOHSMTR"`},
		{name: "unknown reader", reader: "Other Reader", serial: "ESPICOHSMTR", wantNil: true,
			wantText: `no slot with a token in reader "Other Reader"`},
		{name: "no serial", reader: "Virtual PCD 00 00", serial: "", wantNil: true, wantText: "no token serial given"},
		{name: "no reader", reader: "", serial: "ESPICOHSMTR", wantNil: true, wantText: "no reader name given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := matchSlot(slots, tt.reader, tt.serial)
			if tt.wantNil {
				if got != nil {
					t.Fatalf("matchSlot() = slot %d, want no match", got.ID)
				}
				if !strings.Contains(reason, tt.wantText) {
					t.Errorf("reason = %q, want it to contain %q", reason, tt.wantText)
				}
				return
			}
			if got == nil {
				t.Fatalf("matchSlot() = nil (%s), want slot %d", reason, tt.wantID)
			}
			if got.ID != tt.wantID {
				t.Errorf("matchSlot() = slot %d, want slot %d", got.ID, tt.wantID)
			}
		})
	}
}

func TestMatchSlotNoSlots(t *testing.T) {
	got, reason := matchSlot(nil, "Virtual PCD 00 00", "ESPICOHSMTR")
	if got != nil {
		t.Fatalf("matchSlot() = slot %d, want no match", got.ID)
	}
	if !strings.Contains(reason, "slots with a token: none") {
		t.Errorf("reason = %q, want it to list no slots", reason)
	}
}

func TestMatchSlotSeveralMatches(t *testing.T) {
	slots := []SlotInfo{
		{ID: 1, Description: "Virtual PCD 00 00", TokenSerial: "ESPICOHSMTR"},
		{ID: 2, Description: "Virtual PCD 00 00", TokenSerial: "ESPICOHSMTR"},
	}
	got, reason := matchSlot(slots, "Virtual PCD 00 00", "ESPICOHSMTR")
	if got == nil || got.ID != 1 {
		t.Fatalf("matchSlot() = %v, want slot 1", got)
	}
	if !strings.Contains(reason, "2 slots match") {
		t.Errorf("reason = %q, want it to mention both matches", reason)
	}
}
