package schsm

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// fakeReader describes one reader of fakePCSC: its SELECT response in hex, or
// the error Connect returns.
type fakeReader struct {
	selectAnswer string
	connectErr   error
}

type fakePCSC struct {
	t        *testing.T
	readers  map[string]fakeReader
	order    []string
	listErr  error
	open     int
	released bool
}

func newFakePCSC(t *testing.T) *fakePCSC {
	return &fakePCSC{t: t, readers: map[string]fakeReader{}}
}

func (f *fakePCSC) add(name string, r fakeReader) *fakePCSC {
	f.readers[name] = r
	f.order = append(f.order, name)
	return f
}

func (f *fakePCSC) ListReaders() ([]string, error) {
	return slices.Clone(f.order), f.listErr
}

func (f *fakePCSC) Connect(reader string) (pcscCard, error) {
	r, ok := f.readers[reader]
	if !ok {
		return nil, fmt.Errorf("%w: unknown reader", ErrNoReader)
	}
	if r.connectErr != nil {
		return nil, r.connectErr
	}
	f.open++
	return &fakeCard{f: f, reader: r}, nil
}

func (f *fakePCSC) Release() error {
	f.released = true
	return nil
}

type fakeCard struct {
	f      *fakePCSC
	reader fakeReader
}

func (c *fakeCard) Transmit(apdu []byte) ([]byte, error) {
	if want := mustHex(c.f.t, picoSelectAPDU); !equalBytes(apdu, want) {
		c.f.t.Errorf("probe sent %X, want SELECT of the applet", apdu)
	}
	return mustHex(c.f.t, c.reader.selectAnswer), nil
}

func (c *fakeCard) BeginTransaction() error { return nil }
func (c *fakeCard) EndTransaction() error   { return nil }
func (c *fakeCard) Disconnect() error {
	c.f.open--
	return nil
}

var (
	picoReader   = fakeReader{selectAnswer: picoFCPRRC + "9000"}
	otherCard    = fakeReader{selectAnswer: "6A82"}
	emptyReader  = fakeReader{connectErr: fmt.Errorf("%w: the reader has no card", ErrNoToken)}
	lockedReader = fakeReader{connectErr: ErrSharingViolation}
)

func TestPickReader(t *testing.T) {
	tests := []struct {
		name    string
		order   []string
		pick    string
		want    string
		wantErr error
	}{
		{"only token", []string{"Yubico 00 00", "Nitrokey HSM 01 00"}, "", "Nitrokey HSM 01 00", nil},
		{"exact name", []string{"Virtual PCD 00 00", "Virtual PCD 00 01"}, "Virtual PCD 00 01", "Virtual PCD 00 01", nil},
		{"unique part", []string{"Yubico 00 00", "Nitrokey HSM 01 00"}, "nitrokey", "Nitrokey HSM 01 00", nil},
		{"ambiguous part", []string{"Virtual PCD 00 00", "Virtual PCD 00 01"}, "Virtual", "", ErrAmbiguousReader},
		{"unknown name", []string{"Nitrokey HSM 01 00"}, "Pico", "", ErrNoReader},
		{"named reader without card", []string{"Empty 00 00", "Nitrokey HSM 01 00"}, "Empty", "", ErrNoToken},
		{"named reader with other card", []string{"Yubico 00 00", "Nitrokey HSM 01 00"}, "Yubico", "", ErrNoToken},
		{"named reader locked", []string{"Locked 00 00"}, "Locked", "", ErrSharingViolation},
		{"no token", []string{"Yubico 00 00", "Empty 00 00"}, "", "", ErrNoToken},
		{"no token but a locked reader", []string{"Yubico 00 00", "Locked 00 00"}, "", "", ErrSharingViolation},
		{"token beside a locked reader", []string{"Locked 00 00", "Nitrokey HSM 01 00"}, "", "Nitrokey HSM 01 00", nil},
		{"no readers", nil, "", "", ErrNoReader},
	}
	kinds := map[string]fakeReader{
		"Yubico 00 00":       otherCard,
		"Nitrokey HSM 01 00": picoReader,
		"Virtual PCD 00 00":  picoReader,
		"Virtual PCD 00 01":  picoReader,
		"Empty 00 00":        emptyReader,
		"Locked 00 00":       lockedReader,
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePCSC(t)
			for _, r := range tt.order {
				f.add(r, kinds[r])
			}
			ctx := &PCSCContext{sys: f}
			got, err := ctx.PickReader(tt.pick)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("PickReader(%q) error = %v, want %q", tt.pick, err, tt.wantErr)
				}
			} else if err != nil {
				t.Errorf("PickReader(%q): %v", tt.pick, err)
			}
			if got != tt.want {
				t.Errorf("PickReader(%q) = %q, want %q", tt.pick, got, tt.want)
			}
			if f.open != 0 {
				t.Errorf("%d connections left open", f.open)
			}
		})
	}
}

func TestPickReaderSeveralTokens(t *testing.T) {
	f := newFakePCSC(t).
		add("Nitrokey HSM 01 00", picoReader).
		add("Yubico 00 00", otherCard).
		add("Pico HSM 02 00", picoReader)
	_, err := (&PCSCContext{sys: f}).PickReader("")

	var several *SeveralTokensError
	if !errors.As(err, &several) {
		t.Fatalf("PickReader error = %v, want *SeveralTokensError", err)
	}
	if want := []string{"Nitrokey HSM 01 00", "Pico HSM 02 00"}; !slices.Equal(several.Readers, want) {
		t.Errorf("Readers = %q, want %q", several.Readers, want)
	}
	for _, r := range several.Readers {
		if !strings.Contains(err.Error(), r) {
			t.Errorf("error %q does not list reader %q", err, r)
		}
	}
}

func TestProbe(t *testing.T) {
	f := newFakePCSC(t).
		add("Nitrokey HSM 01 00", picoReader).
		add("Yubico 00 00", otherCard).
		add("Empty 00 00", emptyReader).
		add("Locked 00 00", lockedReader)
	probes, err := (&PCSCContext{sys: f}).Probe()
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if len(probes) != 4 {
		t.Fatalf("Probe returned %d results, want 4", len(probes))
	}
	hsm, other, empty, locked := probes[0], probes[1], probes[2], probes[3]
	if !hsm.CardPresent || !hsm.SmartCardHSM || hsm.Err != nil || hsm.Info.Family != FamilyPicoHSM {
		t.Errorf("token reader probe = %+v", hsm)
	}
	if !other.CardPresent || other.SmartCardHSM || other.Err != nil {
		t.Errorf("other card probe = %+v", other)
	}
	if empty.CardPresent || empty.SmartCardHSM || empty.Err != nil {
		t.Errorf("empty reader probe = %+v", empty)
	}
	if !errors.Is(locked.Err, ErrSharingViolation) {
		t.Errorf("locked reader probe error = %v, want ErrSharingViolation", locked.Err)
	}
}

func TestSharingViolationMessage(t *testing.T) {
	msg := ErrSharingViolation.Error()
	for _, word := range []string{"scdaemon", "gpg-agent", "PKCS#11"} {
		if !strings.Contains(msg, word) {
			t.Errorf("ErrSharingViolation %q does not name %s", msg, word)
		}
	}
}

func TestPCSCListError(t *testing.T) {
	f := newFakePCSC(t)
	f.listErr = ErrServiceUnavailable
	ctx := &PCSCContext{sys: f}
	if _, err := ctx.PickReader(""); !errors.Is(err, ErrServiceUnavailable) {
		t.Errorf("PickReader error = %v, want ErrServiceUnavailable", err)
	}
	if err := ctx.Release(); err != nil || !f.released {
		t.Errorf("Release = %v, released %v", err, f.released)
	}
}

// TestPCSCStack talks to a real pcscd. It runs only with SCHSM_TEST_PCSC=1,
// with PCSCLITE_CSOCK_NAME naming the daemon's socket and a SmartCard-HSM
// (for example the virtual card behind vpcd) in one of its readers.
func TestPCSCStack(t *testing.T) {
	if os.Getenv("SCHSM_TEST_PCSC") != "1" {
		t.Skip("set SCHSM_TEST_PCSC=1 to run against pcscd")
	}
	ctx, err := EstablishContext()
	if err != nil {
		t.Fatalf("EstablishContext: %v", err)
	}
	defer ctx.Release()

	reader, err := ctx.PickReader(os.Getenv("SCHSM_TEST_READER"))
	if err != nil {
		t.Fatalf("PickReader: %v", err)
	}
	tr, err := ctx.Connect(reader)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer tr.Close()
	if err := tr.BeginTransaction(); err != nil {
		t.Fatalf("BeginTransaction: %v", err)
	}
	defer tr.EndTransaction()

	st, err := NewCard(tr, WithTracer(func(e TraceEntry) { t.Logf("%s => %04X %s", e.Command, e.SW, e.Response) })).Status()
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	t.Logf("reader %q: %v %s, initialized %v, serial %q", reader, st.Info.Family, st.Info.Version(), st.Initialized, st.Serial)
}
