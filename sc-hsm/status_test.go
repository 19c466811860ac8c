package schsm

import (
	"errors"
	"strings"
	"testing"
)

// TestStatusBlankPico replays a blank Pico HSM. The recording has no read
// of EF.C_DevAut on the blank device, so the script returns 6A82 there.
func TestStatusBlankPico(t *testing.T) {
	s := newScript(t,
		exchange{picoSelectAPDU, picoFCPBlank + "9000"},
		exchange{"00200081", "6A88"},
		exchange{"00200088", "6A88"},
		exchange{"8052000000", "6B00"},
		exchange{"8054000000", "6A86"},
		exchange{"00A40000022F0200", "6A82"},
	)
	st, err := NewCard(s).Status()
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	s.done()

	if st.Initialized {
		t.Error("blank device reported initialized")
	}
	if st.UserPIN.Initialized || st.SOPIN.Initialized {
		t.Errorf("blank device PINs = %+v, %+v; want not initialized", st.UserPIN, st.SOPIN)
	}
	if st.DKEK != nil {
		t.Errorf("blank device DKEK = %+v, want nil", st.DKEK)
	}
	if st.PKA != nil {
		t.Errorf("blank device PKA = %+v, want nil", st.PKA)
	}
	if st.Serial != "" {
		t.Errorf("Serial = %q, want empty", st.Serial)
	}
	if st.Info.Family != FamilyPicoHSM || st.Info.Version() != "6.6" {
		t.Errorf("Info = %v %s, want Pico HSM 6.6", st.Info.Family, st.Info.Version())
	}
}

// TestStatusInitializedPico replays a Pico HSM initialized with RRC and one
// DKEK share that was imported.
func TestStatusInitializedPico(t *testing.T) {
	steps := []exchange{
		{picoSelectAPDU, picoFCPRRC + "9000"},
		{"00200081", "63C3"},
		{"00200088", "63CF"},
		{"8052000000", "0100FC8B64001C5FDD0F" + "9000"},
		{"8054000000", "6A86"},
	}
	s := newScript(t, append(steps, picoDevAutReads(t)...)...)
	st, err := NewCard(s).Status()
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	s.done()

	if !st.Initialized || st.Info.Options != OptionResetRetryCounter {
		t.Errorf("Initialized, Options = %v, %04X; want true, 0001", st.Initialized, st.Info.Options)
	}
	if st.UserPIN.TriesLeft != 3 || st.SOPIN.TriesLeft != 15 {
		t.Errorf("tries left user %d, SO %d; want 3, 15", st.UserPIN.TriesLeft, st.SOPIN.TriesLeft)
	}
	if st.DKEK == nil || !st.DKEK.Complete() {
		t.Errorf("DKEK = %+v, want complete", st.DKEK)
	}
	if st.Serial != "ESPICOHSMTR" {
		t.Errorf("Serial = %q, want ESPICOHSMTR", st.Serial)
	}
}

func TestStatusPKAAndNoDKEK(t *testing.T) {
	s := newScript(t,
		exchange{picoSelectAPDU, picoFCPRRC + "9000"},
		exchange{"00200081", "6A88"},
		exchange{"00200088", "63CF"},
		exchange{"8052000000", "6A88"},
		exchange{"8054000000", "03030200" + "9000"},
		exchange{"00A40000022F0200", "6982"},
	)
	st, err := NewCard(s).Status()
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	s.done()
	if !st.Initialized || st.UserPIN.Initialized {
		t.Errorf("Initialized %v, user PIN initialized %v; want true, false", st.Initialized, st.UserPIN.Initialized)
	}
	if st.DKEK != nil {
		t.Errorf("DKEK = %+v, want nil after 6A88", st.DKEK)
	}
	want := PKAStatus{Total: 3, Missing: 3, Required: 2}
	if st.PKA == nil || *st.PKA != want {
		t.Errorf("PKA = %+v, want %+v", st.PKA, want)
	}
}

func TestStatusStepErrors(t *testing.T) {
	tests := []struct {
		name  string
		steps []exchange
		step  string
		want  error
	}{
		{
			name:  "select",
			steps: []exchange{{picoSelectAPDU, "6A82"}},
			step:  "selecting applet",
			want:  ErrFileNotFound,
		},
		{
			name: "SO-PIN",
			steps: []exchange{
				{picoSelectAPDU, picoFCPRRC + "9000"},
				{"00200081", "63C3"},
				{"00200088", "6F00"},
			},
			step: "querying SO-PIN status",
		},
		{
			name: "DKEK",
			steps: []exchange{
				{picoSelectAPDU, picoFCPRRC + "9000"},
				{"00200081", "63C3"},
				{"00200088", "63CF"},
				{"8052000000", "6400"},
			},
			step: "querying DKEK status",
			want: ErrExecution,
		},
		{
			name: "PKA",
			steps: []exchange{
				{picoSelectAPDU, picoFCPRRC + "9000"},
				{"00200081", "63C3"},
				{"00200088", "63CF"},
				{"8052000000", "6B00"},
				{"8054000000", "6581"},
			},
			step: "querying public key authentication status",
			want: ErrMemoryFailure,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, tt.steps...)
			_, err := NewCard(s).Status()
			if err == nil {
				t.Fatal("Status: no error")
			}
			if !strings.HasPrefix(err.Error(), tt.step+": ") {
				t.Errorf("error %q does not start with %q", err, tt.step)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v does not match %q", err, tt.want)
			}
			s.done()
		})
	}
}

func TestPKAStatusAndChallenge(t *testing.T) {
	s := newScript(t,
		exchange{"8054000000", "6A86"},
		exchange{"0084000008", "355E47788865408B" + "9000"},
		exchange{"0084000008", "355E4778" + "9000"},
	)
	card := NewCard(s)
	if _, err := card.PKAStatus(); !errors.Is(err, ErrIncorrectP1P2) {
		t.Errorf("PKAStatus error = %v, want ErrIncorrectP1P2", err)
	}
	challenge, err := card.GetChallenge(8)
	if err != nil || len(challenge) != 8 {
		t.Errorf("GetChallenge(8) = %X, %v; want 8 bytes", challenge, err)
	}
	if _, err := card.GetChallenge(8); err == nil {
		t.Error("GetChallenge with 4 of 8 bytes: no error")
	}
	for _, n := range []int{0, 1025} {
		if _, err := card.GetChallenge(n); err == nil {
			t.Errorf("GetChallenge(%d): no error", n)
		}
	}
	s.done()
}
