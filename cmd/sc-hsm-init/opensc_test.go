package main

import (
	"os"
	"strings"
	"testing"
)

// The tests in this file run OpenSC's own tools on the virtual card, so
// that a failure of sc-hsm-init can be distinguished from a card that OpenSC
// does not accept.

func TestOpenSCToolCardName(t *testing.T) {
	waitCard(t)
	r := runTool(t, "opensc-tool", "-n")
	if r.code != 0 {
		t.Fatalf("opensc-tool -n exited %d\n%s", r.code, r.output())
	}
	if got, want := strings.TrimSpace(r.stdout), "SmartCard-HSM Applet for JCOP version 4.1"; got != want {
		t.Errorf("card name = %q, want %q", got, want)
	}
}

func TestSCHSMToolCreateShare(t *testing.T) {
	_, tool := shares(t)
	if tool.created.code != 0 {
		t.Errorf("sc-hsm-tool --create-dkek-share exited %d", tool.created.code)
	}
	if !strings.Contains(tool.created.stdout, "DKEK share created and saved to "+tool.path) {
		t.Errorf("sc-hsm-tool output lacks the saved message\n%s", tool.created.output())
	}
	fi, err := os.Stat(tool.path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 64 {
		t.Errorf("share file has %d bytes, want 64", fi.Size())
	}
}

// TestSCHSMToolInitializeImport initializes the card with sc-hsm-tool,
// imports the share that sc-hsm-init dkek create wrote and checks that
// sc-hsm-init status agrees with sc-hsm-tool.
func TestSCHSMToolInitializeImport(t *testing.T) {
	own, _ := shares(t)

	r := runTool(t, "sc-hsm-tool", "--initialize", "--so-pin", testSOPINHex, "--pin", testPIN, "--dkek-shares", "1")
	if r.code != 0 {
		t.Fatalf("sc-hsm-tool --initialize exited %d\n%s", r.code, r.output())
	}

	st := runTool(t, "sc-hsm-tool")
	if st.code != 0 {
		t.Fatalf("sc-hsm-tool exited %d\n%s", st.code, st.output())
	}
	for _, want := range []string{
		"SO-PIN tries left    : 15",
		"User PIN tries left  : 3",
		"DKEK shares          : 1",
		"1 share(s) still missing",
	} {
		if !strings.Contains(st.stdout, want) {
			t.Errorf("sc-hsm-tool output after --initialize lacks %q\n%s", want, st.stdout)
		}
	}

	imp := runTool(t, "sc-hsm-tool", "--import-dkek-share", own.path, "--password", testSharePassword)
	if imp.code != 0 {
		t.Fatalf("sc-hsm-tool --import-dkek-share exited %d\n%s", imp.code, imp.output())
	}
	wantKCV := kcvHex(own.share)
	for _, want := range []string{"DKEK share imported", "DKEK key check value : " + wantKCV} {
		if !strings.Contains(imp.stdout, want) {
			t.Errorf("sc-hsm-tool --import-dkek-share output lacks %q\n%s", want, imp.stdout)
		}
	}

	ours := run(t, "status")
	if ours.code != exitOK {
		t.Fatalf("status exited %d\n%s", ours.code, ours.output())
	}
	for prefix, want := range map[string]string{
		"Options:":  "0001 (reset retry counter)",
		"User PIN:": "3 tries left",
		"SO-PIN:":   "15 tries left",
		"DKEK:":     "1 share, key check value " + wantKCV,
		"Serial:":   card.card.Serial(),
	} {
		got, ok := lineValue(ours.stdout, prefix)
		if !ok {
			t.Errorf("status prints no %q line\n%s", prefix, ours.stdout)
			continue
		}
		if got != want {
			t.Errorf("status %s %q, want %q", prefix, got, want)
		}
	}
}

func TestPKCS11ToolListAndLogin(t *testing.T) {
	mustInit(t)

	list := runTool(t, "pkcs11-tool", "--module", pkcs11Module, "-L")
	if list.code != 0 {
		t.Fatalf("pkcs11-tool -L exited %d\n%s", list.code, list.output())
	}
	for _, want := range []string{"Virtual PCD 00 00", "SmartCard-HSM", "serial num         : " + card.card.Serial()} {
		if !strings.Contains(list.stdout, want) {
			t.Errorf("pkcs11-tool -L output lacks %q\n%s", want, list.stdout)
		}
	}

	login := runTool(t, "pkcs11-tool", "--module", pkcs11Module, "--login", "--pin", testPIN, "-O")
	if login.code != 0 {
		t.Errorf("pkcs11-tool --login -O exited %d\n%s", login.code, login.output())
	}

	wrong := runTool(t, "pkcs11-tool", "--module", pkcs11Module, "--login", "--pin", wrongPIN, "-O")
	if wrong.code == 0 {
		t.Errorf("pkcs11-tool --login with a wrong PIN exited 0")
	}
	if !strings.Contains(wrong.stderr, "CKR_PIN_INCORRECT") {
		t.Errorf("pkcs11-tool with a wrong PIN does not report CKR_PIN_INCORRECT\n%s", wrong.output())
	}
}
