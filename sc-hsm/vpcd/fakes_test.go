package vpcd

import (
	"bytes"
	"net"
	"slices"
	"sync"
	"time"
)

var testATR = []byte{0x3B, 0xDE, 0x18, 0xFF, 0x81, 0x91, 0xFE, 0x1F, 0xC3, 0x80, 0x31, 0x81, 0x54, 0x48, 0x53, 0x4D, 0x31, 0x73, 0x80, 0x21, 0x40, 0x81, 0x07, 0x1C}

// fakeCard records the calls it receives. Transmit returns the APDU's INS
// byte followed by 9000 unless respond is set.
type fakeCard struct {
	mu      sync.Mutex
	atr     []byte
	respond func(apdu []byte) []byte
	events  []string
	apdus   [][]byte
}

func newFakeCard() *fakeCard { return &fakeCard{atr: testATR} }

func (c *fakeCard) record(event string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, event)
}

func (c *fakeCard) ATR() []byte { c.record("atr"); return c.atr }
func (c *fakeCard) PowerOn()    { c.record("on") }
func (c *fakeCard) PowerOff()   { c.record("off") }
func (c *fakeCard) Reset()      { c.record("reset") }

func (c *fakeCard) Transmit(apdu []byte) []byte {
	c.mu.Lock()
	c.events = append(c.events, "apdu")
	c.apdus = append(c.apdus, slices.Clone(apdu))
	respond := c.respond
	c.mu.Unlock()

	if respond != nil {
		return respond(apdu)
	}
	return []byte{apdu[1], 0x90, 0x00}
}

func (c *fakeCard) Events() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.events)
}

// countingConn counts Write calls and keeps each written buffer.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, slices.Clone(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countingConn) Writes() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.writes)
}

// scriptConn is a net.Conn that reads a fixed byte stream and discards
// writes, for fuzzing ServeConn without goroutines.
type scriptConn struct {
	in        *bytes.Reader
	written   int
	badWrites int
}

func (c *scriptConn) Read(p []byte) (int, error) { return c.in.Read(p) }
func (c *scriptConn) Write(p []byte) (int, error) {
	// Every write must be exactly one frame with a non-empty payload.
	if len(p) < 3 || int(p[0])<<8|int(p[1]) != len(p)-2 {
		c.badWrites++
	}
	c.written += len(p)
	return len(p), nil
}

func (c *scriptConn) Close() error                       { return nil }
func (c *scriptConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (c *scriptConn) SetDeadline(t time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(t time.Time) error { return nil }

// frame builds one vpcd frame.
func frame(payload ...byte) []byte {
	return append([]byte{byte(len(payload) >> 8), byte(len(payload))}, payload...)
}
