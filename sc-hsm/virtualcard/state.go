package virtualcard

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

const (
	stateFormatVersion = 1
	pinSaltLen         = 16
	dkekLen            = 32
	maxKeyDomains      = 16
	soPINLen           = 8
	soPINMaxRetries    = 15
)

// state is the persistent token state, stored as JSON.
type state struct {
	Version  int      `json:"version"`
	Identity identity `json:"identity"`
	// PINSalt is prepended to a PIN before hashing. It is random per state
	// file and replaced at every INITIALIZE.
	PINSalt []byte `json:"pin_salt"`
	// Options is the configuration option bitfield of INITIALIZE tag 80.
	Options uint16 `json:"options"`
	// UserPIN is nil on a blank device and after an INITIALIZE without
	// tag 81.
	UserPIN *pinRecord `json:"user_pin,omitempty"`
	// SOPIN is nil on a blank device, so it also marks whether the device
	// is initialized.
	SOPIN *pinRecord `json:"so_pin,omitempty"`
	// KeyDomains is nil on a blank device. Otherwise it has one entry per
	// configured key domain (1 without INITIALIZE tag 97).
	KeyDomains []keyDomain `json:"key_domains,omitempty"`
	PKA        *pkaConfig  `json:"pka,omitempty"`
	// Files maps a file identifier in 4 hex digits (for example "C401" or
	// "2F03") to the file content. EF.DIR, EF.C_DevAut and the device key
	// CC00 are not stored here.
	Files map[string][]byte `json:"files,omitempty"`
}

// pinRecord is a PIN stored as SHA-256(salt || PIN) with its retry counter.
type pinRecord struct {
	Hash       []byte `json:"sha256"`
	Length     int    `json:"length"`
	MaxRetries int    `json:"max_retries"`
	Retries    int    `json:"retries"`
}

// keyDomain is one key domain. Shares = 0 means the domain has no DKEK.
type keyDomain struct {
	Defined  bool   `json:"defined"`
	Shares   int    `json:"shares"`
	Imported int    `json:"imported"`
	DKEK     []byte `json:"dkek"` // XOR of the imported shares
}

// pkaConfig is the public key authentication setting of INITIALIZE tag 93.
type pkaConfig struct {
	Total      int             `json:"total"`
	Required   int             `json:"required"`
	Registered []registeredKey `json:"registered,omitempty"`
}

// registeredKey is a public key registered for public key authentication.
type registeredKey struct {
	CHR       string `json:"chr"`
	PublicKey []byte `json:"public_key"`
}

func newState(rnd io.Reader, now time.Time) (*state, error) {
	id, err := newIdentity(rnd, now)
	if err != nil {
		return nil, err
	}
	salt := make([]byte, pinSaltLen)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return nil, fmt.Errorf("generating PIN salt: %w", err)
	}
	return &state{Version: stateFormatVersion, Identity: id, PINSalt: salt}, nil
}

func (s *state) initialized() bool {
	return s.SOPIN != nil
}

func (s *state) pinHash(pin []byte) []byte {
	h := sha256.New()
	h.Write(s.PINSalt)
	h.Write(pin)
	return h.Sum(nil)
}

func (s *state) newPINRecord(pin []byte, maxRetries int) *pinRecord {
	return &pinRecord{Hash: s.pinHash(pin), Length: len(pin), MaxRetries: maxRetries, Retries: maxRetries}
}

func (s *state) pinMatches(rec *pinRecord, pin []byte) bool {
	return subtle.ConstantTimeCompare(rec.Hash, s.pinHash(pin)) == 1
}

func fileKey(fid uint16) string {
	return fmt.Sprintf("%04X", fid)
}

// loadState reads and checks a state file. A missing file yields an error
// wrapping os.ErrNotExist.
func loadState(path string) (*state, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	if err := st.check(); err != nil {
		return nil, fmt.Errorf("invalid state file %s: %w", path, err)
	}
	return &st, nil
}

// check rejects a state that the card code could not handle.
func (s *state) check() error {
	if s.Version != stateFormatVersion {
		return fmt.Errorf("format version %d, expected %d", s.Version, stateFormatVersion)
	}
	if err := s.Identity.check(); err != nil {
		return err
	}
	if len(s.PINSalt) != pinSaltLen {
		return fmt.Errorf("PIN salt has %d bytes, expected %d", len(s.PINSalt), pinSaltLen)
	}
	for name, rec := range map[string]*pinRecord{"user PIN": s.UserPIN, "SO-PIN": s.SOPIN} {
		if rec == nil {
			continue
		}
		if len(rec.Hash) != sha256.Size || rec.Length < 1 || rec.MaxRetries < 1 || rec.MaxRetries > 15 ||
			rec.Retries < 0 || rec.Retries > rec.MaxRetries {
			return fmt.Errorf("%s record is invalid", name)
		}
	}
	if s.SOPIN == nil && (s.UserPIN != nil || s.KeyDomains != nil || s.PKA != nil) {
		return errors.New("a blank device has PIN, key domain or PKA data")
	}
	if s.SOPIN != nil && len(s.KeyDomains) == 0 {
		return errors.New("an initialized device has no key domain table")
	}
	if len(s.KeyDomains) > maxKeyDomains {
		return fmt.Errorf("%d key domains, the maximum is %d", len(s.KeyDomains), maxKeyDomains)
	}
	for i, kd := range s.KeyDomains {
		if len(kd.DKEK) != dkekLen || kd.Shares < 0 || kd.Shares > 255 || kd.Imported < 0 || kd.Imported > kd.Shares {
			return fmt.Errorf("key domain %d is invalid", i)
		}
	}
	if s.PKA != nil && (s.PKA.Total < 1 || s.PKA.Required < 1 || s.PKA.Required > s.PKA.Total || len(s.PKA.Registered) > s.PKA.Total) {
		return errors.New("public key authentication setting is invalid")
	}
	if s.PKA != nil && !checkRegisteredKeys(s.PKA.Registered) {
		return errors.New("a registered public key is invalid or registered twice")
	}
	for key, content := range s.Files {
		fid, valid := parseFileKey(key)
		if !valid || !writableFID(fid) {
			return fmt.Errorf("file identifier %q is invalid", key)
		}
		if len(content) > maxFileSize {
			return fmt.Errorf("file %s has %d bytes, the maximum is %d", key, len(content), maxFileSize)
		}
	}
	return nil
}

// saveState writes the state atomically: a temporary file in the same
// folder with mode 0600, fsync, rename, then fsync of the folder.
func saveState(path string, st *state) error {
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state: %w", err)
	}

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("creating temporary state file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // fails harmlessly after the rename

	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("setting mode of %s: %w", tmpName, err)
	}
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", tmpName, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing %s: %w", tmpName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmpName, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}

	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening folder %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing folder %s: %w", dir, err)
	}
	return nil
}
