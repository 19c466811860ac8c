package pkcs11bridge

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"
)

// SignerConfig names a custodian's public key authentication key on a
// PKCS#11 token.
type SignerConfig struct {
	// ModulePath is the PKCS#11 module of the custodian's token, for
	// example OpenSC's opensc-pkcs11.so for another SmartCard-HSM.
	ModulePath string
	// TokenSerial or TokenLabel selects the token; with both empty the
	// module must show exactly one token.
	TokenSerial string
	TokenLabel  string
	// KeyLabel (CKA_LABEL) or KeyID (CKA_ID) selects the private key; at
	// least one is required, and exactly one key must match.
	KeyLabel string
	KeyID    []byte
	// CHR is the holder reference under which the key is registered on the
	// target token (the CHR of the key's CV request).
	CHR string
}

// Signer signs the public key authentication challenge with an EC P-256
// key on a PKCS#11 token. It has the methods of the signer interface of the
// card protocol package (CHR and Sign) without importing it. A Signer holds
// a logged-in session until Close; it is not safe for concurrent use.
type Signer struct {
	ctx     *pkcs11.Ctx
	session pkcs11.SessionHandle
	key     pkcs11.ObjectHandle
	chr     string
}

// p256SignatureLen is the size of a CKM_ECDSA signature on P-256: r and s
// of 32 bytes each (PKCS#11 returns them concatenated, not DER).
const p256SignatureLen = 64

// OpenSigner loads the module, finds the token and the key, and logs in
// with pin. The PIN is not kept, and errors never contain it.
func OpenSigner(cfg SignerConfig, pin []byte) (*Signer, error) {
	if cfg.CHR == "" {
		return nil, errors.New("opening PKCS#11 signer: the CHR of the registered key is required")
	}
	if cfg.KeyLabel == "" && len(cfg.KeyID) == 0 {
		return nil, errors.New("opening PKCS#11 signer: a key label or key ID is required")
	}
	ctx := pkcs11.New(cfg.ModulePath)
	if ctx == nil {
		return nil, fmt.Errorf("opening PKCS#11 signer: cannot load module %s", cfg.ModulePath)
	}
	if err := ctx.Initialize(); err != nil {
		ctx.Destroy()
		return nil, fmt.Errorf("opening PKCS#11 signer: C_Initialize of %s: %w", cfg.ModulePath, err)
	}
	s := &Signer{ctx: ctx, chr: cfg.CHR}
	if err := s.open(cfg, pin); err != nil {
		s.finalize()
		return nil, fmt.Errorf("opening PKCS#11 signer: %w", err)
	}
	return s, nil
}

func (s *Signer) open(cfg SignerConfig, pin []byte) error {
	slot, err := findTokenSlot(s.ctx, cfg.TokenSerial, cfg.TokenLabel)
	if err != nil {
		return err
	}
	s.session, err = s.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		return fmt.Errorf("C_OpenSession: %w", err)
	}
	if err := s.ctx.Login(s.session, pkcs11.CKU_USER, string(pin)); err != nil {
		s.ctx.CloseSession(s.session)
		s.session = 0
		return fmt.Errorf("C_Login: %s: %w", diagnoseLoginError(err, len(pin)), err)
	}
	s.key, err = findPrivateKey(s.ctx, s.session, cfg.KeyLabel, cfg.KeyID)
	return err
}

func findTokenSlot(ctx *pkcs11.Ctx, serial, label string) (uint, error) {
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("C_GetSlotList: %w", err)
	}
	var matches []uint
	for _, slot := range slots {
		info, err := ctx.GetTokenInfo(slot)
		if err != nil {
			continue
		}
		if serial != "" && trimPadded(info.SerialNumber) != serial {
			continue
		}
		if label != "" && trimPadded(info.Label) != label {
			continue
		}
		matches = append(matches, slot)
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return 0, fmt.Errorf("no token with serial %q and label %q among %d tokens", serial, label, len(slots))
	default:
		return 0, fmt.Errorf("%d tokens match serial %q and label %q; give the token serial", len(matches), serial, label)
	}
}

func findPrivateKey(ctx *pkcs11.Ctx, session pkcs11.SessionHandle, label string, id []byte) (pkcs11.ObjectHandle, error) {
	template := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
	}
	if label != "" {
		template = append(template, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
	}
	if len(id) > 0 {
		template = append(template, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	}
	if err := ctx.FindObjectsInit(session, template); err != nil {
		return 0, fmt.Errorf("C_FindObjectsInit: %w", err)
	}
	objs, _, err := ctx.FindObjects(session, 2)
	if finalErr := ctx.FindObjectsFinal(session); err == nil && finalErr != nil {
		err = finalErr
	}
	if err != nil {
		return 0, fmt.Errorf("C_FindObjects: %w", err)
	}
	switch len(objs) {
	case 1:
		return objs[0], nil
	case 0:
		return 0, fmt.Errorf("no EC private key with label %q and ID %X", label, id)
	default:
		return 0, fmt.Errorf("more than one EC private key matches label %q and ID %X; give the key ID", label, id)
	}
}

// CHR returns the holder reference of the registered key.
func (s *Signer) CHR() string { return s.chr }

// Sign signs the SHA-256 digest with CKM_ECDSA and returns r||s.
func (s *Signer) Sign(digest [32]byte) ([]byte, error) {
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}
	if err := s.ctx.SignInit(s.session, mech, s.key); err != nil {
		return nil, fmt.Errorf("signing with key %q: C_SignInit: %w", s.chr, err)
	}
	sig, err := s.ctx.Sign(s.session, digest[:])
	if err != nil {
		return nil, fmt.Errorf("signing with key %q: C_Sign: %w", s.chr, err)
	}
	if len(sig) != p256SignatureLen {
		return nil, fmt.Errorf("signing with key %q: signature has %d bytes, expected %d; is it a P-256 key?", s.chr, len(sig), p256SignatureLen)
	}
	return sig, nil
}

// Close logs out, closes the session and unloads the module.
func (s *Signer) Close() error {
	var err error
	if s.session != 0 {
		if e := s.ctx.Logout(s.session); e != nil && !isCKR(e, pkcs11.CKR_USER_NOT_LOGGED_IN) {
			err = fmt.Errorf("C_Logout: %w", e)
		}
		if e := s.ctx.CloseSession(s.session); e != nil && err == nil {
			err = fmt.Errorf("C_CloseSession: %w", e)
		}
		s.session = 0
	}
	s.finalize()
	return err
}

func (s *Signer) finalize() {
	if s.ctx == nil {
		return
	}
	s.ctx.Finalize()
	s.ctx.Destroy()
	s.ctx = nil
}

func isCKR(err error, code uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == code
}

// trimPadded removes the blank padding of PKCS#11 token strings.
func trimPadded(s string) string {
	return string(bytes.TrimRight([]byte(s), " \x00"))
}
