package sharedtest

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/ebfe/scard"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/teststack"
)

var cardATR = []byte{0x3B, 0x83, 0x80, 0x01, 0x54, 0x53, 0x5A, 0x00}

// selectCard returns 9000 for SELECT and 6D00 for every other APDU.
type selectCard struct{}

func (selectCard) ATR() []byte { return cardATR }
func (selectCard) PowerOn()    {}
func (selectCard) PowerOff()   {}
func (selectCard) Reset()      {}

func (selectCard) Transmit(apdu []byte) []byte {
	if apdu[1] == 0xA4 {
		return []byte{0x90, 0x00}
	}
	return []byte{0x6D, 0x00}
}

func TestMain(m *testing.M) {
	os.Exit(teststack.Main(m, teststack.WithCard(selectCard{})))
}

func TestSharedStackInProcessClient(t *testing.T) {
	stack := teststack.Shared(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := stack.WaitCardPresent(ctx); err != nil {
		t.Fatal(err)
	}

	pcsc, err := scard.EstablishContext()
	if err != nil {
		t.Fatalf("establishing PC/SC context: %v", err)
	}
	defer pcsc.Release()

	readers, err := pcsc.ListReaders()
	if err != nil {
		t.Fatalf("listing readers: %v", err)
	}
	if !slices.Contains(readers, stack.Reader) {
		t.Fatalf("readers %q lack %q", readers, stack.Reader)
	}

	card, err := pcsc.Connect(stack.Reader, scard.ShareShared, scard.ProtocolT1)
	if err != nil {
		t.Fatalf("connecting to %q: %v", stack.Reader, err)
	}
	defer card.Disconnect(scard.LeaveCard)

	status, err := card.Status()
	if err != nil {
		t.Fatalf("reading card status: %v", err)
	}
	if !bytes.Equal(status.Atr, cardATR) {
		t.Errorf("ATR = % X, want % X", status.Atr, cardATR)
	}

	response, err := card.Transmit([]byte{0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00})
	if err != nil {
		t.Fatalf("transmitting SELECT: %v", err)
	}
	if !bytes.Equal(response, []byte{0x90, 0x00}) {
		t.Errorf("SELECT response = % X, want 90 00", response)
	}
}

func TestSharedStackIsSingleton(t *testing.T) {
	if teststack.Shared(t) != teststack.Shared(t) {
		t.Errorf("Shared returned different stacks")
	}
}
