package virtualcard

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// standardATR is the ATR of the contact SmartCard-HSM on JCOP. OpenSC's
// sc-hsm driver matches it without sending an APDU.
var standardATR = []byte{
	0x3B, 0xFE, 0x18, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45, 0x80, 0x31, 0x81,
	0x54, 0x48, 0x53, 0x4D, 0x31, 0x73, 0x80, 0x21, 0x40, 0x81, 0x07, 0xFA,
}

// appletAID is the SmartCard-HSM application identifier (E8 followed by the
// BER encoding of 1.3.6.1.4.1.24991.2.1).
var appletAID = []byte{0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01}

// Identity reported in the tag-85 value of the SELECT response.
const (
	appletType   = 0x00 // SmartCard-HSM applet for JCOP (01 = demo applet, FF = Pico HSM)
	versionMajor = 4
	versionMinor = 1
)

// Instruction bytes.
const (
	insSelect            = 0xA4
	insGetResponse       = 0xC0
	insReadBinary        = 0xB1
	insUpdateBinary      = 0xD7
	insDeleteFile        = 0xE4
	insVerify            = 0x20
	insChangeReference   = 0x24
	insResetRetryCounter = 0x2C
	insGetChallenge      = 0x84
	insInitialize        = 0x50
	insManageKeyDomain   = 0x52
	insPKA               = 0x54
	insEnumerateObjects  = 0x58
	insMSE               = 0x22
	insPSO               = 0x2A
	insExternalAuth      = 0x82
)

// CLA bits.
const (
	claChaining       = 0x10
	claSecureMessage  = 0x0C
	claProprietary    = 0x80
	maxChainedDataLen = 4096
)

// swLastCommandOfChainExpected is the ISO/IEC 7816-4 status word for a
// chained command that is not continued with the same header.
const swLastCommandOfChainExpected uint16 = 0x6883

// Options configures New.
type Options struct {
	// StatePath is the state file. It is created when missing. An empty
	// path keeps the state in memory only.
	StatePath string
	// Logger receives state-file errors and a debug line per APDU (header
	// and status word only, never data). Nil discards the output.
	Logger *slog.Logger
	// Rand is the source for the CHR, PIN salts, challenges and
	// card-generated DKEKs. Nil means crypto/rand. The device key is always
	// generated from crypto/rand, because crypto/ecdsa ignores custom
	// readers since Go 1.26.
	Rand io.Reader
}

// Card is a virtual SmartCard-HSM. Its methods are safe for concurrent use.
type Card struct {
	mu   sync.Mutex
	log  *slog.Logger
	rand io.Reader
	path string

	st   *state
	sess session
}

// session is the volatile security and selection state that a power cycle,
// a reset or a SELECT of the applet clears.
type session struct {
	selected     bool
	currentEF    uint16
	hasCurrentEF bool
	userVerified bool
	// soVerified is set by a correct SO-PIN in this session. It only
	// makes the SO-PIN status query return 9000, as on the Pico.
	soVerified bool
	challenge  []byte
	// pka holds the keys selected, learned and authenticated for public
	// key authentication.
	pka pkaSession
	// pending holds response data that waits for GET RESPONSE.
	pending []byte
	chain   *chainedCommand
}

// chainedCommand accumulates the data of a command sent with CLA bit 0x10.
type chainedCommand struct {
	cla, ins, p1, p2 byte
	data             []byte
}

// New creates a card. With a StatePath it loads the state file, or creates
// a new device identity and writes the file when it does not exist.
func New(opts Options) (*Card, error) {
	c := &Card{
		log:  opts.Logger,
		rand: opts.Rand,
		path: opts.StatePath,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}

	if c.path != "" {
		st, err := loadState(c.path)
		switch {
		case err == nil:
			c.st = st
			c.log.Info("virtual card state loaded", "path", c.path, "serial", c.serialLocked())
			return c, nil
		case !errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("loading virtual card state: %w", err)
		}
	}

	st, err := newState(c.rand, time.Now())
	if err != nil {
		return nil, fmt.Errorf("creating virtual card identity: %w", err)
	}
	c.st = st
	if err := c.save(); err != nil {
		return nil, fmt.Errorf("creating virtual card state: %w", err)
	}
	c.log.Info("virtual card state created", "path", c.path, "serial", c.serialLocked())
	return c, nil
}

// ATR returns a copy of the answer to reset.
func (c *Card) ATR() []byte {
	return append([]byte(nil), standardATR...)
}

// PowerOn starts a session with no applet selected.
func (c *Card) PowerOn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sess = session{}
}

// PowerOff drops the selected applet and all session security state.
func (c *Card) PowerOff() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sess = session{}
}

// Reset drops the selected applet and all session security state, like a
// warm reset of a real card.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sess = session{}
}

// Serial returns the token serial number OpenSC shows: the CHR of the device
// certificate minus its last 5 characters.
func (c *Card) Serial() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serialLocked()
}

func (c *Card) serialLocked() string {
	chr := c.st.Identity.CHR
	return chr[:len(chr)-5]
}

// Transmit processes one command APDU and returns the response APDU (data
// followed by SW1 SW2). A panic inside the applet is recovered, logged and
// returned as SW 6F00.
func (c *Card) Transmit(apdu []byte) (out []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()

	defer func() {
		if r := recover(); r != nil {
			c.log.Error("virtual card: internal error while processing an APDU", "panic", r)
			out = statusOnly(schsm.SWNoPreciseDiagnosis).Bytes()
		}
	}()

	resp := c.process(apdu)
	return resp.Bytes()
}

// process runs one APDU with c.mu held.
func (c *Card) process(apdu []byte) schsm.Response {
	cmd, err := parseCommand(apdu)
	if err != nil {
		c.sess.pending = nil
		c.sess.chain = nil
		c.log.Debug("virtual card: malformed APDU", "bytes", len(apdu), "sw", fmt.Sprintf("%04X", schsm.SWWrongLength))
		return statusOnly(schsm.SWWrongLength)
	}

	resp := c.processCommand(cmd)
	c.log.Debug("virtual card: APDU", "command", cmd.String(), "response_bytes", len(resp.Data), "sw", fmt.Sprintf("%04X", resp.SW))
	return resp
}

// parseCommand decodes a command APDU with schsm.ParseCommand.
//
// NOTE: schsm.ParseCommand indexes past the buffer when the body after the
// header is 2 bytes starting with 00 (for example 00 20 00 81 00 06). That
// form is no valid ISO case, so it is rejected here before the call.
func parseCommand(apdu []byte) (schsm.Command, error) {
	if len(apdu) == 6 && apdu[4] == 0x00 {
		return schsm.Command{}, fmt.Errorf("%w: 2-byte body starting with 00", schsm.ErrMalformedAPDU)
	}
	return schsm.ParseCommand(apdu)
}

func (c *Card) processCommand(cmd schsm.Command) schsm.Response {
	// Secure messaging is not supported, and the applet supports only the
	// interindustry class 00 and the proprietary class 80.
	if cmd.CLA&claSecureMessage != 0 {
		return statusOnly(schsm.SWCLANotSupported)
	}
	class := cmd.CLA &^ claChaining
	if class != 0x00 && class != claProprietary {
		return statusOnly(schsm.SWCLANotSupported)
	}

	if cmd.INS == insGetResponse && cmd.CLA&claChaining == 0 {
		return c.getResponse(cmd)
	}
	c.sess.pending = nil

	cmd, resp, complete := c.chain(cmd)
	if !complete {
		return resp
	}

	return c.fitResponse(c.dispatch(cmd), cmd.Ne)
}

// chain accumulates chained command parts. It returns the complete command
// and true when cmd ends a chain or is not chained, else the response for
// an intermediate part.
func (c *Card) chain(cmd schsm.Command) (schsm.Command, schsm.Response, bool) {
	prev := c.sess.chain
	c.sess.chain = nil
	sameHeader := prev != nil && prev.cla == cmd.CLA&^claChaining &&
		prev.ins == cmd.INS && prev.p1 == cmd.P1 && prev.p2 == cmd.P2

	var data []byte
	if sameHeader {
		data = prev.data
	}
	if len(data)+len(cmd.Data) > maxChainedDataLen {
		return cmd, statusOnly(schsm.SWWrongLength), false
	}
	data = append(data, cmd.Data...)

	if cmd.CLA&claChaining != 0 {
		c.sess.chain = &chainedCommand{cla: cmd.CLA &^ claChaining, ins: cmd.INS, p1: cmd.P1, p2: cmd.P2, data: data}
		return cmd, statusOnly(schsm.SWOK), false
	}
	if prev != nil && !sameHeader {
		// A different command abandons the chain and is processed on
		// its own.
		c.log.Debug("virtual card: command chain abandoned", "chained_bytes", len(prev.data))
	}
	cmd.CLA &^= claChaining
	cmd.Data = data
	return cmd, schsm.Response{}, true
}

func (c *Card) dispatch(cmd schsm.Command) schsm.Response {
	if cmd.INS == insSelect {
		return c.selectFile(cmd)
	}
	// The Pico returns 6A82 when no application is selected. A JavaCard
	// returns 6D00 or 6E00 because the command never reaches the applet.
	// OpenSC always selects the applet first, so either works.
	if !c.sess.selected {
		return statusOnly(schsm.SWFileNotFound)
	}

	switch cmd.INS {
	case insReadBinary:
		return c.readBinary(cmd)
	case insUpdateBinary:
		return c.updateBinary(cmd)
	case insDeleteFile:
		return c.deleteFile(cmd)
	case insVerify:
		return c.verify(cmd)
	case insChangeReference:
		return c.changeReferenceData(cmd)
	case insResetRetryCounter:
		return c.resetRetryCounter(cmd)
	case insGetChallenge:
		return c.getChallenge(cmd)
	case insInitialize:
		return c.initialize(cmd)
	case insManageKeyDomain:
		return c.manageKeyDomain(cmd)
	case insPKA:
		return c.publicKeyAuthentication(cmd)
	case insEnumerateObjects:
		return c.enumerateObjects(cmd)
	case insMSE:
		return c.manageSecurityEnvironment(cmd)
	case insPSO:
		return c.performSecurityOperation(cmd)
	case insExternalAuth:
		return c.externalAuthenticate(cmd)
	default:
		return statusOnly(schsm.SWINSNotSupported)
	}
}

// fitResponse applies the Le of the command to a successful response. Data
// that did not fit, or all data of a command sent without Le, waits for
// GET RESPONSE, and the status word is 61xx. The Pico does the same, for
// example 6124 for a SELECT without Le and 610A for a key-domain creation.
func (c *Card) fitResponse(resp schsm.Response, ne int) schsm.Response {
	if resp.SW != schsm.SWOK || len(resp.Data) == 0 {
		return resp
	}
	if ne >= len(resp.Data) {
		return resp
	}
	c.sess.pending = resp.Data[ne:]
	return schsm.Response{Data: resp.Data[:ne], SW: moreDataSW(len(c.sess.pending))}
}

// getResponse serves data left by the previous command.
func (c *Card) getResponse(cmd schsm.Command) schsm.Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	if len(c.sess.pending) == 0 {
		c.sess.pending = nil
		return statusOnly(schsm.SWConditionsNotSatisfied)
	}

	ne := cmd.Ne
	if ne == 0 {
		ne = 256
	}
	n := min(ne, len(c.sess.pending))
	data := c.sess.pending[:n]
	c.sess.pending = c.sess.pending[n:]
	if len(c.sess.pending) > 0 {
		return schsm.Response{Data: data, SW: moreDataSW(len(c.sess.pending))}
	}
	c.sess.pending = nil
	return schsm.Response{Data: data, SW: schsm.SWOK}
}

// moreDataSW returns 61xx, where xx is the number of bytes waiting, or 00
// for 256 bytes and more.
func moreDataSW(waiting int) uint16 {
	if waiting > 0xFF {
		waiting = 0
	}
	return uint16(schsm.SW1MoreData)<<8 | uint16(waiting)
}

// getChallenge returns Ne random bytes (1 to 1024) and keeps them as the
// session challenge.
func (c *Card) getChallenge(cmd schsm.Command) schsm.Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	if len(cmd.Data) != 0 || cmd.Ne < 1 || cmd.Ne > 1024 {
		return statusOnly(schsm.SWWrongLength)
	}

	challenge := make([]byte, cmd.Ne)
	if _, err := io.ReadFull(c.rand, challenge); err != nil {
		c.log.Error("virtual card: random source failed", "error", err)
		return statusOnly(schsm.SWExecutionError)
	}
	c.sess.challenge = challenge
	return schsm.Response{Data: append([]byte(nil), challenge...), SW: schsm.SWOK}
}

// save writes the state file when the card has one.
func (c *Card) save() error {
	if c.path == "" {
		return nil
	}
	return saveState(c.path, c.st)
}

// commit saves a state change and returns resp, or 6581 when the state file
// could not be written. The change stays in memory in that case.
func (c *Card) commit(resp schsm.Response) schsm.Response {
	if err := c.save(); err != nil {
		c.log.Error("virtual card: writing state file failed", "path", c.path, "error", err)
		return statusOnly(schsm.SWMemoryFailure)
	}
	return resp
}

func statusOnly(sw uint16) schsm.Response {
	return schsm.Response{SW: sw}
}

func ok(data []byte) schsm.Response {
	return schsm.Response{Data: data, SW: schsm.SWOK}
}
