package virtualcard

import (
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// FuzzTransmit feeds arbitrary bytes to an initialized card as a sequence
// of APDUs, each framed by a 2-byte big-endian length as vpcd frames them
// (a frame that runs past the end takes the remaining bytes). Every response
// must end with a status word, and the inner processing must not panic
// (Transmit would turn a panic into 6F00 and hide it).
func FuzzTransmit(f *testing.F) {
	for _, session := range [][]recordedStep{blankInitPINDKEK, keyDomains} {
		for _, step := range session {
			if step.command != reconnect {
				f.Add(frame(unhex(f, step.command)))
			}
		}
	}
	f.Add(concat(frame(unhex(f, verifyRightPIN)), frame(unhex(f, "10D7C401 06 5402 0000 5304")), frame(unhex(f, "00D7C401 04 01020304"))))
	f.Add(concat(frame(unhex(f, verifyRightPIN)), frame(unhex(f, "00D7CE01 00000B 5402FFF0 5382 0004 01020304"))))
	f.Add(frame(unhex(f, "00A40404 0BE82B0601040181C31F0201")))
	f.Add([]byte{0x00, 0x01, 0x00})

	f.Fuzz(func(t *testing.T, input []byte) {
		c := initializedCard(t)
		for len(input) > 0 {
			var apdu []byte
			if len(input) < 2 {
				apdu, input = input, nil
			} else {
				n := int(input[0])<<8 | int(input[1])
				input = input[2:]
				n = min(n, len(input))
				apdu, input = input[:n], input[n:]
			}

			c.mu.Lock()
			resp := c.process(apdu)
			c.mu.Unlock()
			if resp.SW>>8 == 0 {
				t.Fatalf("APDU %X: invalid status word %04X", apdu, resp.SW)
			}
			if resp.SW != schsm.SWOK && resp.SW>>8 != uint16(schsm.SW1MoreData) && len(resp.Data) != 0 {
				t.Fatalf("APDU %X: error %04X carries data", apdu, resp.SW)
			}

			if out := c.Transmit(apdu); len(out) < 2 {
				t.Fatalf("APDU %X: answer %X has no status word", apdu, out)
			}
		}
	})
}

func frame(apdu []byte) []byte {
	return append([]byte{byte(len(apdu) >> 8), byte(len(apdu))}, apdu...)
}
