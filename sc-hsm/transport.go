package schsm

// Transport sends one command APDU to a card and returns the raw response
// APDU, status word included. It does not handle 61xx or 6Cxx, because
// Card.Transmit does. PCSCTransport implements it over PC/SC.
type Transport interface {
	Transmit(apdu []byte) ([]byte, error)
}
