package schsm

import (
	"errors"
	"testing"
)

func TestPINStatusFromSW(t *testing.T) {
	tests := []struct {
		sw   uint16
		want PINStatus
	}{
		{0x9000, PINStatus{SW: 0x9000, Initialized: true, Verified: true}},
		{0x63C3, PINStatus{SW: 0x63C3, Initialized: true, TriesLeft: 3}},
		{0x63CF, PINStatus{SW: 0x63CF, Initialized: true, TriesLeft: 15}},
		{0x63C0, PINStatus{SW: 0x63C0, Initialized: true, Blocked: true}},
		{0x6983, PINStatus{SW: 0x6983, Initialized: true, Blocked: true}},
		{0x6984, PINStatus{SW: 0x6984, Initialized: true, TransportPIN: true}},
		{0x6A88, PINStatus{SW: 0x6A88}},
	}
	for _, tt := range tests {
		got, err := pinStatusFromSW(tt.sw)
		if err != nil {
			t.Errorf("pinStatusFromSW(%04X) error: %v", tt.sw, err)
		}
		if got != tt.want {
			t.Errorf("pinStatusFromSW(%04X) = %+v, want %+v", tt.sw, got, tt.want)
		}
	}
}

func TestPINStatusUnknownSW(t *testing.T) {
	s := newScript(t, exchange{"00200081", "6F00"})
	st, err := NewCard(s).PINStatus(PINRefUser)
	var se *StatusError
	if !errors.As(err, &se) || se.SW != 0x6F00 {
		t.Errorf("PINStatus error = %v, want *StatusError 6F00", err)
	}
	if st != (PINStatus{SW: 0x6F00}) {
		t.Errorf("PINStatus = %+v, want only SW set", st)
	}
}

// TestVerifyPINPico replays the Pico HSM's responses after initialization:
// query, wrong PIN, query, right PIN, query.
func TestVerifyPINPico(t *testing.T) {
	s := newScript(t,
		exchange{"00200081", "63C3"},
		exchange{"00200081 06 313131313131", "63C2"},
		exchange{"00200081", "63C2"},
		exchange{"00200081 06 363438323139", "9000"},
		exchange{"00200081", "9000"},
	)
	card := NewCard(s)

	st, err := card.PINStatus(PINRefUser)
	if err != nil || st.TriesLeft != 3 || st.Verified {
		t.Errorf("PINStatus before login = %+v, %v; want 3 tries left, not verified", st, err)
	}

	err = card.VerifyPIN(PINRefUser, []byte("111111"))
	var wrong *WrongPINError
	if !errors.As(err, &wrong) || wrong.TriesLeft != 2 || !errors.Is(err, ErrWrongPIN) {
		t.Errorf("VerifyPIN wrong = %v, want *WrongPINError with 2 tries left", err)
	}

	st, err = card.PINStatus(PINRefUser)
	if err != nil || st.TriesLeft != 2 {
		t.Errorf("PINStatus after wrong PIN = %+v, %v; want 2 tries left", st, err)
	}

	if err := card.VerifyPIN(PINRefUser, []byte("648219")); err != nil {
		t.Errorf("VerifyPIN right: %v", err)
	}

	st, err = card.PINStatus(PINRefUser)
	if err != nil || !st.Verified {
		t.Errorf("PINStatus after login = %+v, %v; want verified", st, err)
	}
	s.done()
}

func TestVerifyPINErrors(t *testing.T) {
	tests := []struct {
		sw   string
		want error
	}{
		{"6983", ErrPINBlocked},
		{"6984", ErrTransportPIN},
		{"6A88", ErrNotInitialized},
	}
	for _, tt := range tests {
		s := newScript(t, exchange{"00200081 06 363438323139", tt.sw})
		err := NewCard(s).VerifyPIN(PINRefUser, []byte("648219"))
		if !errors.Is(err, tt.want) {
			t.Errorf("VerifyPIN with SW %s = %v, want %q", tt.sw, err, tt.want)
		}
	}
}

func TestVerifyPINEmpty(t *testing.T) {
	s := newScript(t)
	if err := NewCard(s).VerifyPIN(PINRefUser, nil); err == nil {
		t.Error("VerifyPIN with an empty PIN: no error, but an empty VERIFY is only a status query")
	}
}

func TestPINStatusKnownTriesLeft(t *testing.T) {
	tests := []struct {
		sw   uint16
		want int
	}{
		{0x63C3, 3},
		{0x63CF, 15},
		{0x63C0, 0},
		{0x6983, 0},
		{0x9000, -1},
		{0x6984, -1},
		{0x6A88, -1},
	}
	for _, tt := range tests {
		st, _ := pinStatusFromSW(tt.sw)
		if got := st.KnownTriesLeft(); got != tt.want {
			t.Errorf("KnownTriesLeft for SW %04X = %d, want %d", tt.sw, got, tt.want)
		}
	}
}
