package pkakey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/internal/atomicfile"
)

// NewRehearsalRegistration makes a registration file for an existing P-256
// custodian key, such as a key on a PKCS#11 token, under a new random CHR.
// signInner signs with that key and makes the inner self-signature of the
// request. A fresh rehearsal device key, certified by the rehearsal DICA,
// makes the outer signature, so only the virtual card accepts the file. The
// device key is discarded afterwards. It returns an error when the inner
// signature does not verify with pub, which catches a signer that holds
// another key.
func NewRehearsalRegistration(pub *ecdsa.PublicKey, signInner schsm.SignFunc) (*Registration, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return nil, errors.New("making rehearsal registration: the custodian key must be an ECDSA P-256 key")
	}
	pki, err := loadRehearsalPKI()
	if err != nil {
		return nil, err
	}
	deviceKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating rehearsal device key: %w", err)
	}
	deviceCHR, err := randomCHR(rehearsalDevicePrefix)
	if err != nil {
		return nil, err
	}
	keyCHR, err := randomCHR(rehearsalKeyPrefix)
	if err != nil {
		return nil, err
	}

	now := time.Now().UTC()
	deviceCert, err := issueCVC(pki.dica, RehearsalDICACHR, deviceCHR, &deviceKey.PublicKey, now, now.AddDate(20, 0, 0))
	if err != nil {
		return nil, fmt.Errorf("issuing rehearsal device certificate: %w", err)
	}
	innerBody, err := schsm.EncodeCVCBody(schsm.CVCTemplate{CAR: keyCHR, CHR: keyCHR, PublicKey: pub})
	if err != nil {
		return nil, err
	}
	inner, err := schsm.SignCVC(innerBody, signInner)
	if err != nil {
		return nil, fmt.Errorf("self-signing the request with the custodian key: %w", err)
	}
	request, err := schsm.EncodeAuthenticatedRequest(inner, deviceCHR, keySignFunc(deviceKey))
	if err != nil {
		return nil, err
	}

	reg, err := ParseRegistration(schsm.AppendTLV(nil, tagSequence, concat(request, deviceCert, pki.dicaCert)))
	if err != nil {
		return nil, fmt.Errorf("decoding the new registration file: %w", err)
	}
	if err := reg.Request.VerifyInner(); err != nil {
		return nil, fmt.Errorf("making rehearsal registration: the signer does not hold the given public key: %w", err)
	}
	return reg, nil
}

// WriteRegistrationFile writes the old encoding of r to path with mode
// 0644. It fails when path exists.
func WriteRegistrationFile(path string, r *Registration) error {
	if err := atomicfile.WriteNew(path, r.Encode(), 0o644); err != nil {
		return fmt.Errorf("writing registration file: %w", err)
	}
	return nil
}

// IsRehearsal reports whether the registration's DICA is the rehearsal
// DICA issued by the rehearsal root, so that only the virtual card accepts
// it.
func (r *Registration) IsRehearsal() bool {
	return r.DICA.CHR == RehearsalDICACHR && r.DICA.CAR == RehearsalRootCHR
}

// VerifyRehearsalChain checks a rehearsal registration completely offline,
// up to the rehearsal root key.
func (r *Registration) VerifyRehearsalChain() error {
	root, err := RehearsalRootPublicKey()
	if err != nil {
		return err
	}
	return r.VerifyChain(RehearsalRootCHR, root)
}
