package schsm

import (
	"errors"
	"testing"
)

func TestParseDKEKStatus(t *testing.T) {
	tests := []struct {
		name string
		data string
		want DKEKStatus
	}{
		{"share outstanding", "01010000000000000000", DKEKStatus{Configured: true, Total: 1, Outstanding: 1}},
		{"complete", "0100FC8B64001C5FDD0F", DKEKStatus{Configured: true, Total: 1,
			KCV: [8]byte{0xFC, 0x8B, 0x64, 0x00, 0x1C, 0x5F, 0xDD, 0x0F}}},
		{"Pico without DKEK", "00000000000000000000", DKEKStatus{}},
		{"with key domain UID", "0100FC8B64001C5FDD0F0411", DKEKStatus{Configured: true, Total: 1,
			KCV: [8]byte{0xFC, 0x8B, 0x64, 0x00, 0x1C, 0x5F, 0xDD, 0x0F}, KeyDomainUID: []byte{0x04, 0x11}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseDKEKStatus(mustHex(t, tt.data))
			if err != nil {
				t.Fatalf("parseDKEKStatus: %v", err)
			}
			if got.Configured != tt.want.Configured || got.Total != tt.want.Total ||
				got.Outstanding != tt.want.Outstanding || got.KCV != tt.want.KCV ||
				!equalBytes(got.KeyDomainUID, tt.want.KeyDomainUID) {
				t.Errorf("parseDKEKStatus = %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := parseDKEKStatus(mustHex(t, "010100")); err == nil {
		t.Error("parseDKEKStatus of 3 bytes: no error")
	}
}

// TestDKEKImportPico replays the Pico HSM's responses to a one-share import.
func TestDKEKImportPico(t *testing.T) {
	s := newScript(t,
		exchange{"8052000000", "01010000000000000000" + "9000"},
		exchange{"80520000 20 " + shareA5 + " 00", "0100FC8B64001C5FDD0F" + "9000"},
	)
	card := NewCard(s)

	st, err := card.DKEKStatus(0)
	if err != nil || !st.Configured || st.Outstanding != 1 || st.Complete() {
		t.Errorf("DKEKStatus before import = %+v, %v; want 1 share outstanding", st, err)
	}

	st, err = card.ImportDKEKShare(0, mustHex(t, shareA5))
	if err != nil {
		t.Fatalf("ImportDKEKShare: %v", err)
	}
	want := [8]byte{0xFC, 0x8B, 0x64, 0x00, 0x1C, 0x5F, 0xDD, 0x0F}
	if !st.Complete() || st.KCV != want {
		t.Errorf("ImportDKEKShare = %+v, want complete with KCV %X", st, want)
	}
	s.done()
}

// TestKeyDomainsPico replays the Pico HSM's responses for a device
// initialized with two key domains.
func TestKeyDomainsPico(t *testing.T) {
	s := newScript(t,
		exchange{"8052000000", "6A88"},
		exchange{"80520100 01 02", "6985"},
		exchange{"00200081 06 363438323139", "9000"},
		exchange{"80520100 01 02", "610A"},
		exchange{"00C000000A", "02020000000000000000" + "9000"},
		exchange{"80520101 01 01", "610A"},
		exchange{"00C000000A", "01010000000000000000" + "9000"},
		exchange{"80520100 01 02", "6A86"},
		exchange{"80520000 20 " + shareA5 + " 00", "02012DDD45359C9E60FB" + "9000"},
		exchange{"80520000 20 " + share5A + " 00", "0200AF9613760F72635F" + "9000"},
		exchange{"80520000 20 " + shareA5 + " 00", "6986"},
		exchange{"80520001 20 " + shareA5 + " 00", "0100FC8B64001C5FDD0F" + "9000"},
		exchange{"8052000200", "6A86"},
	)
	card := NewCard(s)

	if _, err := card.DKEKStatus(0); !errors.Is(err, ErrReferenceNotFound) {
		t.Errorf("DKEKStatus of undefined domain = %v, want ErrReferenceNotFound", err)
	}
	if _, err := card.CreateKeyDomain(0, 2); !errors.Is(err, ErrConditionsNotSatisfied) {
		t.Errorf("CreateKeyDomain without login = %v, want ErrConditionsNotSatisfied", err)
	}
	if err := card.VerifyPIN(PINRefUser, []byte("648219")); err != nil {
		t.Fatalf("VerifyPIN: %v", err)
	}
	st, err := card.CreateKeyDomain(0, 2)
	if err != nil || st.Total != 2 || st.Outstanding != 2 {
		t.Errorf("CreateKeyDomain(0, 2) = %+v, %v; want 2 of 2 outstanding", st, err)
	}
	st, err = card.CreateKeyDomain(1, 1)
	if err != nil || st.Total != 1 || st.Outstanding != 1 {
		t.Errorf("CreateKeyDomain(1, 1) = %+v, %v; want 1 of 1 outstanding", st, err)
	}
	if _, err := card.CreateKeyDomain(0, 2); !errors.Is(err, ErrIncorrectP1P2) {
		t.Errorf("CreateKeyDomain of existing domain = %v, want ErrIncorrectP1P2", err)
	}

	st, err = card.ImportDKEKShare(0, mustHex(t, shareA5))
	if err != nil || st.Outstanding != 1 || st.Complete() {
		t.Errorf("first share into domain 0 = %+v, %v; want 1 outstanding", st, err)
	}
	st, err = card.ImportDKEKShare(0, mustHex(t, share5A))
	wantKCV := [8]byte{0xAF, 0x96, 0x13, 0x76, 0x0F, 0x72, 0x63, 0x5F}
	if err != nil || !st.Complete() || st.KCV != wantKCV {
		t.Errorf("second share into domain 0 = %+v, %v; want complete with KCV %X", st, err, wantKCV)
	}
	if _, err := card.ImportDKEKShare(0, mustHex(t, shareA5)); !errors.Is(err, ErrCommandNotAllowed) {
		t.Errorf("third share into domain 0 = %v, want ErrCommandNotAllowed", err)
	}
	st, err = card.ImportDKEKShare(1, mustHex(t, shareA5))
	if err != nil || !st.Complete() {
		t.Errorf("share into domain 1 = %+v, %v; want complete", st, err)
	}
	if _, err := card.DKEKStatus(2); !errors.Is(err, ErrIncorrectP1P2) {
		t.Errorf("DKEKStatus beyond the configured domains = %v, want ErrIncorrectP1P2", err)
	}
	s.done()
}

func TestImportDKEKShareLength(t *testing.T) {
	s := newScript(t)
	if _, err := NewCard(s).ImportDKEKShare(0, make([]byte, 31)); err == nil {
		t.Error("ImportDKEKShare of 31 bytes: no error")
	}
}

func TestCreateKeyDomainRange(t *testing.T) {
	s := newScript(t)
	for _, n := range []int{-1, 256} {
		if _, err := NewCard(s).CreateKeyDomain(0, n); err == nil {
			t.Errorf("CreateKeyDomain with %d shares: no error", n)
		}
	}
}

func FuzzParseDKEKStatus(f *testing.F) {
	f.Add(mustHex(f, "0100FC8B64001C5FDD0F"))
	f.Add(mustHex(f, "0100FC8B64001C5FDD0F041122"))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseDKEKStatus(b)
		if err != nil {
			return
		}
		if st.Configured != (st.Total > 0) {
			t.Fatalf("Configured %v with %d shares", st.Configured, st.Total)
		}
		if len(st.KeyDomainUID) != len(b)-minDKEKStatusLen {
			t.Fatalf("key domain UID has %d bytes of %d", len(st.KeyDomainUID), len(b))
		}
	})
}
