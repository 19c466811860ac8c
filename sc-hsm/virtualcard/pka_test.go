package virtualcard

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/pkakey"
)

// directTransport lets a schsm.Card drive the virtual card in-process.
type directTransport struct{ c *Card }

func (d directTransport) Transmit(apdu []byte) ([]byte, error) { return d.c.Transmit(apdu), nil }

// INITIALIZE with user PIN 648219, the test SO-PIN and PKA 3 keys, 2
// required; the options are filled in by initPKA.
const initPKAFormat = "80500000 1D 8002%04X 8106363438323139 82083537363231383830 910103 93020302"

func initPKA(t *testing.T, c *Card, options uint16) *schsm.Card {
	t.Helper()
	expectSW(t, c, selectApplet, schsm.SWOK)
	expectSW(t, c, fmt.Sprintf(initPKAFormat, options), schsm.SWOK)
	expectSW(t, c, selectApplet, schsm.SWOK)
	return schsm.NewCard(directTransport{c})
}

func newCustodians(t *testing.T, n int) []*pkakey.Custodian {
	t.Helper()
	out := make([]*pkakey.Custodian, n)
	for i := range out {
		cust, err := pkakey.NewRehearsalCustodian("custodian")
		if err != nil {
			t.Fatalf("NewRehearsalCustodian: %v", err)
		}
		out[i] = cust
	}
	return out
}

func register(t *testing.T, host *schsm.Card, cust *pkakey.Custodian) (schsm.PKAStatus, error) {
	t.Helper()
	r := cust.Registration
	return host.RegisterPublicKey(r.DICA.Raw, r.Device.Raw, r.Request.Raw)
}

func registerAll(t *testing.T, host *schsm.Card, custodians []*pkakey.Custodian) {
	t.Helper()
	for i, cust := range custodians {
		st, err := register(t, host, cust)
		if err != nil {
			t.Fatalf("registering custodian %d: %v", i, err)
		}
		if st.Total != 3 || st.Missing != 3-(i+1) {
			t.Fatalf("after custodian %d: status %+v", i, st)
		}
	}
}

func signers(custodians ...*pkakey.Custodian) []schsm.Signer {
	out := make([]schsm.Signer, len(custodians))
	for i, c := range custodians {
		out[i] = c
	}
	return out
}

// writeDataObject creates the empty data object CF01, which needs the
// authenticated state.
const writeDataObject = "00D7CF01 06 540200005300"

func TestPKARegisterThreeAuthenticateTwo(t *testing.T) {
	c := newTestCard(t)
	host := initPKA(t, c, 0x0001)
	custodians := newCustodians(t, 3)
	registerAll(t, host, custodians)

	st, err := host.PKAStatus()
	if err != nil {
		t.Fatal(err)
	}
	if want := (schsm.PKAStatus{Total: 3, Missing: 0, Required: 2}); st != want {
		t.Fatalf("status %+v, want %+v", st, want)
	}
	if _, err := register(t, host, newCustodians(t, 1)[0]); !errors.Is(err, schsm.ErrNoFreePKASlot) {
		t.Fatalf("fourth registration: %v, want ErrNoFreePKASlot", err)
	}

	// Without PIN and PKA no protected operation works.
	expectSW(t, c, writeDataObject, schsm.SWSecurityStatus)

	st, err = host.AuthenticatePublicKeys(signers(custodians[0]))
	if err != nil {
		t.Fatalf("AuthenticatePublicKeys with one key: %v", err)
	}
	if st.Authenticated != 1 {
		t.Fatalf("after one key: %+v", st)
	}
	expectSW(t, c, writeDataObject, schsm.SWSecurityStatus)

	st, err = host.AuthenticatePublicKeys(signers(custodians[1], custodians[2]))
	if err != nil {
		t.Fatalf("AuthenticatePublicKeys: %v", err)
	}
	if st.Authenticated != 2 {
		t.Fatalf("after two keys: %+v", st)
	}
	// Without option 0010 the quorum alone grants access.
	expectSW(t, c, writeDataObject, schsm.SWOK)

	keys, err := host.EnumeratePublicKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 || !keys[0].Authenticated || !keys[1].Authenticated || keys[2].Authenticated {
		t.Fatalf("enumerated %+v, want slots 0 and 1 authenticated", keys)
	}
	for i, k := range keys {
		if k.CHR != custodians[i].CHR() {
			t.Errorf("slot %d CHR %q, want %q", i, k.CHR, custodians[i].CHR())
		}
	}

	// SELECT ends the authentication.
	expectSW(t, c, selectApplet, schsm.SWOK)
	if st, err = host.PKAStatus(); err != nil || st.Authenticated != 0 {
		t.Fatalf("after SELECT: %+v, %v", st, err)
	}
}

func TestPKAAuthenticationErrors(t *testing.T) {
	c := newTestCard(t)
	host := initPKA(t, c, 0x0001)
	custodians := newCustodians(t, 3)
	registerAll(t, host, custodians[:2])
	deviceCHR, err := host.DeviceCHR()
	if err != nil {
		t.Fatal(err)
	}

	// No challenge yet.
	if err := host.AuthenticatePublicKey(deviceCHR, []byte{1}, custodians[0]); !errors.Is(err, schsm.ErrPKASignatureRejected) {
		t.Errorf("without challenge: %v", err)
	}
	challenge, err := host.PKAChallenge()
	if err != nil {
		t.Fatal(err)
	}
	// The unregistered custodian is unknown.
	if err := host.AuthenticatePublicKey(deviceCHR, challenge, custodians[2]); !errors.Is(err, schsm.ErrPKAKeyUnknown) {
		t.Errorf("unregistered key: %v", err)
	}
	// A signature by another key under a registered CHR is rejected.
	impostor := &renamedSigner{Signer: custodians[2], chr: custodians[0].CHR()}
	if err := host.AuthenticatePublicKey(deviceCHR, challenge, impostor); !errors.Is(err, schsm.ErrPKASignatureRejected) {
		t.Errorf("wrong key: %v", err)
	}
	// A signature over another device CHR is rejected.
	if err := host.AuthenticatePublicKey("ZZOTHER00001", challenge, custodians[0]); !errors.Is(err, schsm.ErrPKASignatureRejected) {
		t.Errorf("other device CHR: %v", err)
	}
	if err := host.AuthenticatePublicKey(deviceCHR, challenge, custodians[0]); err != nil {
		t.Fatalf("valid signature: %v", err)
	}
	if err := host.AuthenticatePublicKey(deviceCHR, challenge, custodians[0]); !errors.Is(err, schsm.ErrPKAAlreadyAuthenticated) {
		t.Errorf("second authentication of one key: %v", err)
	}
	// The same challenge serves the second custodian.
	if err := host.AuthenticatePublicKey(deviceCHR, challenge, custodians[1]); err != nil {
		t.Fatalf("second custodian on the same challenge: %v", err)
	}
	if st, err := host.PKAStatus(); err != nil || st.Authenticated != 2 {
		t.Fatalf("status %+v, %v", st, err)
	}
	// The quorum dropped the challenge, as on the Pico HSM.
	expectSW(t, c, "00820000 01 00", schsm.SWConditionsNotSatisfied)
}

type renamedSigner struct {
	schsm.Signer
	chr string
}

func (r *renamedSigner) CHR() string { return r.chr }

func TestPKARegistrationRejectsForgeries(t *testing.T) {
	c := newTestCard(t)
	host := initPKA(t, c, 0x0001)
	a, b := newCustodians(t, 2)[0], newCustodians(t, 1)[0]

	// A request whose outer signature comes from another device: the device
	// certificate of b with the request of a.
	if _, err := host.RegisterPublicKey(b.Registration.DICA.Raw, b.Registration.Device.Raw, a.Registration.Request.Raw); err == nil {
		t.Fatal("registering a request under a foreign device succeeded")
	}

	// A certificate that the selected key did not sign.
	expectSW(t, c, "002281B6 10 830E "+hex.EncodeToString([]byte(pkakey.RehearsalRootCHR)), schsm.SWOK)
	dev := a.Registration.Device
	content := append(append([]byte(nil), dev.Body...), encodeTLV(tagSignature, dev.Signature)...)
	expectSW(t, c, fmt.Sprintf("002A00BE %02X %X", len(content), content), schsm.SWWrongData)

	// Registering the same key twice is rejected.
	if _, err := register(t, host, a); err != nil {
		t.Fatal(err)
	}
	if _, err := register(t, host, a); !errors.Is(err, schsm.ErrWrongData) {
		t.Fatalf("duplicate registration: %v, want ErrWrongData", err)
	}
	if st, _ := host.PKAStatus(); st.Missing != 2 {
		t.Fatalf("status %+v, want 2 missing", st)
	}
}

func TestPKAReplace(t *testing.T) {
	t.Run("without option 0008", func(t *testing.T) {
		c := newTestCard(t)
		host := initPKA(t, c, 0x0001)
		custodians := newCustodians(t, 4)
		registerAll(t, host, custodians[:3])
		expectSW(t, c, verifyRightPIN, schsm.SWOK)
		r := custodians[3].Registration
		if _, err := host.ReplacePublicKey(1, r.DICA.Raw, r.Device.Raw, r.Request.Raw); !errors.Is(err, schsm.ErrConditionsNotSatisfied) {
			t.Fatalf("replace: %v, want ErrConditionsNotSatisfied", err)
		}
	})
	t.Run("with option 0008", func(t *testing.T) {
		c := newTestCard(t)
		host := initPKA(t, c, 0x0009)
		custodians := newCustodians(t, 4)
		registerAll(t, host, custodians[:3])
		r := custodians[3].Registration

		if _, err := host.ReplacePublicKey(1, r.DICA.Raw, r.Device.Raw, r.Request.Raw); !errors.Is(err, schsm.ErrSecurityStatus) {
			t.Fatalf("replace without authentication: %v, want ErrSecurityStatus", err)
		}
		expectSW(t, c, verifyRightPIN, schsm.SWOK)
		if _, err := host.ReplacePublicKey(3, r.DICA.Raw, r.Device.Raw, r.Request.Raw); !errors.Is(err, schsm.ErrIncorrectP1P2) {
			t.Fatalf("replace slot 3 of 3: %v, want ErrIncorrectP1P2", err)
		}
		st, err := host.ReplacePublicKey(1, r.DICA.Raw, r.Device.Raw, r.Request.Raw)
		if err != nil {
			t.Fatalf("replace: %v", err)
		}
		if st.Missing != 0 {
			t.Fatalf("status %+v", st)
		}
		keys, err := host.EnumeratePublicKeys()
		if err != nil {
			t.Fatal(err)
		}
		if keys[1].CHR != custodians[3].CHR() {
			t.Fatalf("slot 1 holds %q, want %q", keys[1].CHR, custodians[3].CHR())
		}
		// The replaced key no longer authenticates, the new one does.
		st, err = host.AuthenticatePublicKeys(signers(custodians[1]))
		if !errors.Is(err, schsm.ErrPKAKeyUnknown) {
			t.Fatalf("replaced key: %+v, %v", st, err)
		}
	})
}

func TestPKACombinedMode(t *testing.T) {
	c := newTestCard(t)
	host := initPKA(t, c, 0x0011)
	custodians := newCustodians(t, 3)
	registerAll(t, host, custodians)

	expectSW(t, c, verifyRightPIN, schsm.SWOK)
	expectSW(t, c, writeDataObject, schsm.SWSecurityStatus) // PIN alone

	expectSW(t, c, selectApplet, schsm.SWOK)
	if st, err := host.AuthenticatePublicKeys(signers(custodians...)); err != nil || st.Authenticated != 2 {
		t.Fatalf("authenticating: %+v, %v", st, err)
	}
	expectSW(t, c, writeDataObject, schsm.SWSecurityStatus) // quorum alone

	expectSW(t, c, verifyRightPIN, schsm.SWOK)
	expectSW(t, c, writeDataObject, schsm.SWOK) // both
}

func TestPKAStatePersisted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "card.json")
	c, err := New(Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	host := initPKA(t, c, 0x0001)
	custodians := newCustodians(t, 2)
	registerAll(t, host, custodians)

	reloaded, err := New(Options{StatePath: path})
	if err != nil {
		t.Fatalf("reloading: %v", err)
	}
	expectSW(t, reloaded, selectApplet, schsm.SWOK)
	host2 := schsm.NewCard(directTransport{reloaded})
	st, err := host2.PKAStatus()
	if err != nil {
		t.Fatal(err)
	}
	if want := (schsm.PKAStatus{Total: 3, Missing: 1, Required: 2}); st != want {
		t.Fatalf("status after reload %+v, want %+v", st, want)
	}
	if st, err := host2.AuthenticatePublicKeys(signers(custodians...)); err != nil || st.Authenticated != 2 {
		t.Fatalf("authenticating after reload: %+v, %v", st, err)
	}
}

func TestPKANotConfigured(t *testing.T) {
	c := initializedCard(t)
	expectSW(t, c, "8054000000", schsm.SWIncorrectP1P2)
	expectSW(t, c, "8054020000", schsm.SWIncorrectP1P2)
	expectSW(t, c, "002281A4 04 8302 4142", schsm.SWReferenceNotFound)
	expectSW(t, c, "00820000 01 00", schsm.SWReferenceNotFound)
	expectSW(t, c, "00820100 01 00", schsm.SWIncorrectP1P2)
	expectSW(t, c, "002A00BE 01 00", schsm.SWConditionsNotSatisfied)
	expectSW(t, c, "002282B6 04 8302 4142", schsm.SWIncorrectP1P2)
}
