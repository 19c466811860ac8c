package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/wizard"
)

// defaultDeviceCertURL is the Pico HSM vendor's certification service, the
// one pypicohsm (utils.py get_pki_data) posts to.
//
// NOTE: wizard.HTTPCertificateService sends the point as pypicohsm does, but
// without curve=secp256k1, which pypicohsm adds on RP2350, ESP32 and emulated
// devices: the HSM applet does not tell the microcontroller. The service was
// never reached from here. CheckDeviceChain rejects any answer that is not a
// matching device, DV and CA chain, and then nothing is written.
const defaultDeviceCertURL = "https://www.picokeys.com/pico/pico-hsm/cvc/"

// deviceCertTimeout bounds the request to the certification service.
const deviceCertTimeout = time.Minute

// cardCertificateStore is a wizard.CertificateStore on a Pico HSM session in
// which the user PIN is verified.
type cardCertificateStore struct {
	card *schsm.Card
}

// DevicePublicKey returns the EC point of the device's CV request in CE00.
func (s cardCertificateStore) DevicePublicKey() ([]byte, error) {
	req, err := s.card.ReadDeviceRequest()
	if err != nil {
		return nil, err
	}
	return schsm.DeviceRequestPoint(req)
}

// CurrentCertificate reads EF.C_DevAut.
func (s cardCertificateStore) CurrentCertificate() ([]byte, error) {
	return s.card.ReadFile(schsm.FIDDevAut)
}

// WriteCertificate writes chain into EF.C_DevAut and compares a read-back.
func (s cardCertificateStore) WriteCertificate(chain []byte) error {
	return s.card.WriteDeviceCertificate(chain)
}

// deviceCertResult is the outcome of a device certificate replacement.
type deviceCertResult struct {
	Backup string // path of the backup of the old EF.C_DevAut, once written
	CHR    string // CHR of the new device certificate, once written
}

// replaceDeviceCertificate selects the applet of a Pico HSM on card,
// verifies pin and replaces the device certificate through svc. The old
// EF.C_DevAut is backed up into a new file in dir (mode 0600) before the
// request is sent, and the returned chain is written only when
// schsm.CheckDeviceChain accepts it for the device's key.
func replaceDeviceCertificate(ctx context.Context, p wizard.Prompter, card *schsm.Card, pin schsm.Secret,
	svc wizard.CertificateService, dir string) (deviceCertResult, error) {
	var res deviceCertResult
	info, err := card.SelectApplet()
	if err != nil {
		return res, err
	}
	if info.Family != schsm.FamilyPicoHSM {
		return res, fmt.Errorf("replacing the device certificate: the token is a %s, and only a Pico HSM supports it", info.Family)
	}
	if err := card.VerifyPIN(schsm.PINRefUser, pin.Bytes()); err != nil {
		return res, fmt.Errorf("replacing the device certificate: %w", err)
	}

	backup := func(current []byte) error {
		path, err := writeDevAutBackup(dir, current)
		if err != nil {
			return err
		}
		res.Backup = path
		p.Show("Current device certificate backed up to " + path)
		return nil
	}
	check := func(chain, devicePoint []byte) error {
		chr, err := schsm.CheckDeviceChain(chain, devicePoint)
		res.CHR = chr
		return err
	}
	err = wizard.ReplaceDeviceCertificate(ctx, p, svc, cardCertificateStore{card: card}, backup, check)
	if err != nil {
		res.CHR = ""
		return res, err
	}
	p.Show(fmt.Sprintf("Device certificate replaced and read back: %s", res.CHR))
	return res, nil
}

// writeDevAutBackup writes content into a new file in dir with mode 0600.
// It never overwrites a file: a name already taken gets a counter.
func writeDevAutBackup(dir string, content []byte) (string, error) {
	stamp := time.Now().UTC().Format("20060102-150405")
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("devaut-backup-%s.bin", stamp)
		if i > 0 {
			name = fmt.Sprintf("devaut-backup-%s-%d.bin", stamp, i)
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := f.Write(content); err != nil {
			f.Close()
			return "", err
		}
		if err := f.Close(); err != nil {
			return "", err
		}
		return path, nil
	}
	return "", fmt.Errorf("no free backup file name in %s", dir)
}

// wizardDeviceCertificate runs the device certificate step of the wizard
// after provisioning, in a new session, and returns the text for the
// ceremony record.
func (a *app) wizardDeviceCertificate(ctx context.Context, p wizard.Prompter, f *wizardFlags, ans wizard.Answers) (string, error) {
	settings := ans.Settings
	pin := settings.UserPIN
	if !ans.NewPIN.IsZero() {
		pin = ans.NewPIN
	}
	if !pinUsableAfterInit(settings, ans.NewPIN) && settings.PKATotal == 0 {
		return "not replaced: the user PIN cannot be verified yet", errors.New("the device certificate was not replaced, " +
			"because writing it needs the user PIN, and the token still has a transport PIN or no user PIN")
	}
	if reason := pkaGatesLogin(settings); reason != "" {
		return "not replaced: " + reason, fmt.Errorf("the device certificate was not replaced, because %s", reason)
	}

	var reader string
	sess, err := a.openAppletSession(&reader)
	if err != nil {
		return "not replaced: " + err.Error(), err
	}
	defer sess.close()
	svc := &wizard.HTTPCertificateService{URL: f.deviceCertURL, Client: &http.Client{Timeout: deviceCertTimeout}}
	res, err := replaceDeviceCertificate(ctx, p, sess.card, pin, svc, f.dir)
	switch {
	case errors.Is(err, wizard.ErrNotConfirmed):
		return "not replaced: declined before sending", nil
	case err != nil && res.Backup != "":
		return fmt.Sprintf("not replaced: %v (backup %s)", err, res.Backup), classifyPCSC(err)
	case err != nil:
		return "not replaced: " + err.Error(), classifyPCSC(err)
	}
	return fmt.Sprintf("replaced by %s; old certificate in %s", res.CHR, res.Backup), nil
}

// afterProvisioningDeviceCertificate runs the device certificate step when
// provisioning succeeded and returns the record text with the command's
// error: runErr when provisioning failed, or else the step's error.
func (a *app) afterProvisioningDeviceCertificate(ctx context.Context, p wizard.Prompter, f *wizardFlags, ans wizard.Answers,
	runErr error) (string, error) {
	if runErr != nil {
		return "not replaced, because provisioning did not finish", runErr
	}
	return a.wizardDeviceCertificate(ctx, p, f, ans)
}
