package schsm

import (
	"errors"
	"fmt"
)

// Tags of the INITIALIZE DEVICE data field, sent in this order.
const (
	tagInitOptions    = 0x80 // configuration options, 2 bytes big-endian
	tagInitUserPIN    = 0x81 // initial user PIN or transport PIN
	tagInitSOPIN      = 0x82 // SO-PIN (initialization code), 8 bytes
	tagInitRetries    = 0x91 // user PIN retry counter
	tagInitDKEKShares = 0x92 // number of DKEK shares, 0 = random DKEK
	tagInitPKA        = 0x93 // public key authentication: total N, required M
	tagInitKeyDomains = 0x97 // number of key domains
)

// Configuration option bits of tag 80. The low byte is echoed in the
// SELECT response. Bits of the high byte are Pico HSM extensions.
const (
	OptionResetRetryCounter   uint16 = 0x0001 // RESET RETRY COUNTER with the SO-PIN allowed
	OptionTransportPIN        uint16 = 0x0002 // tag 81 is a transport PIN to change before use
	OptionSessionPIN          uint16 = 0x0004 // session PIN, cleared on reset
	OptionPKAReplaceable      uint16 = 0x0008 // registered public keys may be replaced
	OptionCombinedPINPKA      uint16 = 0x0010 // authentication needs the user PIN and the PKA quorum
	OptionRRCResetCounterOnly uint16 = 0x0020 // RESET RETRY COUNTER may only reset the counter
	OptionPicoButton          uint16 = 0x0100 // Pico HSM: press-to-confirm button
	OptionPicoKeyCounter      uint16 = 0x0200 // Pico HSM: key usage counter on all keys
	OptionPicoSecureLock      uint16 = 0x0400 // Pico HSM: secure lock
)

// User PIN length accepted by the SmartCard-HSM.
const (
	MinUserPINLength = 6
	MaxUserPINLength = 16
)

// ErrInvalidInitParams is wrapped by every error of InitializeCommand.
var ErrInvalidInitParams = errors.New("invalid INITIALIZE parameters")

// InitParams is the content of INITIALIZE DEVICE. It only describes what
// can be encoded; policy such as the retry limit per PIN length belongs to
// the caller.
type InitParams struct {
	Options     uint16
	UserPIN     []byte // nil omits tag 81 (PKA-only set-ups)
	SOPIN       [8]byte
	Retries     int // user PIN retry counter, 1 to 255
	DKEKShares  int // -1 omits tag 92 (no DKEK); 0 requests a random DKEK
	PKATotal    int // 0 omits tag 93 together with PKARequired
	PKARequired int
	KeyDomains  int // 0 omits tag 97
}

// InitializeCommand builds INITIALIZE DEVICE (80 50 00 00 Lc data) with the
// tags in the order 80 81 82 91 92 93 97. Its errors never contain a PIN.
func InitializeCommand(p InitParams) (Command, error) {
	if p.UserPIN != nil && (len(p.UserPIN) < MinUserPINLength || len(p.UserPIN) > MaxUserPINLength) {
		return Command{}, fmt.Errorf("%w: user PIN has %d bytes, it needs %d to %d",
			ErrInvalidInitParams, len(p.UserPIN), MinUserPINLength, MaxUserPINLength)
	}
	if p.Retries < 1 || p.Retries > 0xFF {
		return Command{}, fmt.Errorf("%w: retry counter %d is outside 1 to 255", ErrInvalidInitParams, p.Retries)
	}
	if p.DKEKShares < -1 || p.DKEKShares > 0xFF {
		return Command{}, fmt.Errorf("%w: DKEK share count %d is outside -1 to 255", ErrInvalidInitParams, p.DKEKShares)
	}
	if p.PKATotal != 0 || p.PKARequired != 0 {
		if p.PKATotal < 1 || p.PKATotal > 0xFF || p.PKARequired < 1 || p.PKARequired > p.PKATotal {
			return Command{}, fmt.Errorf("%w: public key authentication %d of %d needs 1 <= required <= total <= 255",
				ErrInvalidInitParams, p.PKARequired, p.PKATotal)
		}
	}
	if p.KeyDomains < 0 || p.KeyDomains > 0xFF {
		return Command{}, fmt.Errorf("%w: key domain count %d is outside 0 to 255", ErrInvalidInitParams, p.KeyDomains)
	}

	var data []byte
	data = AppendTLV(data, tagInitOptions, []byte{byte(p.Options >> 8), byte(p.Options)})
	if p.UserPIN != nil {
		data = AppendTLV(data, tagInitUserPIN, p.UserPIN)
	}
	data = AppendTLV(data, tagInitSOPIN, p.SOPIN[:])
	data = AppendTLV(data, tagInitRetries, []byte{byte(p.Retries)})
	if p.DKEKShares >= 0 {
		data = AppendTLV(data, tagInitDKEKShares, []byte{byte(p.DKEKShares)})
	}
	if p.PKATotal != 0 {
		data = AppendTLV(data, tagInitPKA, []byte{byte(p.PKATotal), byte(p.PKARequired)})
	}
	if p.KeyDomains != 0 {
		data = AppendTLV(data, tagInitKeyDomains, []byte{byte(p.KeyDomains)})
	}

	return Command{CLA: claProprietary, INS: insInitialize, Data: data}, nil
}

// Initialize sends INITIALIZE DEVICE, which erases keys, certificates, data
// objects and the DKEK. The card leaves the new session authenticated until
// the next SELECT or reset.
func (c *Card) Initialize(p InitParams) error {
	cmd, err := InitializeCommand(p)
	if err != nil {
		return err
	}
	if _, err := c.run(cmd); err != nil {
		return fmt.Errorf("initializing device: %w", err)
	}
	return nil
}
