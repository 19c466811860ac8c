package provision

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// exchange is one APDU round trip of a script: the command the host must
// send and the response (data, then status word), both in hex. Spaces are
// ignored.
type exchange struct {
	cmd, resp string
}

// fakeTransport is a schsm.Transport that replays a script and records what
// the host sent. It fails the test when the host sends anything other than
// the next scripted command.
type fakeTransport struct {
	t      *testing.T
	script []exchange
	sent   [][]byte
}

var errOffScript = errors.New("command not in the script")

func newFake(t *testing.T, script ...exchange) *fakeTransport {
	return &fakeTransport{t: t, script: script}
}

func (f *fakeTransport) Transmit(apdu []byte) ([]byte, error) {
	f.t.Helper()
	f.sent = append(f.sent, bytes.Clone(apdu))
	i := len(f.sent) - 1
	if i >= len(f.script) {
		f.t.Errorf("APDU %d = %X after the end of the script", i, apdu)
		return nil, errOffScript
	}
	if want := unhex(f.t, f.script[i].cmd); !bytes.Equal(apdu, want) {
		f.t.Errorf("APDU %d = %X, want %X", i, apdu, want)
		return nil, errOffScript
	}
	return unhex(f.t, f.script[i].resp), nil
}

// checkAllSent fails the test unless the host sent the whole script.
func (f *fakeTransport) checkAllSent() {
	f.t.Helper()
	if len(f.sent) != len(f.script) {
		f.t.Errorf("host sent %d APDUs, the script has %d", len(f.sent), len(f.script))
	}
}

// sentINS reports whether any command with instruction byte ins was sent.
func (f *fakeTransport) sentINS(ins byte) bool {
	for _, apdu := range f.sent {
		if len(apdu) > 1 && apdu[1] == ins {
			return true
		}
	}
	return false
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// Commands and responses recorded from the Pico HSM 6.6 firmware in host
// emulation mode, behind pcscd and vsmartcard-vpcd.
const (
	selectApplet     = "00A404000BE82B0601040181C31F020100"
	fcpPrefix        = "62228102000082010183020000840B2B0601040181C31F0201008A0105"
	picoFCPBlank     = fcpPrefix + "85050000FF0606"
	picoFCPRRC       = fcpPrefix + "85050001FF0606"
	userPINStatus    = "00200081"
	soPINStatus      = "00200088"
	dkekStatus       = "8052000000"
	pkaStatus        = "8054000000"
	enumerateObjects = "80580000 000000"
	selectDevAut     = "00A40000022F0200"
	devAutFCP        = "620E810201BB82010183022F028A0105"
	verify648219     = "00200081 06 363438323139"
	picoInitialize   = "80500000 1C 80020001 8106363438323139 82083537363231383830 910103 920101"
	importA5         = "80520000 20 A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5 00"
	statusA5Done     = "0100FC8B64001C5FDD0F"
	devAutContent    = "7F218201B67F4E82016E5F290100421045535049434F48534D545230303030317F4982011D060A04007F000702020202038120FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F822000000000000000000000000000000000000000000000000000000000000000008320000000000000000000000000000000000000000000000000000000000000000784410479BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B88520FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD03641418641043359F5234CE62E0EB80460046D8FD1AAE018CC8B9E687B40AA2C047E352409B45153D1AD888E4E7E780A3B1FA8C69CA8998BD271C8849137149142E96816A5A48701015F201045535049434F48534D545230303030317F4C0E060904007F0007030102025301005F25060203000302015F24060700010203015F37407191738E91E4A625DFDA04FE7B87BDD01477453728CD357CEFF094120C3DCF77E4D61610763AF2D54EEE0384CE977BB398A5FDCB9633A2E05CCF1382485FECE3"
	picoSerial       = "ESPICOHSMTR" // CHR ESPICOHSMTR00001 without its last 5 characters
)

// blankStatus is what Card.Status sends to a blank Pico HSM and what it
// returns. The blank device has no device certificate yet.
func blankStatus(fcp string) []exchange {
	return []exchange{
		{selectApplet, fcp + "9000"},
		{userPINStatus, "6A88"},
		{soPINStatus, "6A88"},
		{dkekStatus, "6B00"},
		{pkaStatus, "6A86"},
		{selectDevAut, "6A82"},
	}
}

// readDevAut reads the recorded 443-byte EF.C_DevAut in two chunks.
func readDevAut(t *testing.T) []exchange {
	content := unhex(t, devAutContent)
	return []exchange{
		{selectDevAut, devAutFCP + "9000"},
		{"00B10000 04 54020000 00", hex.EncodeToString(content[:256]) + "9000"},
		{"00B10000 04 54020100 00", hex.EncodeToString(content[256:]) + "9000"},
	}
}

// readBackStatus is Card.Status on a freshly initialized Pico HSM, after
// the re-SELECT has logged the session out.
func readBackStatus(t *testing.T, fcp, dkekAnswer string) []exchange {
	script := []exchange{
		{selectApplet, fcp + "9000"},
		{userPINStatus, "63C3"},
		{soPINStatus, "9000"},
		{dkekStatus, dkekAnswer},
		{pkaStatus, "6A86"},
	}
	return append(script, readDevAut(t)...)
}

func fill(b byte) [32]byte {
	var a [32]byte
	for i := range a {
		a[i] = b
	}
	return a
}

// picoRequest is sc-hsm-tool --initialize --so-pin 3537363231383830
// --pin 648219 --dkek-shares 1 followed by the import of share A5 x 32.
func picoRequest(t *testing.T) Request {
	s := schsm.DefaultSettings()
	s.UserPIN = schsm.SecretFromString("648219")
	so, err := schsm.ParseSOPIN("3537363231383830")
	if err != nil {
		t.Fatal(err)
	}
	s.SOPIN = &so
	s.DKEKShares = 1
	return Request{Settings: s, Shares: [][32]byte{fill(0xA5)}}
}

// runWarnings returns the warnings of res without the one about the
// default SO-PIN, which the recorded requests use.
func runWarnings(res Result) []string {
	var out []string
	for _, w := range res.Warnings {
		if !strings.Contains(w, "well-known default") {
			out = append(out, w)
		}
	}
	return out
}

func stepNames(res Result) []string {
	var names []string
	for _, s := range res.Steps {
		names = append(names, s.Name+"="+string(s.Status))
	}
	return names
}

func TestRunBlankPico(t *testing.T) {
	script := blankStatus(picoFCPBlank)
	script = append(script,
		exchange{picoInitialize, "9000"},
		exchange{verify648219, "9000"},
		exchange{importA5, statusA5Done + "9000"},
		exchange{dkekStatus, statusA5Done + "9000"},
	)
	script = append(script, readBackStatus(t, picoFCPRRC, statusA5Done+"9000")...)
	fake := newFake(t, script...)

	var progress []string
	res, err := Run(schsm.NewCard(fake), picoRequest(t), func(step string) { progress = append(progress, step) })
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()

	wantSteps := []string{
		StepReadStatus + "=done", StepInitialize + "=done", StepVerifyPIN + "=done",
		"import DKEK share 1 of 1=done", StepCheckDKEK + "=done", StepReadBack + "=done",
	}
	if got := stepNames(res); fmt.Sprint(got) != fmt.Sprint(wantSteps) {
		t.Errorf("steps = %q, want %q", got, wantSteps)
	}
	if len(progress) != len(wantSteps) {
		t.Errorf("progress = %q, want one call per step", progress)
	}
	if res.KCV == nil || fmt.Sprintf("%X", *res.KCV) != "FC8B64001C5FDD0F" {
		t.Errorf("KCV = %X, want FC8B64001C5FDD0F", res.KCV)
	}
	if res.Serial != picoSerial {
		t.Errorf("Serial = %q, want %q", res.Serial, picoSerial)
	}
	if res.Before.Initialized || !res.After.Initialized {
		t.Errorf("Initialized before %v, after %v; want false, true", res.Before.Initialized, res.After.Initialized)
	}
	if res.After.UserPIN.TriesLeft != 3 {
		t.Errorf("user PIN tries after = %d, want 3", res.After.UserPIN.TriesLeft)
	}
	if len(res.Remaining) != 0 {
		t.Errorf("Remaining = %q, want nothing", res.Remaining)
	}
	if w := runWarnings(res); len(w) != 0 {
		t.Errorf("Warnings = %q, want none", w)
	}
}

func TestRunInvalidSettingsSendsNothing(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Request)
		want   error
	}{
		{"PIN too short", func(r *Request) { r.Settings.UserPIN = schsm.SecretFromString("123") }, schsm.ErrInvalidSettings},
		{"no SO-PIN", func(r *Request) { r.Settings.SOPIN = nil }, schsm.ErrInvalidSettings},
		{"more shares than configured", func(r *Request) { r.Shares = append(r.Shares, fill(0x5A)) }, ErrShareCount},
		{"shares without DKEK", func(r *Request) { r.Settings.DKEKShares = schsm.NoDKEK }, ErrShareCount},
		{"shares with random DKEK", func(r *Request) { r.Settings.DKEKShares = 0 }, ErrShareCount},
		{"files and shares differ", func(r *Request) {
			r.Settings.DKEKShares = 2
			r.Settings.ShareFiles = []string{"a.pbe", "b.pbe"}
		}, ErrShareCount},
		{"equal shares", func(r *Request) {
			r.Settings.DKEKShares = 2
			r.Shares = [][32]byte{fill(0xA5), fill(0xA5)}
		}, ErrDuplicateShare},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := picoRequest(t)
			tt.modify(&req)
			fake := newFake(t)
			_, err := Run(schsm.NewCard(fake), req, nil)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if len(fake.sent) != 0 {
				t.Errorf("host sent %d APDUs, want none", len(fake.sent))
			}
		})
	}
}

func TestRunAlreadyInitializedRefused(t *testing.T) {
	// A SmartCard-HSM initialized without DKEK; it counts SO-PIN tries.
	fake := newFake(t,
		exchange{selectApplet, fcpPrefix + "85050001000306" + "9000"},
		exchange{userPINStatus, "63C3"},
		exchange{soPINStatus, "63CF"},
		exchange{dkekStatus, "6A88"},
		exchange{pkaStatus, "6A86"},
		exchange{selectDevAut, "6A82"},
	)
	req := picoRequest(t)
	res, err := Run(schsm.NewCard(fake), req, nil)

	var already *AlreadyInitializedError
	if !errors.As(err, &already) {
		t.Fatalf("err = %v, want *AlreadyInitializedError", err)
	}
	if already.SOPINTriesLeft != 15 {
		t.Errorf("SOPINTriesLeft = %d, want 15", already.SOPINTriesLeft)
	}
	var stepErr *StepError
	if !errors.As(err, &stepErr) || stepErr.Step != StepReadStatus {
		t.Errorf("err is not a StepError of %q", StepReadStatus)
	}
	if fake.sentINS(0x50) {
		t.Error("INITIALIZE was sent")
	}
	fake.checkAllSent()
	if !res.Before.Initialized {
		t.Error("Result.Before does not show the device as initialized")
	}
	if len(res.Steps) != 1 || res.Steps[0].Status != StepFailed {
		t.Errorf("steps = %q, want one failed step", stepNames(res))
	}
}

func TestRunSOPINBlocked(t *testing.T) {
	fake := newFake(t,
		exchange{selectApplet, fcpPrefix + "85050001000306" + "9000"},
		exchange{userPINStatus, "63C3"},
		exchange{soPINStatus, "6983"},
		exchange{dkekStatus, "6A88"},
		exchange{pkaStatus, "6A86"},
		exchange{selectDevAut, "6A82"},
	)
	req := picoRequest(t)
	req.Force = true
	_, err := Run(schsm.NewCard(fake), req, nil)
	if !errors.Is(err, ErrSOPINBlocked) {
		t.Fatalf("err = %v, want ErrSOPINBlocked", err)
	}
	if fake.sentINS(0x50) {
		t.Error("INITIALIZE was sent")
	}
}

func TestRunInitializeRefused(t *testing.T) {
	fake := newFake(t,
		exchange{selectApplet, fcpPrefix + "85050001000306" + "9000"},
		exchange{userPINStatus, "63C3"},
		exchange{soPINStatus, "63CF"},
		exchange{dkekStatus, "6A88"},
		exchange{pkaStatus, "6A86"},
		exchange{selectDevAut, "6A82"},
		exchange{enumerateObjects, "CC00 CC01 CE01 9000"},
		exchange{picoInitialize, "6985"},
		exchange{soPINStatus, "63CE"},
	)
	req := picoRequest(t)
	req.Settings.Force = true
	res, err := Run(schsm.NewCard(fake), req, nil)

	var refused *InitializeRefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("err = %v, want *InitializeRefusedError", err)
	}
	if refused.SOPINTriesLeft != 14 {
		t.Errorf("SOPINTriesLeft = %d, want 14", refused.SOPINTriesLeft)
	}
	if !errors.Is(err, schsm.ErrConditionsNotSatisfied) {
		t.Errorf("err does not match ErrConditionsNotSatisfied: %v", err)
	}
	if !strings.Contains(err.Error(), "6985") || !strings.Contains(err.Error(), "SO-PIN tries left: 14") {
		t.Errorf("err = %q, want the SW and the tries left", err)
	}
	if strings.Contains(err.Error(), "57621880") || strings.Contains(err.Error(), "648219") {
		t.Errorf("err contains a PIN: %q", err)
	}
	fake.checkAllSent()
	if last := res.Steps[len(res.Steps)-1]; last.Name != StepInitialize || last.Status != StepFailed {
		t.Errorf("last step = %+v, want a failed %q", last, StepInitialize)
	}
}

func TestRunReinitializePicoWarns(t *testing.T) {
	script := []exchange{
		{selectApplet, picoFCPRRC + "9000"},
		{userPINStatus, "63C3"},
		{soPINStatus, "9000"},
		{dkekStatus, statusA5Done + "9000"},
		{pkaStatus, "6A86"},
	}
	script = append(script, readDevAut(t)...)
	script = append(script,
		exchange{enumerateObjects, "C400 CC00 9000"},
		exchange{picoInitialize, "9000"},
		exchange{verify648219, "9000"},
		exchange{importA5, statusA5Done + "9000"},
		exchange{dkekStatus, statusA5Done + "9000"},
	)
	script = append(script, readBackStatus(t, picoFCPRRC, statusA5Done+"9000")...)
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Force = true
	res, err := Run(schsm.NewCard(fake), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()
	if w := runWarnings(res); len(w) != 1 || !strings.Contains(w[0], "serial number may change") {
		t.Errorf("Warnings = %q, want the device key warning", w)
	}
}

func TestRunKCVMismatch(t *testing.T) {
	script := blankStatus(picoFCPBlank)
	script = append(script,
		exchange{picoInitialize, "9000"},
		exchange{verify648219, "9000"},
		exchange{importA5, "0100AF9613760F72635F9000"},
		exchange{dkekStatus, "0100AF9613760F72635F9000"}, // the KCV of A5 xor 5A
	)
	fake := newFake(t, script...)
	res, err := Run(schsm.NewCard(fake), picoRequest(t), nil)
	if !errors.Is(err, ErrKCVMismatch) {
		t.Fatalf("err = %v, want ErrKCVMismatch", err)
	}
	if !strings.Contains(err.Error(), "AF9613760F72635F") || !strings.Contains(err.Error(), "FC8B64001C5FDD0F") {
		t.Errorf("err = %q, want both key check values", err)
	}
	fake.checkAllSent()
	if fake.sent[len(fake.sent)-1][1] == 0xA4 {
		t.Error("the run went on after the mismatch")
	}
	if res.Steps[len(res.Steps)-1].Status != StepFailed {
		t.Errorf("last step not failed: %q", stepNames(res))
	}
}

func TestRunTwoSharesKCV(t *testing.T) {
	// The two shares of the key-domain recording, imported into a device
	// without key domains: A5 xor 5A = FF x 32.
	script := blankStatus(picoFCPBlank)
	script = append(script,
		exchange{"80500000 1C 80020001 8106363438323139 82083537363231383830 910103 920102", "9000"},
		exchange{verify648219, "9000"},
		exchange{importA5, "0201" + "0000000000000000" + "9000"},
		exchange{"80520000 20 5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A 00", "0200AF9613760F72635F9000"},
		exchange{dkekStatus, "0200AF9613760F72635F9000"},
	)
	script = append(script, readBackStatus(t, picoFCPRRC, "0200AF9613760F72635F9000")...)
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Settings.DKEKShares = 2
	req.Shares = [][32]byte{fill(0xA5), fill(0x5A)}
	res, err := Run(schsm.NewCard(fake), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()
	if res.KCV == nil || fmt.Sprintf("%X", *res.KCV) != "AF9613760F72635F" {
		t.Errorf("KCV = %X, want AF9613760F72635F", res.KCV)
	}
}

func TestRunSharesOutstanding(t *testing.T) {
	script := blankStatus(picoFCPBlank)
	script = append(script,
		exchange{"80500000 1C 80020001 8106363438323139 82083537363231383830 910103 920102", "9000"},
		exchange{verify648219, "9000"},
		exchange{importA5, "0201" + "0000000000000000" + "9000"},
		exchange{dkekStatus, "0201" + "0000000000000000" + "9000"},
	)
	script = append(script, readBackStatus(t, picoFCPRRC, "020100000000000000009000")...)
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Settings.DKEKShares = 2
	res, err := Run(schsm.NewCard(fake), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()
	if res.KCV != nil {
		t.Errorf("KCV = %X, want none while a share is outstanding", *res.KCV)
	}
	if len(res.Remaining) != 1 || !strings.Contains(res.Remaining[0], "other 1 of 2 DKEK shares") {
		t.Errorf("Remaining = %q", res.Remaining)
	}
}

func TestRunPicoHighOptionsPreserved(t *testing.T) {
	// A blank Pico HSM with the press-to-confirm button (01) and key usage
	// counter (02) options set in the high byte.
	script := blankStatus(fcpPrefix + "85050300FF0606")
	script = append(script,
		exchange{"80500000 1C 80020301 8106363438323139 82083537363231383830 910103 920101", "9000"},
		exchange{verify648219, "9000"},
		exchange{importA5, statusA5Done + "9000"},
		exchange{dkekStatus, statusA5Done + "9000"},
	)
	script = append(script, readBackStatus(t, fcpPrefix+"85050301FF0606", statusA5Done+"9000")...)
	fake := newFake(t, script...)

	res, err := Run(schsm.NewCard(fake), picoRequest(t), nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()
	if res.After.Info.Options != 0x0301 {
		t.Errorf("options after = %04X, want 0301", res.After.Info.Options)
	}
}

func TestRunOptionsMismatch(t *testing.T) {
	script := blankStatus(fcpPrefix + "85050300FF0606")
	script = append(script,
		exchange{"80500000 1C 80020301 8106363438323139 82083537363231383830 910103 920101", "9000"},
		exchange{verify648219, "9000"},
		exchange{importA5, statusA5Done + "9000"},
		exchange{dkekStatus, statusA5Done + "9000"},
	)
	// The device lost the high byte.
	script = append(script, readBackStatus(t, picoFCPRRC, statusA5Done+"9000")...)
	fake := newFake(t, script...)

	_, err := Run(schsm.NewCard(fake), picoRequest(t), nil)
	if !errors.Is(err, ErrOptionsMismatch) {
		t.Fatalf("err = %v, want ErrOptionsMismatch", err)
	}
	if !strings.Contains(err.Error(), "sent 0301, read 0001") {
		t.Errorf("err = %q", err)
	}
}

func TestRunTransportPIN(t *testing.T) {
	script := blankStatus(picoFCPBlank)
	script = append(script,
		exchange{"80500000 19 80020003 8106363438323139 82083537363231383830 910103", "9000"},
		exchange{selectApplet, fcpPrefix + "85050003FF0606" + "9000"},
		exchange{userPINStatus, "6984"},
		exchange{soPINStatus, "9000"},
		exchange{dkekStatus, "000000000000000000009000"},
		exchange{pkaStatus, "6A86"},
	)
	script = append(script, readDevAut(t)...)
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Settings.TransportPIN = true
	req.Settings.DKEKShares = schsm.NoDKEK
	req.Shares = nil
	req.Force = true // the Pico HSM 6.6 firmware never leaves transport-PIN mode
	res, err := Run(schsm.NewCard(fake), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()
	for _, apdu := range fake.sent {
		if bytes.HasPrefix(apdu, unhex(t, userPINStatus)) && len(apdu) > 4 {
			t.Errorf("a VERIFY with data was sent: %X", apdu[:5])
		}
	}
	var verify StepResult
	for _, s := range res.Steps {
		if s.Name == StepVerifyPIN {
			verify = s
		}
	}
	if verify.Status != StepSkipped {
		t.Errorf("VERIFY step = %+v, want skipped", verify)
	}
	if len(res.Remaining) != 1 || !strings.Contains(res.Remaining[0], "change the transport PIN") {
		t.Errorf("Remaining = %q", res.Remaining)
	}
	if w := runWarnings(res); len(w) != 1 || !strings.Contains(w[0], "transport-PIN mode") {
		t.Errorf("Warnings = %q, want the Pico transport PIN warning", w)
	}
}

func TestRunKeyDomainsSkipImport(t *testing.T) {
	script := blankStatus(picoFCPBlank)
	script = append(script,
		exchange{"80500000 1F 80020001 8106363438323139 82083537363231383830 910103 920101 970102", "9000"},
		exchange{verify648219, "9000"},
		exchange{selectApplet, picoFCPRRC + "9000"},
		exchange{userPINStatus, "63C3"},
		exchange{soPINStatus, "9000"},
		exchange{dkekStatus, "6A88"},
		exchange{pkaStatus, "6A86"},
	)
	script = append(script, readDevAut(t)...)
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Settings.KeyDomains = 2
	res, err := Run(schsm.NewCard(fake), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()
	if bytes.Contains(bytes.Join(fake.sent, nil), unhex(t, "80520000 20")) {
		t.Error("a DKEK share was imported")
	}
	want := []string{"create the 2 key domains", "import the 1 DKEK share into key domain 0"}
	if len(res.Remaining) != len(want) {
		t.Fatalf("Remaining = %q", res.Remaining)
	}
	for i, w := range want {
		if !strings.Contains(res.Remaining[i], w) {
			t.Errorf("Remaining[%d] = %q, want %q", i, res.Remaining[i], w)
		}
	}
}

func TestRunPKAWithoutPIN(t *testing.T) {
	script := blankStatus(picoFCPBlank)
	script = append(script,
		exchange{"80500000 15 80020001 82083537363231383830 910103 93020302", "9000"},
		exchange{selectApplet, picoFCPRRC + "9000"},
		exchange{userPINStatus, "6A88"},
		exchange{soPINStatus, "9000"},
		exchange{dkekStatus, "000000000000000000009000"},
		exchange{pkaStatus, "03030200" + "9000"},
	)
	script = append(script, readDevAut(t)...)
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Settings.UserPIN = schsm.Secret{}
	req.Settings.PKATotal, req.Settings.PKARequired = 3, 2
	req.Settings.DKEKShares = schsm.NoDKEK
	req.Shares = nil
	res, err := Run(schsm.NewCard(fake), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()
	if len(res.Remaining) != 1 || !strings.Contains(res.Remaining[0], "register 3 public keys") {
		t.Errorf("Remaining = %q", res.Remaining)
	}
	if res.After.PKA == nil || res.After.PKA.Required != 2 {
		t.Errorf("PKA after = %+v", res.After.PKA)
	}
}

func TestRunVerifyFailureStops(t *testing.T) {
	script := blankStatus(picoFCPBlank)
	script = append(script,
		exchange{picoInitialize, "9000"},
		exchange{verify648219, "63C2"},
	)
	fake := newFake(t, script...)
	_, err := Run(schsm.NewCard(fake), picoRequest(t), nil)

	var wrong *schsm.WrongPINError
	if !errors.As(err, &wrong) || wrong.TriesLeft != 2 {
		t.Fatalf("err = %v, want *WrongPINError with 2 tries", err)
	}
	var stepErr *StepError
	if !errors.As(err, &stepErr) || stepErr.Step != StepVerifyPIN {
		t.Errorf("err is not a StepError of %q", StepVerifyPIN)
	}
	fake.checkAllSent()
}

func TestRunImportFailureNamesShare(t *testing.T) {
	script := blankStatus(picoFCPBlank)
	script = append(script,
		exchange{picoInitialize, "9000"},
		exchange{verify648219, "9000"},
		exchange{importA5, "6986"},
	)
	fake := newFake(t, script...)
	_, err := Run(schsm.NewCard(fake), picoRequest(t), nil)
	if !errors.Is(err, schsm.ErrCommandNotAllowed) {
		t.Fatalf("err = %v, want ErrCommandNotAllowed", err)
	}
	if !strings.Contains(err.Error(), "share 1 of 1") {
		t.Errorf("err = %q, want the share number", err)
	}
	if strings.Contains(strings.ToUpper(err.Error()), "A5A5") {
		t.Errorf("err contains the share: %q", err)
	}
}

func TestPlanMatchesRun(t *testing.T) {
	req := picoRequest(t)
	dev := schsm.DeviceInfo{Family: schsm.FamilyPicoHSM, Type: 0xFF, VersionMajor: 6, VersionMinor: 6}
	planned, err := Plan(req, dev)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}

	// Run against the recorded blank Pico HSM sends the same commands,
	// except that the real device certificate takes two READ BINARY
	// commands where the model's takes one.
	want := []struct{ step, apdu string }{
		{StepReadStatus, selectApplet},
		{StepReadStatus, userPINStatus},
		{StepReadStatus, soPINStatus},
		{StepReadStatus, dkekStatus},
		{StepReadStatus, pkaStatus},
		{StepReadStatus, selectDevAut},
		{StepInitialize, picoInitialize},
		{StepVerifyPIN, verify648219},
		{"import DKEK share 1 of 1", importA5},
		{StepCheckDKEK, dkekStatus},
		{StepReadBack, selectApplet},
		{StepReadBack, userPINStatus},
		{StepReadBack, soPINStatus},
		{StepReadBack, dkekStatus},
		{StepReadBack, pkaStatus},
		{StepReadBack, selectDevAut},
		{StepReadBack, "00B10000 04 54020000 00"},
	}
	if len(planned) != len(want) {
		t.Fatalf("Plan returned %d commands, want %d", len(planned), len(want))
	}
	for i, w := range want {
		raw, err := planned[i].Cmd.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if planned[i].Step != w.step {
			t.Errorf("command %d: step %q, want %q", i, planned[i].Step, w.step)
		}
		if !bytes.Equal(raw, unhex(t, w.apdu)) {
			t.Errorf("command %d: %X, want %s", i, raw, w.apdu)
		}
	}

	masked := schsm.MaskCommand(planned[6].Cmd)
	if strings.Contains(masked, "36 34 38 32 31 39") || strings.Contains(masked, "35 37 36 32") {
		t.Errorf("masked INITIALIZE shows a PIN: %s", masked)
	}
}

func TestPlanInvalidSettings(t *testing.T) {
	req := picoRequest(t)
	req.Settings.Retries = 11
	planned, err := Plan(req, schsm.DeviceInfo{Family: schsm.FamilySmartCardHSM})
	if !errors.Is(err, schsm.ErrInvalidSettings) {
		t.Errorf("err = %v, want ErrInvalidSettings", err)
	}
	if len(planned) != 0 {
		t.Errorf("Plan returned %d commands for invalid settings", len(planned))
	}
}

func TestPlanVariants(t *testing.T) {
	tests := []struct {
		name    string
		modify  func(*Request)
		wantINS []byte // instruction bytes after the preflight
	}{
		{"no DKEK", func(r *Request) { r.Settings.DKEKShares = schsm.NoDKEK; r.Shares = nil },
			[]byte{0x50, 0x20, 0xA4, 0x20, 0x20, 0x52, 0x54, 0xA4, 0xB1}},
		{"transport PIN", func(r *Request) { r.Settings.TransportPIN = true },
			[]byte{0x50, 0x52, 0x52, 0xA4, 0x20, 0x20, 0x52, 0x54, 0xA4, 0xB1}},
		{"random DKEK", func(r *Request) { r.Settings.DKEKShares = 0; r.Shares = nil },
			[]byte{0x50, 0x20, 0x52, 0xA4, 0x20, 0x20, 0x52, 0x54, 0xA4, 0xB1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := picoRequest(t)
			tt.modify(&req)
			planned, err := Plan(req, schsm.DeviceInfo{Family: schsm.FamilySmartCardHSM, VersionMajor: 3, VersionMinor: 6})
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			var got []byte
			for _, p := range planned[6:] {
				got = append(got, p.Cmd.INS)
			}
			if !bytes.Equal(got, tt.wantINS) {
				t.Errorf("INS sequence = % X, want % X", got, tt.wantINS)
			}
		})
	}
}

// Select responses of a SmartCard-HSM 3.6 (type byte 00), blank and after
// INITIALIZE with options 0001.
const (
	scHSMFCPBlank = fcpPrefix + "85050000000306"
	scHSMFCPRRC   = fcpPrefix + "85050001000306"
)

// writeTestHSM is the UPDATE BINARY that writes the TokenInfo of the label
// "Test HSM", as OpenSC 0.23.0 sc-hsm-tool --initialize --label writes it.
const writeTestHSM = "00D72F03 19 54020000 5313 3011020100800854657374204853 4D03020520"

func stepStatus(res Result, name string) (StepResult, bool) {
	for _, s := range res.Steps {
		if s.Name == name {
			return s, true
		}
	}
	return StepResult{}, false
}

func TestRunWritesLabel(t *testing.T) {
	script := blankStatus(scHSMFCPBlank)
	script = append(script,
		exchange{picoInitialize, "9000"},
		exchange{verify648219, "9000"},
		exchange{importA5, statusA5Done + "9000"},
		exchange{dkekStatus, statusA5Done + "9000"},
		exchange{writeTestHSM, "9000"},
	)
	script = append(script, readBackStatus(t, scHSMFCPRRC, statusA5Done+"9000")...)
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Settings.Label = "Test HSM"
	var progress []string
	res, err := Run(schsm.NewCard(fake), req, func(step string) { progress = append(progress, step) })
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()

	wantSteps := []string{
		StepReadStatus + "=done", StepInitialize + "=done", StepVerifyPIN + "=done",
		"import DKEK share 1 of 1=done", StepCheckDKEK + "=done", StepWriteLabel + "=done", StepReadBack + "=done",
	}
	if got := stepNames(res); fmt.Sprint(got) != fmt.Sprint(wantSteps) {
		t.Errorf("steps = %q, want %q", got, wantSteps)
	}
	if len(progress) != len(wantSteps) || progress[5] != StepWriteLabel {
		t.Errorf("progress = %q, want %q as the sixth step", progress, StepWriteLabel)
	}
	if step, _ := stepStatus(res, StepWriteLabel); !strings.Contains(step.Detail, `"Test HSM"`) {
		t.Errorf("label step detail = %q, want the label", step.Detail)
	}
	if len(res.Remaining) != 0 {
		t.Errorf("Remaining = %q, want nothing", res.Remaining)
	}
	if w := runWarnings(res); len(w) != 0 {
		t.Errorf("Warnings = %q, want none", w)
	}
}

func TestRunLabelWriteFailureStops(t *testing.T) {
	script := blankStatus(scHSMFCPBlank)
	script = append(script,
		exchange{picoInitialize, "9000"},
		exchange{verify648219, "9000"},
		exchange{importA5, statusA5Done + "9000"},
		exchange{dkekStatus, statusA5Done + "9000"},
		exchange{writeTestHSM, "6982"},
	)
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Settings.Label = "Test HSM"
	res, err := Run(schsm.NewCard(fake), req, nil)
	if !errors.Is(err, schsm.ErrSecurityStatus) {
		t.Fatalf("err = %v, want ErrSecurityStatus", err)
	}
	var stepErr *StepError
	if !errors.As(err, &stepErr) || stepErr.Step != StepWriteLabel {
		t.Errorf("err is not a StepError of %q", StepWriteLabel)
	}
	if !strings.Contains(err.Error(), "token label") || !strings.Contains(err.Error(), "2F03") {
		t.Errorf("err = %q, want the step and the file", err)
	}
	fake.checkAllSent()
	if last := res.Steps[len(res.Steps)-1]; last.Name != StepWriteLabel || last.Status != StepFailed {
		t.Errorf("last step = %+v, want a failed %q", last, StepWriteLabel)
	}
}

func TestRunPicoLabelSkipped(t *testing.T) {
	script := blankStatus(picoFCPBlank)
	script = append(script,
		exchange{picoInitialize, "9000"},
		exchange{verify648219, "9000"},
		exchange{importA5, statusA5Done + "9000"},
		exchange{dkekStatus, statusA5Done + "9000"},
	)
	script = append(script, readBackStatus(t, picoFCPRRC, statusA5Done+"9000")...)
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Settings.Label = "Test HSM"
	res, err := Run(schsm.NewCard(fake), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()
	if fake.sentINS(0xD7) {
		t.Error("UPDATE BINARY was sent to a Pico HSM")
	}
	if step, found := stepStatus(res, StepWriteLabel); !found || step.Status != StepSkipped {
		t.Errorf("label step = %+v, want skipped", step)
	}
	w := runWarnings(res)
	if len(w) != 1 || !strings.Contains(w[0], `"Test HSM"`) || !strings.Contains(w[0], "generates EF.TokenInfo") {
		t.Errorf("Warnings = %q, want the Pico label warning", w)
	}
	if len(res.Remaining) != 0 {
		t.Errorf("Remaining = %q, want nothing", res.Remaining)
	}
}

func TestRunTransportPINLabelRemaining(t *testing.T) {
	script := blankStatus(scHSMFCPBlank)
	script = append(script,
		exchange{"80500000 19 80020003 8106363438323139 82083537363231383830 910103", "9000"},
		exchange{selectApplet, fcpPrefix + "85050003000306" + "9000"},
		exchange{userPINStatus, "6984"},
		exchange{soPINStatus, "63CF"},
		exchange{dkekStatus, "6A88"},
		exchange{pkaStatus, "6A86"},
	)
	script = append(script, readDevAut(t)...)
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Settings.TransportPIN = true
	req.Settings.DKEKShares = schsm.NoDKEK
	req.Shares = nil
	req.Settings.Label = "Test HSM"
	res, err := Run(schsm.NewCard(fake), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()
	if fake.sentINS(0xD7) {
		t.Error("UPDATE BINARY was sent without a verified user PIN")
	}
	if step, found := stepStatus(res, StepWriteLabel); !found || step.Status != StepSkipped || !strings.Contains(step.Detail, "transport PIN") {
		t.Errorf("label step = %+v, want skipped for the transport PIN", step)
	}
	want := []string{"change the transport PIN", `write the token label "Test HSM"`}
	if len(res.Remaining) != len(want) {
		t.Fatalf("Remaining = %q, want %d entries", res.Remaining, len(want))
	}
	for i, w := range want {
		if !strings.Contains(res.Remaining[i], w) {
			t.Errorf("Remaining[%d] = %q, want %q", i, res.Remaining[i], w)
		}
	}
	if !strings.Contains(res.Remaining[1], "transport PIN") {
		t.Errorf("Remaining[1] = %q, want the reason", res.Remaining[1])
	}
}

func TestPlanWritesLabel(t *testing.T) {
	req := picoRequest(t)
	req.Settings.Label = "Test HSM"
	planned, err := Plan(req, schsm.DeviceInfo{Family: schsm.FamilySmartCardHSM, VersionMajor: 3, VersionMinor: 6})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}

	var writes []Planned
	for _, p := range planned {
		if p.Cmd.INS == 0xD7 {
			writes = append(writes, p)
		}
	}
	if len(writes) != 1 {
		t.Fatalf("Plan has %d UPDATE BINARY commands, want 1", len(writes))
	}
	if writes[0].Step != StepWriteLabel {
		t.Errorf("UPDATE BINARY step = %q, want %q", writes[0].Step, StepWriteLabel)
	}
	raw, err := writes[0].Cmd.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, unhex(t, writeTestHSM)) {
		t.Errorf("UPDATE BINARY = %X, want %s", raw, writeTestHSM)
	}
	// The label is not secret, so a trace shows it in full.
	if masked := schsm.MaskCommand(writes[0].Cmd); strings.Contains(masked, "**") {
		t.Errorf("masked UPDATE BINARY hides bytes: %s", masked)
	}
}

func TestPlanPicoLabelNotWritten(t *testing.T) {
	req := picoRequest(t)
	req.Settings.Label = "Test HSM"
	planned, err := Plan(req, schsm.DeviceInfo{Family: schsm.FamilyPicoHSM, Type: 0xFF, VersionMajor: 6, VersionMinor: 6})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	for _, p := range planned {
		if p.Cmd.INS == 0xD7 {
			t.Errorf("Plan for a Pico HSM writes EF.TokenInfo: %v", p.Cmd)
		}
	}
}
