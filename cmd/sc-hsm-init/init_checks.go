package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/sc-hsm-init/sc-hsm-init/pkcs11bridge"
	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/provision"
)

// resolveModule finds the PKCS#11 module and keeps its path, so that a bad
// --module stops a command before it sends the first APDU.
func (v *verifyFlags) resolveModule() error {
	module, err := pkcs11bridge.FindModule(v.module)
	if err != nil {
		return withExit(exitUsage, fmt.Errorf("finding the PKCS#11 module: %w", err))
	}
	v.module = module
	return nil
}

// pinUsableAfterInit reports whether a PKCS#11 login with the user PIN can
// succeed right after init: a PIN was set, no transport PIN waits to be
// changed, and public key authentication does not gate the login.
func pinUsableAfterInit(s schsm.Settings, newPIN schsm.Secret) bool {
	switch {
	case s.UserPIN.IsZero():
		return false
	case s.TransportPIN && newPIN.IsZero():
		return false
	case s.PKATotal > 0:
		return false
	default:
		return true
	}
}

// linkLost reports whether err means the PC/SC service or the token went
// away in the middle of a command, so the token state is uncertain.
func linkLost(err error) bool {
	return errors.Is(err, schsm.ErrServiceUnavailable) || errors.Is(err, schsm.ErrTokenNotResponding)
}

// interruptedInitError adds to err, when the link to the token broke, what
// init had done by then: whether INITIALIZE was sent and how many DKEK
// shares arrived. Other errors are returned as they are.
func interruptedInitError(err error, res provision.Result, s schsm.Settings) error {
	if !linkLost(err) {
		return err
	}
	sent := false
	var done []string
	imported := 0
	for _, st := range res.Steps {
		if st.Name == provision.StepInitialize {
			sent = true
		}
		if st.Status != provision.StepDone {
			continue
		}
		done = append(done, st.Name)
		if strings.HasPrefix(st.Name, "import DKEK share ") {
			imported++
		}
	}
	if !sent {
		return fmt.Errorf("%w; INITIALIZE was not sent, so the token is unchanged", err)
	}

	state := "INITIALIZE was sent, so the token may be erased and half-initialized"
	if s.DKEKShares > 0 && s.KeyDomains == 0 && containsStep(done, provision.StepInitialize) {
		missing := s.DKEKShares - imported
		state = fmt.Sprintf("the token is initialized, with %d of %d DKEK %s missing", missing, s.DKEKShares, plural(s.DKEKShares, "share", "shares"))
	}
	return fmt.Errorf("%w; %s (steps done: %s); run sc-hsm-init status to see the token state", err, state, strings.Join(done, ", "))
}

func containsStep(steps []string, name string) bool {
	for _, s := range steps {
		if s == name {
			return true
		}
	}
	return false
}

// indexOfBytes returns the index of the first element of list equal to b,
// or -1.
func indexOfBytes(list [][]byte, b []byte) int {
	for i, v := range list {
		if string(v) == string(b) {
			return i
		}
	}
	return -1
}

// duplicateShareFiles is the error for two share files that hold the same
// share, such as a copy of one file under another name.
func duplicateShareFiles(first, second string) error {
	return fmt.Errorf("%w (%s and %s): equal shares cancel out in the DKEK; give each share once", provision.ErrDuplicateShare, first, second)
}

// planDevice returns the device a dry run plans for, and its description
// for the output. --pico-options applies only to a Pico HSM, so with it the
// plan targets a blank Pico HSM (type byte FF); otherwise a blank
// SmartCard-HSM.
func planDevice(s schsm.Settings) (schsm.DeviceInfo, string) {
	if s.OptionsHigh != nil {
		return schsm.DeviceInfo{Type: 0xFF, Family: schsm.FamilyPicoHSM}, "Pico HSM (because --pico-options is given)"
	}
	return schsm.DeviceInfo{}, "SmartCard-HSM"
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP
// address, the addresses vpcd.Serve accepts.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// checkParentFolder checks that the folder a new file goes into exists, so
// that a command fails before its prompts and not when it writes.
func checkParentFolder(path string) error {
	dir := filepath.Dir(path)
	info, err := os.Stat(dir)
	switch {
	case err != nil && errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot create %s: the folder %s does not exist; create it first", path, dir)
	case err != nil:
		return fmt.Errorf("cannot create %s: %w", path, err)
	case !info.IsDir():
		return fmt.Errorf("cannot create %s: %s is not a folder", path, dir)
	}
	return nil
}
