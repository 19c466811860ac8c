//go:build cgo || windows

package schsm

import (
	"errors"
	"fmt"

	"github.com/ebfe/scard"
)

// EstablishContext connects to the PC/SC service. Without a running pcscd
// it returns an error matching ErrServiceUnavailable.
func EstablishContext() (*PCSCContext, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, fmt.Errorf("establishing PC/SC context: %w", mapSCardError(err))
	}
	return &PCSCContext{sys: scardSystem{ctx: ctx}}, nil
}

type scardSystem struct {
	ctx *scard.Context
}

func (s scardSystem) ListReaders() ([]string, error) {
	readers, err := s.ctx.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return nil, nil
	}
	if err != nil {
		return nil, mapSCardError(err)
	}
	return readers, nil
}

func (s scardSystem) Connect(reader string) (pcscCard, error) {
	card, err := s.ctx.Connect(reader, scard.ShareShared, scard.ProtocolT1|scard.ProtocolT0)
	if err != nil {
		return nil, mapSCardError(err)
	}
	return scardCard{card: card}, nil
}

func (s scardSystem) Release() error {
	return mapSCardError(s.ctx.Release())
}

type scardCard struct {
	card *scard.Card
}

func (c scardCard) Transmit(apdu []byte) ([]byte, error) {
	resp, err := c.card.Transmit(apdu)
	return resp, mapConnectedError(err)
}

func (c scardCard) BeginTransaction() error {
	return mapConnectedError(c.card.BeginTransaction())
}

func (c scardCard) EndTransaction() error {
	return mapSCardError(c.card.EndTransaction(scard.LeaveCard))
}

func (c scardCard) Disconnect() error {
	return mapSCardError(c.card.Disconnect(scard.LeaveCard))
}

// mapSCardError wraps the PC/SC errors a user can act on in this package's
// errors. Both stay visible to errors.Is.
func mapSCardError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, scard.ErrNoService), errors.Is(err, scard.ErrServiceStopped):
		return fmt.Errorf("%w (%w)", ErrServiceUnavailable, err)
	case errors.Is(err, scard.ErrNoReadersAvailable), errors.Is(err, scard.ErrUnknownReader),
		errors.Is(err, scard.ErrReaderUnavailable):
		return fmt.Errorf("%w (%w)", ErrNoReader, err)
	case errors.Is(err, scard.ErrSharingViolation):
		return fmt.Errorf("%w (%w)", ErrSharingViolation, err)
	case errors.Is(err, scard.ErrNoSmartcard):
		return fmt.Errorf("%w: the reader has no card (%w)", ErrNoToken, err)
	case errors.Is(err, scard.ErrRemovedCard):
		return fmt.Errorf("%w: the card was removed (%w)", ErrNoToken, err)
	default:
		return err
	}
}

// mapConnectedError maps the errors of a command or transaction on a
// connected card. There, a broken link to pcscd (pcsc-lite reports "RPC
// transport error", or "Access denied" and "Invalid handle" once the daemon
// that issued the handle is gone) means the service is unavailable, and a
// removed, reset or silent card means the token stopped responding.
func mapConnectedError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, scard.ErrCommError), errors.Is(err, scard.ErrSecurityViolation),
		errors.Is(err, scard.ErrInvalidHandle), errors.Is(err, scard.ErrNoService), errors.Is(err, scard.ErrServiceStopped):
		return fmt.Errorf("%w (%w)", ErrServiceUnavailable, err)
	case errors.Is(err, scard.ErrRemovedCard), errors.Is(err, scard.ErrResetCard), errors.Is(err, scard.ErrNotTransacted),
		errors.Is(err, scard.ErrUnresponsiveCard), errors.Is(err, scard.ErrUnpoweredCard), errors.Is(err, scard.ErrNoSmartcard):
		return fmt.Errorf("%w (%w)", ErrTokenNotResponding, err)
	default:
		return mapSCardError(err)
	}
}
