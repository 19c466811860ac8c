package pwshare

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/internal/atomicfile"
)

// maxPrintoutSize bounds the input of Parse and ReadShareFile. A
// printout of 255 shares is about 30 KiB.
const maxPrintoutSize = 256 << 10

// ErrMalformed means a printout line that has a known label but an
// invalid value, or fields in an order that does not form shares.
var ErrMalformed = errors.New("malformed share printout")

// Format returns the three lines sc-hsm-tool prints for one custodian
// (OpenSC generate_pwd_shares), with each line ending in a newline:
//
//	Prime       : <p as lowercase hex bytes separated by ':'>
//	Share ID    : <x in decimal>
//	Share value : <y as lowercase hex bytes separated by ':'>
//
// Numbers are minimal big-endian bytes, so a value below 2^56 has fewer
// than 8 bytes, and a value of zero prints as nothing.
func Format(s Share) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Prime       : %s\n", hexBytes(s.Prime))
	fmt.Fprintf(&b, "Share ID    : %d\n", s.ID)
	fmt.Fprintf(&b, "Share value : %s\n", hexBytes(s.Value))
	return b.String()
}

func hexBytes(n *big.Int) string {
	if n == nil {
		return ""
	}
	raw := n.Bytes()
	parts := make([]string, len(raw))
	for i, b := range raw {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(parts, ":")
}

// field labels of a printout, lower case.
const (
	labelPrime = "prime"
	labelID    = "share id"
	labelValue = "share value"
)

// Parse reads shares from a printout of sc-hsm-tool or of Format: one
// custodian's screen, a whole session pasted or saved to a file, or a
// share file of WriteShareFile. It looks for lines of the form
// "LABEL : VALUE" with the labels "Prime", "Share ID" and "Share value",
// in any case and with any spacing, and ignores every other line.
//
// Hex values may separate bytes with ':' or spaces, or be one run of hex
// digits. The share ID is decimal, as sc-hsm-tool prints it. Each share ID
// starts a share, which its share value completes. All prime lines must
// agree, and apply to every share. Errors name the line and never contain
// share values.
func Parse(r io.Reader) ([]Share, error) {
	var (
		shares    []Share
		prime     *big.Int
		primeLine int
		pending   *Share // an ID line waiting for its value
		idLine    int
	)
	data, err := io.ReadAll(io.LimitReader(r, maxPrintoutSize+1))
	defer clear(data)
	if err != nil {
		return nil, fmt.Errorf("parsing share printout: %w", err)
	}
	if len(data) > maxPrintoutSize {
		return nil, fmt.Errorf("parsing share printout: %w: longer than %d bytes", ErrMalformed, maxPrintoutSize)
	}

	var valueLines []int
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 0, 4096), maxPrintoutSize)
	line := 0
	for scanner.Scan() {
		line++
		label, value, ok := splitField(scanner.Text())
		if !ok {
			continue
		}
		switch label {
		case labelPrime:
			p, err := parseHex(value)
			if err == nil && p.Sign() == 0 {
				err = errors.New("the prime is zero")
			}
			if err != nil {
				return nil, lineError(line, "prime", err)
			}
			if prime != nil && prime.Cmp(p) != 0 {
				return nil, fmt.Errorf("parsing share printout: line %d: %w: the prime differs from the one on line %d", line, ErrPrimeMismatch, primeLine)
			}
			prime, primeLine = p, line
		case labelID:
			if pending != nil {
				return nil, fmt.Errorf("parsing share printout: line %d: %w: share ID %d on line %d has no share value", line, ErrMalformed, pending.ID, idLine)
			}
			id, err := strconv.ParseUint(value, 10, 8)
			if err != nil || id == 0 {
				return nil, lineError(line, "share ID", errors.New("expected a decimal number from 1 to 255, as sc-hsm-tool prints it"))
			}
			pending, idLine = &Share{ID: int(id)}, line
		case labelValue:
			if pending == nil {
				return nil, fmt.Errorf("parsing share printout: line %d: %w: share value without a share ID line before it", line, ErrMalformed)
			}
			y, err := parseHex(value)
			if err != nil {
				return nil, lineError(line, "share value", err)
			}
			pending.Value = y
			shares = append(shares, *pending)
			valueLines = append(valueLines, line)
			pending = nil
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("parsing share printout: line %d: %w", line+1, err)
	}
	if pending != nil {
		return nil, fmt.Errorf("parsing share printout: %w: share ID %d on line %d has no share value", ErrMalformed, pending.ID, idLine)
	}
	if len(shares) == 0 {
		return nil, fmt.Errorf("parsing share printout: %w: no \"Share ID\" and \"Share value\" lines found", ErrMalformed)
	}
	if prime == nil {
		return nil, fmt.Errorf("parsing share printout: %w: no \"Prime\" line found", ErrMalformed)
	}
	for i := range shares {
		shares[i].Prime = new(big.Int).Set(prime)
		if err := shares[i].check(); err != nil {
			return nil, fmt.Errorf("parsing share printout: line %d: %w", valueLines[i], err)
		}
	}
	return shares, nil
}

func lineError(line int, field string, err error) error {
	return fmt.Errorf("parsing share printout: line %d: %w: invalid %s: %v", line, ErrMalformed, field, err)
}

// splitField splits "LABEL : VALUE" and returns the lower-case label with
// single spaces. ok is false for lines without a known label.
func splitField(text string) (label, value string, ok bool) {
	name, value, found := strings.Cut(text, ":")
	if !found {
		return "", "", false
	}
	label = strings.ToLower(strings.Join(strings.Fields(name), " "))
	switch label {
	case labelPrime, labelID, labelValue:
		return label, strings.TrimSpace(value), true
	}
	return "", "", false
}

// parseHex reads a number written as hex bytes separated by ':' or spaces
// (1 or 2 digits each), or as one run of hex digits. An empty value is
// zero, which sc-hsm-tool prints as nothing.
func parseHex(value string) (*big.Int, error) {
	groups := strings.FieldsFunc(value, func(r rune) bool { return r == ':' || r == ' ' || r == '\t' })
	if len(groups) == 1 {
		digits := groups[0]
		if len(digits)%2 == 1 {
			digits = "0" + digits
		}
		raw, err := hex.DecodeString(digits)
		if err != nil {
			return nil, errors.New("expected hex digits")
		}
		if len(raw) > maxPrimeBytes {
			return nil, fmt.Errorf("longer than %d bytes", maxPrimeBytes)
		}
		return new(big.Int).SetBytes(raw), nil
	}
	if len(groups) > maxPrimeBytes {
		return nil, fmt.Errorf("longer than %d bytes", maxPrimeBytes)
	}
	raw := make([]byte, len(groups))
	for i, g := range groups {
		if len(g) > 2 {
			return nil, errors.New("expected hex bytes of 2 digits between separators")
		}
		b, err := strconv.ParseUint(g, 16, 8)
		if err != nil {
			return nil, errors.New("expected hex digits")
		}
		raw[i] = byte(b)
	}
	return new(big.Int).SetBytes(raw), nil
}

// WriteShareFile writes one share to a new file at path, in the layout of
// Format, with mode 0600. It never replaces an existing file: it returns an
// error wrapping fs.ErrExist then. The file either does not exist or is
// complete, even after a crash.
func WriteShareFile(path string, s Share) error {
	if err := s.check(); err != nil {
		return fmt.Errorf("writing password share file %s: %w", path, err)
	}
	if err := atomicfile.WriteNew(path, []byte(Format(s)), 0o600); err != nil {
		return fmt.Errorf("writing password share file: %w", err)
	}
	return nil
}

// ReadShareFile reads the shares in a file written by WriteShareFile or
// saved from sc-hsm-tool's screen. See Parse for the accepted layout.
func ReadShareFile(path string) ([]Share, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading password share file: %w", err)
	}
	defer f.Close()
	shares, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("reading password share file %s: %w", path, err)
	}
	return shares, nil
}
