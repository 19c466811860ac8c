package schsm

import (
	"crypto/sha256"
	"errors"
	"fmt"
)

// Signer signs for public key authentication with a registered key. CHR is
// the holder reference under which the key was registered (the CHR of the
// inner request), and Sign returns the plain ECDSA P-256 signature r||s
// (64 bytes) of a SHA-256 digest. Key files (package pkakey) and keys on
// PKCS#11 tokens (package pkcs11bridge) implement it.
type Signer interface {
	CHR() string
	Sign(digest [32]byte) ([]byte, error)
}

// Errors of public key authentication. The returned errors also match the
// *StatusError of the status word.
var (
	ErrPKAKeyUnknown           = errors.New("public key is not registered on the card")
	ErrPKAAlreadyAuthenticated = errors.New("public key is already authenticated in this session")
	ErrPKASignatureRejected    = errors.New("card rejected the authentication signature")
)

// pkaChallengeLen is the challenge length that pypicohsm requests for
// public key authentication.
const pkaChallengeLen = 8

// PKAChallenge requests the 8-byte challenge (00 84 00 00 08) that every
// custodian of the session signs. On the Pico HSM, GET CHALLENGE also
// clears the keys authenticated so far (pico-hsm cmd_challenge.c), so a
// session requests one challenge before the first key and none after.
func (c *Card) PKAChallenge() ([]byte, error) {
	return c.GetChallenge(pkaChallengeLen)
}

// PKAMessage returns the message a custodian signs: the device CHR followed
// by the challenge. Its SHA-256 digest is what Signer.Sign receives.
func PKAMessage(deviceCHR string, challenge []byte) []byte {
	return append([]byte(deviceCHR), challenge...)
}

// AuthenticatePublicKey authenticates one registered key with the challenge
// of PKAChallenge: MSE SET AT with the key's CHR (00 22 81 A4 83 CHR), then
// EXTERNAL AUTHENTICATE (00 82 00 00) with the signature of
// SHA-256(deviceCHR || challenge). deviceCHR is the CHR of the first
// certificate in EF.C_DevAut of the target token (Card.DeviceCHR).
//
// An unknown CHR matches ErrPKAKeyUnknown, a key authenticated before in
// the session ErrPKAAlreadyAuthenticated (Pico HSM and virtual card), and a
// rejected signature or missing challenge ErrPKASignatureRejected.
func (c *Card) AuthenticatePublicKey(deviceCHR string, challenge []byte, signer Signer) error {
	chr := signer.CHR()
	if deviceCHR == "" || len(challenge) == 0 {
		return fmt.Errorf("authenticating public key %q: the device CHR and the challenge must not be empty", chr)
	}

	if err := c.manageSecurityEnv(mseTemplateAT, chr); err != nil {
		switch {
		case errors.Is(err, ErrReferenceNotFound):
			err = fmt.Errorf("%w: %w", ErrPKAKeyUnknown, err)
		case errors.Is(err, ErrConditionsNotSatisfied):
			err = fmt.Errorf("%w: %w", ErrPKAAlreadyAuthenticated, err)
		}
		return fmt.Errorf("selecting public key %q: %w", chr, err)
	}

	sig, err := signer.Sign(sha256.Sum256(PKAMessage(deviceCHR, challenge)))
	if err != nil {
		return fmt.Errorf("signing challenge with key %q: %w", chr, err)
	}
	if len(sig) != P256SignatureLen {
		return fmt.Errorf("signing challenge with key %q: signature has %d bytes, expected %d (r||s)", chr, len(sig), P256SignatureLen)
	}

	cmd := Command{CLA: claISO, INS: insExternalAuth, Data: sig}
	if _, err := c.run(cmd); err != nil {
		if errors.Is(err, ErrConditionsNotSatisfied) {
			err = fmt.Errorf("%w: %w", ErrPKASignatureRejected, err)
		}
		return fmt.Errorf("authenticating public key %q: %w", chr, err)
	}
	return nil
}

// AuthenticatePublicKeys authenticates with each signer in turn on one
// challenge and stops as soon as the status shows the required number of
// authenticated keys (the Pico HSM drops the challenge then). It reads the
// device CHR from EF.C_DevAut. It returns the last status; reaching fewer
// keys than required is not an error, so check Authenticated >= Required.
// The caller keeps the card connection exclusive for the session, because a
// SELECT by another process clears the authentication.
func (c *Card) AuthenticatePublicKeys(signers []Signer) (PKAStatus, error) {
	deviceCHR, err := c.DeviceCHR()
	if err != nil {
		return PKAStatus{}, fmt.Errorf("public key authentication: %w", err)
	}
	status, err := c.PKAStatus()
	if err != nil {
		return PKAStatus{}, fmt.Errorf("public key authentication: %w", err)
	}
	if status.Authenticated >= status.Required {
		return status, nil
	}

	challenge, err := c.PKAChallenge()
	if err != nil {
		return PKAStatus{}, fmt.Errorf("public key authentication: %w", err)
	}
	for _, s := range signers {
		if err := c.AuthenticatePublicKey(deviceCHR, challenge, s); err != nil {
			return status, err
		}
		if status, err = c.PKAStatus(); err != nil {
			return PKAStatus{}, fmt.Errorf("public key authentication: %w", err)
		}
		if status.Authenticated >= status.Required {
			break
		}
	}
	return status, nil
}
