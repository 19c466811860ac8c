package pkcs11bridge

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/teststack"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/virtualcard"
)

// These tests run OpenSC's PKCS#11 module against a virtual SmartCard-HSM
// behind an isolated pcscd. TestMain starts one stack for the test binary
// through runWithStack, and the tests share its card. Without pcscd, vpcd or
// OpenSC they are skipped, unless SCHSM_REQUIRE_STACK=1 makes them fail.

// Test secrets of the throwaway virtual card.
const (
	integrationPIN   = "648219"
	integrationSOPIN = "3537363231383830"
)

// integrationSerial is the token serial number of the shared virtual card,
// read before the stack serves it.
var integrationSerial string

// runWithStack runs the tests of the binary with one PC/SC stack whose card
// is initialized with integrationPIN. The tests leave the card with all
// 3 user PIN tries, so that each test starts from the same state.
func runWithStack(m *testing.M) int {
	card, err := initializedCard()
	if err != nil {
		fmt.Fprintf(os.Stderr, "preparing the virtual card: %v\n", err)
		return 1
	}
	integrationSerial = card.Serial()
	return teststack.Main(m, teststack.WithCard(card))
}

// initializedCard returns a virtual card initialized in-process with
// integrationPIN and 3 user PIN tries, before any reader sees it.
func initializedCard() (*virtualcard.Card, error) {
	card, err := virtualcard.New(virtualcard.Options{})
	if err != nil {
		return nil, fmt.Errorf("creating virtual card: %w", err)
	}
	card.PowerOn()
	defer card.PowerOff()

	selectApplet, err := hex.DecodeString("00A404000BE82B0601040181C31F020100")
	if err != nil {
		return nil, err
	}
	if sw := statusWord(card.Transmit(selectApplet)); sw != 0x9000 {
		return nil, fmt.Errorf("SELECT of the applet returned SW %04X", sw)
	}

	soPIN, err := hex.DecodeString(integrationSOPIN)
	if err != nil {
		return nil, err
	}
	data := []byte{0x80, 0x02, 0x00, 0x01} // options: RESET RETRY COUNTER allowed
	data = append(data, 0x81, byte(len(integrationPIN)))
	data = append(data, integrationPIN...)
	data = append(data, 0x82, byte(len(soPIN)))
	data = append(data, soPIN...)
	data = append(data, 0x91, 0x01, 0x03) // 3 user PIN tries
	initialize := append([]byte{0x80, 0x50, 0x00, 0x00, byte(len(data))}, data...)
	if sw := statusWord(card.Transmit(initialize)); sw != 0x9000 {
		return nil, fmt.Errorf("INITIALIZE DEVICE returned SW %04X", sw)
	}
	return card, nil
}

func statusWord(response []byte) uint16 {
	if len(response) < 2 {
		return 0
	}
	return uint16(response[len(response)-2])<<8 | uint16(response[len(response)-1])
}

// requireStack returns the shared stack, once its card is present, and the
// path of OpenSC's PKCS#11 module. It skips t like teststack does when the
// module is missing. teststack.Main has set PCSCLITE_CSOCK_NAME for the
// test process, and the verification child inherits it.
func requireStack(t *testing.T) (*teststack.Stack, string) {
	t.Helper()
	stack := teststack.Shared(t)
	module, err := FindModule("")
	if err != nil {
		if os.Getenv(teststack.RequireEnv) == "1" {
			t.Fatalf("OpenSC PKCS#11 module: %v", err)
		}
		t.Skipf("skipping: OpenSC PKCS#11 module: %v; set %s=1 to fail instead", err, teststack.RequireEnv)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := stack.WaitCardPresent(ctx); err != nil {
		t.Fatalf("waiting for the virtual card: %v", err)
	}
	return stack, module
}

func verifyInTestChild(t *testing.T, req Request) Report {
	t.Helper()
	t.Setenv(childModeEnv, "serve")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	report, err := VerifyInChild(ctx, testExecutable(t), nil, req)
	if err != nil {
		t.Fatalf("VerifyInChild() error: %v", err)
	}
	return report
}

func checkOf(t *testing.T, report Report, name string) Check {
	t.Helper()
	c, ok := report.Check(name)
	if !ok {
		t.Fatalf("report has no %q check: %+v", name, report.Checks)
	}
	return c
}

func TestVerifyAgainstOpenSC(t *testing.T) {
	stack, module := requireStack(t)
	serial := integrationSerial

	// pkcs11-tool is the independent judge of which slots exist.
	listing, _, err := stack.Run(t, "pkcs11-tool", "--module", module, "-L")
	if err != nil {
		t.Fatalf("pkcs11-tool -L: %v", err)
	}
	if !strings.Contains(listing, serial) || !strings.Contains(listing, stack.Reader) {
		t.Fatalf("pkcs11-tool -L lists no token %q in %q:\n%s", serial, stack.Reader, listing)
	}

	base := Request{ModulePath: module, Reader: stack.Reader, Serial: serial, PIN: []byte(integrationPIN), UserPINTriesLeft: 3}

	t.Run("initialized token passes", func(t *testing.T) {
		report := verifyInTestChild(t, base)
		if !report.Passed() {
			t.Fatalf("report failed: %+v", report.Checks)
		}
		if report.Token == nil || report.Token.Serial != serial {
			t.Errorf("token = %+v, want serial %q", report.Token, serial)
		}
		if report.Token.MaxPINLen != OpenSCMaxPINLen {
			t.Errorf("token max PIN length = %d, want %d", report.Token.MaxPINLen, OpenSCMaxPINLen)
		}
		if !strings.Contains(report.URI, "serial="+serial) {
			t.Errorf("URI %q lacks the serial", report.URI)
		}
		if len(report.Mechanisms) == 0 {
			t.Error("no mechanisms listed")
		}
		if report.Slot == nil || !strings.Contains(listing, report.Slot.Description) {
			t.Errorf("matched slot %+v is not in the pkcs11-tool listing", report.Slot)
		}
		if c := checkOf(t, report, CheckLogout); !c.Passed {
			t.Errorf("logout check: %+v", c)
		}
	})

	t.Run("in-process verify", func(t *testing.T) {
		report, err := Verify(base)
		if err != nil {
			t.Fatalf("Verify() error: %v", err)
		}
		if !report.Passed() {
			t.Errorf("report failed: %+v", report.Checks)
		}
	})

	t.Run("empty reader", func(t *testing.T) {
		req := base
		req.Reader = strings.Replace(stack.Reader, "00 00", "00 01", 1)
		report := verifyInTestChild(t, req)
		c := checkOf(t, report, CheckSlot)
		if c.Passed || !strings.Contains(c.Reason, "no slot with a token in reader") {
			t.Errorf("slot check = %+v, want no token in the second reader", c)
		}
		if report.Passed() {
			t.Error("report passed without a token")
		}
	})

	t.Run("other serial", func(t *testing.T) {
		req := base
		req.Serial = "VSCHSMOTHER"
		report := verifyInTestChild(t, req)
		c := checkOf(t, report, CheckSlot)
		if c.Passed || !strings.Contains(c.Reason, `serials seen in that reader: "`+serial+`"`) {
			t.Errorf("slot check = %+v, want the serial seen", c)
		}
	})

	t.Run("sixteen character PIN not presented", func(t *testing.T) {
		req := base
		req.PIN = []byte("1234567890123456")
		report := verifyInTestChild(t, req)
		c := checkOf(t, report, CheckLogin)
		if c.Passed || !strings.Contains(c.Reason, "accepts at most 15 characters") {
			t.Errorf("login check = %+v, want the 16-character diagnosis", c)
		}
		if report.Token == nil || strings.Contains(strings.Join(report.Token.Flags, " "), "CKF_USER_PIN_COUNT_LOW") {
			t.Errorf("token flags %v show a used try", report.Token)
		}
	})

	t.Run("wrong PIN then last-try guard", func(t *testing.T) {
		req := base
		req.PIN = []byte("000000")
		report := verifyInTestChild(t, req)
		c := checkOf(t, report, CheckLogin)
		if c.Passed || !strings.Contains(c.Reason, "PIN incorrect (CKR_PIN_INCORRECT") {
			t.Errorf("login check = %+v, want PIN incorrect", c)
		}

		req.UserPINTriesLeft = 1
		report = verifyInTestChild(t, req)
		c = checkOf(t, report, CheckLogin)
		if c.Passed || !strings.Contains(c.Reason, "only one user PIN try is left") {
			t.Errorf("login check = %+v, want the last-try refusal", c)
		}

		// The right PIN resets the counter so later subtests start at 3.
		report = verifyInTestChild(t, base)
		if c := checkOf(t, report, CheckLogin); !c.Passed {
			t.Errorf("login with the right PIN: %+v", c)
		}
	})
}

// TestVerifyIgnoresUserFileCache runs pkcs11-tool with file caching on, then
// checks that the verification child neither reads nor writes that cache.
func TestVerifyIgnoresUserFileCache(t *testing.T) {
	stack, module := requireStack(t)

	cacheDir := t.TempDir()
	config := filepath.Join(t.TempDir(), "opensc.conf")
	content := "app default {\n\tframework pkcs15 {\n\t\tuse_file_caching = yes;\n\t\tfile_cache_dir = " + cacheDir + ";\n\t}\n}\n"
	if err := os.WriteFile(config, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OPENSC_CONF", config)

	if _, _, err := stack.Run(t, "pkcs11-tool", "--module", module, "-L"); err != nil {
		t.Fatalf("pkcs11-tool -L with file caching: %v", err)
	}
	// A cached file proves that OpenSC 0.23 accepted the configuration
	// syntax. It writes the (absent) description of key 0 as
	// <serial>_NODATE_<AID>_C400.
	before := listFolder(t, cacheDir)
	if len(before) == 0 {
		t.Fatalf("pkcs11-tool -L with %s cached no file in %s", config, cacheDir)
	}

	report := verifyInTestChild(t, Request{ModulePath: module, Reader: stack.Reader, Serial: integrationSerial, PIN: []byte(integrationPIN), UserPINTriesLeft: 3})
	if !report.Passed() {
		t.Fatalf("report failed: %+v", report.Checks)
	}
	if after := listFolder(t, cacheDir); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("the verification changed the user's cache folder: before %v, after %v", before, after)
	}
}

func listFolder(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			names = append(names, path)
		}
		return nil
	})
	return names
}
