package schsm

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseBERTLV(t *testing.T) {
	long := bytes.Repeat([]byte{0xAB}, 300)
	tests := []struct {
		name  string
		in    []byte
		tag   uint32
		value []byte
		rest  []byte
	}{
		{"short", []byte{0x85, 0x02, 0x01, 0x02, 0xFF}, 0x85, []byte{1, 2}, []byte{0xFF}},
		{"empty value", []byte{0x53, 0x00}, 0x53, []byte{}, []byte{}},
		{"two-byte tag 7F21", []byte{0x7F, 0x21, 0x01, 0x00}, 0x7F21, []byte{0}, []byte{}},
		{"two-byte tag 5F20", []byte{0x5F, 0x20, 0x02, 'A', 'B'}, 0x5F20, []byte("AB"), []byte{}},
		{"three-byte tag", []byte{0x5F, 0x81, 0x01, 0x01, 0x07}, 0x5F8101, []byte{7}, []byte{}},
		{"length 81", append([]byte{0x53, 0x81, 0x80}, long[:128]...), 0x53, long[:128], []byte{}},
		{"length 82", append([]byte{0x53, 0x82, 0x01, 0x2C}, long...), 0x53, long, []byte{}},
		{"length 83", append([]byte{0x53, 0x83, 0x00, 0x01, 0x2C}, long...), 0x53, long, []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, rest, err := parseBERTLV(tt.in)
			if err != nil {
				t.Fatalf("parseBERTLV: %v", err)
			}
			if obj.Tag != tt.tag {
				t.Errorf("tag = %X, want %X", obj.Tag, tt.tag)
			}
			if !bytes.Equal(obj.Value, tt.value) {
				t.Errorf("value = %X, want %X", obj.Value, tt.value)
			}
			if !bytes.Equal(rest, tt.rest) {
				t.Errorf("rest = %X, want %X", rest, tt.rest)
			}
		})
	}
}

func TestParseBERTLVErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"no length", []byte{0x85}},
		{"cut multi-byte tag", []byte{0x7F}},
		{"tag too long", []byte{0x5F, 0x81, 0x81, 0x81, 0x01, 0x00}},
		{"indefinite length", []byte{0x30, 0x80, 0x00, 0x00}},
		{"length field too long", []byte{0x53, 0x85, 0, 0, 0, 0, 1, 0}},
		{"cut length field", []byte{0x53, 0x82, 0x01}},
		{"value cut off", []byte{0x53, 0x03, 0x01, 0x02}},
		{"huge length", []byte{0x53, 0x84, 0xFF, 0xFF, 0xFF, 0xFF}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseBERTLV(tt.in)
			if !errors.Is(err, ErrMalformedTLV) {
				t.Errorf("parseBERTLV(%X) error = %v, want ErrMalformedTLV", tt.in, err)
			}
		})
	}
}

func TestFindBERTLV(t *testing.T) {
	seq := []byte{0x81, 0x02, 0x00, 0x00, 0x85, 0x02, 0x06, 0x06}
	v, ok, err := findBERTLV(seq, 0x85)
	if err != nil || !ok || !bytes.Equal(v, []byte{6, 6}) {
		t.Errorf("findBERTLV(85) = %X, %v, %v; want 0606, true, nil", v, ok, err)
	}
	if _, ok, err := findBERTLV(seq, 0x86); ok || err != nil {
		t.Errorf("findBERTLV(86) = %v, %v; want false, nil", ok, err)
	}
	if _, _, err := findBERTLV(append(seq, 0x85), 0x85); !errors.Is(err, ErrMalformedTLV) {
		t.Errorf("findBERTLV on trailing garbage: error = %v, want ErrMalformedTLV", err)
	}
}

func TestAppendTLVLengthForms(t *testing.T) {
	tests := []struct {
		n      int
		header []byte
	}{
		{0, []byte{0x53, 0x00}},
		{127, []byte{0x53, 0x7F}},
		{128, []byte{0x53, 0x81, 0x80}},
		{255, []byte{0x53, 0x81, 0xFF}},
		{256, []byte{0x53, 0x82, 0x01, 0x00}},
	}
	for _, tt := range tests {
		value := bytes.Repeat([]byte{1}, tt.n)
		got := AppendTLV(nil, 0x53, value)
		if !bytes.Equal(got[:len(tt.header)], tt.header) {
			t.Errorf("AppendTLV with %d bytes: header %X, want %X", tt.n, got[:len(tt.header)], tt.header)
		}
		obj, rest, err := parseBERTLV(got)
		if err != nil || obj.Tag != 0x53 || !bytes.Equal(obj.Value, value) || len(rest) != 0 {
			t.Errorf("AppendTLV with %d bytes does not parse back: %v", tt.n, err)
		}
	}
}

func FuzzParseBERTLVs(f *testing.F) {
	f.Add([]byte{0x85, 0x02, 0x01, 0x02})
	f.Add([]byte{0x7F, 0x21, 0x81, 0x01, 0x00})
	f.Add([]byte{0x53, 0x82, 0x00, 0x01, 0x00, 0x5F, 0x20, 0x00})
	f.Add([]byte{0x5F, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := parseBERTLVs(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedTLV) {
				t.Fatalf("error %v does not wrap ErrMalformedTLV", err)
			}
			return
		}
		total := 0
		for _, o := range objs {
			total += len(o.Value)
		}
		if total > len(b) {
			t.Fatalf("values hold %d bytes, input only %d", total, len(b))
		}
	})
}
