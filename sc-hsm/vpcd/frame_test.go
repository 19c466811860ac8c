package vpcd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestReadFrame(t *testing.T) {
	long := bytes.Repeat([]byte{0xAB}, maxFrameLen)

	tests := []struct {
		name    string
		input   []byte
		want    []byte
		wantErr error
	}{
		{name: "control message", input: []byte{0x00, 0x01, 0x04}, want: []byte{0x04}},
		{name: "select APDU", input: frame(0x00, 0xA4, 0x04, 0x00), want: []byte{0x00, 0xA4, 0x04, 0x00}},
		{name: "maximum length", input: append([]byte{0xFF, 0xFF}, long...), want: long},
		{name: "trailing bytes stay unread", input: []byte{0x00, 0x01, 0x01, 0x00, 0x01}, want: []byte{0x01}},
		{name: "clean end of stream", input: nil, wantErr: io.EOF},
		{name: "half a length", input: []byte{0x00}, wantErr: io.ErrUnexpectedEOF},
		{name: "empty frame", input: []byte{0x00, 0x00}, wantErr: ErrEmptyFrame},
		{name: "missing payload", input: []byte{0x00, 0x04}, wantErr: io.ErrUnexpectedEOF},
		{name: "short payload", input: []byte{0x00, 0x04, 0x00, 0xA4}, wantErr: io.ErrUnexpectedEOF},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readFrame(bytes.NewReader(tt.input), nil)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("readFrame error = %v, want %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("readFrame payload = % X, want % X", got, tt.want)
			}
		})
	}
}

func TestReadFrameReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 16)

	got, err := readFrame(bytes.NewReader(frame(1, 2, 3)), buf)
	if err != nil {
		t.Fatalf("readFrame: %v", err)
	}
	if &got[0] != &buf[:1][0] {
		t.Errorf("readFrame allocated although the buffer had room")
	}
}

func TestAppendFrame(t *testing.T) {
	got, err := appendFrame([]byte{0xEE}, []byte{0x90, 0x00})
	if err != nil {
		t.Fatalf("appendFrame: %v", err)
	}
	if want := []byte{0xEE, 0x00, 0x02, 0x90, 0x00}; !bytes.Equal(got, want) {
		t.Errorf("appendFrame = % X, want % X", got, want)
	}

	if _, err := appendFrame(nil, nil); err == nil {
		t.Errorf("appendFrame accepted an empty payload")
	}
	if _, err := appendFrame(nil, make([]byte, maxFrameLen+1)); err == nil {
		t.Errorf("appendFrame accepted a payload longer than %d bytes", maxFrameLen)
	}
}

// FuzzReadFrame checks that the reader never panics, never returns more bytes
// than the stream holds, and returns payloads whose length matches their
// prefix.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0x00, 0x01, 0x04})
	f.Add(frame(0x00, 0xA4, 0x04, 0x00, 0x0B, 0xE8, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x81, 0xC3, 0x1F, 0x02, 0x01, 0x00))
	f.Add([]byte{0x00, 0x00})
	f.Add([]byte{0xFF, 0xFF, 0x00})
	f.Add([]byte{0x00})

	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		consumed := 0
		for {
			payload, err := readFrame(r, nil)
			if err != nil {
				return
			}
			if len(payload) == 0 {
				t.Fatalf("readFrame returned an empty payload without error")
			}
			header := binary.BigEndian.Uint16(data[consumed:])
			if int(header) != len(payload) {
				t.Fatalf("payload length %d, prefix says %d", len(payload), header)
			}
			if !bytes.Equal(payload, data[consumed+2:consumed+2+len(payload)]) {
				t.Fatalf("payload does not match the input bytes")
			}
			consumed += 2 + len(payload)
		}
	})
}
