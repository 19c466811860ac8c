package virtualcard

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// Commands used by many tests. The user PIN is "648219", the SO-PIN
// 3537363231383830 (hex), as in the sc-hsm-tool documentation examples.
const (
	selectApplet     = "00A404000BE82B0601040181C31F020100"
	initRRCOneShare  = "80500000 1C 80020001 8106363438323139 82083537363231383830 910103 920101"
	initRRCNoDKEK    = "80500000 19 80020001 8106363438323139 82083537363231383830 910103"
	verifyRightPIN   = "00200081 06 363438323139"
	verifyWrongPIN   = "00200081 06 313131313131"
	userPINStatus    = "00200081"
	soPINStatus      = "00200088"
	dkekStatus       = "8052000000"
	rightSOPIN       = "3537363231383830"
	wrongSOPIN       = "3030303030303030"
	rrcWrongSOPIN    = "002C0081 0E " + wrongSOPIN + " 363438323139"
	rrcRightSOPIN    = "002C0081 0E " + rightSOPIN + " 313233343536"
	fcpBlankTemplate = "6222 8102 0000 820101 83020000 840B E82B0601040181C31F0201 8A0105 8505 %04X 00 0401"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("invalid hex %q: %v", s, err)
	}
	return b
}

func newTestCard(t testing.TB) *Card {
	t.Helper()
	c, err := New(Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// send transmits a command written in hex and parses the response.
func send(t testing.TB, c *Card, command string) schsm.Response {
	t.Helper()
	raw := c.Transmit(unhex(t, command))
	resp, err := schsm.ParseResponse(raw)
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	return resp
}

// expectSW transmits a command and checks the status word.
func expectSW(t testing.TB, c *Card, command string, want uint16) schsm.Response {
	t.Helper()
	resp := send(t, c, command)
	if resp.SW != want {
		t.Fatalf("%s: SW %04X, want %04X", command, resp.SW, want)
	}
	return resp
}

// expectResponse transmits a command and checks status word and data.
func expectResponse(t testing.TB, c *Card, command string, wantSW uint16, wantData string) {
	t.Helper()
	resp := expectSW(t, c, command, wantSW)
	if want := unhex(t, wantData); !bytes.Equal(resp.Data, want) {
		t.Fatalf("%s: data %X, want %X", command, resp.Data, want)
	}
}

// initializedCard returns a card initialized with options 0001, user PIN
// 648219, the SO-PIN above and 1 DKEK share, selected afresh (no PIN
// verified).
func initializedCard(t testing.TB) *Card {
	t.Helper()
	c := newTestCard(t)
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, initRRCOneShare, schsm.SWOK)
	expectSW(t, c, selectApplet, schsm.SWOK)
	return c
}

func fcpWithOptions(options uint16) string {
	return fmt.Sprintf(fcpBlankTemplate, options)
}
