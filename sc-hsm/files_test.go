package schsm

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestReadFileDevAutPico(t *testing.T) {
	s := newScript(t, picoDevAutReads(t)...)
	got, err := NewCard(s).ReadFile(FIDDevAut)
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	s.done()
	if !equalBytes(got, mustHex(t, picoDevAutContent)) {
		t.Errorf("ReadFile returned %d bytes that differ from the recording", len(got))
	}
}

func TestReadFileEndConditions(t *testing.T) {
	chunk := make([]byte, 256)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	chunkHex := hexString(chunk)

	tests := []struct {
		name  string
		steps []exchange
		size  int
	}{
		{
			name: "short read without size",
			steps: []exchange{
				{"00A4000002CF0100", "6203820101" + "9000"},
				{"00B10000 04 54020000 00", "0102" + "9000"},
			},
			size: 2,
		},
		{
			name: "zero bytes after a full chunk",
			steps: []exchange{
				{"00A4000002CF0100", "6203820101" + "9000"},
				{"00B10000 04 54020000 00", chunkHex + "9000"},
				{"00B10000 04 54020100 00", "9000"},
			},
			size: 256,
		},
		{
			name: "6282 with the last bytes",
			steps: []exchange{
				{"00A4000002CF0100", "6203820101" + "9000"},
				{"00B10000 04 54020000 00", chunkHex + "9000"},
				{"00B10000 04 54020100 00", "AABB" + "6282"},
			},
			size: 258,
		},
		{
			name: "FCP size saves the last read",
			steps: []exchange{
				{"00A4000002CF0100", "6207810201008201019000"},
				{"00B10000 04 54020000 00", chunkHex + "9000"},
			},
			size: 256,
		},
		{
			name: "empty file",
			steps: []exchange{
				{"00A4000002CF0100", "6207810200008201019000"},
			},
			size: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, tt.steps...)
			got, err := NewCard(s).ReadFile(0xCF01)
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			s.done()
			if len(got) != tt.size {
				t.Errorf("ReadFile returned %d bytes, want %d", len(got), tt.size)
			}
		})
	}
}

func hexString(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0x0F])
	}
	return string(out)
}

func TestReadFileNotFound(t *testing.T) {
	s := newScript(t, exchange{"00A4000002CF0100", "6A82"})
	_, err := NewCard(s).ReadFile(0xCF01)
	if !errors.Is(err, ErrFileNotFound) {
		t.Errorf("ReadFile error = %v, want ErrFileNotFound", err)
	}
}

func TestReadFileSecurityStatus(t *testing.T) {
	s := newScript(t,
		exchange{"00A4000002CD0100", "6203820101" + "9000"},
		exchange{"00B10000 04 54020000 00", "6982"},
	)
	_, err := NewCard(s).ReadFile(0xCD01)
	if !errors.Is(err, ErrSecurityStatus) {
		t.Errorf("ReadFile error = %v, want ErrSecurityStatus", err)
	}
}

func TestEnumerateObjects(t *testing.T) {
	tests := []struct {
		name   string
		steps  []exchange
		failAt int
		want   []uint16
	}{
		{
			name:   "Pico fresh device",
			steps:  []exchange{{"80580000 000000", "C400CC00" + "9000"}},
			failAt: -1,
			want:   []uint16{0xC400, 0xCC00},
		},
		{
			name:   "dummy 0000 dropped",
			steps:  []exchange{{"80580000 000000", "C400CC00CC01C4010000" + "9000"}},
			failAt: -1,
			want:   []uint16{0xC400, 0xCC00, 0xCC01, 0xC401},
		},
		{
			name:   "empty",
			steps:  []exchange{{"80580000 000000", "9000"}},
			failAt: -1,
			want:   []uint16{},
		},
		{
			name: "short form after a failed extended APDU",
			steps: []exchange{
				{"80580000 000000", "9000"},
				{"8058000000", "C400CC00" + "9000"},
			},
			failAt: 0,
			want:   []uint16{0xC400, 0xCC00},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, tt.steps...)
			s.failAt = tt.failAt
			got, err := NewCard(s).EnumerateObjects()
			if err != nil {
				t.Fatalf("EnumerateObjects: %v", err)
			}
			s.done()
			if !slices.Equal(got, tt.want) {
				t.Errorf("EnumerateObjects = %04X, want %04X", got, tt.want)
			}
		})
	}
}

func TestEnumerateObjectsOddLength(t *testing.T) {
	s := newScript(t, exchange{"80580000 000000", "C400CC" + "9000"})
	if _, err := NewCard(s).EnumerateObjects(); err == nil {
		t.Error("EnumerateObjects with 3 bytes: no error")
	}
}

func TestDeviceCHRPico(t *testing.T) {
	s := newScript(t, picoDevAutReads(t)...)
	chr, err := NewCard(s).DeviceCHR()
	if err != nil {
		t.Fatalf("DeviceCHR: %v", err)
	}
	s.done()
	if chr != picoDeviceCHR {
		t.Errorf("DeviceCHR = %q, want %q", chr, picoDeviceCHR)
	}
}

func TestDeviceCHREmptyFile(t *testing.T) {
	s := newScript(t, exchange{"00A40000022F0200", "6207810200008201019000"})
	if _, err := NewCard(s).DeviceCHR(); !errors.Is(err, ErrNoDeviceCertificate) {
		t.Errorf("DeviceCHR error = %v, want ErrNoDeviceCertificate", err)
	}
}

func TestUpdateBinary(t *testing.T) {
	chunk := make([]byte, writeChunk)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	long := append(append([]byte(nil), chunk...), 0xAA, 0xBB)

	tests := []struct {
		name   string
		fid    uint16
		offset int
		data   []byte
		steps  []exchange
	}{
		{
			name:  "short write",
			fid:   0x2F03,
			data:  []byte{0x30, 0x03, 0x02, 0x01, 0x00},
			steps: []exchange{{"00D72F03 0B 54020000 5305 3003020100", "9000"}},
		},
		{
			name:   "offset in tag 54",
			fid:    0xCF01,
			offset: 0x0102,
			data:   []byte{0xAA},
			steps:  []exchange{{"00D7CF01 07 54020102 5301 AA", "9000"}},
		},
		{
			name:  "empty write creates the file",
			fid:   0xCF01,
			steps: []exchange{{"00D7CF01 06 54020000 5300", "9000"}},
		},
		{
			name: "two chunks, the first with an 81 length",
			fid:  0xCF01,
			data: long,
			steps: []exchange{
				{"00D7CF01 FE 54020000 5381F7" + hexString(chunk), "9000"},
				{"00D7CF01 08 540200F7 5302 AABB", "9000"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t, tt.steps...)
			if err := NewCard(s).UpdateBinary(tt.fid, tt.offset, tt.data); err != nil {
				t.Fatalf("UpdateBinary: %v", err)
			}
			s.done()
		})
	}
}

func TestUpdateBinarySecurityStatus(t *testing.T) {
	s := newScript(t, exchange{"00D72F03 07 54020000 5301 30", "6982"})
	err := NewCard(s).UpdateBinary(0x2F03, 0, []byte{0x30})
	if !errors.Is(err, ErrSecurityStatus) {
		t.Errorf("UpdateBinary error = %v, want ErrSecurityStatus", err)
	}
	if err != nil && !strings.Contains(err.Error(), "2F03") {
		t.Errorf("UpdateBinary error = %q, want the file identifier", err)
	}
}

func TestUpdateBinaryStopsAtFirstError(t *testing.T) {
	data := make([]byte, writeChunk+1)
	s := newScript(t, exchange{"00D7CF01 FE 54020000 5381F7" + hexString(data[:writeChunk]), "6A84"})
	err := NewCard(s).UpdateBinary(0xCF01, 0, data)
	if err == nil {
		t.Fatal("UpdateBinary after 6A84: no error")
	}
	s.done()
}

func TestUpdateBinaryRejectsOutOfRange(t *testing.T) {
	tests := []struct {
		name   string
		offset int
		size   int
	}{
		{"negative offset", -1, 1},
		{"past the maximum size", maxFileSize, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScript(t)
			if err := NewCard(s).UpdateBinary(0xCF01, tt.offset, make([]byte, tt.size)); err == nil {
				t.Error("UpdateBinary: no error")
			}
			s.done()
		})
	}
}
