package schsm

import (
	"errors"
	"fmt"
)

// File identifiers of the SmartCard-HSM.
const (
	FIDDevAut    uint16 = 0x2F02 // EF.C_DevAut: device CV certificate, then the issuer CA's
	FIDTokenInfo uint16 = 0x2F03 // EF.TokenInfo
)

// Limits of READ BINARY. A short Le works with every reader, and the
// 2-byte offset of tag 54 bounds the file size.
const (
	readChunk   = maxShortNe
	maxFileSize = 0xFFFF
)

// Data objects of the odd READ BINARY and UPDATE BINARY. Tag 54 carries the
// 2-byte file offset, and tag 53 carries the bytes to write.
const (
	tagOffset = 0x54
	tagData   = 0x53
)

// insUpdateBinaryOdd is UPDATE BINARY with odd INS, whose P1-P2 name the EF.
const insUpdateBinaryOdd byte = 0xD7

// writeChunk is the largest number of bytes one UPDATE BINARY writes, so
// that the command stays a short APDU, which every reader supports. The
// 255-byte Lc then fits 4 bytes of tag 54, at most 3 bytes of tag 53 and
// its length, and the chunk. OpenSC card-sc-hsm.c also writes chunks of the
// max send size minus 8.
const writeChunk = maxShortLc - 8

// EnumerateObjects lists the file identifiers of keys, certificates and data
// objects (80 58 00 00 with an extended Le of 65536). If the extended APDU
// fails to transmit, it retries with a short Le of 256, as OpenSC does. The
// dummy identifier 0000 that a Pico HSM on USB appends is dropped.
func (c *Card) EnumerateObjects() ([]uint16, error) {
	cmd := Command{CLA: claProprietary, INS: insEnumerateObjects, Ne: maxExtNe}
	resp, err := c.transmit(cmd, true)
	if err != nil {
		cmd.Ne = maxShortNe
		resp, err = c.transmit(cmd, false)
	}
	if err == nil {
		err = CheckSW(resp.SW)
	}
	if err != nil {
		return nil, fmt.Errorf("enumerating objects: %w", err)
	}
	if len(resp.Data)%2 != 0 {
		return nil, fmt.Errorf("enumerating objects: response has an odd length of %d bytes", len(resp.Data))
	}

	fids := make([]uint16, 0, len(resp.Data)/2)
	for i := 0; i < len(resp.Data); i += 2 {
		fid := uint16(resp.Data[i])<<8 | uint16(resp.Data[i+1])
		if fid == 0 {
			continue
		}
		fids = append(fids, fid)
	}
	return fids, nil
}

// selectFile selects the EF fid (00 A4 00 00 02 fid 00) and returns its FCP.
func (c *Card) selectFile(fid uint16) ([]byte, error) {
	cmd := Command{CLA: claISO, INS: insSelect, P1: 0x00, P2: 0x00, Data: []byte{byte(fid >> 8), byte(fid)}, Ne: maxShortNe}
	return c.run(cmd)
}

// ReadFile selects EF fid and reads it whole with the odd READ BINARY
// (00 B1 00 00 with data 54 02 offset). It reads until the card returns
// fewer bytes than requested, no bytes or SW 6282, or until the size from
// the FCP is reached.
func (c *Card) ReadFile(fid uint16) ([]byte, error) {
	fcp, err := c.selectFile(fid)
	if err != nil {
		return nil, fmt.Errorf("selecting file %04X: %w", fid, err)
	}
	size, sized, err := parseFileSize(fcp)
	if err != nil {
		sized = false // The size only saves one READ BINARY, so an unexpected FCP is no reason to fail.
	}

	var content []byte
	for {
		if sized && len(content) >= size {
			break
		}
		if len(content) >= maxFileSize {
			return nil, fmt.Errorf("reading file %04X: more than %d bytes", fid, maxFileSize)
		}
		offset := len(content)
		cmd := Command{
			CLA:  claISO,
			INS:  insReadBinaryOdd,
			Data: []byte{tagOffset, 0x02, byte(offset >> 8), byte(offset)},
			Ne:   readChunk,
		}
		resp, err := c.Transmit(cmd)
		if err != nil {
			return nil, fmt.Errorf("reading file %04X at offset %d: %w", fid, offset, err)
		}
		if resp.SW == SWEndOfFile {
			content = append(content, resp.Data...)
			break
		}
		if err := CheckSW(resp.SW); err != nil {
			return nil, fmt.Errorf("reading file %04X at offset %d: %w", fid, offset, err)
		}
		content = append(content, resp.Data...)
		if len(resp.Data) < readChunk {
			break
		}
	}
	return content, nil
}

// UpdateBinary writes data into EF fid from offset on with the odd UPDATE
// BINARY (00 D7 fid with data 54 02 offset 53 length data), in chunks of at
// most 247 bytes. Empty data is sent as one command with 53 00, which
// creates an empty file. Bytes already in the file beyond the end of data
// are kept. The card requires the user PIN to be verified in the session.
func (c *Card) UpdateBinary(fid uint16, offset int, data []byte) error {
	if offset < 0 || offset+len(data) > maxFileSize {
		return fmt.Errorf("writing file %04X: %d bytes at offset %d exceed the maximum file size of %d bytes",
			fid, len(data), offset, maxFileSize)
	}

	for {
		n := min(len(data), writeChunk)
		body := []byte{tagOffset, 0x02, byte(offset >> 8), byte(offset)}
		body = AppendTLV(body, tagData, data[:n])
		cmd := Command{CLA: claISO, INS: insUpdateBinaryOdd, P1: byte(fid >> 8), P2: byte(fid), Data: body}
		if _, err := c.run(cmd); err != nil {
			return fmt.Errorf("writing file %04X at offset %d: %w", fid, offset, err)
		}

		data = data[n:]
		offset += n
		if len(data) == 0 {
			return nil
		}
	}
}

// ErrNoDeviceCertificate is returned by DeviceCHR when EF.C_DevAut contains no
// CV certificate.
var ErrNoDeviceCertificate = errors.New("no device certificate in EF.C_DevAut")

// DeviceCHR reads EF.C_DevAut (2F02) and returns the certificate holder
// reference (CHR) of its first CV certificate, the device certificate.
func (c *Card) DeviceCHR() (string, error) {
	content, err := c.ReadFile(FIDDevAut)
	if err != nil {
		return "", fmt.Errorf("reading device certificate: %w", err)
	}
	if len(content) == 0 {
		return "", fmt.Errorf("reading device certificate: %w", ErrNoDeviceCertificate)
	}
	chr, err := parseCVCHolderReference(content)
	if err != nil {
		return "", fmt.Errorf("reading device certificate: %w", err)
	}
	return chr, nil
}
