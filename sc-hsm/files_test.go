package schsm

import (
	"errors"
	"slices"
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
