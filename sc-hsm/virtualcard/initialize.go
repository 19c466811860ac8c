package virtualcard

import (
	"io"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// INITIALIZE DEVICE data-field tags.
const (
	tagInitOptions    = 0x80
	tagInitUserPIN    = 0x81
	tagInitSOPIN      = 0x82
	tagInitRetries    = 0x91
	tagInitDKEKShares = 0x92
	tagInitPKA        = 0x93
	tagInitBioServer1 = 0x95
	tagInitBioServer2 = 0x96
	tagInitKeyDomains = 0x97
)

const (
	defaultUserPINRetries = 3
	maxPKAKeys            = 90 // sc-hsm-tool's limit for N and M
)

// initRequest is the decoded data field of INITIALIZE DEVICE.
type initRequest struct {
	options     uint16
	hasOptions  bool
	userPIN     []byte // nil when tag 81 is absent
	soPIN       []byte
	retries     int
	dkekShares  int // -1 when tag 92 is absent, 0 for a card-generated DKEK
	pkaTotal    int // 0 when tag 93 is absent
	pkaRequired int
	keyDomains  int // 0 when tag 97 is absent
}

// maxRetriesForPINLength is the CardContact limit of the user-PIN retry
// counter: 3 for 6 digits, 5 for 7, 10 for longer PINs.
func maxRetriesForPINLength(n int) int {
	switch {
	case n <= 6:
		return 3
	case n == 7:
		return 5
	default:
		return 10
	}
}

// parseInitRequest decodes and checks the flat TLV list of INITIALIZE. It
// returns false for malformed TLVs, duplicate tags, a missing or not 8-byte
// SO-PIN and values outside their ranges.
//
// CardContact: the range checks follow the limits CardContact states for
// its card (PIN 6 to 16 characters, retries by PIN length). The status word
// a real card uses for a violation is not documented, so the caller
// returns 6A80. The Pico checks nothing.
func parseInitRequest(data []byte) (initRequest, bool) {
	req := initRequest{retries: defaultUserPINRetries, dkekShares: -1}
	seen := map[byte]bool{}
	hasRetries := false

	for len(data) > 0 {
		tag, value, rest, valid := parseTLV(data)
		if !valid || seen[tag] {
			return initRequest{}, false
		}
		seen[tag] = true
		data = rest

		switch tag {
		case tagInitOptions:
			if len(value) != 2 {
				return initRequest{}, false
			}
			req.options, req.hasOptions = uint16(value[0])<<8|uint16(value[1]), true
		case tagInitUserPIN:
			if len(value) < minUserPINLen || len(value) > maxUserPINLen {
				return initRequest{}, false
			}
			req.userPIN = value
		case tagInitSOPIN:
			if len(value) != soPINLen {
				return initRequest{}, false
			}
			req.soPIN = value
		case tagInitRetries:
			if len(value) != 1 || value[0] == 0 {
				return initRequest{}, false
			}
			req.retries, hasRetries = int(value[0]), true
		case tagInitDKEKShares:
			if len(value) != 1 {
				return initRequest{}, false
			}
			req.dkekShares = int(value[0])
		case tagInitPKA:
			if len(value) != 2 || value[0] == 0 || int(value[0]) > maxPKAKeys || value[1] == 0 || value[1] > value[0] {
				return initRequest{}, false
			}
			req.pkaTotal, req.pkaRequired = int(value[0]), int(value[1])
		case tagInitKeyDomains:
			if len(value) != 1 || value[0] == 0 || int(value[0]) > maxKeyDomains {
				return initRequest{}, false
			}
			req.keyDomains = int(value[0])
		case tagInitBioServer1, tagInitBioServer2:
			// Biometric server AIDs have no use without a biometric
			// sensor; like the Pico, the card ignores them.
		default:
			// Unknown tags are ignored so that newer hosts still work.
		}
	}

	if req.soPIN == nil {
		return initRequest{}, false
	}
	limit := maxRetriesForPINLength(maxUserPINLen)
	if req.userPIN != nil {
		limit = maxRetriesForPINLength(len(req.userPIN))
	}
	if hasRetries && req.retries > limit {
		return initRequest{}, false
	}
	return req, true
}

// initialize implements INITIALIZE DEVICE. It erases keys, data objects,
// DKEKs, key domains, PKA registrations and EF.TokenInfo, keeps the device
// identity (CC00 and EF.C_DevAut), and leaves the session authenticated.
func (c *Card) initialize(cmd schsm.Command) schsm.Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	// CardContact: the response of a real card to INITIALIZE without data
	// is not documented, so this card returns 6700. The Pico returns free
	// memory and its version instead.
	if len(cmd.Data) == 0 {
		return statusOnly(schsm.SWWrongLength)
	}
	req, valid := parseInitRequest(cmd.Data)
	if !valid {
		return statusOnly(schsm.SWWrongData)
	}

	// CardContact: re-initialization needs the current SO-PIN in tag 82,
	// and a wrong one costs an SO-PIN try. The real status word is not
	// documented (OpenSC reports 6900, 6985 and 6986 for this command as
	// "PIN incorrect"). This card returns 63Cx with the tries left, or 6983
	// once blocked, so a host can show the remaining tries. The Pico
	// re-initializes without checking.
	if c.st.initialized() {
		sw, changed := c.presentPIN(c.st.SOPIN, req.soPIN)
		if sw != schsm.SWOK {
			c.sess.soVerified = false
			return c.finishPresent(sw, changed)
		}
	}

	salt := make([]byte, pinSaltLen)
	if _, err := io.ReadFull(c.rand, salt); err != nil {
		c.log.Error("virtual card: random source failed", "error", err)
		return statusOnly(schsm.SWExecutionError)
	}
	domains, err := c.newKeyDomains(req)
	if err != nil {
		c.log.Error("virtual card: random source failed", "error", err)
		return statusOnly(schsm.SWExecutionError)
	}

	st := c.st
	st.PINSalt = salt
	// Without tag 80 the previous options stay, as on the Pico.
	if req.hasOptions {
		st.Options = req.options
	}
	st.UserPIN = nil
	if req.userPIN != nil {
		st.UserPIN = st.newPINRecord(req.userPIN, req.retries)
	}
	st.SOPIN = st.newPINRecord(req.soPIN, soPINMaxRetries)
	st.KeyDomains = domains
	st.PKA = nil
	if req.pkaTotal > 0 {
		st.PKA = &pkaConfig{Total: req.pkaTotal, Required: req.pkaRequired}
	}
	st.Files = nil

	// The session stays authenticated so that provisioning can go on
	// until the next SELECT or reset, except in transport-PIN mode, where
	// the user PIN must be changed first.
	// NOTE: whether a CardContact card stays authenticated after an
	// INITIALIZE in transport-PIN mode is not documented.
	c.sess = session{
		selected:     true,
		userVerified: st.UserPIN != nil && st.Options&optTransportPIN == 0,
		soVerified:   true,
	}
	return c.commit(ok(nil))
}

// newKeyDomains builds the key-domain table for an INITIALIZE request.
//
// With tag 97 every domain, including domain 0, is undefined until MANAGE
// KEY DOMAIN creates it, and tag 92 has no effect (as on the Pico).
// Otherwise domain 0 has the number of shares of tag 92, a card-generated
// DKEK for 0, or no DKEK without tag 92.
func (c *Card) newKeyDomains(req initRequest) ([]keyDomain, error) {
	if req.keyDomains > 0 {
		domains := make([]keyDomain, req.keyDomains)
		for i := range domains {
			domains[i].DKEK = make([]byte, dkekLen)
		}
		return domains, nil
	}

	domain := keyDomain{Defined: true, DKEK: make([]byte, dkekLen)}
	switch {
	case req.dkekShares > 0:
		domain.Shares = req.dkekShares
	case req.dkekShares == 0:
		// CardContact: a card-generated DKEK is reported as 1 share with
		// none outstanding, so the status carries its key check value.
		// The Pico stores the same 1-of-1 state.
		if _, err := io.ReadFull(c.rand, domain.DKEK); err != nil {
			return nil, err
		}
		domain.Shares, domain.Imported = 1, 1
	}
	return []keyDomain{domain}, nil
}
