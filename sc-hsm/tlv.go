package schsm

import (
	"errors"
	"fmt"
)

// ErrMalformedTLV is wrapped by every BER-TLV decoding error.
var ErrMalformedTLV = errors.New("malformed BER-TLV")

// berTLV is one decoded BER-TLV data object. Tag keeps the tag bytes as
// written, so 7F21 is 0x7F21 and 5F20 is 0x5F20.
type berTLV struct {
	Tag   uint32
	Value []byte
}

// maxTagBytes bounds multi-byte tags. ISO/IEC 7816-4 tags used by smart
// cards have at most three bytes, and four still fits in the uint32.
const maxTagBytes = 4

// parseBERTLV decodes the first data object of b and returns it with the
// bytes that follow it. Indefinite lengths (80) and lengths beyond four
// bytes are rejected, since card data never uses them.
func parseBERTLV(b []byte) (berTLV, []byte, error) {
	if len(b) == 0 {
		return berTLV{}, nil, fmt.Errorf("%w: no tag", ErrMalformedTLV)
	}

	tag := uint32(b[0])
	i := 1
	if b[0]&0x1F == 0x1F {
		for {
			if i >= len(b) {
				return berTLV{}, nil, fmt.Errorf("%w: tag %X is cut off", ErrMalformedTLV, tag)
			}
			if i >= maxTagBytes {
				return berTLV{}, nil, fmt.Errorf("%w: tag longer than %d bytes", ErrMalformedTLV, maxTagBytes)
			}
			tag = tag<<8 | uint32(b[i])
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}

	if i >= len(b) {
		return berTLV{}, nil, fmt.Errorf("%w: tag %X has no length", ErrMalformedTLV, tag)
	}
	first := b[i]
	i++
	var length uint64
	switch {
	case first < 0x80:
		length = uint64(first)
	case first == 0x80:
		return berTLV{}, nil, fmt.Errorf("%w: tag %X has an indefinite length", ErrMalformedTLV, tag)
	default:
		n := int(first & 0x7F)
		if n > 4 {
			return berTLV{}, nil, fmt.Errorf("%w: tag %X has a %d-byte length field", ErrMalformedTLV, tag, n)
		}
		if i+n > len(b) {
			return berTLV{}, nil, fmt.Errorf("%w: length of tag %X is cut off", ErrMalformedTLV, tag)
		}
		for _, c := range b[i : i+n] {
			length = length<<8 | uint64(c)
		}
		i += n
	}

	if length > uint64(len(b)-i) {
		return berTLV{}, nil, fmt.Errorf("%w: tag %X needs %d value bytes, %d remain", ErrMalformedTLV, tag, length, len(b)-i)
	}
	end := i + int(length)
	return berTLV{Tag: tag, Value: b[i:end]}, b[end:], nil
}

// parseBERTLVs decodes a sequence of data objects that fills b exactly.
func parseBERTLVs(b []byte) ([]berTLV, error) {
	var out []berTLV
	for len(b) > 0 {
		obj, rest, err := parseBERTLV(b)
		if err != nil {
			return nil, err
		}
		out = append(out, obj)
		b = rest
	}
	return out, nil
}

// findBERTLV returns the value of the first data object with the tag in the
// sequence b. It does not descend into constructed objects.
func findBERTLV(b []byte, tag uint32) ([]byte, bool, error) {
	objs, err := parseBERTLVs(b)
	if err != nil {
		return nil, false, err
	}
	for _, o := range objs {
		if o.Tag == tag {
			return o.Value, true, nil
		}
	}
	return nil, false, nil
}

// AppendTLV appends a BER-TLV data object with a one- or two-byte tag to
// dst. Values up to 65535 bytes use the short, 81 or 82 length form.
func AppendTLV(dst []byte, tag uint16, value []byte) []byte {
	if tag > 0xFF {
		dst = append(dst, byte(tag>>8))
	}
	dst = append(dst, byte(tag))
	switch n := len(value); {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n <= 0xFF:
		dst = append(dst, 0x81, byte(n))
	default:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	}
	return append(dst, value...)
}
