package vpcd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
)

// Card is a smart card served to the vpcd driver. Its methods are called
// from one goroutine at a time, in the order the driver sends its messages.
type Card interface {
	// ATR returns the answer to reset. It must not be empty.
	ATR() []byte
	// PowerOn is called when the reader powers the card up. The card starts
	// with no application selected.
	PowerOn()
	// PowerOff is called when the reader cuts power and when the connection
	// to the driver ends, which pcscd reports as card removal.
	PowerOff()
	// Reset is a warm reset: selected application and security state are
	// dropped.
	Reset()
	// Transmit takes a command APDU and returns the response APDU (data
	// followed by SW1 SW2). The apdu slice is reused after Transmit returns,
	// so the card must copy what it keeps.
	Transmit(apdu []byte) []byte
}

// swNoPreciseDiagnosis is the ISO/IEC 7816-4 status word 6F00, sent in place
// of a response that the card left empty or that does not fit in a frame.
var swNoPreciseDiagnosis = []byte{0x6F, 0x00}

// ServeConn runs the card side of the vpcd protocol over conn until the peer
// closes it, a read or write fails, or the card returns an empty ATR. It
// returns nil when the peer closes the connection between two frames. It does
// not close conn and does not call card.PowerOff on return.
//
// When conn is a TCP connection, ServeConn sets TCP_NODELAY and re-arms
// TCP_QUICKACK after every read (on Linux).
func ServeConn(conn net.Conn, card Card) error {
	return serveConn(conn, card, slog.New(slog.DiscardHandler))
}

func serveConn(conn net.Conn, card Card, logger *slog.Logger) error {
	if tcp, ok := conn.(*net.TCPConn); ok {
		if err := tcp.SetNoDelay(true); err != nil {
			return fmt.Errorf("setting TCP_NODELAY: %w", err)
		}
	}

	reader := bufio.NewReader(newQuickAckReader(conn, logger))
	var payload []byte
	var out []byte

	for {
		frame, err := readFrame(reader, payload[:0])
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		payload = frame

		reply, err := handleFrame(frame, card, logger)
		if err != nil {
			return err
		}
		if reply == nil {
			continue
		}

		out, err = appendFrame(out[:0], reply)
		if err != nil {
			return err
		}
		// One write per reply: the length and the payload in separate
		// segments would wait for the driver's delayed acknowledgement.
		if _, err := conn.Write(out); err != nil {
			return fmt.Errorf("sending %d-byte reply: %w", len(reply), err)
		}
	}
}

// handleFrame dispatches one frame to the card and returns the payload to
// send back, or nil when the message takes no reply.
func handleFrame(frame []byte, card Card, logger *slog.Logger) ([]byte, error) {
	if len(frame) > 1 {
		return transmit(frame, card, logger), nil
	}

	switch frame[0] {
	case controlPowerOff:
		card.PowerOff()
	case controlPowerOn:
		card.PowerOn()
	case controlReset:
		card.Reset()
	case controlGetATR:
		atr := card.ATR()
		if len(atr) == 0 {
			return nil, errors.New("vpcd: card returned an empty ATR")
		}
		return atr, nil
	default:
		logger.Warn("ignoring unknown vpcd control message", "code", fmt.Sprintf("%02X", frame[0]))
	}
	return nil, nil
}

// transmit passes an APDU to the card and replaces a response that cannot
// be framed, because an empty frame would tell the driver the card is gone.
func transmit(apdu []byte, card Card, logger *slog.Logger) []byte {
	response := card.Transmit(apdu)

	switch {
	case len(response) == 0:
		logger.Error("card returned an empty response APDU; sending 6F00", "ins", fmt.Sprintf("%02X", insOf(apdu)))
		return swNoPreciseDiagnosis
	case len(response) > maxFrameLen:
		logger.Error("response APDU exceeds the vpcd frame limit; sending 6F00",
			"ins", fmt.Sprintf("%02X", insOf(apdu)), "length", len(response), "max", maxFrameLen)
		return swNoPreciseDiagnosis
	}
	return response
}

// insOf returns the instruction byte for log messages. Logging only INS keeps
// PINs and key material in the data field out of the log.
func insOf(apdu []byte) byte {
	if len(apdu) < 2 {
		return 0
	}
	return apdu[1]
}
