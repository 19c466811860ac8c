package schsm

import (
	"fmt"
)

// maxChallenge is the largest GET CHALLENGE that OpenSC requests.
const maxChallenge = 1024

// PKAStatus is the public key authentication (n-of-m) state.
type PKAStatus struct {
	Total         int // N: public keys the configuration expects
	Missing       int // keys not yet registered
	Required      int // M: keys that must authenticate in a session
	Authenticated int // keys authenticated in this session
}

// PKAStatus queries public key authentication (80 54 00 00 00). A device
// without it configured returns SW 6A86 or 6A82 (Pico HSM), and applets
// without PKA support return 6D00.
func (c *Card) PKAStatus() (PKAStatus, error) {
	cmd := Command{CLA: claProprietary, INS: insPublicKeyAuth, Ne: maxShortNe}
	data, err := c.run(cmd)
	if err != nil {
		return PKAStatus{}, fmt.Errorf("querying public key authentication status: %w", err)
	}
	if len(data) < 4 {
		return PKAStatus{}, fmt.Errorf("querying public key authentication status: response has %d bytes, expected 4", len(data))
	}
	return PKAStatus{
		Total:         int(data[0]),
		Missing:       int(data[1]),
		Required:      int(data[2]),
		Authenticated: int(data[3]),
	}, nil
}

// GetChallenge returns n random bytes from the card (1 to 1024). On the
// Pico HSM it also arms the challenge for public key authentication.
func (c *Card) GetChallenge(n int) ([]byte, error) {
	if n < 1 || n > maxChallenge {
		return nil, fmt.Errorf("getting challenge: length %d is outside 1 to %d", n, maxChallenge)
	}
	cmd := Command{CLA: claISO, INS: insGetChallenge, Ne: n}
	data, err := c.run(cmd)
	if err != nil {
		return nil, fmt.Errorf("getting challenge: %w", err)
	}
	if len(data) != n {
		return nil, fmt.Errorf("getting challenge: card returned %d bytes, expected %d", len(data), n)
	}
	return data, nil
}
