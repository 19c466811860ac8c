package virtualcard

import (
	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// PIN references.
const (
	pinRefUser = 0x81
	pinRefSO   = 0x88
)

// Configuration options (INITIALIZE tag 80) that the applet enforces.
const (
	optResetRetryCounter = 0x0001 // RESET RETRY COUNTER allowed
	optTransportPIN      = 0x0002 // the user PIN must be changed before use
	optRRCResetOnly      = 0x0020 // RESET RETRY COUNTER may only reset the counter
)

const (
	minUserPINLen = 6
	maxUserPINLen = 16
)

// triesLeftSW returns 63Cx for x tries left (x <= 15).
func triesLeftSW(tries int) uint16 {
	return uint16(schsm.SW1PINTriesLeft)<<8 | 0xC0 | uint16(tries&0x0F)
}

// presentPIN compares pin with rec and updates the retry counter: a wrong
// PIN costs one try, a correct one restores the maximum. It returns 9000,
// 63Cx or 6983 (blocked, also for the correct PIN once the counter is 0),
// and whether rec changed and must be saved.
func (c *Card) presentPIN(rec *pinRecord, pin []byte) (sw uint16, changed bool) {
	if rec.Retries == 0 {
		return schsm.SWPINBlocked, false
	}
	if !c.st.pinMatches(rec, pin) {
		rec.Retries--
		if rec.Retries == 0 {
			return schsm.SWPINBlocked, true
		}
		return triesLeftSW(rec.Retries), true
	}
	if rec.Retries == rec.MaxRetries {
		return schsm.SWOK, false
	}
	rec.Retries = rec.MaxRetries
	return schsm.SWOK, true
}

// finishPresent saves a counter change and returns sw.
func (c *Card) finishPresent(sw uint16, changed bool) schsm.Response {
	if changed {
		return c.commit(statusOnly(sw))
	}
	return statusOnly(sw)
}

// verify implements VERIFY. Without data it is a status query that spends
// no try.
func (c *Card) verify(cmd schsm.Command) schsm.Response {
	if cmd.P1 != 0 {
		return statusOnly(schsm.SWWrongP1P2)
	}
	switch cmd.P2 {
	case pinRefUser:
		return c.verifyUserPIN(cmd.Data)
	case pinRefSO:
		return c.verifySOPIN(cmd.Data)
	default:
		// This includes the biometric references 85 and 86. OpenSC treats
		// 9000 or 63Cx there as a protected authentication path and would
		// then log in without sending the PIN.
		return statusOnly(schsm.SWReferenceNotFound)
	}
}

func (c *Card) verifyUserPIN(pin []byte) schsm.Response {
	rec := c.st.UserPIN
	if rec == nil {
		return statusOnly(schsm.SWReferenceNotFound)
	}
	// In transport-PIN mode every user VERIFY, query or not, returns 6984
	// until CHANGE REFERENCE DATA sets a PIN of the user's choice.
	if c.st.Options&optTransportPIN != 0 {
		return statusOnly(schsm.SWTransportPIN)
	}

	return c.queryOrPresentPIN(rec, pin, &c.sess.userVerified)
}

// verifySOPIN returns the SO-PIN status, or checks an SO-PIN. The
// SmartCard-HSM has no SO login, so a correct SO-PIN only makes the status
// query return 9000 for the rest of the session, as on the Pico.
func (c *Card) verifySOPIN(pin []byte) schsm.Response {
	rec := c.st.SOPIN
	if rec == nil {
		return statusOnly(schsm.SWReferenceNotFound)
	}

	return c.queryOrPresentPIN(rec, pin, &c.sess.soVerified)
}

// queryOrPresentPIN returns the status of rec for an empty pin: 9000 when
// verified is set, else 6983 or 63Cx. Otherwise it presents pin and sets
// verified to whether pin was correct.
func (c *Card) queryOrPresentPIN(rec *pinRecord, pin []byte, verified *bool) schsm.Response {
	if len(pin) == 0 {
		switch {
		case *verified:
			return statusOnly(schsm.SWOK)
		case rec.Retries == 0:
			return statusOnly(schsm.SWPINBlocked)
		default:
			return statusOnly(triesLeftSW(rec.Retries))
		}
	}

	sw, changed := c.presentPIN(rec, pin)
	*verified = sw == schsm.SWOK
	return c.finishPresent(sw, changed)
}

// changeReferenceData implements CHANGE REFERENCE DATA: data is the old
// PIN followed by the new one. The user PIN is split at the stored length of
// the old PIN, the SO-PIN at 8 bytes.
func (c *Card) changeReferenceData(cmd schsm.Command) schsm.Response {
	if cmd.P1 != 0 {
		return statusOnly(schsm.SWWrongP1P2)
	}
	switch cmd.P2 {
	case pinRefUser:
		return c.changeUserPIN(cmd.Data)
	case pinRefSO:
		return c.changeSOPIN(cmd.Data)
	default:
		return statusOnly(schsm.SWReferenceNotFound)
	}
}

func (c *Card) changeUserPIN(data []byte) schsm.Response {
	rec := c.st.UserPIN
	if rec == nil {
		return statusOnly(schsm.SWReferenceNotFound)
	}
	if rec.Retries == 0 {
		return statusOnly(schsm.SWPINBlocked)
	}
	newLen := len(data) - rec.Length
	if newLen < minUserPINLen || newLen > maxUserPINLen {
		return statusOnly(schsm.SWWrongLength)
	}

	sw, changed := c.presentPIN(rec, data[:rec.Length])
	if sw != schsm.SWOK {
		c.sess.userVerified = false
		return c.finishPresent(sw, changed)
	}

	c.st.UserPIN = c.st.newPINRecord(data[rec.Length:], rec.MaxRetries)
	// CardContact: changing the user PIN ends transport-PIN mode. The Pico
	// keeps option 0x0002 and goes on returning 6984.
	c.st.Options &^= optTransportPIN
	c.sess.userVerified = true
	return c.commit(ok(nil))
}

func (c *Card) changeSOPIN(data []byte) schsm.Response {
	rec := c.st.SOPIN
	if rec == nil {
		return statusOnly(schsm.SWReferenceNotFound)
	}
	if len(data) != 2*soPINLen {
		return statusOnly(schsm.SWWrongLength)
	}

	sw, changed := c.presentPIN(rec, data[:soPINLen])
	if sw != schsm.SWOK {
		c.sess.soVerified = false
		return c.finishPresent(sw, changed)
	}

	c.st.SOPIN = c.st.newPINRecord(data[soPINLen:], soPINMaxRetries)
	c.sess.soVerified = true
	return c.commit(ok(nil))
}

// resetRetryCounter implements RESET RETRY COUNTER of the user PIN with the
// SO-PIN: P1 00 carries SO-PIN || new PIN, P1 01 the SO-PIN only.
func (c *Card) resetRetryCounter(cmd schsm.Command) schsm.Response {
	if cmd.P2 != pinRefUser {
		return statusOnly(schsm.SWReferenceNotFound)
	}
	if cmd.P1 != 0x00 && cmd.P1 != 0x01 {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	user, so := c.st.UserPIN, c.st.SOPIN
	if user == nil || so == nil {
		return statusOnly(schsm.SWReferenceNotFound)
	}
	if c.st.Options&optResetRetryCounter == 0 {
		return statusOnly(schsm.SWCommandNotAllowed)
	}

	resetOnly := c.st.Options&optRRCResetOnly != 0
	var newPIN []byte
	switch cmd.P1 {
	case 0x00:
		// CardContact: option 0x0020 means the SO-PIN may only reset the
		// counter, so a new PIN is rejected. The Pico accepts it.
		if resetOnly {
			return statusOnly(schsm.SWCommandNotAllowed)
		}
		newPIN = cmd.Data[min(soPINLen, len(cmd.Data)):]
		if len(cmd.Data) <= soPINLen || len(newPIN) < minUserPINLen || len(newPIN) > maxUserPINLen {
			return statusOnly(schsm.SWWrongLength)
		}
	case 0x01:
		if !resetOnly {
			return statusOnly(schsm.SWCommandNotAllowed)
		}
		if len(cmd.Data) != soPINLen {
			return statusOnly(schsm.SWWrongLength)
		}
	}

	sw, changed := c.presentPIN(so, cmd.Data[:soPINLen])
	if sw != schsm.SWOK {
		c.sess.soVerified = false
		return c.finishPresent(sw, changed)
	}
	c.sess.soVerified = true

	if newPIN != nil {
		c.st.UserPIN = c.st.newPINRecord(newPIN, user.MaxRetries)
	} else {
		user.Retries = user.MaxRetries
	}
	return c.commit(ok(nil))
}
