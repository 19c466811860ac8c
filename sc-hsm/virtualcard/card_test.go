package virtualcard

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

func TestATR(t *testing.T) {
	c := newTestCard(t)
	want := unhex(t, "3BFE1800008131FE45803181544853 4D31738021408107FA")
	if got := c.ATR(); !bytes.Equal(got, want) {
		t.Fatalf("ATR %X, want %X", got, want)
	}
	c.ATR()[0] = 0
	if got := c.ATR(); !bytes.Equal(got, want) {
		t.Fatal("ATR returned the internal slice")
	}
}

func TestSelectAndSession(t *testing.T) {
	c := newTestCard(t)

	expectSW(t, c, verifyRightPIN, schsm.SWFileNotFound) // nothing selected
	expectSW(t, c, "00A40000022F0200", schsm.SWFileNotFound)
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, initRRCOneShare, schsm.SWOK)
	expectSW(t, c, userPINStatus, schsm.SWOK)

	// A foreign AID keeps the applet and the verified PIN.
	expectSW(t, c, "00A404000AA000000063504B435331", schsm.SWFileNotFound)
	expectSW(t, c, userPINStatus, schsm.SWOK)

	// SELECT of the applet, power off and reset end the session.
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, userPINStatus, 0x63C3)

	expectSW(t, c, verifyRightPIN, schsm.SWOK)
	c.PowerOff()
	c.PowerOn()
	expectSW(t, c, userPINStatus, schsm.SWFileNotFound)
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, userPINStatus, 0x63C3)

	expectSW(t, c, verifyRightPIN, schsm.SWOK)
	c.Reset()
	expectSW(t, c, userPINStatus, schsm.SWFileNotFound)
}

func TestSelectWithoutLeAndGetResponse(t *testing.T) {
	c := newTestCard(t)
	fcp := unhex(t, fcpWithOptions(0))

	expectSW(t, c, "00A40404 0B E82B0601040181C31F0201", 0x6124)
	expectResponse(t, c, "00C0000010", 0x6114, fmt.Sprintf("%X", fcp[:16]))
	expectResponse(t, c, "00C0000000", schsm.SWOK, fmt.Sprintf("%X", fcp[16:]))
	expectSW(t, c, "00C0000000", schsm.SWConditionsNotSatisfied)

	// A short Le makes the rest wait for GET RESPONSE too.
	expectResponse(t, c, "00A40400 0B E82B0601040181C31F0201 20", 0x6104, fmt.Sprintf("%X", fcp[:32]))
	expectResponse(t, c, "00C0000004", schsm.SWOK, fmt.Sprintf("%X", fcp[32:]))

	// Any other command drops the pending response.
	expectSW(t, c, "00A40404 0B E82B0601040181C31F0201", 0x6124)
	expectSW(t, c, userPINStatus, schsm.SWReferenceNotFound)
	expectSW(t, c, "00C0000000", schsm.SWConditionsNotSatisfied)
}

func TestSelectEF(t *testing.T) {
	c := initializedCard(t)

	resp := expectSW(t, c, "00A40000022F0000", schsm.SWOK)
	dir := efDir()
	if want := efFCP(fidEFDir, len(dir)); !bytes.Equal(resp.Data, want) {
		t.Fatalf("EF.DIR FCP %X, want %X", resp.Data, want)
	}
	expectResponse(t, c, "00B1000004540200 0000", schsm.SWOK, fmt.Sprintf("%X", dir))
	expectSW(t, c, "00A40000022F0300", schsm.SWFileNotFound)
	expectSW(t, c, "00A4000002C40100", schsm.SWFileNotFound)
	expectSW(t, c, "00A4000002CC0000", schsm.SWFileNotFound)
	expectSW(t, c, "00A40000023F0000", schsm.SWFileNotFound)
	expectSW(t, c, "00A4000C022F02", schsm.SWOK)
	expectSW(t, c, "00A40200022F0200", schsm.SWIncorrectP1P2)
	expectSW(t, c, "00A4000003 2F0200 00", schsm.SWWrongLength)
}

func TestDataObjects(t *testing.T) {
	c := initializedCard(t)

	expectSW(t, c, "00D7C401 0A 5402 0000 5304 01020304", schsm.SWSecurityStatus)
	expectSW(t, c, verifyRightPIN, schsm.SWOK)
	expectSW(t, c, "00D7C401 0A 5402 0000 5304 01020304", schsm.SWOK)
	expectSW(t, c, "00D7C401 08 5402 0006 5302 0506", schsm.SWOK) // leaves a gap of 2 zero bytes

	expectResponse(t, c, "00A4000002C40100", schsm.SWOK, "620E 81020008 820101 8302C401 8A0105")
	expectResponse(t, c, "00B10000 04 54020000 00", schsm.SWOK, "0102030400000506")
	expectResponse(t, c, "00B1C401 04 54020002 03", schsm.SWOK, "030400")
	expectResponse(t, c, "00B1C401 04 54020006 00", schsm.SWOK, "0506")
	expectSW(t, c, "00B1C401 04 54020008 00", schsm.SWEndOfFile)
	expectSW(t, c, "00B1C401 04 54020100 00", schsm.SWEndOfFile)
	expectSW(t, c, "00B1C401 03 540100 00", schsm.SWWrongData)

	// Creating an empty file, as sc_hsm_create_file in OpenSC does.
	expectSW(t, c, "00D7C801 06 54020000 5300", schsm.SWOK)
	expectResponse(t, c, "00A4000002C80100", schsm.SWOK, "620E 81020000 820101 8302C801 8A0105")

	expectResponse(t, c, "8058000000", schsm.SWOK, "CC00 C401 C801")

	// Protected files.
	expectSW(t, c, "00D72F02 06 54020000 5300", schsm.SWCommandNotAllowed)
	expectSW(t, c, "00D7CC01 06 54020000 5300", schsm.SWCommandNotAllowed)
	expectSW(t, c, "00E40200 02 CC00", schsm.SWCommandNotAllowed)
	expectSW(t, c, "00E40200 02 2F02", schsm.SWCommandNotAllowed)
	expectSW(t, c, "00E40200 02 C402", schsm.SWFileNotFound)

	expectSW(t, c, "00E40200 02 C401", schsm.SWOK)
	expectSW(t, c, "00A4000002C40100", schsm.SWFileNotFound)
	expectResponse(t, c, "8058000000", schsm.SWOK, "CC00 C801")
	expectSW(t, c, "00A4000002C80100", schsm.SWOK)
	expectSW(t, c, "00B10000 04 54020000 00", schsm.SWEndOfFile) // empty current EF
	expectSW(t, c, "00E40200 02 C801", schsm.SWOK)
	expectSW(t, c, "00B10000 04 54020000 00", schsm.SWCommandNotAllowed) // no current EF

	// Deleting needs the user PIN.
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, "00E40200 02 CE01", schsm.SWSecurityStatus)
}

func TestPINProtectedDataObject(t *testing.T) {
	c := initializedCard(t)
	expectSW(t, c, verifyRightPIN, schsm.SWOK)
	expectSW(t, c, "00D7CD01 07 5402 0000 5301 AA", schsm.SWOK)
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, "00B1CD01 04 54020000 00", schsm.SWSecurityStatus)
	expectSW(t, c, verifyRightPIN, schsm.SWOK)
	expectResponse(t, c, "00B1CD01 04 54020000 00", schsm.SWOK, "AA")
}

func TestTokenInfoAfterWrite(t *testing.T) {
	c := initializedCard(t)
	expectSW(t, c, verifyRightPIN, schsm.SWOK)
	expectSW(t, c, "00D72F03 0A 54020000 5304 30020500", schsm.SWOK)
	expectResponse(t, c, "00A40000022F0300", schsm.SWOK, "620E 81020004 820101 83022F03 8A0105")
	// EF.TokenInfo is not a data object, so ENUMERATE does not list it.
	expectResponse(t, c, "8058000000", schsm.SWOK, "CC00")
}

func TestLongFileExtendedAPDUs(t *testing.T) {
	c := initializedCard(t)
	expectSW(t, c, verifyRightPIN, schsm.SWOK)

	content := bytes.Repeat([]byte{0x11, 0x22, 0x33}, 700) // 2100 bytes
	data := append(unhex(t, "5402 0000 5382"), byte(len(content)>>8), byte(len(content)))
	data = append(data, content...)
	command := append(unhex(t, "00D7CE01 00"), byte(len(data)>>8), byte(len(data)))
	command = append(command, data...)
	resp, err := schsm.ParseResponse(c.Transmit(command))
	if err != nil || resp.SW != schsm.SWOK {
		t.Fatalf("extended UPDATE BINARY: SW %04X, error %v", resp.SW, err)
	}

	resp = expectSW(t, c, "00B1CE01 000004 54020000 0000", schsm.SWOK)
	if !bytes.Equal(resp.Data, content) {
		t.Fatalf("extended READ BINARY returned %d bytes, want the %d written", len(resp.Data), len(content))
	}
}

func TestCommandChaining(t *testing.T) {
	c := initializedCard(t)
	expectSW(t, c, verifyRightPIN, schsm.SWOK)

	expectSW(t, c, "10D7CF01 06 5402 0000 5304", schsm.SWOK)
	expectSW(t, c, "00D7CF01 04 DEADBEEF", schsm.SWOK)
	expectResponse(t, c, "00B1CF01 04 54020000 00", schsm.SWOK, "DEADBEEF")

	// A different command abandons the chain.
	expectSW(t, c, "10D7CF02 06 5402 0000 5304", schsm.SWOK)
	expectSW(t, c, userPINStatus, schsm.SWOK)
	expectSW(t, c, "00D7CF02 04 DEADBEEF", schsm.SWWrongData)

	// More than 4 KB in one chain is rejected.
	part := "10D7CF03 FF" + strings.Repeat("00", 255)
	for range 16 {
		expectSW(t, c, part, schsm.SWOK)
	}
	expectSW(t, c, part, schsm.SWWrongLength)
}

func TestMalformedAPDUs(t *testing.T) {
	cases := []struct {
		name    string
		command string
		sw      uint16
	}{
		{"empty", "", schsm.SWWrongLength},
		{"three bytes", "00A404", schsm.SWWrongLength},
		{"short Lc too long", "00200081 06 3634", schsm.SWWrongLength},
		{"short Lc too short", "00200081 02 363438323139", schsm.SWWrongLength},
		{"two-byte body starting with 00", "00200081 0006", schsm.SWWrongLength},
		{"extended Lc zero", "00200081 000000 00", schsm.SWWrongLength},
		{"extended Lc mismatch", "00200081 000006 3634", schsm.SWWrongLength},
		{"unknown INS", "00FF0000", schsm.SWINSNotSupported},
		{"MSE with an unknown key", "0022 81B6 03 830100", schsm.SWReferenceNotFound},
		{"secure messaging CLA 0C", "0C200081", schsm.SWCLANotSupported},
		{"secure messaging CLA 84", "84200081", schsm.SWCLANotSupported},
		{"unknown CLA A0", "A0200081", schsm.SWCLANotSupported},
		{"GET RESPONSE bad P1P2", "00C0010000", schsm.SWIncorrectP1P2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := initializedCard(t)
			raw := c.Transmit(unhex(t, tc.command))
			resp, err := schsm.ParseResponse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if resp.SW != tc.sw || len(resp.Data) != 0 {
				t.Fatalf("answer %X, want only SW %04X", raw, tc.sw)
			}
		})
	}
}

func TestGetChallenge(t *testing.T) {
	c := initializedCard(t)
	cases := []struct {
		command string
		sw      uint16
		length  int
	}{
		{"0084000001", schsm.SWOK, 1},
		{"0084000020", schsm.SWOK, 32},
		{"0084000000", schsm.SWOK, 256},
		{"00840000 000400", schsm.SWOK, 1024},
		{"00840000 000401", schsm.SWWrongLength, 0},
		{"00840000", schsm.SWWrongLength, 0},
		{"0084010008", schsm.SWIncorrectP1P2, 0},
	}
	for _, tc := range cases {
		resp := expectSW(t, c, tc.command, tc.sw)
		if len(resp.Data) != tc.length {
			t.Errorf("%s: %d bytes, want %d", tc.command, len(resp.Data), tc.length)
		}
	}
	a := expectSW(t, c, "0084000010", schsm.SWOK)
	b := expectSW(t, c, "0084000010", schsm.SWOK)
	if bytes.Equal(a.Data, b.Data) {
		t.Error("two challenges are equal")
	}
}

func TestVerifyReferences(t *testing.T) {
	c := initializedCard(t)
	cases := []struct {
		command string
		sw      uint16
	}{
		{"00200181", schsm.SWWrongP1P2},
		{"00200085", schsm.SWReferenceNotFound},
		{"00200086", schsm.SWReferenceNotFound},
		{"00200001", schsm.SWReferenceNotFound},
		{"00200088", 0x63CF},
	}
	for _, tc := range cases {
		expectSW(t, c, tc.command, tc.sw)
	}
}

func TestUserPINBlocked(t *testing.T) {
	c := initializedCard(t)
	expectSW(t, c, verifyWrongPIN, 0x63C2)
	expectSW(t, c, verifyWrongPIN, 0x63C1)
	expectSW(t, c, verifyWrongPIN, schsm.SWPINBlocked)
	expectSW(t, c, userPINStatus, schsm.SWPINBlocked)
	expectSW(t, c, verifyRightPIN, schsm.SWPINBlocked)
	expectSW(t, c, "00240081 0C 363438323139 313233343536", schsm.SWPINBlocked)

	// RESET RETRY COUNTER with a new PIN unblocks.
	expectSW(t, c, rrcRightSOPIN, schsm.SWOK)
	expectSW(t, c, userPINStatus, 0x63C3)
	expectSW(t, c, verifyRightPIN, 0x63C2)
	expectSW(t, c, "00200081 06 313233343536", schsm.SWOK)
}

func TestCorrectPINRestoresRetries(t *testing.T) {
	c := initializedCard(t)
	expectSW(t, c, verifyWrongPIN, 0x63C2)
	expectSW(t, c, verifyRightPIN, schsm.SWOK)
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, userPINStatus, 0x63C3)
}

func TestResetRetryCounter(t *testing.T) {
	t.Run("option 0001 with new PIN", func(t *testing.T) {
		c := initializedCard(t)
		expectSW(t, c, "002C0281 08 "+rightSOPIN, schsm.SWIncorrectP1P2)
		expectSW(t, c, "002C0082 0E "+rightSOPIN+" 313233343536", schsm.SWReferenceNotFound)
		expectSW(t, c, "002C0081 08 "+rightSOPIN, schsm.SWWrongLength)
		expectSW(t, c, "002C0081 0D "+rightSOPIN+" 3132333435", schsm.SWWrongLength)
		expectSW(t, c, "002C0181 08 "+rightSOPIN, schsm.SWCommandNotAllowed)
		expectSW(t, c, rrcRightSOPIN, schsm.SWOK)
		expectSW(t, c, "00200081 06 313233343536", schsm.SWOK)
	})

	t.Run("option 0021 resets the counter only", func(t *testing.T) {
		c := newTestCard(t)
		expectSW(t, c, selectApplet, schsm.SWOK)
		expectSW(t, c, "80500000 19 80020021 8106363438323139 82083537363231383830 910103", schsm.SWOK)
		expectSW(t, c, selectApplet, schsm.SWOK)
		expectSW(t, c, verifyWrongPIN, 0x63C2)
		expectSW(t, c, verifyWrongPIN, 0x63C1)
		expectSW(t, c, verifyWrongPIN, schsm.SWPINBlocked)

		// CardContact: no new PIN with option 0x0020.
		expectSW(t, c, rrcRightSOPIN, schsm.SWCommandNotAllowed)
		expectSW(t, c, "002C0181 09 "+rightSOPIN+"00", schsm.SWWrongLength)
		expectSW(t, c, "002C0181 08 "+wrongSOPIN, 0x63CE)
		expectSW(t, c, "002C0181 08 "+rightSOPIN, schsm.SWOK)
		expectSW(t, c, userPINStatus, 0x63C3)
		expectSW(t, c, verifyRightPIN, schsm.SWOK)
	})

	t.Run("without option 0001", func(t *testing.T) {
		c := newTestCard(t)
		expectSW(t, c, selectApplet, schsm.SWOK)
		expectSW(t, c, "80500000 19 80020000 8106363438323139 82083537363231383830 910103", schsm.SWOK)
		expectSW(t, c, rrcRightSOPIN, schsm.SWCommandNotAllowed)
		expectSW(t, c, "002C0181 08 "+rightSOPIN, schsm.SWCommandNotAllowed)
		expectSW(t, c, soPINStatus, schsm.SWOK) // INITIALIZE presented the SO-PIN
		expectSW(t, c, selectApplet, schsm.SWOK)
		expectSW(t, c, soPINStatus, 0x63CF) // RRC refused before checking
	})

	t.Run("blank device", func(t *testing.T) {
		c := newTestCard(t)
		expectSW(t, c, selectApplet, schsm.SWOK)
		expectSW(t, c, rrcRightSOPIN, schsm.SWReferenceNotFound)
	})
}

func TestSOPINCountsDownFrom15(t *testing.T) {
	c := initializedCard(t)
	expectSW(t, c, soPINStatus, 0x63CF)
	for left := 14; left >= 1; left-- {
		expectSW(t, c, rrcWrongSOPIN, 0x63C0|uint16(left))
		expectSW(t, c, soPINStatus, 0x63C0|uint16(left))
	}
	expectSW(t, c, rrcWrongSOPIN, schsm.SWPINBlocked)
	expectSW(t, c, soPINStatus, schsm.SWPINBlocked)

	// Blocked for good: the right SO-PIN neither resets the user PIN nor
	// re-initializes the device.
	expectSW(t, c, rrcRightSOPIN, schsm.SWPINBlocked)
	expectSW(t, c, initRRCOneShare, schsm.SWPINBlocked)
	expectSW(t, c, "00240088 10 "+rightSOPIN+rightSOPIN, schsm.SWPINBlocked)
	expectSW(t, c, "00200088 08 "+rightSOPIN, schsm.SWPINBlocked)
}

func TestSOPINTriesSharedByCommands(t *testing.T) {
	c := initializedCard(t)
	expectSW(t, c, "00200088 08 "+wrongSOPIN, 0x63CE)
	expectSW(t, c, "00240088 10 "+wrongSOPIN+rightSOPIN, 0x63CD)
	expectSW(t, c, "80500000 1C 80020001 8106363438323139 8208"+wrongSOPIN+" 910103 920101", 0x63CC)
	expectSW(t, c, rrcWrongSOPIN, 0x63CB)
	// A correct SO-PIN restores the 15 tries.
	expectSW(t, c, "00200088 08 "+rightSOPIN, schsm.SWOK)
	expectSW(t, c, soPINStatus, schsm.SWOK)
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, soPINStatus, 0x63CF)
}

func TestChangeSOPIN(t *testing.T) {
	c := initializedCard(t)
	const newSOPIN = "0102030405060708"
	expectSW(t, c, "00240088 08 "+rightSOPIN, schsm.SWWrongLength)
	expectSW(t, c, "00240088 10 "+rightSOPIN+newSOPIN, schsm.SWOK)
	expectSW(t, c, "002C0081 0E "+rightSOPIN+" 313233343536", 0x63CE)
	expectSW(t, c, "002C0081 0E "+newSOPIN+" 313233343536", schsm.SWOK)
	expectSW(t, c, "00240089 10 "+newSOPIN+newSOPIN, schsm.SWReferenceNotFound)
}

func TestChangeUserPINLengths(t *testing.T) {
	c := initializedCard(t)
	expectSW(t, c, "00240081 06 363438323139", schsm.SWWrongLength)
	expectSW(t, c, "00240081 0B 363438323139 3132333435", schsm.SWWrongLength)
	expectSW(t, c, "00240081 17 363438323139"+strings.Repeat("31", 17), schsm.SWWrongLength)
	expectSW(t, c, "00240081 0C 313131313131 313233343536", 0x63C2)
	expectSW(t, c, "00240081 16 363438323139"+strings.Repeat("32", 16), schsm.SWOK)
	expectSW(t, c, "00200081 10"+strings.Repeat("32", 16), schsm.SWOK)
}

func TestTransportPIN(t *testing.T) {
	c := newTestCard(t)
	expectSW(t, c, selectApplet, schsm.SWOK)
	// Options 0003: RRC and transport PIN; transport PIN 648219.
	expectSW(t, c, "80500000 1C 80020003 8106363438323139 82083537363231383830 910103 920101", schsm.SWOK)
	expectSW(t, c, userPINStatus, schsm.SWTransportPIN)
	expectSW(t, c, "00D7C401 06 54020000 5300", schsm.SWSecurityStatus)

	expectResponse(t, c, selectApplet, schsm.SWOK, fcpWithOptions(0x0003))
	expectSW(t, c, userPINStatus, schsm.SWTransportPIN)
	expectSW(t, c, verifyRightPIN, schsm.SWTransportPIN)
	expectSW(t, c, verifyWrongPIN, schsm.SWTransportPIN) // spends no try

	// A wrong transport PIN in CHANGE REFERENCE DATA costs a try.
	expectSW(t, c, "00240081 0C 313131313131 313233343536", 0x63C2)

	// CardContact: changing the PIN ends transport-PIN mode.
	expectSW(t, c, "00240081 0C 363438323139 313233343536", schsm.SWOK)
	expectSW(t, c, userPINStatus, schsm.SWOK)
	expectResponse(t, c, selectApplet, schsm.SWOK, fcpWithOptions(0x0001))
	expectSW(t, c, userPINStatus, 0x63C3)
	expectSW(t, c, "00200081 06 313233343536", schsm.SWOK)
}

func TestInitializeValidation(t *testing.T) {
	const so = "8208" + rightSOPIN
	cases := []struct {
		name string
		data string
		sw   uint16
	}{
		{"minimal", so, schsm.SWOK},
		{"SO-PIN missing", "80020001 8106363438323139", schsm.SWWrongData},
		{"SO-PIN of 7 bytes", "8207 35373632313838", schsm.SWWrongData},
		{"SO-PIN of 16 bytes", "8210" + rightSOPIN + rightSOPIN, schsm.SWWrongData},
		{"PIN of 5", "8105 3132333435" + so, schsm.SWWrongData},
		{"PIN of 16", "8110" + strings.Repeat("31", 16) + so, schsm.SWOK},
		{"PIN of 17", "8111" + strings.Repeat("31", 17) + so, schsm.SWWrongData},
		{"PIN of 6, 3 retries", "8106 313233343536 910103" + so, schsm.SWOK},
		{"PIN of 6, 4 retries", "8106 313233343536 910104" + so, schsm.SWWrongData},
		{"PIN of 7, 5 retries", "8107 31323334353637 910105" + so, schsm.SWOK},
		{"PIN of 7, 6 retries", "8107 31323334353637 910106" + so, schsm.SWWrongData},
		{"PIN of 8, 10 retries", "8108 3132333435363738 91010A" + so, schsm.SWOK},
		{"PIN of 8, 11 retries", "8108 3132333435363738 91010B" + so, schsm.SWWrongData},
		{"0 retries", "8106 313233343536 910100" + so, schsm.SWWrongData},
		{"options of 1 byte", "800101" + so, schsm.SWWrongData},
		{"PKA 2 of 3", "93020302" + so, schsm.SWOK},
		{"PKA 3 of 2", "93020203" + so, schsm.SWWrongData},
		{"PKA 0 keys", "93020000" + so, schsm.SWWrongData},
		{"17 key domains", "970111" + so, schsm.SWWrongData},
		{"bio servers ignored", "9502AABB 9601CC" + so, schsm.SWOK},
		{"duplicate tag", so + so, schsm.SWWrongData},
		{"truncated TLV", so + "8106 3132", schsm.SWWrongData},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCard(t)
			expectSW(t, c, selectApplet, schsm.SWOK)
			data := unhex(t, tc.data)
			command := append([]byte{0x80, 0x50, 0x00, 0x00, byte(len(data))}, data...)
			resp, err := schsm.ParseResponse(c.Transmit(command))
			if err != nil {
				t.Fatal(err)
			}
			if resp.SW != tc.sw {
				t.Fatalf("SW %04X, want %04X", resp.SW, tc.sw)
			}
		})
	}

	t.Run("empty", func(t *testing.T) {
		c := newTestCard(t)
		expectSW(t, c, selectApplet, schsm.SWOK)
		expectSW(t, c, "80500000", schsm.SWWrongLength)
		expectSW(t, c, "8050000000", schsm.SWWrongLength)
		expectSW(t, c, "80500100 0A"+so, schsm.SWIncorrectP1P2)
	})
}

func TestReinitialize(t *testing.T) {
	c := initializedCard(t)
	serial := c.Serial()
	cert := append([]byte(nil), c.st.Identity.Certificate...)
	expectSW(t, c, verifyRightPIN, schsm.SWOK)
	expectSW(t, c, "00D7C401 06 54020000 5300", schsm.SWOK)
	expectSW(t, c, "00D72F03 06 54020000 5300", schsm.SWOK)
	expectSW(t, c, "80520000 20"+strings.Repeat("A5", 32)+"00", schsm.SWOK)
	expectSW(t, c, rrcWrongSOPIN, 0x63CE)

	// Re-initialize with the right SO-PIN: PIN 12345678, 10 retries,
	// options 0000, no DKEK, PKA 1 of 1.
	expectSW(t, c, "80500000 1F 80020000 8108 3132333435363738 8208"+rightSOPIN+" 91010A 93020101", schsm.SWOK)
	expectSW(t, c, userPINStatus, schsm.SWOK)
	expectSW(t, c, soPINStatus, schsm.SWOK)
	expectResponse(t, c, "8058000000", schsm.SWOK, "CC00")
	expectSW(t, c, "00A40000022F0300", schsm.SWFileNotFound)
	expectSW(t, c, dkekStatus, schsm.SWReferenceNotFound)
	expectSW(t, c, "80520000 20"+strings.Repeat("A5", 32), schsm.SWCommandNotAllowed)
	expectResponse(t, c, "8054000000", schsm.SWOK, "01010100")

	expectResponse(t, c, selectApplet, schsm.SWOK, fcpWithOptions(0x0000))
	expectSW(t, c, userPINStatus, 0x63CA)
	expectSW(t, c, soPINStatus, 0x63CF)
	expectSW(t, c, "00200081 08 3132333435363738", schsm.SWOK)

	if c.Serial() != serial || !bytes.Equal(c.st.Identity.Certificate, cert) {
		t.Fatal("INITIALIZE changed the device identity")
	}
	resp := expectSW(t, c, "00B12F02 04 54020000 00", schsm.SWOK)
	if !bytes.Equal(resp.Data, cert) {
		t.Fatal("EF.C_DevAut changed")
	}
}

func TestInitializeWithoutUserPIN(t *testing.T) {
	c := newTestCard(t)
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, "80500000 0E 8208"+rightSOPIN+" 93020201", schsm.SWOK)
	expectSW(t, c, userPINStatus, schsm.SWReferenceNotFound)
	expectSW(t, c, soPINStatus, schsm.SWOK)
	expectResponse(t, c, "8054000000", schsm.SWOK, "02020100")
	expectSW(t, c, "8054000100", schsm.SWIncorrectP1P2)
	// Data that is no authenticated request is rejected as wrong data.
	expectSW(t, c, "80540000 02 6700", schsm.SWWrongData)
}

func TestCardGeneratedDKEK(t *testing.T) {
	c := newTestCard(t)
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, "80500000 11 80020001 8208"+rightSOPIN+" 920100", schsm.SWOK)
	resp := expectSW(t, c, dkekStatus, schsm.SWOK)
	if len(resp.Data) != 10 || resp.Data[0] != 1 || resp.Data[1] != 0 {
		t.Fatalf("status %X, want 01 00 and a key check value", resp.Data)
	}
	if bytes.Equal(resp.Data[2:], make([]byte, 8)) {
		t.Fatal("key check value of a card-generated DKEK is zero")
	}
	expectSW(t, c, "80520000 20"+strings.Repeat("A5", 32), schsm.SWCommandNotAllowed)
}

func TestDKEKShares(t *testing.T) {
	c := newTestCard(t)
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, "80500000 11 80020001 8208"+rightSOPIN+" 920102", schsm.SWOK)
	expectSW(t, c, selectApplet, schsm.SWOK)

	expectResponse(t, c, dkekStatus, schsm.SWOK, "02020000000000000000")
	expectSW(t, c, "80520000 1F"+strings.Repeat("A5", 31), schsm.SWWrongLength)
	expectSW(t, c, "80520000 21"+strings.Repeat("A5", 33), schsm.SWWrongLength)
	expectResponse(t, c, "80520000 20"+strings.Repeat("A5", 32)+"00", schsm.SWOK, "02010000000000000000")
	// Two identical shares cancel out: the DKEK is 32 zero bytes.
	expectResponse(t, c, "80520000 20"+strings.Repeat("A5", 32)+"00", schsm.SWOK, "020066687AADF862BD77")
	expectSW(t, c, "80520100 0102", schsm.SWConditionsNotSatisfied)
	expectSW(t, c, "80520001 00", schsm.SWIncorrectP1P2)
	expectSW(t, c, "80520010 00", schsm.SWWrongP1P2)
	expectSW(t, c, "80520200 00", schsm.SWIncorrectP1P2)
	expectSW(t, c, "80520500 00", schsm.SWIncorrectP1P2)
}

func TestKeyDomainManagement(t *testing.T) {
	c := newTestCard(t)
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, "80500000 19 80020001 8106363438323139 8208"+rightSOPIN+" 970103", schsm.SWOK)

	expectSW(t, c, "80520100 00", schsm.SWWrongLength)
	expectSW(t, c, "80520100 020101", schsm.SWWrongLength)
	expectSW(t, c, "80520100 0100", schsm.SWWrongData)
	expectSW(t, c, "80520102 0101", 0x610A)
	expectResponse(t, c, "00C000000A", schsm.SWOK, "01010000000000000000")
	expectSW(t, c, "80520300 00", schsm.SWIncorrectP1P2) // undefined
	expectSW(t, c, "80520400 00", schsm.SWReferenceNotFound)
	expectSW(t, c, "80520003 00", schsm.SWIncorrectP1P2)
	expectSW(t, c, "80520002 20"+strings.Repeat("5A", 32), 0x610A)
	expectSW(t, c, "80520302", schsm.SWOK)
	expectSW(t, c, "80520002 00", schsm.SWReferenceNotFound)

	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, "80520302", schsm.SWConditionsNotSatisfied)
	expectSW(t, c, "80520402", schsm.SWConditionsNotSatisfied)
}

func TestConcurrentTransmit(t *testing.T) {
	c := initializedCard(t)
	challenge, sel := unhex(t, "0084000008"), unhex(t, selectApplet)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				resp, err := schsm.ParseResponse(c.Transmit(challenge))
				// A concurrent Reset deselects the applet (6A82).
				if err != nil || (resp.SW != schsm.SWOK && resp.SW != schsm.SWFileNotFound) {
					t.Errorf("GET CHALLENGE: SW %04X, error %v", resp.SW, err)
					return
				}
				if resp.SW == schsm.SWOK && len(resp.Data) != 8 {
					t.Errorf("GET CHALLENGE returned %d bytes, want 8", len(resp.Data))
					return
				}
				c.ATR()
				c.Serial()
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			c.Reset()
			c.Transmit(sel)
		}
	})
	wg.Wait()
}
