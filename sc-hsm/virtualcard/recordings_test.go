package virtualcard

import (
	"bytes"
	"fmt"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// recordedStep is one command of a session recorded from the Pico HSM 6.6
// firmware, with the response this card must return. Where the response differs
// from the Pico, pico contains the recorded response and the reason.
type recordedStep struct {
	name    string
	command string // hex; "RECONNECT" is a disconnect without reset (no-op)
	sw      uint16
	data    string // expected data in hex
	// dataOf computes the expected data when it depends on the device
	// identity; randomLen checks only the length of random data.
	dataOf    func(c *Card) []byte
	randomLen int
	pico      string // recorded Pico response where this card differs, and why
}

const reconnect = "RECONNECT"

func certificateFCP(c *Card) []byte {
	return efFCP(fidCDevAut, len(c.st.Identity.Certificate))
}

func certificate(c *Card) []byte {
	return c.st.Identity.Certificate
}

// Pico HSM 6.6 session: blank device, INITIALIZE with RRC and one DKEK
// share, PIN handling, DKEK import, device certificate, RRC, and
// re-INITIALIZE with a wrong SO-PIN.
var blankInitPINDKEK = []recordedStep{
	{name: "select applet", command: "00A404000BE82B0601040181C31F020100", sw: 0x9000, data: fcpWithOptions(0x0000),
		pico: "62228102000082010183020000840B2B0601040181C31F0201008A010585050000FF0606: tag 84 shifted by one byte, type FF, version 6.6"},
	{name: "user PIN status, blank", command: "00200081", sw: 0x6A88},
	{name: "SO-PIN status, blank", command: "00200088", sw: 0x6A88},
	{name: "DKEK status, blank", command: "8052000000", sw: 0x6B00},
	{name: "PKA status, blank", command: "8054000000", sw: 0x6A86},
	{name: "INITIALIZE RRC, 1 share", command: "80500000 1C 80020001 8106363438323139 82083537363231383830 910103 920101", sw: 0x9000},
	{name: "status right after INITIALIZE", command: "00200081", sw: 0x9000},
	{name: "reconnect", command: reconnect},
	{name: "select again", command: "00A404000BE82B0601040181C31F020100", sw: 0x9000, data: fcpWithOptions(0x0001),
		pico: "…85050001FF0606: type and version"},
	{name: "user PIN status after reselect", command: "00200081", sw: 0x63C3},
	{name: "wrong PIN", command: "00200081 06 313131313131", sw: 0x63C2},
	{name: "status after wrong PIN", command: "00200081", sw: 0x63C2},
	{name: "right PIN", command: "00200081 06 363438323139", sw: 0x9000},
	{name: "status after right PIN", command: "00200081", sw: 0x9000},
	{name: "DKEK status, share outstanding", command: "8052000000", sw: 0x9000, data: "01010000000000000000"},
	{name: "import share A5 x 32", command: "80520000 20 A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5 00", sw: 0x9000, data: "0100FC8B64001C5FDD0F"},
	{name: "DKEK status after import", command: "8052000000", sw: 0x9000, data: "0100FC8B64001C5FDD0F"},
	{name: "GET CHALLENGE 8", command: "00840000 08", sw: 0x9000, randomLen: 8},
	{name: "ENUMERATE OBJECTS short", command: "8058000000", sw: 0x9000, data: "CC00",
		pico: "C400CC00: the Pico also lists a description of the device key"},
	{name: "select EF.C_DevAut", command: "00A40000022F0200", sw: 0x9000, dataOf: certificateFCP,
		pico: "620E810201BB82010183022F028A0105: the size of the Pico certificate"},
	{name: "read binary C_DevAut, extended", command: "00B10000000004540200000400", sw: 0x9000, dataOf: certificate,
		pico: "the Pico device certificate"},
	{name: "select EF.TokenInfo", command: "00A40000022F0300", sw: 0x6A82,
		pico: "9000 620E8102002C82010183022F038A0105: the Pico generates a TokenInfo, this card only has one after OpenSC writes it"},
	{name: "verify ref 85", command: "00200085", sw: 0x6A88},
	{name: "verify ref 86", command: "00200086", sw: 0x6A88},
	{name: "foreign AID (PKCS#15)", command: "00A404000CA000000063504B43532D313500", sw: 0x6A82},
	{name: "change PIN to 123456", command: "00240081 0C 363438323139 313233343536", sw: 0x9000},
	{name: "verify new PIN", command: "00200081 06 313233343536", sw: 0x9000},
	{name: "RRC with SO-PIN and new PIN 648219", command: "002C0081 0E 3537363231383830 363438323139", sw: 0x9000},
	{name: "SO-PIN tries", command: "00200088", sw: 0x9000},
	{name: "RRC with wrong SO-PIN", command: "002C0081 0E 3030303030303030 363438323139", sw: 0x63CE},
	{name: "SO-PIN tries after wrong", command: "00200088", sw: 0x63CE},
	{name: "RRC counter only (no 0x20 option)", command: "002C0181 08 3537363231383830", sw: 0x6986},
	{name: "re-INITIALIZE with wrong SO-PIN", command: "80500000 1C 80020001 8106363438323139 82083030303030303030 910103 920101", sw: 0x63CD,
		pico: "9000: the Pico re-initializes without checking the SO-PIN; a CardContact card checks it and counts the failure (15 -> 14 by the RRC, -> 13 here)"},
	{name: "SO-PIN tries after that", command: "00200088", sw: 0x63CD,
		pico: "9000: the Pico was re-initialized"},
	{name: "select with P2=04 no Le", command: "00A40404 0BE82B0601040181C31F0201", sw: 0x6124},
	{name: "select with P2=0C", command: "00A4040C0BE82B0601040181C31F0201", sw: 0x6A86},
}

// Pico HSM 6.6 session: INITIALIZE with two key domains, then create,
// import, query, clear and delete.
var keyDomains = []recordedStep{
	{name: "select applet", command: "00A404000BE82B0601040181C31F020100", sw: 0x9000, data: fcpWithOptions(0x0000)},
	{name: "INITIALIZE RRC, 2 domains", command: "80500000 1C 80020001 8106363438323139 82083537363231383830 910103 970102", sw: 0x9000},
	{name: "reconnect", command: reconnect},
	{name: "select", command: "00A404000BE82B0601040181C31F020100", sw: 0x9000, data: fcpWithOptions(0x0001)},
	{name: "key domain 0 status", command: "80520000 00", sw: 0x6A88},
	{name: "create domain 0 (not logged in)", command: "80520100 01 02", sw: 0x6985},
	{name: "verify PIN", command: "00200081 06 363438323139", sw: 0x9000},
	{name: "create domain 0 with 2 shares", command: "80520100 01 02", sw: 0x610A},
	{name: "create domain 1 with 1 share", command: "80520101 01 01", sw: 0x610A},
	{name: "create domain 0 again", command: "80520100 01 02", sw: 0x6A86},
	{name: "import share A5 into domain 0", command: "80520000 20 A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5 00", sw: 0x9000, data: "02010000000000000000",
		pico: "02012DDD45359C9E60FB: the Pico KCV while a share is outstanding is meaningless, this card returns zeros"},
	{name: "domain 0 status, 1 outstanding", command: "80520000 00", sw: 0x9000, data: "02010000000000000000",
		pico: "02012DDD45359C9E60FB: as above"},
	{name: "import share 5A into domain 0", command: "80520000 20 5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A 00", sw: 0x9000, data: "0200AF9613760F72635F"},
	{name: "import a third share into domain 0", command: "80520000 20 A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5 00", sw: 0x6986},
	{name: "import share A5 into domain 1", command: "80520001 20 A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5 00", sw: 0x9000, data: "0100FC8B64001C5FDD0F"},
	{name: "domain 0 status", command: "80520000 00", sw: 0x9000, data: "0200AF9613760F72635F"},
	{name: "domain 1 status", command: "80520001 00", sw: 0x9000, data: "0100FC8B64001C5FDD0F"},
	{name: "domain 2 status (beyond)", command: "80520002 00", sw: 0x6A86},
	{name: "clear domain 1 KEK", command: "80520401 00", sw: 0x9000, data: "01010000000000000000"},
	{name: "domain 1 status after clear", command: "80520001 00", sw: 0x9000, data: "01010000000000000000"},
	{name: "delete domain 1", command: "80520301 00", sw: 0x9000,
		pico: "6A88: the Pico reports a deleted domain as 6A88, this card reports success"},
	{name: "domain 1 status after delete", command: "80520001 00", sw: 0x6A88},
	{name: "plain DKEK status", command: "8052000000", sw: 0x9000, data: "0200AF9613760F72635F"},
}

func TestRecordedSessions(t *testing.T) {
	sessions := []struct {
		name  string
		steps []recordedStep
	}{
		{"blank init, PIN and DKEK", blankInitPINDKEK},
		{"key domains", keyDomains},
	}
	for _, session := range sessions {
		t.Run(session.name, func(t *testing.T) {
			c := newTestCard(t)
			c.PowerOn()
			for i, step := range session.steps {
				if step.command == reconnect {
					continue
				}
				label := fmt.Sprintf("step %d (%s)", i+1, step.name)
				resp := send(t, c, step.command)
				if resp.SW != step.sw {
					t.Fatalf("%s: SW %04X, want %04X", label, resp.SW, step.sw)
				}

				switch {
				case step.randomLen > 0:
					if len(resp.Data) != step.randomLen {
						t.Fatalf("%s: %d data bytes, want %d", label, len(resp.Data), step.randomLen)
					}
				case step.dataOf != nil:
					if want := step.dataOf(c); !bytes.Equal(resp.Data, want) {
						t.Fatalf("%s: data %X, want %X", label, resp.Data, want)
					}
				default:
					if want := unhex(t, step.data); !bytes.Equal(resp.Data, want) {
						t.Fatalf("%s: data %X, want %X", label, resp.Data, want)
					}
				}
			}
		})
	}
}

// TestRecordedPINStateAfterWrongReinitialize checks that the refused
// re-INITIALIZE of the recorded session left the device as it was.
func TestRecordedPINStateAfterWrongReinitialize(t *testing.T) {
	c := newTestCard(t)
	for _, step := range blankInitPINDKEK {
		if step.command != reconnect {
			send(t, c, step.command)
		}
	}
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, verifyRightPIN, schsm.SWOK)
	expectResponse(t, c, dkekStatus, schsm.SWOK, "0100FC8B64001C5FDD0F")
	expectSW(t, c, soPINStatus, 0x63CD)
}
