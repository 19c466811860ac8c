package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/sc-hsm-init/sc-hsm-init/pkcs11bridge"
	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/pkakey"
)

// custodianFlags name the custodian keys that authenticate a session:
// rehearsal key files and keys on PKCS#11 tokens.
type custodianFlags struct {
	keyFiles      []string
	registrations []string
	pkcs11Keys    []string
}

func (c *custodianFlags) register(fl *pflag.FlagSet) {
	fl.StringArrayVar(&c.keyFiles, "key-file", nil, "custodian key file (PEM PKCS#8 P-256, mode 0600) of a rehearsal custodian; repeat for several. "+
		"Its registration file is the file next to it ending in "+pkakey.RegistrationFileSuffix+" instead of "+pkakey.KeyFileSuffix+", or --registration")
	fl.StringArrayVar(&c.registrations, "registration", nil, "registration file of each --key-file, in the same order (default: next to the key file)")
	fl.StringArrayVar(&c.pkcs11Keys, "pkcs11-key", nil, "custodian key on a PKCS#11 token, as comma-separated key=value pairs: "+
		"module=PATH, token-serial=S or token-label=L, key-label=L or key-id=HEX, registration=FILE (the key's registration file), "+
		"pin=env:NAME, file:PATH or prompt (default prompt); repeat for several")
}

func (c *custodianFlags) given() bool {
	return len(c.keyFiles) > 0 || len(c.pkcs11Keys) > 0
}

// custodians are the open signers of a command; close releases the
// PKCS#11 sessions.
type custodians struct {
	signers []schsm.Signer
	closers []func() error
}

func (c *custodians) close() {
	for _, f := range c.closers {
		f()
	}
	c.closers = nil
}

// chrs returns the CHRs of the signers.
func (c *custodians) chrs() []string {
	out := make([]string, len(c.signers))
	for i, s := range c.signers {
		out[i] = s.CHR()
	}
	return out
}

// openCustodians loads every key file and opens every PKCS#11 key, and
// checks each one against its registration file, before the target token
// is touched.
func (a *app) openCustodians(f *custodianFlags) (*custodians, error) {
	if len(f.registrations) > 0 && len(f.registrations) != len(f.keyFiles) {
		return nil, withExit(exitUsage, fmt.Errorf("%d --registration files for %d --key-file keys; give one per key file, in the same order, or none", len(f.registrations), len(f.keyFiles)))
	}
	out := &custodians{}
	seen := make(map[string]string)
	add := func(s schsm.Signer, source string) error {
		if prev, ok := seen[s.CHR()]; ok {
			return withExit(exitUsage, fmt.Errorf("the custodian key %q is given twice (%s and %s)", s.CHR(), prev, source))
		}
		seen[s.CHR()] = source
		out.signers = append(out.signers, s)
		return nil
	}

	for i, keyPath := range f.keyFiles {
		regPath := registrationNextTo(keyPath)
		if len(f.registrations) > 0 {
			regPath = f.registrations[i]
		}
		s, err := pkakey.LoadKeySigner(keyPath, regPath)
		if err != nil {
			out.close()
			return nil, withExit(exitUsage, fmt.Errorf("--key-file %s: %w", keyPath, err))
		}
		if err := add(s, keyPath); err != nil {
			out.close()
			return nil, err
		}
	}
	for _, spec := range f.pkcs11Keys {
		s, err := a.openPKCS11Custodian(spec)
		if err != nil {
			out.close()
			return nil, err
		}
		out.closers = append(out.closers, s.Close)
		if err := add(s, "--pkcs11-key"); err != nil {
			out.close()
			return nil, err
		}
	}
	return out, nil
}

// registrationNextTo returns the registration file name that
// pka rehearsal-custodian writes next to a key file.
func registrationNextTo(keyPath string) string {
	return strings.TrimSuffix(keyPath, pkakey.KeyFileSuffix) + pkakey.RegistrationFileSuffix
}

// pkcs11KeySpec is a parsed --pkcs11-key value.
type pkcs11KeySpec struct {
	cfg          pkcs11bridge.SignerConfig
	registration string
	pin          string // secret source; "" prompts on the terminal
	pinGiven     bool
}

// parsePKCS11KeySpec parses "module=PATH,token-label=L,key-label=L,...".
// needRegistration is false for pka rehearsal-custodian, which makes the
// registration.
func parsePKCS11KeySpec(spec string, needRegistration bool) (pkcs11KeySpec, error) {
	var p pkcs11KeySpec
	for _, part := range strings.Split(spec, ",") {
		key, value, ok := strings.Cut(part, "=")
		if !ok || value == "" {
			return p, fmt.Errorf("--pkcs11-key: %q is not key=value; expected for example module=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so,token-label=custodian,key-label=pka,registration=custodian.pka", part)
		}
		switch key {
		case "module":
			p.cfg.ModulePath = value
		case "token-serial":
			p.cfg.TokenSerial = value
		case "token-label":
			p.cfg.TokenLabel = value
		case "key-label":
			p.cfg.KeyLabel = value
		case "key-id":
			id, err := hex.DecodeString(value)
			if err != nil {
				return p, fmt.Errorf("--pkcs11-key: key-id %q is not hex", value)
			}
			p.cfg.KeyID = id
		case "registration":
			p.registration = value
		case "pin":
			p.pin, p.pinGiven = value, true
		default:
			return p, fmt.Errorf("--pkcs11-key: unknown key %q; use module, token-serial, token-label, key-label, key-id, registration or pin", key)
		}
	}
	switch {
	case p.cfg.ModulePath == "":
		return p, errors.New("--pkcs11-key: module=PATH is required (the PKCS#11 module of the custodian's token)")
	case p.cfg.KeyLabel == "" && len(p.cfg.KeyID) == 0:
		return p, errors.New("--pkcs11-key: key-label=LABEL or key-id=HEX is required")
	case needRegistration && p.registration == "":
		return p, errors.New("--pkcs11-key: registration=FILE is required; it names the key's registration file, which carries the CHR the token knows the key by")
	}
	return p, nil
}

// openPKCS11Custodian opens the signer of one --pkcs11-key and proves that
// it holds the key of the registration file by verifying a signature of a
// random digest, so that a wrong key fails before the target token is
// touched.
func (a *app) openPKCS11Custodian(spec string) (*pkcs11bridge.Signer, error) {
	p, err := parsePKCS11KeySpec(spec, true)
	if err != nil {
		return nil, withExit(exitUsage, err)
	}
	reg, err := pkakey.ReadRegistrationFile(p.registration)
	if err != nil {
		return nil, withExit(exitUsage, fmt.Errorf("--pkcs11-key: %w", err))
	}
	p.cfg.CHR = reg.CHR()
	s, err := a.openPKCS11Signer(p)
	if err != nil {
		return nil, err
	}

	var digest [32]byte
	if _, err := rand.Read(digest[:]); err != nil {
		s.Close()
		return nil, fmt.Errorf("generating a test digest: %w", err)
	}
	sig, err := s.Sign(digest)
	if err != nil {
		s.Close()
		return nil, withExit(exitUsage, fmt.Errorf("--pkcs11-key %q: test signature: %w", reg.CHR(), err))
	}
	if !schsm.VerifyP256Digest(reg.PublicKey(), digest, sig) {
		s.Close()
		return nil, withExit(exitUsage, fmt.Errorf("--pkcs11-key: the key on the token is not the key %q registered by %s", reg.CHR(), p.registration))
	}
	return s, nil
}

// openPKCS11Signer reads the custodian token's PIN and logs in.
func (a *app) openPKCS11Signer(p pkcs11KeySpec) (*pkcs11bridge.Signer, error) {
	token := p.cfg.TokenLabel
	if p.cfg.TokenSerial != "" {
		token = p.cfg.TokenSerial
	}
	what := fmt.Sprintf("PIN of custodian token %q", token)
	pin, err := a.secrets.read(secretSpec{flag: "pkcs11-key pin", value: p.pin, given: p.pinGiven}, what, false)
	if err != nil {
		return nil, withExit(exitUsage, err)
	}
	defer clear(pin)
	s, err := pkcs11bridge.OpenSigner(p.cfg, pin)
	if err != nil {
		return nil, withExit(exitUsage, fmt.Errorf("--pkcs11-key: %w", err))
	}
	return s, nil
}

// wrapPKCS11Key writes a rehearsal registration file for an existing key on
// a PKCS#11 token and returns its path and the key's new CHR.
func (a *app) wrapPKCS11Key(name, dir, spec, publicKeyPath string) (string, string, error) {
	p, err := parsePKCS11KeySpec(spec, false)
	if err != nil {
		return "", "", withExit(exitUsage, err)
	}
	if p.registration != "" {
		return "", "", withExit(exitUsage, errors.New("--pkcs11-key: registration= is what this command writes; drop it"))
	}
	pub, err := readPublicKeyFile(publicKeyPath)
	if err != nil {
		return "", "", withExit(exitUsage, err)
	}
	regPath := filepath.Join(dir, name+pkakey.RegistrationFileSuffix)
	if _, err := os.Lstat(regPath); err == nil {
		return "", "", withExit(exitUsage, fmt.Errorf("%s already exists; choose another name or folder", regPath))
	}

	p.cfg.CHR = name // only for the signer's messages; the registration gets a new CHR
	s, err := a.openPKCS11Signer(p)
	if err != nil {
		return "", "", err
	}
	defer s.Close()
	reg, err := pkakey.NewRehearsalRegistration(pub, s.Sign)
	if err != nil {
		return "", "", withExit(exitUsage, fmt.Errorf("--pkcs11-key: %w", err))
	}
	if err := pkakey.WriteRegistrationFile(regPath, reg); err != nil {
		return "", "", withExit(exitUsage, err)
	}
	return regPath, reg.CHR(), nil
}

// readPublicKeyFile reads an ECDSA P-256 public key as PEM "PUBLIC KEY" or
// DER SubjectPublicKeyInfo.
func readPublicKeyFile(path string) (*ecdsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--public-key: %w", err)
	}
	der := data
	if block, _ := pem.Decode(data); block != nil {
		der = block.Bytes
	}
	parsed, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("--public-key %s: not a PEM or DER SubjectPublicKeyInfo: %w", path, err)
	}
	pub, ok := parsed.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("--public-key %s: the key is not an ECDSA P-256 key", path)
	}
	return pub, nil
}
