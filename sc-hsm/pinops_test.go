package schsm

import (
	"errors"
	"strings"
	"testing"
)

func TestChangePINAPDUs(t *testing.T) {
	so := SOPIN{'5', '7', '6', '2', '1', '8', '8', '0'}
	tests := []struct {
		name     string
		ref      byte
		old, new string
		cmd      string
	}{
		{"user PIN", PINRefUser, "648219", "123456", "00240081 0C 363438323139 313233343536"},
		{"transport PIN to longer PIN", PINRefUser, "648219", "12345678", "00240081 0E 363438323139 3132333435363738"},
		{"SO-PIN", PINRefSOPIN, string(so[:]), "Qm7#vX2p", "00240088 10 3537363231383830 516D372376583270"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, exchange{tt.cmd, "9000"})
			if err := NewCard(s).ChangePIN(tt.ref, []byte(tt.old), []byte(tt.new)); err != nil {
				t.Fatalf("ChangePIN: %v", err)
			}
			s.done()
		})
	}
}

func TestChangePINErrors(t *testing.T) {
	tests := []struct {
		name      string
		sw        string
		wantIs    error
		wantTries int // -1: no *WrongPINError expected
	}{
		{"wrong old PIN", "63C2", ErrWrongPIN, 2},
		{"last try spent", "63C0", ErrWrongPIN, 0},
		{"blocked", "6983", ErrPINBlocked, -1},
		{"wrong length", "6700", ErrWrongLength, -1},
		{"not initialized", "6A88", ErrNotInitialized, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, exchange{"00240081 0C 393939393939 313233343536", tt.sw})
			err := NewCard(s).ChangePIN(PINRefUser, []byte("999999"), []byte("123456"))
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want it to match %v", err, tt.wantIs)
			}
			var wrong *WrongPINError
			switch {
			case tt.wantTries >= 0 && !errors.As(err, &wrong):
				t.Errorf("err = %v, want *WrongPINError", err)
			case tt.wantTries >= 0 && wrong.TriesLeft != tt.wantTries:
				t.Errorf("TriesLeft = %d, want %d", wrong.TriesLeft, tt.wantTries)
			}
			if strings.Contains(err.Error(), "999999") || strings.Contains(err.Error(), "123456") {
				t.Errorf("err contains a PIN: %q", err)
			}
			s.done()
		})
	}
}

func TestChangePINRejectedOnHost(t *testing.T) {
	tests := []struct {
		name     string
		ref      byte
		old, new []byte
	}{
		{"empty old", PINRefUser, nil, []byte("123456")},
		{"empty new", PINRefUser, []byte("123456"), nil},
		{"short SO-PIN", PINRefSOPIN, []byte("1234567"), []byte("12345678")},
		{"long new SO-PIN", PINRefSOPIN, []byte("12345678"), []byte("123456789")},
		{"unknown reference", 0x85, []byte("123456"), []byte("654321")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t) // any APDU fails the test
			if err := NewCard(s).ChangePIN(tt.ref, tt.old, tt.new); err == nil {
				t.Error("ChangePIN succeeded, want an error before any APDU")
			}
		})
	}
}

func TestResetRetryCounterAPDUs(t *testing.T) {
	so := SOPIN{'5', '7', '6', '2', '1', '8', '8', '0'}
	tests := []struct {
		name   string
		newPIN []byte
		cmd    string
	}{
		{"new PIN", []byte("123456"), "002C0081 0E 3537363231383830 313233343536"},
		{"counter only", nil, "002C0181 08 3537363231383830"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, exchange{tt.cmd, "9000"})
			if err := NewCard(s).ResetRetryCounter(so, tt.newPIN); err != nil {
				t.Fatalf("ResetRetryCounter: %v", err)
			}
			s.done()
		})
	}
}

func TestResetRetryCounterErrors(t *testing.T) {
	so := SOPIN{'5', '7', '6', '2', '1', '8', '8', '0'}
	tests := []struct {
		name   string
		sw     string
		wantIs error
	}{
		{"wrong SO-PIN", "63CE", ErrWrongPIN},
		{"SO-PIN blocked", "6983", ErrPINBlocked},
		{"reset retry counter disabled", "6986", ErrCommandNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, exchange{"002C0181 08 3537363231383830", tt.sw})
			err := NewCard(s).ResetRetryCounter(so, nil)
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want it to match %v", err, tt.wantIs)
			}
			if strings.Contains(err.Error(), "57621880") || strings.Contains(err.Error(), "3537363231383830") {
				t.Errorf("err contains the SO-PIN: %q", err)
			}
			s.done()
		})
	}

	s := newScript(t)
	if err := NewCard(s).ResetRetryCounter(so, []byte("12345")); err == nil {
		t.Error("ResetRetryCounter with a 5-character PIN succeeded, want an error before any APDU")
	}
}

func TestWrongSOPINTriesLeft(t *testing.T) {
	s := newScript(t, exchange{"002C0081 0E 3131313131313131 313233343536", "63CD"})
	err := NewCard(s).ResetRetryCounter(SOPIN{'1', '1', '1', '1', '1', '1', '1', '1'}, []byte("123456"))
	var wrong *WrongPINError
	if !errors.As(err, &wrong) || wrong.TriesLeft != 13 {
		t.Errorf("err = %v, want *WrongPINError with 13 tries left", err)
	}
}

func TestPINCommandsMasked(t *testing.T) {
	var traced []string
	s := newScript(t,
		exchange{"00240081 0C 363438323139 313233343536", "9000"},
		exchange{"002C0081 0E 3537363231383830 313233343536", "9000"},
		exchange{"002C0181 08 3537363231383830", "9000"},
	)
	card := NewCard(s, WithTracer(func(e TraceEntry) { traced = append(traced, e.Command) }))
	so := SOPIN{'5', '7', '6', '2', '1', '8', '8', '0'}
	if err := card.ChangePIN(PINRefUser, []byte("648219"), []byte("123456")); err != nil {
		t.Fatal(err)
	}
	if err := card.ResetRetryCounter(so, []byte("123456")); err != nil {
		t.Fatal(err)
	}
	if err := card.ResetRetryCounter(so, nil); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"00 24 00 81 0C " + strings.TrimSpace(strings.Repeat("** ", 12)),
		"00 2C 00 81 0E " + strings.TrimSpace(strings.Repeat("** ", 14)),
		"00 2C 01 81 08 " + strings.TrimSpace(strings.Repeat("** ", 8)),
	}
	if len(traced) != len(want) {
		t.Fatalf("traced %d commands, want %d", len(traced), len(want))
	}
	for i := range want {
		if traced[i] != want[i] {
			t.Errorf("trace %d = %q, want %q", i, traced[i], want[i])
		}
	}
}

func TestCountObjects(t *testing.T) {
	tests := []struct {
		name string
		fids []uint16
		want ObjectCounts
	}{
		{"fresh card", []uint16{0xCC00}, ObjectCounts{}},
		{"fresh Pico", []uint16{0xC400, 0xCC00}, ObjectCounts{}},
		{"key with description and certificate", []uint16{0xC401, 0xCC00, 0xCC01, 0xCE01}, ObjectCounts{Keys: 1, Certificates: 1}},
		{"certificate with description", []uint16{0xC802, 0xCE02}, ObjectCounts{Certificates: 1}},
		{"CA certificates", []uint16{0xCA01, 0xCA02}, ObjectCounts{Certificates: 2}},
		{"data objects", []uint16{0xC901, 0xCF01, 0xC902, 0xCD02, 0xCF03}, ObjectCounts{DataObjects: 3}},
		{"key meta data only", []uint16{0xCB01}, ObjectCounts{}},
		{"everything", []uint16{0xCC00, 0xCC01, 0xCC02, 0xC401, 0xC402, 0xCE01, 0xC803, 0xCE03, 0xCA01, 0xC904, 0xCF04},
			ObjectCounts{Keys: 2, Certificates: 3, DataObjects: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CountObjects(tt.fids); got != tt.want {
				t.Errorf("CountObjects = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCardCountObjects(t *testing.T) {
	s := newScript(t, exchange{"80580000 000000", "CC00 CC01 C401 C901 CF01 0000 9000"})
	got, err := NewCard(s).CountObjects()
	if err != nil {
		t.Fatalf("CountObjects: %v", err)
	}
	if want := (ObjectCounts{Keys: 1, DataObjects: 1}); got != want {
		t.Errorf("CountObjects = %+v, want %+v", got, want)
	}
	if got.Total() != 2 {
		t.Errorf("Total = %d, want 2", got.Total())
	}
	s.done()
}

func FuzzCountObjects(f *testing.F) {
	f.Add([]byte{0xCC, 0x00, 0xCC, 0x01, 0xCE, 0x01})
	f.Add([]byte{0xC9, 0x01, 0xCF, 0x01, 0xCA, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		fids := make([]uint16, 0, len(data)/2)
		for i := 0; i+1 < len(data); i += 2 {
			fids = append(fids, uint16(data[i])<<8|uint16(data[i+1]))
		}
		got := CountObjects(fids)
		if got.Keys < 0 || got.Certificates < 0 || got.DataObjects < 0 || got.Total() > len(fids) {
			t.Errorf("CountObjects(%X) = %+v for %d identifiers", data, got, len(fids))
		}
	})
}
