package schsm

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// exchange is one recorded APDU round trip: the command the host must send
// and the raw response, data followed by the status word, both in hex.
type exchange struct {
	cmd  string
	resp string
}

// scriptTransport replays exchanges in order and fails the test when the
// host sends anything else.
type scriptTransport struct {
	t     *testing.T
	steps []exchange
	next  int
	// failAt makes the round trip with this index return a transport error
	// instead of its response; -1 disables it.
	failAt int
}

var errTransportFailed = errors.New("transport failed")

func newScript(t *testing.T, steps ...exchange) *scriptTransport {
	t.Helper()
	return &scriptTransport{t: t, steps: steps, failAt: -1}
}

func (s *scriptTransport) Transmit(apdu []byte) ([]byte, error) {
	s.t.Helper()
	if s.next >= len(s.steps) {
		s.t.Errorf("unexpected APDU %X after the end of the script", apdu)
		return nil, errTransportFailed
	}
	step := s.steps[s.next]
	s.next++
	if want := mustHex(s.t, step.cmd); !equalBytes(apdu, want) {
		s.t.Errorf("APDU %d = %X, want %X", s.next-1, apdu, want)
		return nil, errTransportFailed
	}
	if s.next-1 == s.failAt {
		return nil, errTransportFailed
	}
	return mustHex(s.t, step.resp), nil
}

// done fails the test unless every exchange of the script was used.
func (s *scriptTransport) done() {
	s.t.Helper()
	if s.next != len(s.steps) {
		s.t.Errorf("script used %d of %d exchanges", s.next, len(s.steps))
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func equalBytes(a, b []byte) bool {
	return hex.EncodeToString(a) == hex.EncodeToString(b)
}

// Responses of the Pico HSM 6.6 firmware (host emulation), recorded over
// pcscd and vsmartcard-vpcd.
const (
	picoSelectAPDU     = "00A404000BE82B0601040181C31F020100"
	picoFCPBlank       = "62228102000082010183020000840B2B0601040181C31F0201008A010585050000FF0606"
	picoFCPRRC         = "62228102000082010183020000840B2B0601040181C31F0201008A010585050001FF0606"
	picoDevAutFCP      = "620E810201BB82010183022F028A0105"
	picoTokenInfoFCP   = "620E8102002C82010183022F038A0105"
	picoDeviceCHR      = "ESPICOHSMTR00001"
	picoDevAutContent  = "7F218201B67F4E82016E5F290100421045535049434F48534D545230303030317F4982011D060A04007F000702020202038120FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F822000000000000000000000000000000000000000000000000000000000000000008320000000000000000000000000000000000000000000000000000000000000000784410479BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B88520FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD03641418641043359F5234CE62E0EB80460046D8FD1AAE018CC8B9E687B40AA2C047E352409B45153D1AD888E4E7E780A3B1FA8C69CA8998BD271C8849137149142E96816A5A48701015F201045535049434F48534D545230303030317F4C0E060904007F0007030102025301005F25060203000302015F24060700010203015F37407191738E91E4A625DFDA04FE7B87BDD01477453728CD357CEFF094120C3DCF77E4D61610763AF2D54EEE0384CE977BB398A5FDCB9633A2E05CCF1382485FECE3"
	picoInitializeAPDU = "80500000 1C 80020001 8106363438323139 82083537363231383830 910103 920101"
	shareA5            = "A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5"
	share5A            = "5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A"
)

// picoDevAutReads is the READ BINARY sequence for EF.C_DevAut of 443 bytes
// in chunks of 256, with the answers cut from the recorded content.
func picoDevAutReads(t *testing.T) []exchange {
	content := mustHex(t, picoDevAutContent)
	if len(content) != 0x1BB {
		t.Fatalf("recorded EF.C_DevAut has %d bytes, want 443", len(content))
	}
	return []exchange{
		{"00A40000022F0200", picoDevAutFCP + "9000"},
		{"00B10000 04 54020000 00", hex.EncodeToString(content[:256]) + "9000"},
		{"00B10000 04 54020100 00", hex.EncodeToString(content[256:]) + "9000"},
	}
}
