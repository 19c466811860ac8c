package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/wizard"
)

// Pico HSM 6.6 values: the FCP of the applet (type byte FF) and the field
// prime of secp256k1, the curve of its device key.
const (
	fakePicoAppletFCP = "62228102000082010183020000840B2B0601040181C31F0201008A010585050001FF0606"
	secp256k1PrimeHex = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F"
)

// testCVC encodes a CV certificate for a secp256k1 point with a dummy
// signature.
func testCVC(t *testing.T, car, chr string, point []byte) []byte {
	t.Helper()
	prime, err := hex.DecodeString(secp256k1PrimeHex)
	if err != nil {
		t.Fatal(err)
	}
	var pub []byte
	pub = schsm.AppendTLV(pub, 0x06, schsm.OIDTAECDSASHA256)
	pub = schsm.AppendTLV(pub, 0x81, prime)
	pub = schsm.AppendTLV(pub, 0x86, point)
	var body []byte
	body = schsm.AppendTLV(body, 0x5F29, []byte{0x00})
	body = schsm.AppendTLV(body, 0x42, []byte(car))
	body = schsm.AppendTLV(body, 0x7F49, pub)
	body = schsm.AppendTLV(body, 0x5F20, []byte(chr))
	content := schsm.AppendTLV(nil, 0x7F4E, body)
	content = schsm.AppendTLV(content, 0x5F37, bytes.Repeat([]byte{0x5A}, schsm.P256SignatureLen))
	return schsm.AppendTLV(nil, 0x7F21, content)
}

// testPoint returns an uncompressed point filled with b.
func testPoint(b byte) []byte {
	return append([]byte{0x04}, bytes.Repeat([]byte{b}, 64)...)
}

// testChain returns device, DV and CA certificates for point.
func testChain(t *testing.T, point []byte) []byte {
	chain := testCVC(t, "ESPICOHSMDV00001", "ESPICOHSMTR4F2A1", point)
	chain = append(chain, testCVC(t, "ESPICOHSMCA00001", "ESPICOHSMDV00001", testPoint(0xDD))...)
	return append(chain, testCVC(t, "ESPICOHSMCA00001", "ESPICOHSMCA00001", testPoint(0xCC))...)
}

// fakePico models the Pico HSM commands of the device certificate step:
// SELECT of the applet and of EF 2F02, VERIFY of the user PIN, READ BINARY
// of CE00 by file identifier and of the current EF, and UPDATE BINARY of
// 2F02, which needs the verified PIN and replaces the file at offset 0.
type fakePico struct {
	pin      []byte
	request  []byte // CE00
	devAut   []byte // 2F02
	verified bool
	writes   int
	current  uint16
}

func (c *fakePico) Transmit(apdu []byte) ([]byte, error) {
	ok := []byte{0x90, 0x00}
	if len(apdu) < 4 {
		return []byte{0x67, 0x00}, nil
	}
	ins, p1p2 := apdu[1], uint16(apdu[2])<<8|uint16(apdu[3])
	data := []byte{}
	if len(apdu) > 5 {
		data = apdu[5 : 5+int(apdu[4])]
	}
	switch {
	case ins == 0xA4 && apdu[2] == 0x04:
		c.verified = false
		fcp, _ := hex.DecodeString(fakePicoAppletFCP)
		return append(fcp, ok...), nil
	case ins == 0xA4 && bytes.Equal(data, []byte{0x2F, 0x02}):
		c.current = 0x2F02
		n := len(c.devAut)
		fcp := []byte{0x62, 0x0E, 0x81, 0x02, byte(n >> 8), byte(n), 0x82, 0x01, 0x01, 0x83, 0x02, 0x2F, 0x02, 0x8A, 0x01, 0x05}
		return append(fcp, ok...), nil
	case ins == 0x20 && p1p2 == 0x0081:
		if !bytes.Equal(data, c.pin) {
			return []byte{0x63, 0xC2}, nil
		}
		c.verified = true
		return ok, nil
	case ins == 0xB1:
		file := c.devAut
		switch {
		case p1p2 == 0xCE00:
			file = c.request
		case p1p2 != 0x0000 || c.current != 0x2F02:
			return []byte{0x6A, 0x82}, nil
		}
		offset := int(data[2])<<8 | int(data[3])
		if offset > len(file) {
			return []byte{0x62, 0x82}, nil
		}
		chunk := file[offset:min(len(file), offset+256)]
		return append(append([]byte(nil), chunk...), ok...), nil
	case ins == 0xD7 && p1p2 == 0x2F02:
		if !c.verified {
			return []byte{0x69, 0x82}, nil
		}
		c.writes++
		offset := int(data[2])<<8 | int(data[3])
		n := int(data[5])
		value := data[6:]
		if data[5] == 0x81 {
			n, value = int(data[6]), data[7:]
		}
		if offset == 0 {
			c.devAut = nil
		}
		c.devAut = append(c.devAut[:offset], value[:n]...)
		return ok, nil
	}
	return []byte{0x6D, 0x00}, nil
}

// certServer answers every POST with chain and records the request bodies.
func certServer(t *testing.T, chain []byte) (*httptest.Server, *[][]byte) {
	var mu sync.Mutex
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		body, err := base64.URLEncoding.DecodeString(r.PostForm.Get("pubkey"))
		if err != nil {
			t.Errorf("pubkey form field: %v", err)
		}
		mu.Lock()
		bodies = append(bodies, body)
		mu.Unlock()
		// The service concatenates its fields, so any split of chain
		// between cvcert and dvcert gives chain back.
		json.NewEncoder(w).Encode(map[string]string{
			"cvcert": base64.URLEncoding.EncodeToString(chain[:1]),
			"dvcert": base64.URLEncoding.EncodeToString(chain[1:]),
		})
	}))
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server %s is not on 127.0.0.1", srv.URL)
	}
	return srv, &bodies
}

func TestReplaceDeviceCertificateWizard(t *testing.T) {
	devicePoint := testPoint(0xAB)
	oldCert := testCVC(t, "ESPICOHSMTR00001", "ESPICOHSMTR00001", devicePoint)
	tests := []struct {
		name       string
		chainPoint []byte
		answer     string
		pin        string
		wantErr    error
		wantWrite  bool
		wantSent   bool
		wantBackup bool
	}{
		{"good chain written", devicePoint, "yes", "648219", nil, true, true, true},
		{"other key rejected", testPoint(0xEE), "yes", "648219", wizard.ErrChainRejected, false, true, true},
		{"declined sends nothing", devicePoint, "no", "648219", wizard.ErrNotConfirmed, false, false, false},
		{"wrong PIN sends nothing", devicePoint, "", "000000", schsm.ErrWrongPIN, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chain := testChain(t, tc.chainPoint)
			srv, bodies := certServer(t, chain)
			card := &fakePico{pin: []byte("648219"), request: testCVC(t, "ESPICOHSMTR00001", "ESPICOHSMTR00001", devicePoint),
				devAut: append([]byte(nil), oldCert...)}
			var steps []wizard.Step
			if tc.answer != "" {
				steps = []wizard.Step{{Name: wizard.QDeviceCertConfirm + "-send", Answer: tc.answer}}
			}
			script := &wizard.Script{Steps: steps}
			dir := t.TempDir()

			res, err := replaceDeviceCertificate(context.Background(), script, schsm.NewCard(card),
				schsm.NewSecret([]byte(tc.pin)), &wizard.HTTPCertificateService{URL: srv.URL}, dir)

			if tc.wantErr == nil && err != nil {
				t.Fatalf("replaceDeviceCertificate: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if tc.answer != "" && !strings.Contains(script.Asked[0].Message, srv.URL) {
				t.Errorf("endpoint not shown before sending: %q", script.Asked[0].Message)
			}
			if sent := len(*bodies) > 0; sent != tc.wantSent {
				t.Errorf("request sent = %v, want %v", sent, tc.wantSent)
			}
			if tc.wantSent && !bytes.Equal((*bodies)[0], devicePoint) {
				t.Errorf("request body = %X, want the device point", (*bodies)[0])
			}

			if tc.wantWrite {
				if !bytes.Equal(card.devAut, chain) {
					t.Errorf("EF.C_DevAut has %d bytes that differ from the chain", len(card.devAut))
				}
				if res.CHR != "ESPICOHSMTR4F2A1" {
					t.Errorf("CHR = %q", res.CHR)
				}
			} else {
				if card.writes != 0 {
					t.Errorf("%d UPDATE BINARY commands were sent", card.writes)
				}
				if !bytes.Equal(card.devAut, oldCert) {
					t.Error("EF.C_DevAut changed")
				}
			}

			entries, _ := os.ReadDir(dir)
			if !tc.wantBackup {
				if len(entries) != 0 {
					t.Errorf("backup files written: %v", entries)
				}
				return
			}
			if len(entries) != 1 || res.Backup != filepath.Join(dir, entries[0].Name()) {
				t.Fatalf("backup = %q, files %v", res.Backup, entries)
			}
			fi, err := os.Stat(res.Backup)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("backup mode = %v, want 0600", fi.Mode().Perm())
			}
			if got, _ := os.ReadFile(res.Backup); !bytes.Equal(got, oldCert) {
				t.Error("backup does not contain the old EF.C_DevAut")
			}
		})
	}
}

func TestReplaceDeviceCertificateNotPico(t *testing.T) {
	card := &fakePico{}
	fcp := "6212 8102 0000 8201 01 8302 0000 8505 0001 0004 05"
	tr := &fixedSelect{fakePico: card, fcp: strings.ReplaceAll(fcp, " ", "")}
	_, err := replaceDeviceCertificate(context.Background(), &wizard.Script{}, schsm.NewCard(tr),
		schsm.NewSecret([]byte("648219")), &wizard.HTTPCertificateService{URL: "http://127.0.0.1:1/"}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "only a Pico HSM") {
		t.Errorf("error = %v, want a refusal for a non-Pico token", err)
	}
}

// fixedSelect answers the applet SELECT with fcp.
type fixedSelect struct {
	*fakePico
	fcp string
}

func (f *fixedSelect) Transmit(apdu []byte) ([]byte, error) {
	if len(apdu) > 3 && apdu[1] == 0xA4 && apdu[2] == 0x04 {
		fcp, _ := hex.DecodeString(f.fcp)
		return append(fcp, 0x90, 0x00), nil
	}
	return f.fakePico.Transmit(apdu)
}

func TestDevAutBackupNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	first, err := writeDevAutBackup(dir, []byte("first"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := writeDevAutBackup(dir, []byte("second"))
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Fatalf("both backups went to %s", first)
	}
	if got, _ := os.ReadFile(first); string(got) != "first" {
		t.Errorf("first backup = %q", got)
	}
}
