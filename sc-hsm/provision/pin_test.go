package provision

import (
	"errors"
	"slices"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// Commands and responses of a SmartCard-HSM 3.6 as the virtual card models it.
const (
	schsmFCPBlank     = fcpPrefix + "85050000000306"
	schsmFCPRRC       = fcpPrefix + "85050001000306"
	schsmFCPTransport = fcpPrefix + "85050003000306"
	initNoDKEK        = "80500000 19 80020001 8106363438323139 82083537363231383830 910103"
	initTransport     = "80500000 19 80020003 8106363438323139 82083537363231383830 910103"
	changeToNewPIN    = "00240081 0E 363438323139 3132333435363738"
	verifyNewPIN      = "00200081 08 3132333435363738"
)

// schsmStatus is Card.Status on a SmartCard-HSM without a device
// certificate, with the given user PIN and SO-PIN status words.
func schsmStatus(fcp, user, so string) []exchange {
	return []exchange{
		{selectApplet, fcp + "9000"},
		{userPINStatus, user},
		{soPINStatus, so},
		{dkekStatus, "6A88"},
		{pkaStatus, "6A86"},
		{selectDevAut, "6A82"},
	}
}

// transportRequest initializes with transport PIN 648219 and no DKEK.
func transportRequest(t *testing.T) Request {
	req := picoRequest(t)
	req.Settings.DKEKShares = schsm.NoDKEK
	req.Settings.TransportPIN = true
	req.Shares = nil
	return req
}

func TestRunTransportPINChanged(t *testing.T) {
	script := schsmStatus(schsmFCPBlank, "6A88", "6A88")
	script = append(script,
		exchange{initTransport, "9000"},
		exchange{changeToNewPIN, "9000"},
		exchange{verifyNewPIN, "9000"},
	)
	script = append(script, schsmStatus(schsmFCPTransport, "63C3", "63CF")...)
	fake := newFake(t, script...)

	req := transportRequest(t)
	req.NewPIN = schsm.SecretFromString("12345678")
	res, err := Run(schsm.NewCard(fake), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()

	want := []string{
		StepReadStatus + "=done",
		StepInitialize + "=done",
		StepChangeTransportPIN + "=done",
		StepVerifyPIN + "=done",
		StepReadBack + "=done",
	}
	if got := stepNames(res); !slices.Equal(got, want) {
		t.Errorf("steps = %q, want %q", got, want)
	}
	if len(res.Remaining) != 0 {
		t.Errorf("Remaining = %q, want none", res.Remaining)
	}
	for _, w := range res.Warnings {
		if strings.Contains(w, "transport") {
			t.Errorf("unexpected warning %q", w)
		}
	}
}

func TestRunTransportPINChangeFails(t *testing.T) {
	script := schsmStatus(schsmFCPBlank, "6A88", "6A88")
	script = append(script,
		exchange{initTransport, "9000"},
		exchange{changeToNewPIN, "6700"},
	)
	fake := newFake(t, script...)

	req := transportRequest(t)
	req.NewPIN = schsm.SecretFromString("12345678")
	res, err := Run(schsm.NewCard(fake), req, nil)
	var stepErr *StepError
	if !errors.As(err, &stepErr) || stepErr.Step != StepChangeTransportPIN {
		t.Fatalf("err = %v, want a *StepError of %q", err, StepChangeTransportPIN)
	}
	if !errors.Is(err, schsm.ErrWrongLength) {
		t.Errorf("err = %v, want it to match ErrWrongLength", err)
	}
	if strings.Contains(err.Error(), "648219") || strings.Contains(err.Error(), "12345678") {
		t.Errorf("err contains a PIN: %q", err)
	}
	fake.checkAllSent()
	if last := res.Steps[len(res.Steps)-1]; last.Status != StepFailed {
		t.Errorf("last step = %+v, want failed", last)
	}
}

func TestRunNewPINInvalid(t *testing.T) {
	tests := []struct {
		name      string
		transport bool
		newPIN    string
		want      string
	}{
		{"without transport PIN", false, "12345678", "add --transport-pin"},
		{"too short", true, "12345", "5 characters"},
		{"equal to transport PIN", true, "648219", "differs from the transport PIN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			req := transportRequest(t)
			req.Settings.TransportPIN = tt.transport
			req.NewPIN = schsm.SecretFromString(tt.newPIN)
			_, err := Run(schsm.NewCard(fake), req, nil)
			var invalid *schsm.ValidationError
			if !errors.As(err, &invalid) {
				t.Fatalf("err = %v, want *schsm.ValidationError", err)
			}
			if invalid.Problems[0].Field != FieldNewPIN || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want a %s problem containing %q", err, FieldNewPIN, tt.want)
			}
			if len(fake.sent) != 0 {
				t.Errorf("%d APDUs sent, want none", len(fake.sent))
			}
		})
	}
}

func TestRunPicoTransportPINRejected(t *testing.T) {
	tests := []struct {
		name   string
		force  bool
		newPIN string
		want   string
	}{
		{"without force", false, "", "give --force"},
		{"new PIN even with force", true, "12345678", "drop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t, blankStatus(picoFCPBlank)...)
			req := transportRequest(t)
			req.Force = tt.force
			req.NewPIN = schsm.SecretFromString(tt.newPIN)
			if tt.newPIN == "" {
				req.NewPIN = schsm.Secret{}
			}
			_, err := Run(schsm.NewCard(fake), req, nil)
			if !errors.Is(err, ErrPicoTransportPIN) {
				t.Fatalf("err = %v, want ErrPicoTransportPIN", err)
			}
			if tt.newPIN == "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
			if fake.sentINS(0x50) || fake.sentINS(0x24) {
				t.Error("INITIALIZE or CHANGE REFERENCE DATA was sent")
			}
			fake.checkAllSent()
		})
	}
}

func TestRunErasureCounted(t *testing.T) {
	script := schsmStatus(schsmFCPRRC, "63C3", "63CE")
	script = append(script,
		exchange{enumerateObjects, "CC00 CC01 C401 CE01 C802 CE02 C903 CF03 9000"},
		exchange{initNoDKEK, "9000"},
		exchange{verify648219, "9000"},
	)
	script = append(script, schsmStatus(schsmFCPRRC, "63C3", "63CF")...)
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Settings.DKEKShares = schsm.NoDKEK
	req.Shares = nil
	req.Force = true
	var seen []Erasure
	req.BeforeErase = func(e Erasure) error {
		seen = append(seen, e)
		if fake.sentINS(0x50) {
			t.Error("BeforeErase was called after INITIALIZE")
		}
		return nil
	}
	res, err := Run(schsm.NewCard(fake), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()

	want := Erasure{Objects: schsm.ObjectCounts{Keys: 1, Certificates: 2, DataObjects: 1}, Counted: true, SOPINTriesLeft: 14}
	if len(seen) != 1 || seen[0] != want {
		t.Errorf("BeforeErase got %+v, want one call with %+v", seen, want)
	}
	if res.Erased == nil || *res.Erased != want {
		t.Errorf("Result.Erased = %+v, want %+v", res.Erased, want)
	}
}

func TestRunBeforeEraseStops(t *testing.T) {
	script := schsmStatus(schsmFCPRRC, "63C3", "63CF")
	script = append(script, exchange{enumerateObjects, "6D00"})
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Settings.DKEKShares = schsm.NoDKEK
	req.Shares = nil
	req.Force = true
	stop := errors.New("stopped by the test")
	var seen Erasure
	req.BeforeErase = func(e Erasure) error { seen = e; return stop }
	res, err := Run(schsm.NewCard(fake), req, nil)
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the error of BeforeErase", err)
	}
	fake.checkAllSent()
	if seen.Counted || seen.SOPINTriesLeft != 15 {
		t.Errorf("BeforeErase got %+v, want an uncounted erasure with 15 SO-PIN tries", seen)
	}
	if len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, "\n"), "could not be counted") {
		t.Errorf("Warnings = %q, want one about the failed count", res.Warnings)
	}
}

func TestRunBlankDeviceNotCounted(t *testing.T) {
	script := schsmStatus(schsmFCPBlank, "6A88", "6A88")
	script = append(script, exchange{initNoDKEK, "9000"}, exchange{verify648219, "9000"})
	script = append(script, schsmStatus(schsmFCPRRC, "63C3", "63CF")...)
	fake := newFake(t, script...)

	req := picoRequest(t)
	req.Settings.DKEKShares = schsm.NoDKEK
	req.Shares = nil
	req.BeforeErase = func(Erasure) error {
		t.Error("BeforeErase was called for a blank device")
		return nil
	}
	res, err := Run(schsm.NewCard(fake), req, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	fake.checkAllSent()
	if res.Erased != nil {
		t.Errorf("Result.Erased = %+v, want nil for a blank device", res.Erased)
	}
}

func TestPlanTransportPINChange(t *testing.T) {
	req := transportRequest(t)
	req.NewPIN = schsm.SecretFromString("12345678")
	planned, err := Plan(req, schsm.DeviceInfo{})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	var change, verify []string
	for _, p := range planned {
		switch p.Step {
		case StepChangeTransportPIN:
			change = append(change, schsm.MaskCommand(p.Cmd))
		case StepVerifyPIN:
			verify = append(verify, schsm.MaskCommand(p.Cmd))
		}
	}
	wantChange := "00 24 00 81 0E" + strings.Repeat(" **", 14)
	if len(change) != 1 || change[0] != wantChange {
		t.Errorf("planned change = %q, want [%q]", change, wantChange)
	}
	wantVerify := "00 20 00 81 08" + strings.Repeat(" **", 8)
	if len(verify) != 1 || verify[0] != wantVerify {
		t.Errorf("planned verify = %q, want [%q]", verify, wantVerify)
	}
}
