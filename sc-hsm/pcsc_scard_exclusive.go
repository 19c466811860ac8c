//go:build cgo || windows

package schsm

import "github.com/ebfe/scard"

// ConnectExclusive connects with SCARD_SHARE_EXCLUSIVE.
func (s scardSystem) ConnectExclusive(reader string) (pcscCard, error) {
	card, err := s.ctx.Connect(reader, scard.ShareExclusive, scard.ProtocolT1|scard.ProtocolT0)
	if err != nil {
		return nil, mapSCardError(err)
	}
	return scardCard{card: card}, nil
}
