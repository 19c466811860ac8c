package vpcd

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"
)

func TestLoopbackAddr(t *testing.T) {
	tests := []struct {
		addr    string
		want    string
		wantErr error
	}{
		{addr: "127.0.0.1:35963", want: "127.0.0.1:35963"},
		{addr: "127.0.0.53:1", want: "127.0.0.53:1"},
		{addr: "[::1]:35963", want: "[::1]:35963"},
		{addr: "localhost:35963", want: "127.0.0.1:35963"},
		{addr: "192.0.2.1:35963", wantErr: ErrNotLoopback},
		{addr: "0.0.0.0:35963", wantErr: ErrNotLoopback},
		{addr: "example.com:35963", wantErr: ErrNotLoopback},
		{addr: "[::ffff:192.0.2.1]:35963", wantErr: ErrNotLoopback},
	}

	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got, err := loopbackAddr(tt.addr)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("loopbackAddr(%q) error = %v, want %v", tt.addr, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("loopbackAddr(%q) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}

	for _, addr := range []string{"127.0.0.1", "127.0.0.1:", ""} {
		if _, err := loopbackAddr(addr); err == nil {
			t.Errorf("loopbackAddr(%q) accepted an address without port", addr)
		}
	}
}

func TestServeRejectsNonLoopback(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()

	err := Serve(ctx, "192.0.2.1:35963", newFakeCard(), nil)
	if !errors.Is(err, ErrNotLoopback) {
		t.Errorf("Serve error = %v, want ErrNotLoopback", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Serve waited for the context instead of failing at once")
	}
}

func TestDialRejectsNonLoopback(t *testing.T) {
	if _, err := Dial(t.Context(), "198.51.100.7:35963"); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("Dial error = %v, want ErrNotLoopback", err)
	}
}

// acceptDriver waits for the card to connect to ln and checks its reply to
// an ATR request.
func acceptDriver(t *testing.T, ln net.Listener) driver {
	t.Helper()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	d := driver{t: t, conn: conn}
	d.send(controlPowerOn)
	d.send(controlGetATR)
	if got := d.receive(); !bytes.Equal(got, testATR) {
		t.Fatalf("ATR = % X, want % X", got, testATR)
	}
	return d
}

func listenLoopback(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	return ln
}

// TestServeReconnects plays a pcscd that is not yet up, then up, then
// restarted, and checks that the card follows.
func TestServeReconnects(t *testing.T) {
	// Reserve a port, then free it so the first dials are refused.
	probe := listenLoopback(t, "127.0.0.1:0")
	addr := probe.Addr().String()
	probe.Close()

	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	card := newFakeCard()
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, addr, card, logger) }()

	// Let a few dials fail before the "driver" comes up.
	waitFor(t, func() bool { return bytes.Contains([]byte(logs.String()), []byte("vpcd not reachable")) })
	ln := listenLoopback(t, addr)
	d := acceptDriver(t, ln)

	// Restart: the listener and the connection go away and come back.
	ln.Close()
	d.conn.Close()
	ln = listenLoopback(t, addr)
	defer ln.Close()
	d = acceptDriver(t, ln)
	d.send(0x00, 0x84, 0x00, 0x00, 0x08)
	if got := d.receive(); !bytes.Equal(got, []byte{0x84, 0x90, 0x00}) {
		t.Errorf("response after reconnect = % X", got)
	}

	cancel()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve returned %v, want context.Canceled", err)
	}

	events := card.Events()
	if n := countOf(events, "off"); n != 2 {
		t.Errorf("card powered off %d times, want 2 (one per dropped connection): %v", n, events)
	}
	if n := countOf(events, "on"); n != 2 {
		t.Errorf("card powered on %d times, want 2: %v", n, events)
	}
	for _, want := range []string{"connected to vpcd", "reconnecting"} {
		if !bytes.Contains([]byte(logs.String()), []byte(want)) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestServeStopsWhileConnected(t *testing.T) {
	ln := listenLoopback(t, "127.0.0.1:0")
	defer ln.Close()

	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln.Addr().String(), newFakeCard(), nil) }()
	acceptDriver(t, ln)

	cancel()
	select {
	case err := <-served:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Serve returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel while connected")
	}
}

func TestServeLogsRepeatedDialFailuresOnce(t *testing.T) {
	probe := listenLoopback(t, "127.0.0.1:0")
	addr := probe.Addr().String()
	probe.Close()

	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 400*time.Millisecond)
	defer cancel()

	_ = Serve(ctx, addr, newFakeCard(), logger)

	// 50+100+200 ms of backoff allows about four attempts, logged once.
	if n := bytes.Count([]byte(logs.String()), []byte("vpcd not reachable")); n != 1 {
		t.Errorf("dial failure logged %d times, want 1:\n%s", n, logs.String())
	}
}

func countOf(events []string, name string) int {
	n := 0
	for _, e := range events {
		if e == name {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds or five seconds pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
