package virtualcard

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/pkakey"
)

// Public key authentication (n-of-m authentication).
//
// INITIALIZE tag 93 (N, M) configures N key slots, of which M must
// authenticate in a session. Registration follows the APDU sequence of
// OpenSC's sc-hsm-tool --register-public-key:
//
//  1. MSE SET DST (00 22 81 B6, data 83 CHR) selects a known public key for
//     verification, or returns 6A88 for an unknown one. Known are the
//     rehearsal root CA (package pkakey, built in) and every key learned in
//     this session.
//  2. PSO VERIFY CERTIFICATE (00 2A 00 BE, data = 7F21 content) checks a CV
//     certificate with the selected key and learns its public key under its
//     CHR. The learned keys are session state, cleared by SELECT and reset.
//  3. 80 54 00 00 with the content of an authenticated request (67)
//     registers the inner key when the outer CAR names the selected key,
//     the outer signature verifies with it and the inner self-signature
//     verifies with the inner key. It returns the 4-byte status.
//
// Authentication: GET CHALLENGE arms a challenge, MSE SET AT (00 22 81 A4,
// data 83 CHR) selects a registered key, and EXTERNAL AUTHENTICATE
// (00 82 00 00, data r||s) checks an ECDSA P-256 signature over
// SHA-256(device CHR || challenge). When M keys are authenticated the
// quorum is reached and the challenge is dropped, as on the Pico HSM.
//
// Choices where the CardContact card is not documented:
//
//   - CardContact: registering into a free slot needs no prior
//     authentication, because sc-hsm-tool sends no VERIFY before it, and
//     its author tested the registration against SmartCard-HSM 2.6 and 3.1.
//     The Pico HSM requires a PIN or SO session (6982). Replacing a key
//     needs the authenticated state (access rule below), else 6982.
//   - A certificate or request that does not verify, or that names another
//     issuer than the selected key, is rejected with 6A80. So is a request
//     whose CHR or key is registered in another slot already. The Pico HSM verifies nothing here.
//   - GET CHALLENGE does not clear the keys authenticated so far; the Pico
//     HSM clears them (cmd_challenge.c), so hosts request one challenge per
//     session and this card accepts both styles.
//   - Access rule for operations that need the user: option 0x0010
//     (combined) requires both the verified user PIN and the quorum.
//     Without it either one suffices, as a user of OpenSC reported for a
//     real card initialized by sc-hsm-tool (not verified).
//   - VERIFY keeps reporting the user PIN alone (63Cx, 9000) while public key
//     authentication is configured. OpenSC's sc-hsm-tool prints "Public key
//     authentication active." when a real card answers the PIN status query
//     with a status word OpenSC does not map. Which status word that is
//     is not documented, so this card keeps the PIN answers OpenSC handles.

// Parameters of MANAGE SECURITY ENVIRONMENT and PERFORM SECURITY OPERATION.
const (
	mseSetVerifyAuth  = 0x81 // P1: SET for verification and external authentication
	mseTemplateDST    = 0xB6 // P2: digital signature template
	mseTemplateAT     = 0xA4 // P2: authentication template
	tagKeyReference   = 0x83
	psoVerifyCertP2   = 0xBE
	pkaOpRegister     = 0x00
	pkaOpReplace      = 0x01
	pkaOpEnumerate    = 0x02
	optReplacePKA     = 0x0008 // registered keys may be replaced
	optCombinedAuth   = 0x0010 // the user PIN and the PKA quorum are both required
	swOKAuthenticated = schsm.SWOKAuthenticated
)

// pkaSession is the public key authentication part of the session state.
type pkaSession struct {
	// verifyCHR and verifyKey are selected by MSE SET DST.
	verifyCHR string
	verifyKey *ecdsa.PublicKey
	// learned maps the CHR of each certificate accepted by PSO VERIFY
	// CERTIFICATE to its public key.
	learned map[string]*ecdsa.PublicKey
	// authSlot is the slot selected by MSE SET AT, valid when authSelected.
	authSlot     int
	authSelected bool
	// authenticated marks the slots authenticated in this session.
	authenticated map[int]bool
}

// accessGranted reports whether the session may run operations that need
// the user: the verified user PIN, the PKA quorum, or both with option
// 0x0010 (see the access rule above).
func (c *Card) accessGranted() bool {
	if c.st.PKA == nil {
		return c.sess.userVerified
	}
	quorum := c.pkaQuorumReached()
	if c.st.Options&optCombinedAuth != 0 {
		return c.sess.userVerified && quorum
	}
	return c.sess.userVerified || quorum
}

func (c *Card) pkaQuorumReached() bool {
	return c.st.PKA != nil && c.pkaAuthenticatedCount() >= c.st.PKA.Required
}

func (c *Card) pkaAuthenticatedCount() int {
	n := 0
	for slot, done := range c.sess.pka.authenticated {
		if done && c.st.PKA != nil && slot < len(c.st.PKA.Registered) {
			n++
		}
	}
	return n
}

// pkaStatus returns <total> <missing> <required> <authenticated>.
func (c *Card) pkaStatus() schsm.Response {
	pka := c.st.PKA
	return ok([]byte{
		byte(pka.Total),
		byte(pka.Total - len(pka.Registered)),
		byte(pka.Required),
		byte(c.pkaAuthenticatedCount()),
	})
}

// publicKeyAuthentication implements 80 54: status (P1 00 without data),
// register (P1 00 with data), replace (P1 01, P2 slot) and enumerate
// (P1 02, P2 slot). Without PKA configured the status word is 6A86, as on
// the Pico HSM.
func (c *Card) publicKeyAuthentication(cmd schsm.Command) schsm.Response {
	pka := c.st.PKA
	if pka == nil {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	switch cmd.P1 {
	case pkaOpRegister:
		if cmd.P2 != 0 {
			return statusOnly(schsm.SWIncorrectP1P2)
		}
		if len(cmd.Data) == 0 {
			return c.pkaStatus()
		}
		if len(pka.Registered) >= pka.Total {
			return statusOnly(schsm.SWNoFreeSlot)
		}
		return c.storePublicKey(len(pka.Registered), cmd.Data)
	case pkaOpReplace:
		if c.st.Options&optReplacePKA == 0 {
			return statusOnly(schsm.SWConditionsNotSatisfied)
		}
		slot := int(cmd.P2)
		if slot >= pka.Total || len(cmd.Data) == 0 {
			return statusOnly(schsm.SWIncorrectP1P2)
		}
		if !c.accessGranted() {
			return statusOnly(schsm.SWSecurityStatus)
		}
		if slot >= len(pka.Registered) {
			// NOTE: the Pico HSM fills an empty slot here; this card keeps
			// slots in registration order and registers only with P1 00.
			return statusOnly(schsm.SWReferenceNotFound)
		}
		return c.storePublicKey(slot, cmd.Data)
	case pkaOpEnumerate:
		slot := int(cmd.P2)
		if slot >= pka.Total {
			return statusOnly(schsm.SWIncorrectP1P2)
		}
		if slot >= len(pka.Registered) {
			return statusOnly(schsm.SWReferenceNotFound)
		}
		sw := schsm.SWOK
		if c.sess.pka.authenticated[slot] {
			sw = swOKAuthenticated
		}
		return schsm.Response{Data: []byte(pka.Registered[slot].CHR), SW: sw}
	default:
		return statusOnly(schsm.SWIncorrectP1P2)
	}
}

// storePublicKey checks the authenticated request in data and stores its
// key in slot, which is either the next free slot or a registered one.
func (c *Card) storePublicKey(slot int, data []byte) schsm.Response {
	req, err := schsm.ParseAuthenticatedRequestContent(data)
	if err != nil {
		return statusOnly(schsm.SWWrongData)
	}
	sel := &c.sess.pka
	if sel.verifyKey == nil {
		return statusOnly(schsm.SWConditionsNotSatisfied)
	}
	if req.OuterCAR != sel.verifyCHR || req.VerifyOuter(sel.verifyKey) != nil || req.VerifyInner() != nil {
		return statusOnly(schsm.SWWrongData)
	}
	pka := c.st.PKA
	point, err := req.Inner.PublicKey.Bytes()
	if err != nil {
		return statusOnly(schsm.SWWrongData)
	}
	for i, k := range pka.Registered {
		if i != slot && (k.CHR == req.Inner.CHR || bytes.Equal(k.PublicKey, point)) {
			return statusOnly(schsm.SWWrongData)
		}
	}

	key := registeredKey{CHR: req.Inner.CHR, PublicKey: point}
	if slot < len(pka.Registered) {
		pka.Registered[slot] = key
		delete(sel.authenticated, slot)
	} else {
		pka.Registered = append(pka.Registered, key)
	}
	return c.commit(c.pkaStatus())
}

// manageSecurityEnvironment implements MSE SET DST (select a key to verify
// certificates and requests) and MSE SET AT (select a registered key for
// EXTERNAL AUTHENTICATE). Data is 83 <len> <CHR>.
func (c *Card) manageSecurityEnvironment(cmd schsm.Command) schsm.Response {
	if cmd.P1 != mseSetVerifyAuth {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	tag, value, rest, valid := parseTLV(cmd.Data)
	if !valid || tag != tagKeyReference || len(value) == 0 || len(rest) != 0 {
		return statusOnly(schsm.SWWrongData)
	}
	chr := string(value)

	switch cmd.P2 {
	case mseTemplateDST:
		return c.selectVerificationKey(chr)
	case mseTemplateAT:
		return c.selectAuthenticationKey(chr)
	default:
		return statusOnly(schsm.SWIncorrectP1P2)
	}
}

func (c *Card) selectVerificationKey(chr string) schsm.Response {
	sel := &c.sess.pka
	sel.verifyCHR, sel.verifyKey = "", nil

	key := sel.learned[chr]
	if chr == pkakey.RehearsalRootCHR {
		root, err := pkakey.RehearsalRootPublicKey()
		if err != nil {
			c.log.Error("virtual card: deriving the rehearsal root key failed", "error", err)
			return statusOnly(schsm.SWExecutionError)
		}
		key = root
	}
	if key == nil {
		return statusOnly(schsm.SWReferenceNotFound)
	}
	sel.verifyCHR, sel.verifyKey = chr, key
	return ok(nil)
}

func (c *Card) selectAuthenticationKey(chr string) schsm.Response {
	sel := &c.sess.pka
	sel.authSelected = false
	if c.st.PKA == nil {
		return statusOnly(schsm.SWReferenceNotFound)
	}
	for slot, k := range c.st.PKA.Registered {
		if k.CHR != chr {
			continue
		}
		if sel.authenticated[slot] {
			return statusOnly(schsm.SWConditionsNotSatisfied)
		}
		sel.authSlot, sel.authSelected = slot, true
		return ok(nil)
	}
	return statusOnly(schsm.SWReferenceNotFound)
}

// performSecurityOperation implements PSO VERIFY CERTIFICATE (00 2A 00 BE)
// with the content of a 7F21 certificate.
func (c *Card) performSecurityOperation(cmd schsm.Command) schsm.Response {
	if cmd.P1 != 0x00 || cmd.P2 != psoVerifyCertP2 {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	sel := &c.sess.pka
	if sel.verifyKey == nil {
		return statusOnly(schsm.SWConditionsNotSatisfied)
	}
	cert, rest, err := schsm.ParseCVC(encodeTLV(tagCVCertificate, cmd.Data))
	if err != nil || len(rest) != 0 {
		return statusOnly(schsm.SWWrongData)
	}
	// The card verifies only ECDSA P-256 signatures, so it learns only P-256 keys.
	if cert.PublicKey == nil || cert.CAR != sel.verifyCHR || cert.VerifySignature(sel.verifyKey) != nil {
		return statusOnly(schsm.SWWrongData)
	}
	if sel.learned == nil {
		sel.learned = make(map[string]*ecdsa.PublicKey)
	}
	sel.learned[cert.CHR] = cert.PublicKey
	return ok(nil)
}

// externalAuthenticate implements EXTERNAL AUTHENTICATE for the key that
// MSE SET AT selected. Its status words are those of the Pico HSM: 6A86
// for P1-P2 other than 00 00, 6A88 without a selected key and 6700 without
// data. A missing challenge or a signature that does not verify gives 6985.
func (c *Card) externalAuthenticate(cmd schsm.Command) schsm.Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	sel := &c.sess.pka
	pka := c.st.PKA
	if pka == nil || !sel.authSelected || sel.authSlot >= len(pka.Registered) {
		return statusOnly(schsm.SWReferenceNotFound)
	}
	if len(cmd.Data) == 0 {
		return statusOnly(schsm.SWWrongLength)
	}
	if len(c.sess.challenge) == 0 {
		return statusOnly(schsm.SWConditionsNotSatisfied)
	}

	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pka.Registered[sel.authSlot].PublicKey)
	if err != nil {
		c.log.Error("virtual card: registered public key is invalid", "slot", sel.authSlot, "error", err)
		return statusOnly(schsm.SWExecutionError)
	}
	message := schsm.PKAMessage(c.st.Identity.CHR, c.sess.challenge)
	if !schsm.VerifyP256(pub, message, cmd.Data) {
		return statusOnly(schsm.SWConditionsNotSatisfied)
	}

	if sel.authenticated == nil {
		sel.authenticated = make(map[int]bool)
	}
	sel.authenticated[sel.authSlot] = true
	if c.pkaQuorumReached() {
		c.sess.challenge = nil
	}
	return ok(nil)
}

// checkRegisteredKeys rejects a state whose registered keys the card could
// not use.
func checkRegisteredKeys(keys []registeredKey) bool {
	for i, k := range keys {
		if k.CHR == "" {
			return false
		}
		if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), k.PublicKey); err != nil {
			return false
		}
		for _, other := range keys[:i] {
			if other.CHR == k.CHR || bytes.Equal(other.PublicKey, k.PublicKey) {
				return false
			}
		}
	}
	return true
}
