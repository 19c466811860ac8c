package vpcd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Control messages are 1-byte frames sent by the driver. Only controlGetATR
// expects a reply.
const (
	controlPowerOff = 0x00
	controlPowerOn  = 0x01
	controlReset    = 0x02
	controlGetATR   = 0x04
)

// maxFrameLen is the largest payload the 2-byte length prefix can describe.
const maxFrameLen = 0xFFFF

// ErrEmptyFrame is returned when the driver sends a frame of length 0, which
// the vpcd protocol never uses.
var ErrEmptyFrame = errors.New("vpcd: empty frame")

// readFrame reads one frame from r into buf, growing it when needed, and
// returns the payload. io.EOF means the peer closed the connection between
// frames. A connection closed inside a frame returns io.ErrUnexpectedEOF.
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	var header [2]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("reading frame length: %w", err)
		}
		return nil, err
	}

	n := int(binary.BigEndian.Uint16(header[:]))
	if n == 0 {
		return nil, ErrEmptyFrame
	}

	if cap(buf) < n {
		buf = make([]byte, n)
	}
	payload := buf[:n]
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading %d-byte frame payload: %w", n, err)
	}
	return payload, nil
}

// appendFrame appends the length prefix and payload to dst, so that the
// caller can send the whole frame in one write. The payload must be 1 to
// maxFrameLen bytes long, because the driver takes a 0-length frame as card
// removal.
func appendFrame(dst, payload []byte) ([]byte, error) {
	if len(payload) == 0 {
		return nil, errors.New("vpcd: an empty frame cannot be sent")
	}
	if len(payload) > maxFrameLen {
		return nil, fmt.Errorf("vpcd: %d-byte payload exceeds the maximum frame length %d", len(payload), maxFrameLen)
	}

	dst = binary.BigEndian.AppendUint16(dst, uint16(len(payload)))
	return append(dst, payload...), nil
}
