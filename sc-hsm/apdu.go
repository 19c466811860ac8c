package schsm

import (
	"errors"
	"fmt"
)

// Limits of ISO/IEC 7816-4 APDU length fields.
const (
	maxShortLc = 255
	maxShortNe = 256
	maxExtLc   = 65535
	maxExtNe   = 65536
)

// Command is an ISO/IEC 7816-4 command APDU. Ne is the maximum number of
// response bytes expected: 0 means no Le field, 256 encodes as a short Le of
// 00 and 65536 as an extended Le of 0000.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Ne               int
}

// ErrMalformedAPDU is wrapped by every error of ParseCommand and Encode.
var ErrMalformedAPDU = errors.New("malformed APDU")

// Case returns the ISO case number (1 to 4) of the command.
func (c Command) Case() int {
	switch {
	case len(c.Data) == 0 && c.Ne == 0:
		return 1
	case len(c.Data) == 0:
		return 2
	case c.Ne == 0:
		return 3
	default:
		return 4
	}
}

// Extended reports whether the command needs the extended length encoding.
func (c Command) Extended() bool {
	return len(c.Data) > maxShortLc || c.Ne > maxShortNe
}

// Encode returns the command in short form when Lc and Ne fit, else in
// extended form.
func (c Command) Encode() ([]byte, error) {
	return c.encode(c.Extended())
}

// EncodeExtended returns the command in extended form even when the short
// form would fit. OpenSC sends ENUMERATE OBJECTS this way.
func (c Command) EncodeExtended() ([]byte, error) {
	return c.encode(c.Case() != 1)
}

func (c Command) encode(extended bool) ([]byte, error) {
	if len(c.Data) > maxExtLc {
		return nil, fmt.Errorf("%w: %d data bytes, the maximum is %d", ErrMalformedAPDU, len(c.Data), maxExtLc)
	}
	if c.Ne < 0 || c.Ne > maxExtNe {
		return nil, fmt.Errorf("%w: Ne %d is outside 0 to %d", ErrMalformedAPDU, c.Ne, maxExtNe)
	}

	out := make([]byte, 0, 4+3+len(c.Data)+3)
	out = append(out, c.CLA, c.INS, c.P1, c.P2)

	if !extended {
		if len(c.Data) > 0 {
			out = append(out, byte(len(c.Data)))
			out = append(out, c.Data...)
		}
		if c.Ne > 0 {
			out = append(out, byte(c.Ne)) // 256 wraps to 00
		}
		return out, nil
	}

	if len(c.Data) > 0 {
		out = append(out, 0x00, byte(len(c.Data)>>8), byte(len(c.Data)))
		out = append(out, c.Data...)
	}
	if c.Ne > 0 {
		if len(c.Data) == 0 {
			out = append(out, 0x00)
		}
		out = append(out, byte(c.Ne>>8), byte(c.Ne)) // 65536 wraps to 0000
	}
	return out, nil
}

// String formats the header and lengths without the data field, so that it
// is safe to log for commands that carry a PIN.
func (c Command) String() string {
	return fmt.Sprintf("%02X %02X %02X %02X Lc=%d Ne=%d", c.CLA, c.INS, c.P1, c.P2, len(c.Data), c.Ne)
}

// ParseCommand decodes a command APDU in any of the four ISO cases, short or
// extended. It returns an error wrapping ErrMalformedAPDU when the length
// fields disagree with the number of bytes, so that a card can answer 6700
// instead of reading past the buffer.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes, a header needs 4", ErrMalformedAPDU, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	body := b[4:]

	switch {
	case len(body) == 0: // case 1
		return c, nil

	case len(body) == 1: // case 2 short
		c.Ne = shortNe(body[0])
		return c, nil

	case body[0] != 0: // short case 3 or 4
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
			c.Data = append([]byte(nil), body[1:]...)
		case 2 + lc:
			c.Data = append([]byte(nil), body[1:1+lc]...)
			c.Ne = shortNe(body[1+lc])
		default:
			return Command{}, fmt.Errorf("%w: short Lc %d with %d body bytes", ErrMalformedAPDU, lc, len(body))
		}
		return c, nil

	case len(body) == 2: // 00 then one byte: neither short nor extended
		return Command{}, fmt.Errorf("%w: 2 body bytes starting with 00", ErrMalformedAPDU)

	case len(body) == 3: // case 2 extended
		c.Ne = extendedNe(body[1], body[2])
		return c, nil

	default: // extended case 3 or 4
		lc := int(body[1])<<8 | int(body[2])
		if lc == 0 {
			return Command{}, fmt.Errorf("%w: extended Lc of 0", ErrMalformedAPDU)
		}
		switch len(body) {
		case 3 + lc:
			c.Data = append([]byte(nil), body[3:]...)
		case 5 + lc:
			c.Data = append([]byte(nil), body[3:3+lc]...)
			c.Ne = extendedNe(body[3+lc], body[4+lc])
		default:
			return Command{}, fmt.Errorf("%w: extended Lc %d with %d body bytes", ErrMalformedAPDU, lc, len(body))
		}
		return c, nil
	}
}

func shortNe(le byte) int {
	if le == 0 {
		return maxShortNe
	}
	return int(le)
}

func extendedNe(hi, lo byte) int {
	n := int(hi)<<8 | int(lo)
	if n == 0 {
		return maxExtNe
	}
	return n
}

// Response is a response APDU split into its data field and status word.
type Response struct {
	Data []byte
	SW   uint16
}

// ParseResponse splits a response APDU. It fails when fewer than two bytes
// arrived, since every response ends with SW1 SW2.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w: response of %d bytes has no status word", ErrMalformedAPDU, len(b))
	}
	n := len(b) - 2
	return Response{
		Data: append([]byte(nil), b[:n]...),
		SW:   uint16(b[n])<<8 | uint16(b[n+1]),
	}, nil
}

// Bytes returns the response APDU: data followed by SW1 SW2.
func (r Response) Bytes() []byte {
	out := make([]byte, 0, len(r.Data)+2)
	out = append(out, r.Data...)
	return append(out, byte(r.SW>>8), byte(r.SW))
}
