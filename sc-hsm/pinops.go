package schsm

import (
	"errors"
	"fmt"
)

// soPINLength is the size of the SO-PIN in CHANGE REFERENCE DATA and RESET
// RETRY COUNTER.
const soPINLength = len(SOPIN{})

// ChangePIN replaces PIN ref (PINRefUser or PINRefSOPIN) with CHANGE
// REFERENCE DATA (00 24 00 ref, data old PIN || new PIN). For the SO-PIN
// both values must have 8 bytes. The card splits the data at the stored
// length of the old PIN, so a wrong old PIN of another length fails as a
// wrong PIN or as a wrong length.
//
// Changing a transport PIN ends transport-PIN mode on a SmartCard-HSM, and
// the card then counts the user PIN as verified in the session. A wrong old
// PIN returns a *WrongPINError with the tries left; a blocked PIN matches
// ErrPINBlocked. Errors never contain a PIN.
func (c *Card) ChangePIN(ref byte, oldPIN, newPIN []byte) error {
	switch {
	case ref != PINRefUser && ref != PINRefSOPIN:
		return fmt.Errorf("changing PIN %02X: unknown PIN reference; use %02X (user PIN) or %02X (SO-PIN)", ref, PINRefUser, PINRefSOPIN)
	case len(oldPIN) == 0 || len(newPIN) == 0:
		return fmt.Errorf("changing PIN %02X: the old and the new PIN must not be empty", ref)
	case ref == PINRefSOPIN && (len(oldPIN) != soPINLength || len(newPIN) != soPINLength):
		return fmt.Errorf("changing the SO-PIN: the old and the new SO-PIN need %d bytes each, got %d and %d", soPINLength, len(oldPIN), len(newPIN))
	}

	data := make([]byte, 0, len(oldPIN)+len(newPIN))
	data = append(data, oldPIN...)
	data = append(data, newPIN...)
	defer clear(data)

	cmd := Command{CLA: claISO, INS: insChangeReference, P1: 0x00, P2: ref, Data: data}
	if _, err := c.run(cmd); err != nil {
		return fmt.Errorf("changing PIN %02X: %w", ref, err)
	}
	return nil
}

// Values of P1 of RESET RETRY COUNTER.
const (
	rrcNewPIN      byte = 0x00 // data: SO-PIN || new user PIN
	rrcCounterOnly byte = 0x01 // data: SO-PIN
)

// ResetRetryCounter unblocks the user PIN with the SO-PIN through RESET
// RETRY COUNTER. With newPIN it sets that PIN and resets the counter
// (00 2C 00 81, data SO-PIN || new PIN); with a nil newPIN it only resets
// the counter (00 2C 01 81, data SO-PIN).
//
// The token must have been initialized with option 0001. A SmartCard-HSM
// initialized with option 0020 accepts only the counter reset, and without
// option 0020 only a new PIN; the virtual card and the Pico HSM return SW
// 6986 (ErrCommandNotAllowed) for a mode the token does not allow. A wrong
// SO-PIN returns a *WrongPINError with the SO-PIN tries left.
func (c *Card) ResetRetryCounter(soPIN SOPIN, newPIN []byte) error {
	p1 := rrcCounterOnly
	if newPIN != nil {
		if len(newPIN) < MinUserPINLength || len(newPIN) > MaxUserPINLength {
			return fmt.Errorf("resetting the user PIN: the new PIN has %d bytes; it needs %d to %d", len(newPIN), MinUserPINLength, MaxUserPINLength)
		}
		p1 = rrcNewPIN
	}

	data := make([]byte, 0, soPINLength+len(newPIN))
	data = append(data, soPIN[:]...)
	data = append(data, newPIN...)
	defer clear(data)

	cmd := Command{CLA: claISO, INS: insResetRetryCounter, P1: p1, P2: PINRefUser, Data: data}
	if _, err := c.run(cmd); err != nil {
		return fmt.Errorf("resetting the user PIN retry counter: %w", err)
	}
	return nil
}

// Prefixes (high byte of the file identifier) of the objects that ENUMERATE
// OBJECTS lists.
const (
	prefixPrivateKeyInfo byte   = 0xC4 // PKCS#15 private key description
	prefixCertInfo       byte   = 0xC8 // certificate description
	prefixDataInfo       byte   = 0xC9 // data object description
	prefixCACertificate  byte   = 0xCA // CA certificate
	prefixKey            byte   = 0xCC // key; CC00 is the device authentication key
	prefixPINProtected   byte   = 0xCD // data object readable after PIN verification
	prefixEECertificate  byte   = 0xCE // certificate, or the request stored at key generation
	prefixReadableData   byte   = 0xCF // data object readable without PIN
	fidDeviceKey         uint16 = 0xCC00
)

// ObjectCounts is the number of keys, certificates and data objects on a
// device, as counted from the file identifiers of ENUMERATE OBJECTS.
type ObjectCounts struct {
	Keys         int `json:"keys"`         // CC files except the device key CC00
	Certificates int `json:"certificates"` // CA files, and distinct identifiers of C8 and CE files
	DataObjects  int `json:"data_objects"` // distinct identifiers of C9, CD and CF files
}

// Total returns the number of objects of all kinds.
func (o ObjectCounts) Total() int { return o.Keys + o.Certificates + o.DataObjects }

// CountObjects counts the objects behind the file identifiers that
// ENUMERATE OBJECTS returned. A certificate is file CE xx with its
// description in C8 xx, and a data object is file CF xx or CD xx with its
// description in C9 xx, so each identifier counts once per kind. Other
// prefixes, such as C4 key descriptions and CB key meta data, belong to a
// key and are not counted.
func CountObjects(fids []uint16) ObjectCounts {
	var counts ObjectCounts
	certIDs := map[byte]bool{}
	dataIDs := map[byte]bool{}
	for _, fid := range fids {
		prefix, id := byte(fid>>8), byte(fid)
		switch prefix {
		case prefixKey:
			if fid != fidDeviceKey {
				counts.Keys++
			}
		case prefixCACertificate:
			counts.Certificates++
		case prefixCertInfo, prefixEECertificate:
			certIDs[id] = true
		case prefixDataInfo, prefixPINProtected, prefixReadableData:
			dataIDs[id] = true
		}
	}
	counts.Certificates += len(certIDs)
	counts.DataObjects = len(dataIDs)
	return counts
}

// CountObjects enumerates the objects of the device and counts them.
// ENUMERATE OBJECTS needs no PIN.
func (c *Card) CountObjects() (ObjectCounts, error) {
	fids, err := c.EnumerateObjects()
	if err != nil {
		return ObjectCounts{}, err
	}
	return CountObjects(fids), nil
}

// IsPINBlocked reports whether err is SW 63C0 or 6983, which the card returns for a blocked PIN.
func IsPINBlocked(err error) bool {
	var wrong *WrongPINError
	if errors.As(err, &wrong) && wrong.TriesLeft == 0 {
		return true
	}
	return errors.Is(err, ErrPINBlocked)
}
