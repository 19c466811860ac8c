package schsm

import (
	"errors"
	"fmt"
)

// exclusiveConnector is implemented by PC/SC systems that can connect in
// exclusive share mode. The scard implementation does; test fakes may not.
type exclusiveConnector interface {
	ConnectExclusive(reader string) (pcscCard, error)
}

// ErrExclusiveUnsupported is returned by ConnectExclusive when the PC/SC
// implementation cannot connect in exclusive share mode.
var ErrExclusiveUnsupported = errors.New("the PC/SC implementation cannot connect in exclusive mode")

// ConnectExclusive connects to the card in reader in exclusive share mode
// (SCARD_SHARE_EXCLUSIVE) with T=1 or T=0. No other application can connect
// to the reader until Close, so none can SELECT the applet and thereby
// clear a PIN or public key authentication. While another application is
// connected, it fails with an error matching ErrSharingViolation.
func (p *PCSCContext) ConnectExclusive(reader string) (*PCSCTransport, error) {
	ex, ok := p.sys.(exclusiveConnector)
	if !ok {
		return nil, fmt.Errorf("connecting to reader %q: %w", reader, ErrExclusiveUnsupported)
	}
	card, err := ex.ConnectExclusive(reader)
	if err != nil {
		return nil, fmt.Errorf("connecting to reader %q in exclusive mode: %w", reader, err)
	}
	return &PCSCTransport{card: card, reader: reader}, nil
}
