package provision

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

func TestDuplicateShareNamesFiles(t *testing.T) {
	req := picoRequest(t)
	req.Settings.DKEKShares = 2
	req.Settings.ShareFiles = []string{"one.pbe", "copy-of-one.pbe"}
	req.Shares = [][32]byte{fill(0xA5), fill(0xA5)}
	fake := newFake(t)
	_, err := Run(schsm.NewCard(fake), req, nil)
	if !errors.Is(err, ErrDuplicateShare) {
		t.Fatalf("err = %v, want ErrDuplicateShare", err)
	}
	if errors.Is(err, ErrShareCount) {
		t.Errorf("err = %v, reported as a wrong share count", err)
	}
	if !strings.Contains(err.Error(), "(one.pbe and copy-of-one.pbe)") {
		t.Errorf("err = %q, want both file names", err)
	}
	if len(fake.sent) != 0 {
		t.Errorf("host sent %d APDUs, want none", len(fake.sent))
	}
}

func TestFailedRunHasNoAfter(t *testing.T) {
	script := blankStatus(picoFCPBlank)
	script = append(script,
		exchange{picoInitialize, "9000"},
		exchange{verify648219, "63C2"},
	)
	fake := newFake(t, script...)
	res, err := Run(schsm.NewCard(fake), picoRequest(t), nil)
	if err == nil {
		t.Fatal("Run succeeded, want the VERIFY failure")
	}
	if res.Before == nil {
		t.Error("Result.Before is nil, although the status was read")
	}
	if res.After != nil {
		t.Errorf("Result.After = %+v, want nil before the read-back", res.After)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"after":null`) {
		t.Errorf("JSON %s lacks \"after\":null", b)
	}
}

func TestRemainingSingular(t *testing.T) {
	r := &runner{req: picoRequest(t)}
	r.res.Before = &schsm.DeviceStatus{}
	r.req.Settings.PKATotal = 1
	r.req.Settings.DKEKShares = 2
	r.listRemaining()
	joined := strings.Join(r.res.Remaining, "\n")
	if !strings.Contains(joined, "register 1 public key for") {
		t.Errorf("Remaining = %q, want \"register 1 public key for\"", joined)
	}
	if !strings.Contains(joined, "import the other 1 of 2 DKEK shares") {
		t.Errorf("Remaining = %q, want the missing share count", joined)
	}
	if !strings.Contains(joined, "DKEK shares (sc-hsm-init dkek import)") || strings.Contains(joined, "--import-dkek-share") {
		t.Errorf("Remaining = %q, want the import command of this tool", joined)
	}
}

func TestDescribeDKEKSingular(t *testing.T) {
	got := describeDKEK(schsm.InitParams{DKEKShares: 1, KeyDomains: 1})
	if got != "1 DKEK share, 1 key domain" {
		t.Errorf("describeDKEK = %q, want %q", got, "1 DKEK share, 1 key domain")
	}
}

func TestInitializeRefusedNamesSOPIN(t *testing.T) {
	err := &InitializeRefusedError{Err: &schsm.WrongPINError{SW: 0x63CE, TriesLeft: 14}, SOPINTriesLeft: 14}
	msg := err.Error()
	if !strings.Contains(msg, "wrong SO-PIN (SW 63CE)") || strings.Contains(msg, "wrong PIN,") {
		t.Errorf("message = %q, want the wrong SO-PIN named", msg)
	}
	if !strings.Contains(msg, "SO-PIN tries left: 14") {
		t.Errorf("message = %q, want the tries left", msg)
	}
}
