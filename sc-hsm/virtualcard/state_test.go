package virtualcard

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

func newFileCard(t *testing.T, path string) *Card {
	t.Helper()
	c, err := New(Options{StatePath: path})
	if err != nil {
		t.Fatalf("New(%s): %v", path, err)
	}
	return c
}

func TestPersistenceRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	first := newFileCard(t, path)
	expectSW(t, first, selectApplet, schsm.SWOK)
	expectSW(t, first, "80500000 1C 80020001 8106363438323139 82083537363231383830 910103 920102", schsm.SWOK)
	expectSW(t, first, "00D7C401 0A 5402 0000 5304 01020304", schsm.SWOK)
	expectSW(t, first, "80520000 20"+strings.Repeat("A5", 32)+"00", schsm.SWOK)
	expectSW(t, first, "80520000 20"+strings.Repeat("5A", 32)+"00", schsm.SWOK)
	expectSW(t, first, selectApplet, schsm.SWOK)
	expectSW(t, first, verifyWrongPIN, 0x63C2)
	expectSW(t, first, rrcWrongSOPIN, 0x63CE)
	cert := first.st.Identity.Certificate

	second := newFileCard(t, path)
	if second.Serial() != first.Serial() {
		t.Fatalf("serial %q after reload, want %q", second.Serial(), first.Serial())
	}
	expectResponse(t, second, selectApplet, schsm.SWOK, fcpWithOptions(0x0001))
	expectSW(t, second, userPINStatus, 0x63C2)
	expectSW(t, second, soPINStatus, 0x63CE)
	expectResponse(t, second, dkekStatus, schsm.SWOK, "0200AF9613760F72635F")
	expectResponse(t, second, "00B1C401 04 54020000 00", schsm.SWOK, "01020304")
	expectResponse(t, second, "8058000000", schsm.SWOK, "CC00 C401")
	resp := expectSW(t, second, "00B12F02 04 54020000 00", schsm.SWOK)
	if !bytes.Equal(resp.Data, cert) {
		t.Fatal("device certificate changed after reload")
	}
	expectSW(t, second, verifyRightPIN, schsm.SWOK)

	// The restored retry counter is saved too.
	third := newFileCard(t, path)
	expectSW(t, third, selectApplet, schsm.SWOK)
	expectSW(t, third, userPINStatus, 0x63C3)
}

func TestStateFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	c := newFileCard(t, path)
	checkMode := func(when string) {
		t.Helper()
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v %s, want 0600", info.Mode().Perm(), when)
		}
	}
	checkMode("after creation")

	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, initRRCOneShare, schsm.SWOK)
	checkMode("after INITIALIZE")

	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("%d files in the state folder, want only the state file", len(entries))
	}
}

func TestStateFileHasNoPlainPIN(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	c := newFileCard(t, path)
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, initRRCOneShare, schsm.SWOK)

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range [][]byte{[]byte("648219"), []byte("57621880")} {
		if bytes.Contains(raw, secret) || bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(secret))) {
			t.Fatal("state file contains a PIN in plain form")
		}
	}
}

func TestStateFileInvalid(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"not JSON":      "{",
		"wrong version": `{"version": 2}`,
		"no identity":   `{"version": 1}`,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := New(Options{StatePath: path}); err == nil {
				t.Fatal("New accepted an invalid state file")
			}
		})
	}

	t.Run("missing folder", func(t *testing.T) {
		_, err := New(Options{StatePath: filepath.Join(dir, "missing", "card.json")})
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("New returned %v, want an error wrapping os.ErrNotExist", err)
		}
	})
}

func TestStateWriteFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "card.json")
	c := newFileCard(t, path)
	expectSW(t, c, selectApplet, schsm.SWOK)

	// Replace the folder by a file so that the next save fails.
	c.path = filepath.Join(path, "card.json")
	expectSW(t, c, initRRCOneShare, schsm.SWMemoryFailure)
}
