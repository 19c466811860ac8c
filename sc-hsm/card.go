package schsm

import (
	"fmt"
	"time"
)

// Instruction bytes of the SmartCard-HSM command set. ISO/IEC 7816-4
// instructions use CLA 00, the proprietary ones CLA 80.
const (
	claISO         byte = 0x00
	claProprietary byte = 0x80

	insVerify            byte = 0x20
	insChangeReference   byte = 0x24
	insResetRetryCounter byte = 0x2C
	insInitialize        byte = 0x50
	insManageKeyDomain   byte = 0x52 // also IMPORT DKEK SHARE and its status query
	insPublicKeyAuth     byte = 0x54
	insEnumerateObjects  byte = 0x58
	insGetChallenge      byte = 0x84
	insSelect            byte = 0xA4
	insReadBinaryOdd     byte = 0xB1
	insGetResponse       byte = 0xC0
)

// Bounds of the response handling loops in Card.Transmit. A card that
// keeps returning 61xx or 6Cxx beyond them is treated as faulty.
const (
	maxGetResponse = 256 // 256 chunks of 256 bytes cover an extended Ne of 65536
	maxWrongLe     = 2
)

// Card runs SmartCard-HSM commands over a Transport. A Card is not safe for
// concurrent use, and neither is the card: commands of one operation must
// not interleave with another.
type Card struct {
	t      Transport
	tracer func(TraceEntry)
}

// CardOption configures a Card.
type CardOption func(*Card)

// WithTracer calls f after every APDU round trip, including GET RESPONSE
// and a re-sent command. The entry masks PINs, the SO-PIN and DKEK shares.
func WithTracer(f func(TraceEntry)) CardOption {
	return func(c *Card) { c.tracer = f }
}

// NewCard returns a Card that sends its commands over t.
func NewCard(t Transport, opts ...CardOption) *Card {
	c := &Card{t: t}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Transmit sends cmd, in short form when its lengths fit, and returns the
// complete response. After 61xx it sends GET RESPONSE until no more data
// waits and concatenates the data. After 6Cxx it re-sends cmd with Ne = xx.
// A status word other than 9000 is not an error here; use CheckSW.
func (c *Card) Transmit(cmd Command) (Response, error) {
	return c.transmit(cmd, false)
}

func (c *Card) transmit(cmd Command, extended bool) (Response, error) {
	resp, err := c.roundTrip(cmd, extended)
	if err != nil {
		return Response{}, err
	}

	for retries := 0; resp.SW>>8 == uint16(SW1WrongLe); retries++ {
		if retries == maxWrongLe {
			return Response{}, fmt.Errorf("card kept returning SW %04X to %v", resp.SW, cmd)
		}
		cmd.Ne = shortNe(byte(resp.SW))
		if resp, err = c.roundTrip(cmd, extended); err != nil {
			return Response{}, err
		}
	}

	data := resp.Data
	for chunks := 0; resp.SW>>8 == uint16(SW1MoreData); chunks++ {
		if chunks == maxGetResponse {
			return Response{}, fmt.Errorf("card sent more than %d GET RESPONSE chunks to %v", maxGetResponse, cmd)
		}
		getResponse := Command{CLA: claISO, INS: insGetResponse, Ne: shortNe(byte(resp.SW))}
		if resp, err = c.roundTrip(getResponse, false); err != nil {
			return Response{}, fmt.Errorf("sending GET RESPONSE: %w", err)
		}
		data = append(data, resp.Data...)
	}

	return Response{Data: data, SW: resp.SW}, nil
}

// roundTrip sends one APDU and parses the response without interpreting it.
func (c *Card) roundTrip(cmd Command, extended bool) (Response, error) {
	var apdu []byte
	var err error
	if extended {
		apdu, err = cmd.EncodeExtended()
	} else {
		apdu, err = cmd.Encode()
	}
	if err != nil {
		return Response{}, err
	}

	start := time.Now()
	raw, err := c.t.Transmit(apdu)
	elapsed := time.Since(start)
	if err != nil {
		c.trace(cmd, extended, Response{}, elapsed)
		return Response{}, fmt.Errorf("transmitting %v: %w", cmd, err)
	}
	resp, err := ParseResponse(raw)
	if err != nil {
		c.trace(cmd, extended, Response{}, elapsed)
		return Response{}, fmt.Errorf("parsing response to %v: %w", cmd, err)
	}
	c.trace(cmd, extended, resp, elapsed)
	return resp, nil
}

func (c *Card) trace(cmd Command, extended bool, resp Response, elapsed time.Duration) {
	if c.tracer == nil {
		return
	}
	c.tracer(TraceEntry{
		Command:  maskCommand(cmd, extended),
		Response: maskResponse(cmd, resp.Data),
		SW:       resp.SW,
		Duration: elapsed,
	})
}

// run sends cmd and turns a status word other than 9000 or 9001 into an
// error. It returns the response data.
func (c *Card) run(cmd Command) ([]byte, error) {
	resp, err := c.Transmit(cmd)
	if err != nil {
		return nil, err
	}
	if err := CheckSW(resp.SW); err != nil {
		return nil, err
	}
	return resp.Data, nil
}
