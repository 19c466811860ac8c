package virtualcard

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// File identifiers and object prefixes of the SmartCard-HSM file system.
const (
	fidEFDir      = 0x2F00
	fidCDevAut    = 0x2F02
	fidTokenInfo  = 0x2F03
	fidDeviceKey  = 0xCC00
	prefixKey     = 0xCC
	maxFileSize   = 0xFFFF // the FCP size field has 2 bytes
	tagOffset     = 0x54
	tagData       = 0x53
	lifeCycleOper = 0x05 // operational, activated
)

// objectPrefixes are the prefixes of data-object files that a host may
// create: C4 private-key descriptions, C8 certificate descriptions, C9
// data-object descriptions, CA CA certificates, CB key meta data, CD
// PIN-protected data objects, CE certificates and CV requests, CF readable
// data objects.
var objectPrefixes = []byte{0xC4, 0xC8, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}

const prefixPINProtected = 0xCD

// writableFID reports whether UPDATE BINARY may create or change the file.
func writableFID(fid uint16) bool {
	return fid == fidTokenInfo || slices.Contains(objectPrefixes, byte(fid>>8))
}

// fileContent returns the content of a file that exists.
//
// CardContact: EF.TokenInfo exists only once a host has written it (OpenSC
// writes the token label there after INITIALIZE). The Pico generates it.
func (c *Card) fileContent(fid uint16) ([]byte, bool) {
	switch fid {
	case fidEFDir:
		return efDir(), true
	case fidCDevAut:
		return c.st.Identity.Certificate, true
	}
	if !writableFID(fid) {
		return nil, false
	}
	content, found := c.st.Files[fileKey(fid)]
	return content, found
}

// efDir returns the EF.DIR application template with the AID and a label.
func efDir() []byte {
	return encodeTLV(0x61, concat(encodeTLV(0x4F, appletAID), encodeTLV(0x50, []byte("SmartCard-HSM"))))
}

// appletFCP returns the FCP of the applet. Tag 85 contains the option bytes,
// the applet type and the version. The Pico copies the AID into tag 84 one
// byte late; this card returns it correctly.
func (c *Card) appletFCP() []byte {
	opts := c.st.Options
	return encodeTLV(0x62, concat(
		encodeTLV(0x81, []byte{0x00, 0x00}),
		encodeTLV(0x82, []byte{0x01}),
		encodeTLV(0x83, []byte{0x00, 0x00}),
		encodeTLV(0x84, appletAID),
		encodeTLV(0x8A, []byte{lifeCycleOper}),
		encodeTLV(0x85, []byte{byte(opts >> 8), byte(opts), appletType, versionMajor, versionMinor}),
	))
}

// efFCP returns the FCP of a transparent EF. Tag 81 carries the size, which
// OpenSC uses to size its read buffers.
func efFCP(fid uint16, size int) []byte {
	return encodeTLV(0x62, concat(
		encodeTLV(0x81, []byte{byte(size >> 8), byte(size)}),
		encodeTLV(0x82, []byte{0x01}),
		encodeTLV(0x83, []byte{byte(fid >> 8), byte(fid)}),
		encodeTLV(0x8A, []byte{lifeCycleOper}),
	))
}

func (c *Card) selectFile(cmd schsm.Command) schsm.Response {
	switch cmd.P1 {
	case 0x04:
		return c.selectApplet(cmd)
	case 0x00:
		if !c.sess.selected {
			return statusOnly(schsm.SWFileNotFound)
		}
		return c.selectEF(cmd)
	default:
		return statusOnly(schsm.SWIncorrectP1P2)
	}
}

// selectApplet selects by AID. A foreign AID gets 6A82 and leaves the
// current selection, so OpenSC drivers that probe for their own applets
// do not disturb a session.
func (c *Card) selectApplet(cmd schsm.Command) schsm.Response {
	if !bytes.Equal(cmd.Data, appletAID) {
		return statusOnly(schsm.SWFileNotFound)
	}
	// P2 00 and 04 return the FCP. The Pico accepts P2 & FC in {00, 04}
	// and rejects 0C (no response data) with 6A86.
	if cmd.P2&0xFC != 0x00 && cmd.P2&0xFC != 0x04 {
		return statusOnly(schsm.SWIncorrectP1P2)
	}

	// Selecting the applet ends the session: verified PINs, the current
	// EF, the challenge and any pending response are dropped.
	c.sess = session{selected: true}
	return ok(c.appletFCP())
}

func (c *Card) selectEF(cmd schsm.Command) schsm.Response {
	if len(cmd.Data) != 2 {
		return statusOnly(schsm.SWWrongLength)
	}
	if cmd.P2 != 0x00 && cmd.P2 != 0x04 && cmd.P2 != 0x0C {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	fid := uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
	content, found := c.fileContent(fid)
	if !found {
		return statusOnly(schsm.SWFileNotFound)
	}

	c.sess.currentEF, c.sess.hasCurrentEF = fid, true
	if cmd.P2 == 0x0C {
		return ok(nil)
	}
	return ok(efFCP(fid, len(content)))
}

// targetEF resolves P1P2 of READ BINARY and UPDATE BINARY: 0000 is the
// current EF, anything else a file identifier that becomes the current EF.
func (c *Card) targetEF(cmd schsm.Command) (uint16, bool) {
	fid := uint16(cmd.P1)<<8 | uint16(cmd.P2)
	if fid == 0 {
		return c.sess.currentEF, c.sess.hasCurrentEF
	}
	return fid, true
}

// readBinary implements READ BINARY with odd INS: data field 54 02 <offset>,
// response up to Ne bytes from the offset.
func (c *Card) readBinary(cmd schsm.Command) schsm.Response {
	fid, found := c.targetEF(cmd)
	if !found {
		return statusOnly(schsm.SWCommandNotAllowed) // no current EF
	}
	offset, rest, valid := parseOffset(cmd.Data)
	if !valid || len(rest) != 0 {
		return statusOnly(schsm.SWWrongData)
	}
	content, found := c.fileContent(fid)
	if !found {
		return statusOnly(schsm.SWFileNotFound)
	}
	if byte(fid>>8) == prefixPINProtected && !c.accessGranted() {
		return statusOnly(schsm.SWSecurityStatus)
	}
	c.sess.currentEF, c.sess.hasCurrentEF = fid, true

	// Like the Pico, a read that reaches the end returns the bytes
	// available with 9000, and 6282 only when nothing is left to read.
	if offset >= len(content) {
		return statusOnly(schsm.SWEndOfFile)
	}
	n := len(content) - offset
	if cmd.Ne > 0 {
		n = min(n, cmd.Ne)
	}
	return ok(append([]byte(nil), content[offset:offset+n]...))
}

// updateBinary implements UPDATE BINARY with odd INS: data field
// 54 02 <offset> 53 <length> <data>. A write past the end extends the file,
// with zero bytes filling any gap. It needs the user PIN.
func (c *Card) updateBinary(cmd schsm.Command) schsm.Response {
	if !c.accessGranted() {
		return statusOnly(schsm.SWSecurityStatus)
	}
	fid, found := c.targetEF(cmd)
	if !found {
		return statusOnly(schsm.SWCommandNotAllowed)
	}
	offset, rest, valid := parseOffset(cmd.Data)
	if !valid {
		return statusOnly(schsm.SWWrongData)
	}
	tag, data, rest, valid := parseTLV(rest)
	if !valid || tag != tagData || len(rest) != 0 {
		return statusOnly(schsm.SWWrongData)
	}
	if !writableFID(fid) {
		// EF.DIR, EF.C_DevAut and key objects are not writable.
		return statusOnly(schsm.SWCommandNotAllowed)
	}
	end := offset + len(data)
	if end > maxFileSize {
		return statusOnly(schsm.SWNoFreeSlot) // 6A84: not enough memory space in the file
	}

	key := fileKey(fid)
	content := c.st.Files[key]
	if end > len(content) {
		content = append(content, make([]byte, end-len(content))...)
	}
	copy(content[offset:], data)
	if c.st.Files == nil {
		c.st.Files = make(map[string][]byte)
	}
	c.st.Files[key] = content
	c.sess.currentEF, c.sess.hasCurrentEF = fid, true
	return c.commit(ok(nil))
}

// deleteFile implements DELETE FILE (00 E4 02 00 02 <FID>). It needs the
// user PIN. The device key CC00, EF.C_DevAut and EF.DIR cannot be deleted.
func (c *Card) deleteFile(cmd schsm.Command) schsm.Response {
	if !c.accessGranted() {
		return statusOnly(schsm.SWSecurityStatus)
	}
	var fid uint16
	switch {
	case len(cmd.Data) == 2:
		fid = uint16(cmd.Data[0])<<8 | uint16(cmd.Data[1])
	case len(cmd.Data) == 0 && (cmd.P1 != 0 || cmd.P2 != 0):
		fid = uint16(cmd.P1)<<8 | uint16(cmd.P2)
	default:
		return statusOnly(schsm.SWWrongLength)
	}
	if fid == fidDeviceKey || fid == fidCDevAut || fid == fidEFDir {
		return statusOnly(schsm.SWCommandNotAllowed)
	}
	key := fileKey(fid)
	if _, found := c.st.Files[key]; !found || !writableFID(fid) {
		return statusOnly(schsm.SWFileNotFound)
	}

	delete(c.st.Files, key)
	if c.sess.hasCurrentEF && c.sess.currentEF == fid {
		c.sess.hasCurrentEF = false
	}
	return c.commit(ok(nil))
}

// enumerateObjects lists the device key CC00 followed by every stored data
// object, 2 bytes per file identifier, in ascending order.
//
// CardContact: a fresh card lists CC00 only. The Pico also lists C400, a
// description of the device key that OpenSC skips anyway.
func (c *Card) enumerateObjects(cmd schsm.Command) schsm.Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	var fids []uint16
	for key := range c.st.Files {
		fid, valid := parseFileKey(key)
		if valid && fid != fidTokenInfo {
			fids = append(fids, fid)
		}
	}
	slices.Sort(fids)

	out := []byte{byte(fidDeviceKey >> 8), byte(fidDeviceKey & 0xFF)}
	for _, fid := range fids {
		out = append(out, byte(fid>>8), byte(fid))
	}
	return ok(out)
}

func parseFileKey(key string) (uint16, bool) {
	if len(key) != 4 || strings.ToUpper(key) != key {
		return 0, false
	}
	fid, err := strconv.ParseUint(key, 16, 16)
	return uint16(fid), err == nil
}

// parseOffset reads the leading 54 02 <offset> of a READ/UPDATE BINARY data
// field.
func parseOffset(data []byte) (offset int, rest []byte, valid bool) {
	tag, value, rest, valid := parseTLV(data)
	if !valid || tag != tagOffset || len(value) != 2 {
		return 0, nil, false
	}
	return int(value[0])<<8 | int(value[1]), rest, true
}

// parseTLV reads one BER-TLV with a one-byte tag and a length in short form
// or in the long forms 81 xx and 82 xx xx.
func parseTLV(b []byte) (tag byte, value, rest []byte, valid bool) {
	if len(b) < 2 {
		return 0, nil, nil, false
	}
	tag = b[0]
	n, lenBytes := int(b[1]), 1
	switch {
	case b[1] < 0x80:
	case b[1] == 0x81 && len(b) >= 3:
		n, lenBytes = int(b[2]), 2
	case b[1] == 0x82 && len(b) >= 4:
		n, lenBytes = int(b[2])<<8|int(b[3]), 3
	default:
		return 0, nil, nil, false
	}
	start := 1 + lenBytes
	if len(b)-start < n {
		return 0, nil, nil, false
	}
	return tag, b[start : start+n], b[start+n:], true
}
