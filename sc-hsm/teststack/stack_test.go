package teststack

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/vpcd"
)

// fakeCard returns 6D00 (instruction not supported) for every APDU except
// SELECT, which gets 9000.
type fakeCard struct {
	atr []byte

	mu       sync.Mutex
	powerOns int
	apdus    int
}

func newFakeCard(lastATRByte byte) *fakeCard {
	// A made-up ATR: direct convention, T=1, three historical bytes.
	return &fakeCard{atr: []byte{0x3B, 0x83, 0x80, 0x01, 0x54, 0x53, lastATRByte, 0x00}}
}

func (c *fakeCard) ATR() []byte { return c.atr }
func (c *fakeCard) PowerOff()   {}
func (c *fakeCard) Reset()      {}

func (c *fakeCard) PowerOn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.powerOns++
}

func (c *fakeCard) Transmit(apdu []byte) []byte {
	c.mu.Lock()
	c.apdus++
	c.mu.Unlock()
	if len(apdu) >= 2 && apdu[1] == 0xA4 {
		return []byte{0x90, 0x00}
	}
	return []byte{0x6D, 0x00}
}

func (c *fakeCard) counts() (powerOns, apdus int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.powerOns, c.apdus
}

// atrText formats an ATR the way "opensc-tool -a" prints it.
func atrText(atr []byte) string {
	parts := make([]string, len(atr))
	for i, b := range atr {
		parts[i] = hex.EncodeToString([]byte{b})
	}
	return strings.Join(parts, ":")
}

func waitContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCardPresent(t *testing.T) {
	listing := `# Detected readers (pcsc)
Nr.  Card  Features  Name
0    Yes             Virtual PCD 00 00
1    No              Virtual PCD 00 01
`
	tests := []struct {
		name                 string
		listing, reader      string
		wantPresent, wantHit bool
	}{
		{name: "card in reader", listing: listing, reader: "Virtual PCD 00 00", wantPresent: true, wantHit: true},
		{name: "empty reader", listing: listing, reader: "Virtual PCD 00 01", wantPresent: false, wantHit: true},
		{name: "unknown reader", listing: listing, reader: "Virtual PCD 00 02"},
		{name: "no readers", listing: "No smart card readers found.\n", reader: "Virtual PCD 00 00"},
		{name: "reader with features", listing: "0    Yes   PIN pad   Virtual PCD 00 00\n", reader: "Virtual PCD 00 00", wantPresent: true, wantHit: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			present, found := cardPresent(tt.listing, tt.reader)
			if found != tt.wantHit {
				t.Errorf("found = %t, want %t", found, tt.wantHit)
			}
			if present != tt.wantPresent {
				t.Errorf("present = %t, want %t", present, tt.wantPresent)
			}
		})
	}
}

func TestStackOpenSCReadsATR(t *testing.T) {
	card := newFakeCard(0x01)
	stack := Start(t, WithCard(card))

	if err := stack.WaitCardPresent(waitContext(t)); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, err := stack.Run(t, "opensc-tool", "-l")
	if err != nil {
		t.Fatalf("opensc-tool -l: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, stack.Reader) {
		t.Errorf("opensc-tool -l does not list %q:\n%s", stack.Reader, stdout)
	}

	stdout, stderr, err = stack.Run(t, "opensc-tool", "-r", stack.Reader, "-a")
	if err != nil {
		t.Fatalf("opensc-tool -a: %v\n%s", err, stderr)
	}
	if want := atrText(card.atr); !strings.Contains(stdout, want) {
		t.Errorf("opensc-tool -a output lacks ATR %s:\n%s", want, stdout)
	}

	if powerOns, _ := card.counts(); powerOns == 0 {
		t.Errorf("card was never powered on")
	}
}

func TestStackTransmitsAPDU(t *testing.T) {
	card := newFakeCard(0x02)
	stack := Start(t, WithCard(card))
	if err := stack.WaitCardPresent(waitContext(t)); err != nil {
		t.Fatal(err)
	}
	_, before := card.counts()

	stdout, stderr, err := stack.Run(t, "opensc-tool", "-r", stack.Reader, "-s", "00:A4:04:00:02:3F:00")
	if err != nil {
		t.Fatalf("opensc-tool -s: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "SW1=0x90, SW2=0x00") {
		t.Errorf("opensc-tool -s output lacks status word 9000:\n%s", stdout)
	}
	if _, after := card.counts(); after <= before {
		t.Errorf("card received no APDU (count %d before, %d after)", before, after)
	}
}

func TestStackRestartPCSCD(t *testing.T) {
	card := newFakeCard(0x03)
	stack := Start(t, WithCard(card))
	if err := stack.WaitCardPresent(waitContext(t)); err != nil {
		t.Fatal(err)
	}
	oldPID := stack.PID()

	stack.RestartPCSCD(t)

	if stack.PID() == oldPID {
		t.Errorf("pcscd PID %d unchanged after restart", oldPID)
	}
	if err := stack.WaitCardPresent(waitContext(t)); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := stack.Run(t, "opensc-tool", "-r", stack.Reader, "-a")
	if err != nil {
		t.Fatalf("opensc-tool -a after restart: %v\n%s", err, stderr)
	}
	if want := atrText(card.atr); !strings.Contains(stdout, want) {
		t.Errorf("opensc-tool -a after restart lacks ATR %s:\n%s", want, stdout)
	}
	if !strings.Contains(stack.CardLog(), "reconnecting") {
		t.Errorf("card log does not show a reconnect:\n%s", stack.CardLog())
	}
}

func TestStacksRunSideBySide(t *testing.T) {
	cards := []*fakeCard{newFakeCard(0x0A), newFakeCard(0x0B)}
	stacks := []*Stack{Start(t, WithCard(cards[0])), Start(t, WithCard(cards[1]))}

	if stacks[0].Port == stacks[1].Port {
		t.Fatalf("both stacks use port %d", stacks[0].Port)
	}
	if stacks[0].SocketPath == stacks[1].SocketPath {
		t.Fatalf("both stacks use socket %s", stacks[0].SocketPath)
	}

	for i, stack := range stacks {
		if err := stack.WaitCardPresent(waitContext(t)); err != nil {
			t.Fatalf("stack %d: %v", i, err)
		}
		stdout, stderr, err := stack.Run(t, "opensc-tool", "-r", stack.Reader, "-a")
		if err != nil {
			t.Fatalf("stack %d: opensc-tool -a: %v\n%s", i, err, stderr)
		}
		if want := atrText(cards[i].atr); !strings.Contains(stdout, want) {
			t.Errorf("stack %d shows another card's ATR, want %s:\n%s", i, want, stdout)
		}
	}
}

func TestStackWithoutCard(t *testing.T) {
	stack := Start(t, WithoutCard())

	ctx := waitContext(t)
	if err := stack.WaitCardAbsent(ctx); err != nil {
		t.Fatal(err)
	}

	// A card started by the test itself, as "sc-hsm-init simulate" would be.
	serveCtx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- vpcd.Serve(serveCtx, stack.Addr(), newFakeCard(0x04), nil) }()

	if err := stack.WaitCardPresent(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Errorf("vpcd.Serve returned %v, want context.Canceled", err)
	}
	if err := stack.WaitCardAbsent(ctx); err != nil {
		t.Errorf("card still present after the card stopped: %v", err)
	}
}

func TestStackStopEndsPCSCD(t *testing.T) {
	stack := Start(t, WithCard(newFakeCard(0x05)))
	pid := stack.PID()

	if err := stack.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("pcscd pid %d still exists after Stop", pid)
	}
	if _, err := os.Stat(stack.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stack folder %s not removed: %v", stack.Dir, err)
	}
	if err := stack.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStackDefaultVirtualCard(t *testing.T) {
	stack := Start(t)
	if err := stack.WaitCardPresent(waitContext(t)); err != nil {
		t.Fatal(err)
	}

	stdout, stderr, err := stack.Run(t, "opensc-tool", "-r", stack.Reader, "-n")
	if err != nil {
		t.Fatalf("opensc-tool -n: %v\n%s\ncard log:\n%s", err, stderr, stack.CardLog())
	}
	if !strings.Contains(stdout, "SmartCard-HSM") {
		t.Errorf("OpenSC does not name the default card a SmartCard-HSM:\n%s", stdout)
	}
}
