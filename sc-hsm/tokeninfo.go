package schsm

import (
	"fmt"
	"math/bits"
)

// TokenFlags are the tokenflags of a PKCS#15 TokenInfo, a named BIT STRING.
// Bit 0 is the first bit of the string.
type TokenFlags uint8

const (
	TokenReadOnly      TokenFlags = 1 << iota // readonly(0)
	TokenLoginRequired                        // loginRequired(1)
	TokenPRNGeneration                        // prnGeneration(2)
	TokenEIDCompliant                         // eidCompliant(3)
)

// TokenInfo holds the fields of a PKCS#15 TokenInfo that a SmartCard-HSM
// host writes to EF.TokenInfo (2F03). OpenSC reads the token label from
// there. Empty fields are left out of the encoding.
type TokenInfo struct {
	SerialNumber   []byte
	ManufacturerID string
	Label          string
	Flags          TokenFlags
}

// DER tags of the TokenInfo fields.
const (
	tagSequence    = 0x30
	tagInteger     = 0x02
	tagBitString   = 0x03
	tagOctetString = 0x04
	tagUTF8String  = 0x0C
	tagTokenLabel  = 0x80 // label [0] IMPLICIT Label, a UTF8String
)

// LabelTokenInfo returns the TokenInfo that OpenSC's sc-hsm-tool
// --initialize --label writes: only the label and the flag prnGeneration.
func LabelTokenInfo(label string) TokenInfo {
	return TokenInfo{Label: label, Flags: TokenPRNGeneration}
}

// Encode returns the DER encoding of ti as
//
//	TokenInfo ::= SEQUENCE {
//	    version        INTEGER (v1 = 0),
//	    serialNumber   OCTET STRING OPTIONAL,
//	    manufacturerID UTF8String OPTIONAL,
//	    label          [0] IMPLICIT UTF8String OPTIONAL,
//	    tokenflags     BIT STRING }
//
// the same bytes that OpenSC pkcs15.c sc_pkcs15_encode_tokeninfo produces
// for these fields. For the label "Test HSM" with prnGeneration it is
// 30 11 02 01 00 80 08 "Test HSM" 03 02 05 20. The one difference: without
// flags, Encode writes an empty BIT STRING (03 01 00), where OpenSC leaves
// out tokenflags although the field is not optional.
func (ti TokenInfo) Encode() []byte {
	var body []byte
	body = AppendTLV(body, tagInteger, []byte{0x00})
	if len(ti.SerialNumber) > 0 {
		body = AppendTLV(body, tagOctetString, ti.SerialNumber)
	}
	if ti.ManufacturerID != "" {
		body = AppendTLV(body, tagUTF8String, []byte(ti.ManufacturerID))
	}
	if ti.Label != "" {
		body = AppendTLV(body, tagTokenLabel, []byte(ti.Label))
	}
	body = AppendTLV(body, tagBitString, encodeNamedBits(ti.Flags))
	return AppendTLV(nil, tagSequence, body)
}

// encodeNamedBits returns the content of a DER BIT STRING with a named bit
// list: the count of unused bits, then the bits with bit 0 as the most
// significant bit of the first byte. DER drops trailing zero bits, so no
// flags encode as the single byte 00.
func encodeNamedBits(flags TokenFlags) []byte {
	used := bits.Len8(uint8(flags))
	if used == 0 {
		return []byte{0x00}
	}
	// At most 8 named bits exist, so one content byte holds them all.
	return []byte{byte(8 - used), bits.Reverse8(uint8(flags))}
}

// WriteTokenInfo encodes ti and writes it to EF.TokenInfo (2F03) from
// offset 0. The user PIN must be verified in the session. A longer
// EF.TokenInfo left from before would keep its trailing bytes, but
// INITIALIZE DEVICE deletes the file, so right after it the write is
// complete.
func (c *Card) WriteTokenInfo(ti TokenInfo) error {
	if err := c.UpdateBinary(FIDTokenInfo, 0, ti.Encode()); err != nil {
		return fmt.Errorf("writing EF.TokenInfo: %w", err)
	}
	return nil
}
