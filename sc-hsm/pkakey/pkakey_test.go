package pkakey

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

func newCustodian(t testing.TB) *Custodian {
	t.Helper()
	c, err := NewRehearsalCustodian("alice")
	if err != nil {
		t.Fatalf("NewRehearsalCustodian: %v", err)
	}
	return c
}

// newFormat encodes r in the newer registration encoding with the OID.
func newFormat(r *Registration) []byte {
	var content []byte
	content = schsm.AppendTLV(content, tagOID, oidPKARegistration)
	content = schsm.AppendTLV(content, tagDICAWrapper, r.DICA.Raw)
	content = schsm.AppendTLV(content, tagDeviceWrapper, r.Device.Raw)
	content = schsm.AppendTLV(content, tagRequestWrap, r.Request.Raw)
	return schsm.AppendTLV(nil, tagSequence, content)
}

func TestRehearsalCustodianChain(t *testing.T) {
	c := newCustodian(t)
	root, err := RehearsalRootPublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Registration.VerifyChain(RehearsalRootCHR, root); err != nil {
		t.Fatalf("VerifyChain: %v", err)
	}
	if len(c.CHR()) != 16 || c.Registration.Request.OuterCAR != c.Registration.Device.CHR {
		t.Errorf("CHR %q, outer CAR %q, device %q", c.CHR(), c.Registration.Request.OuterCAR, c.Registration.Device.CHR)
	}
	if !c.Registration.PublicKey().Equal(&c.Key.PublicKey) {
		t.Error("the registered key is not the custodian key")
	}
	rootCert, err := RehearsalRootCertificate()
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := schsm.ParseCVC(rootCert)
	if err != nil || cert.VerifySignature(root) != nil || cert.CHR != RehearsalRootCHR {
		t.Fatalf("root certificate: %v", err)
	}
}

func TestRehearsalKeysDeterministic(t *testing.T) {
	a, err := deriveP256Key("root")
	if err != nil {
		t.Fatal(err)
	}
	b, err := deriveP256Key("root")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Equal(b) {
		t.Fatal("the root key differs between derivations")
	}
	// Golden value: the first bytes of the public root point never change,
	// so every virtual card trusts the same root.
	point, err := a.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(point)
	if got := fmt.Sprintf("%X", digest[:8]); got != "08319A0066004C4C" {
		t.Errorf("SHA-256 of the rehearsal root point starts with %s, want 08319A0066004C4C", got)
	}
	d, err := deriveP256Key("dica")
	if err != nil || d.Equal(a) {
		t.Fatalf("DICA key equals the root key or failed: %v", err)
	}
}

func TestParseRegistrationFormats(t *testing.T) {
	c := newCustodian(t)
	old := c.Registration.Encode()
	for name, raw := range map[string][]byte{"old": old, "new": newFormat(c.Registration)} {
		t.Run(name, func(t *testing.T) {
			r, err := ParseRegistration(raw)
			if err != nil {
				t.Fatalf("ParseRegistration: %v", err)
			}
			if r.CHR() != c.CHR() || r.Device.CHR != c.Registration.Device.CHR || r.DICA.CHR != RehearsalDICACHR {
				t.Errorf("decoded CHR %q device %q DICA %q", r.CHR(), r.Device.CHR, r.DICA.CHR)
			}
			if err := r.CheckLinks(); err != nil {
				t.Errorf("CheckLinks: %v", err)
			}
			if !bytes.Equal(r.Encode(), old) {
				t.Error("Encode does not return the old encoding")
			}
		})
	}
}

func TestParseRegistrationErrors(t *testing.T) {
	c := newCustodian(t)
	r := c.Registration
	tests := map[string][]byte{
		"empty":            nil,
		"not a sequence":   schsm.AppendTLV(nil, 0x31, nil),
		"trailing bytes":   append(r.Encode(), 0x00),
		"wrong order":      schsm.AppendTLV(nil, tagSequence, concat(r.Device.Raw, r.Request.Raw, r.DICA.Raw)),
		"two elements":     schsm.AppendTLV(nil, tagSequence, concat(r.Request.Raw, r.Device.Raw)),
		"unknown OID":      schsm.AppendTLV(nil, tagSequence, concat(schsm.AppendTLV(nil, tagOID, []byte{1, 2}), schsm.AppendTLV(nil, 0x61, r.DICA.Raw), schsm.AppendTLV(nil, 0x62, r.Device.Raw), schsm.AppendTLV(nil, 0x63, r.Request.Raw))),
		"cut request":      schsm.AppendTLV(nil, tagSequence, concat(r.Request.Raw[:20], r.Device.Raw, r.DICA.Raw)),
		"oversized length": {0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF},
	}
	for name, raw := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseRegistration(raw); !errors.Is(err, ErrMalformedRegistration) {
				t.Errorf("error = %v, want ErrMalformedRegistration", err)
			}
		})
	}
}

func TestCheckLinksRejectsForeignDevice(t *testing.T) {
	a, b := newCustodian(t), newCustodian(t)
	mixed := &Registration{DICA: a.Registration.DICA, Device: b.Registration.Device, Request: a.Registration.Request}
	if err := mixed.CheckLinks(); err == nil {
		t.Fatal("CheckLinks accepted a request signed by another device")
	}
}

func TestWriteFilesAndLoadSigner(t *testing.T) {
	dir := t.TempDir()
	c := newCustodian(t)
	keyPath, regPath, err := c.WriteFiles(dir)
	if err != nil {
		t.Fatalf("WriteFiles: %v", err)
	}
	for path, want := range map[string]os.FileMode{keyPath: 0o600, regPath: 0o644} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %04o, want %04o", filepath.Base(path), info.Mode().Perm(), want)
		}
	}
	if _, _, err := c.WriteFiles(dir); err == nil {
		t.Error("a second WriteFiles overwrote the files")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	signer, err := LoadKeySigner(keyPath, regPath)
	if err != nil {
		t.Fatalf("LoadKeySigner: %v", err)
	}
	if signer.CHR() != c.CHR() {
		t.Errorf("signer CHR %q, want %q", signer.CHR(), c.CHR())
	}
	digest := sha256.Sum256([]byte("message"))
	sig, err := signer.Sign(digest)
	if err != nil {
		t.Fatal(err)
	}
	if !schsm.VerifyP256Digest(&c.Key.PublicKey, digest, sig) {
		t.Error("signature does not verify with the custodian key")
	}

	// A key file that does not match the registration is rejected.
	other := newCustodian(t)
	other.Name = "bob"
	otherKey, _, err := other.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeySigner(otherKey, regPath); err == nil {
		t.Error("LoadKeySigner accepted a foreign key")
	}

	// A key file readable by others is rejected.
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPrivateKeyFile(keyPath); err == nil {
		t.Error("ReadPrivateKeyFile accepted mode 0644")
	}
}

func TestNewRehearsalCustodianNames(t *testing.T) {
	for _, name := range []string{"", ".hidden", "a/b", "with space", string(make([]byte, 65))} {
		if _, err := NewRehearsalCustodian(name); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}

func FuzzParseRegistration(f *testing.F) {
	c := newCustodian(f)
	f.Add(c.Registration.Encode())
	f.Add(newFormat(c.Registration))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRegistration(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedRegistration) {
				t.Fatalf("error %v does not wrap ErrMalformedRegistration", err)
			}
			return
		}
		_ = r.CheckLinks()
		if _, err := ParseRegistration(r.Encode()); err != nil {
			t.Fatalf("re-encoded registration does not decode: %v", err)
		}
	})
}
