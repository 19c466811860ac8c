package schsm

import (
	"errors"
	"strings"
	"testing"
)

func TestTransmitGetResponse(t *testing.T) {
	tests := []struct {
		name  string
		cmd   Command
		steps []exchange
		data  string
		sw    uint16
	}{
		{
			name: "SELECT without Le gets 6124",
			cmd:  Command{CLA: 0x00, INS: 0xA4, P1: 0x04, P2: 0x04, Data: AID},
			steps: []exchange{
				{"00A40404 0BE82B0601040181C31F0201", "6124"},
				{"00C0000024", "62228102000082010183020000840B2B0601040181C31F0201008A010585050001FF0606" + "9000"},
			},
			data: "62228102000082010183020000840B2B0601040181C31F0201008A010585050001FF0606",
			sw:   0x9000,
		},
		{
			name: "create key domain gets 610A",
			cmd:  Command{CLA: 0x80, INS: 0x52, P1: 0x01, P2: 0x00, Data: []byte{2}},
			steps: []exchange{
				{"80520100 01 02", "610A"},
				{"00C000000A", "02020000000000000000" + "9000"},
			},
			data: "02020000000000000000",
			sw:   0x9000,
		},
		{
			name: "data in several chunks",
			cmd:  Command{CLA: 0x80, INS: 0x58, Ne: 256},
			steps: []exchange{
				{"8058000000", "C400" + "6102"},
				{"00C0000002", "CC01" + "6100"},
				{"00C0000000", "CE01" + "9000"},
			},
			data: "C400CC01CE01",
			sw:   0x9000,
		},
		{
			name: "wrong Le gets 6C08",
			cmd:  Command{CLA: 0x00, INS: 0x84, Ne: 16},
			steps: []exchange{
				{"0084000010", "6C08"},
				{"0084000008", "0102030405060708" + "9000"},
			},
			data: "0102030405060708",
			sw:   0x9000,
		},
		{
			name: "error status passes through",
			cmd:  Command{CLA: 0x00, INS: 0x20, P1: 0x00, P2: 0x81},
			steps: []exchange{
				{"00200081", "63C3"},
			},
			data: "",
			sw:   0x63C3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, tt.steps...)
			resp, err := NewCard(s).Transmit(tt.cmd)
			if err != nil {
				t.Fatalf("Transmit: %v", err)
			}
			s.done()
			if !equalBytes(resp.Data, mustHex(t, tt.data)) {
				t.Errorf("data = %X, want %s", resp.Data, tt.data)
			}
			if resp.SW != tt.sw {
				t.Errorf("SW = %04X, want %04X", resp.SW, tt.sw)
			}
		})
	}
}

// loopTransport returns the same status word to every APDU.
type loopTransport struct {
	response []byte
	calls    int
}

func (l *loopTransport) Transmit([]byte) ([]byte, error) {
	l.calls++
	return l.response, nil
}

func TestTransmitBoundsLoops(t *testing.T) {
	for _, response := range [][]byte{{0x61, 0x01}, {0x6C, 0x10}} {
		l := &loopTransport{response: response}
		_, err := NewCard(l).Transmit(Command{CLA: 0x80, INS: 0x58, Ne: 256})
		if err == nil {
			t.Errorf("Transmit with endless %X: no error", response)
		}
		if l.calls > maxGetResponse+1 {
			t.Errorf("Transmit with endless %X: %d round trips", response, l.calls)
		}
	}
}

func TestTransmitErrors(t *testing.T) {
	s := newScript(t, exchange{"00200081", "90"})
	if _, err := NewCard(s).Transmit(Command{INS: 0x20, P2: 0x81}); !errors.Is(err, ErrMalformedAPDU) {
		t.Errorf("1-byte response: error = %v, want ErrMalformedAPDU", err)
	}

	s = newScript(t, exchange{"00200081", "9000"})
	s.failAt = 0
	if _, err := NewCard(s).Transmit(Command{INS: 0x20, P2: 0x81}); !errors.Is(err, errTransportFailed) {
		t.Errorf("transport failure: error = %v, want it wrapped", err)
	}
}

func TestTracerMasksSecrets(t *testing.T) {
	var entries []TraceEntry
	s := newScript(t,
		exchange{"00200081 06 363438323139", "63C2"},
		exchange{"80520100 01 02", "610A"},
		exchange{"00C000000A", "02020000000000000000" + "9000"},
	)
	card := NewCard(s, WithTracer(func(e TraceEntry) { entries = append(entries, e) }))

	err := card.VerifyPIN(PINRefUser, []byte("648219"))
	var wrong *WrongPINError
	if !errors.As(err, &wrong) || wrong.TriesLeft != 2 {
		t.Fatalf("VerifyPIN error = %v, want *WrongPINError with 2 tries left", err)
	}
	if strings.Contains(err.Error(), "648219") {
		t.Errorf("VerifyPIN error %q contains the PIN", err)
	}
	if _, err := card.CreateKeyDomain(0, 2); err != nil {
		t.Fatalf("CreateKeyDomain: %v", err)
	}
	s.done()

	if len(entries) != 3 {
		t.Fatalf("tracer got %d entries, want 3", len(entries))
	}
	if got, want := entries[0].Command, "00 20 00 81 06 ** ** ** ** ** **"; got != want {
		t.Errorf("VERIFY traced as %q, want %q", got, want)
	}
	if entries[0].SW != 0x63C2 {
		t.Errorf("VERIFY traced SW %04X, want 63C2", entries[0].SW)
	}
	if got, want := entries[2].Command, "00 C0 00 00 0A"; got != want {
		t.Errorf("GET RESPONSE traced as %q, want %q", got, want)
	}
	if got, want := entries[2].Response, "02020000000000000000"; got != want {
		t.Errorf("GET RESPONSE data traced as %q, want %q", got, want)
	}
}
