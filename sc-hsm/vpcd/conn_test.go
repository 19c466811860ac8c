package vpcd

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
)

// driver is the vpcd side of a connection in tests.
type driver struct {
	t    testing.TB
	conn net.Conn
}

func (d driver) send(payload ...byte) {
	d.t.Helper()
	if _, err := d.conn.Write(frame(payload...)); err != nil {
		d.t.Fatalf("driver write: %v", err)
	}
}

func (d driver) receive() []byte {
	d.t.Helper()
	payload, err := readFrame(d.conn, nil)
	if err != nil {
		d.t.Fatalf("driver read: %v", err)
	}
	return payload
}

// startServeConn runs ServeConn on one end of a pipe and returns the other
// end, the card connection wrapper and a channel with ServeConn's result.
func startServeConn(t *testing.T, card Card) (driver, *countingConn, <-chan error) {
	t.Helper()
	cardEnd, driverEnd := net.Pipe()
	counted := &countingConn{Conn: cardEnd}
	done := make(chan error, 1)
	go func() { done <- ServeConn(counted, card) }()
	t.Cleanup(func() { driverEnd.Close(); cardEnd.Close() })
	return driver{t: t, conn: driverEnd}, counted, done
}

func TestServeConnControlMessages(t *testing.T) {
	card := newFakeCard()
	d, _, done := startServeConn(t, card)

	d.send(controlPowerOn)
	d.send(controlGetATR)
	if got := d.receive(); !bytes.Equal(got, testATR) {
		t.Errorf("ATR = % X, want % X", got, testATR)
	}
	d.send(controlReset)
	d.send(controlGetATR)
	d.receive()
	d.send(0x00, 0xA4, 0x04, 0x00)
	if got, want := d.receive(), []byte{0xA4, 0x90, 0x00}; !bytes.Equal(got, want) {
		t.Errorf("response = % X, want % X", got, want)
	}
	d.send(controlPowerOff)
	d.conn.Close()

	if err := <-done; err != nil {
		t.Fatalf("ServeConn after clean close = %v, want nil", err)
	}
	want := []string{"on", "atr", "reset", "atr", "apdu", "off"}
	if got := card.Events(); !slices.Equal(got, want) {
		t.Errorf("card events = %v, want %v", got, want)
	}
}

func TestServeConnOneWritePerReply(t *testing.T) {
	card := newFakeCard()
	d, counted, done := startServeConn(t, card)

	d.send(controlPowerOn)
	d.send(controlGetATR)
	d.receive()
	apdus := [][]byte{
		{0x00, 0xA4, 0x04, 0x00},
		{0x80, 0x50, 0x00, 0x00, 0x02, 0x01, 0x02},
		append([]byte{0x00, 0xD6, 0x00, 0x00, 0x00, 0x04, 0x00}, make([]byte, 1024)...),
	}
	for _, apdu := range apdus {
		d.send(apdu...)
		d.receive()
	}
	d.conn.Close()
	if err := <-done; err != nil {
		t.Fatalf("ServeConn: %v", err)
	}

	writes := counted.Writes()
	if len(writes) != 1+len(apdus) {
		t.Fatalf("card made %d writes for %d replies", len(writes), 1+len(apdus))
	}
	for i, w := range writes {
		payload, err := readFrame(bytes.NewReader(w), nil)
		if err != nil {
			t.Errorf("write %d is not a whole frame: %v", i, err)
			continue
		}
		if len(w) != 2+len(payload) {
			t.Errorf("write %d holds %d bytes, want exactly one frame of %d", i, len(w), 2+len(payload))
		}
	}
}

func TestServeConnUnframeableResponses(t *testing.T) {
	tests := []struct {
		name     string
		response []byte
	}{
		{name: "empty", response: nil},
		{name: "longer than a frame", response: make([]byte, maxFrameLen+1)},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := newFakeCard()
			card.respond = func([]byte) []byte { return tt.response }
			d, _, _ := startServeConn(t, card)

			d.send(0x00, 0xB0, 0x00, 0x00, 0x00)
			if got := d.receive(); !bytes.Equal(got, swNoPreciseDiagnosis) {
				t.Errorf("response = % X, want 6F 00", got)
			}
		})
	}
}

func TestServeConnEmptyATR(t *testing.T) {
	card := newFakeCard()
	card.atr = nil
	d, _, done := startServeConn(t, card)

	d.send(controlGetATR)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "empty ATR") {
		t.Errorf("ServeConn error = %v, want an empty ATR error", err)
	}
}

func TestServeConnUnknownControlIgnored(t *testing.T) {
	card := newFakeCard()
	d, _, _ := startServeConn(t, card)

	d.send(0x03)
	d.send(controlGetATR)
	if got := d.receive(); !bytes.Equal(got, testATR) {
		t.Errorf("ATR after unknown control = % X", got)
	}
}

func TestServeConnTruncatedFrame(t *testing.T) {
	d, _, done := startServeConn(t, newFakeCard())

	if _, err := d.conn.Write([]byte{0x00, 0x05, 0x00, 0xA4}); err != nil {
		t.Fatal(err)
	}
	d.conn.Close()

	if err := <-done; !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ServeConn error = %v, want io.ErrUnexpectedEOF", err)
	}
}

// TestServeConnTCPQuickAck runs APDUs over loopback TCP and checks that
// setting TCP_NODELAY and TCP_QUICKACK logged no failure.
func TestServeConnTCPQuickAck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	done := make(chan error, 1)
	go func() {
		conn, err := Dial(t.Context(), ln.Addr().String())
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		done <- serveConn(conn, newFakeCard(), logger)
	}()

	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	d := driver{t: t, conn: conn}
	for range 20 {
		d.send(0x00, 0xCA, 0x01, 0x00, 0x00)
		d.receive()
	}
	conn.Close()

	if err := <-done; err != nil {
		t.Fatalf("serveConn: %v", err)
	}
	if strings.Contains(logs.String(), "TCP_QUICKACK") {
		t.Errorf("socket option failure logged:\n%s", logs.String())
	}
}

// FuzzServeConn feeds arbitrary driver streams to ServeConn and checks that
// it neither panics nor sends an empty frame.
func FuzzServeConn(f *testing.F) {
	f.Add(append(frame(controlPowerOn), frame(controlGetATR)...))
	f.Add(frame(0x00, 0xA4, 0x04, 0x00))
	f.Add([]byte{0x00, 0x01, 0x07, 0x00, 0x00})
	f.Add([]byte{0x00, 0x02, 0x00})

	f.Fuzz(func(t *testing.T, stream []byte) {
		card := newFakeCard()
		conn := &scriptConn{in: bytes.NewReader(stream)}
		_ = ServeConn(conn, card)

		if conn.badWrites > 0 {
			t.Fatalf("%d writes were not exactly one non-empty frame", conn.badWrites)
		}

		for _, event := range card.Events() {
			if event == "atr" || event == "apdu" {
				if conn.written == 0 {
					t.Fatalf("card answered %s without writing", event)
				}
			}
		}
	})
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
