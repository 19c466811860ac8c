package virtualcard

import (
	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// publicKeyAuthentication implements the status form of 80 54: four bytes
// <total keys> <keys still to register> <keys required> <keys
// authenticated in this session>. Without PKA configured the status word
// is 6A86, as on the Pico.
func (c *Card) publicKeyAuthentication(cmd schsm.Command) schsm.Response {
	pka := c.st.PKA
	if pka == nil || cmd.P1 != 0 || cmd.P2 != 0 {
		return statusOnly(schsm.SWIncorrectP1P2)
	}
	if len(cmd.Data) != 0 {
		// Registration (data = authenticated CV request) is part of the
		// public key authentication TODO in dispatch.
		return statusOnly(schsm.SWIncorrectP1P2)
	}

	const authenticated = 0 // no key can authenticate yet
	return ok([]byte{
		byte(pka.Total),
		byte(pka.Total - len(pka.Registered)),
		byte(pka.Required),
		authenticated,
	})
}
