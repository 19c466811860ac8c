package schsm

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of the PC/SC layer. The scard error, when there is one, is wrapped
// as well, so errors.Is works with both.
var (
	ErrServiceUnavailable = errors.New("the PC/SC service is not running; start pcscd (or enable pcscd.socket) and try again")
	ErrNoReader           = errors.New("no smart card reader found; connect the token and check that pcscd sees it")
	ErrNoToken            = errors.New("no SmartCard-HSM token found; insert the token or choose another reader")
	ErrSharingViolation   = errors.New("the reader is in exclusive use by another application, such as scdaemon, " +
		"gpg-agent or another PKCS#11 application (for example a browser or another tool holding the reader); " +
		"stop it, for example with \"gpgconf --kill scdaemon\", and try again")
	ErrAmbiguousReader = errors.New("the reader name matches several readers; give more of the name")
)

// SeveralTokensError is returned by PickReader when no reader name was given
// and more than one reader contains a SmartCard-HSM token.
type SeveralTokensError struct {
	Readers []string
}

func (e *SeveralTokensError) Error() string {
	return fmt.Sprintf("found %d SmartCard-HSM tokens, in readers %s; choose one with --reader and its name or a unique part of it",
		len(e.Readers), quoteList(e.Readers))
}

func quoteList(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted, ", ")
}

// pcscSystem and pcscCard are the parts of a PC/SC implementation this
// package uses. The scard implementation maps PC/SC errors to the errors
// above; tests substitute fakes.
type pcscSystem interface {
	ListReaders() ([]string, error)
	Connect(reader string) (pcscCard, error)
	Release() error
}

type pcscCard interface {
	Transmit(apdu []byte) ([]byte, error)
	BeginTransaction() error
	EndTransaction() error // leaves the card as it is
	Disconnect() error     // leaves the card as it is, without reset
}

// PCSCContext is a connection to the PC/SC service.
type PCSCContext struct {
	sys pcscSystem
}

// Release closes the connection to the PC/SC service.
func (p *PCSCContext) Release() error {
	if err := p.sys.Release(); err != nil {
		return fmt.Errorf("releasing PC/SC context: %w", err)
	}
	return nil
}

// Readers lists the reader names.
func (p *PCSCContext) Readers() ([]string, error) {
	readers, err := p.sys.ListReaders()
	if err != nil {
		return nil, fmt.Errorf("listing readers: %w", err)
	}
	return readers, nil
}

// ReaderProbe is the result of probing one reader. Err is set when the
// reader could not be probed, for example because another application
// uses it exclusively. A card that rejects the SELECT is no error.
type ReaderProbe struct {
	Reader       string
	CardPresent  bool
	SmartCardHSM bool
	Info         DeviceInfo
	Err          error
}

// Probe connects to every reader in shared mode and selects the
// SmartCard-HSM applet. The SELECT resets the security state of that card,
// so do not probe while another application is logged in to it.
func (p *PCSCContext) Probe() ([]ReaderProbe, error) {
	readers, err := p.Readers()
	if err != nil {
		return nil, err
	}
	probes := make([]ReaderProbe, 0, len(readers))
	for _, r := range readers {
		probes = append(probes, p.probe(r))
	}
	return probes, nil
}

func (p *PCSCContext) probe(reader string) ReaderProbe {
	pr := ReaderProbe{Reader: reader}
	t, err := p.Connect(reader)
	if err != nil {
		if !errors.Is(err, ErrNoToken) {
			pr.Err = err
		}
		return pr
	}
	defer t.Close()

	pr.CardPresent = true
	info, err := NewCard(t).SelectApplet()
	var statusErr *StatusError
	switch {
	case err == nil:
		pr.SmartCardHSM = true
		pr.Info = info
	case errors.As(err, &statusErr), errors.Is(err, ErrMalformedFCP):
		// Another kind of card.
	default:
		pr.Err = err
	}
	return pr
}

// PickReader returns the reader of the token to use. With name "" it is the
// only reader that contains a SmartCard-HSM token; several such readers give a
// *SeveralTokensError, never an arbitrary choice. A non-empty name is the
// exact reader name, a part of exactly one reader name, ignoring case, or
// all digits: the index of the reader from 0, as sc-hsm-tool -r takes it.
// That reader must contain a SmartCard-HSM token.
func (p *PCSCContext) PickReader(name string) (string, error) {
	readers, err := p.Readers()
	if err != nil {
		return "", err
	}
	if len(readers) == 0 {
		return "", ErrNoReader
	}

	if name != "" {
		reader, err := matchReader(readers, name)
		if err != nil {
			return "", err
		}
		pr := p.probe(reader)
		switch {
		case pr.Err != nil:
			return "", fmt.Errorf("probing reader %q: %w", reader, pr.Err)
		case !pr.CardPresent:
			return "", fmt.Errorf("reader %q has no card: %w", reader, ErrNoToken)
		case !pr.SmartCardHSM:
			return "", fmt.Errorf("the card in reader %q is no SmartCard-HSM: %w", reader, ErrNoToken)
		}
		return reader, nil
	}

	var tokens []string
	var firstErr error
	for _, r := range readers {
		pr := p.probe(r)
		if pr.SmartCardHSM {
			tokens = append(tokens, r)
		}
		if pr.Err != nil && firstErr == nil {
			firstErr = fmt.Errorf("probing reader %q: %w", r, pr.Err)
		}
	}
	switch {
	case len(tokens) == 1:
		return tokens[0], nil
	case len(tokens) > 1:
		return "", &SeveralTokensError{Readers: tokens}
	case firstErr != nil:
		// A reader that could not be probed may hold the token, for example
		// behind an exclusive connection of scdaemon.
		return "", firstErr
	default:
		return "", fmt.Errorf("%w (readers: %s)", ErrNoToken, quoteList(readers))
	}
}

func matchReader(readers []string, name string) (string, error) {
	if r, ok, err := readerByIndex(readers, name); ok {
		return r, err
	}
	for _, r := range readers {
		if r == name {
			return r, nil
		}
	}
	var matches []string
	for _, r := range readers {
		if strings.Contains(strings.ToLower(r), strings.ToLower(name)) {
			matches = append(matches, r)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return "", &ReaderNotFoundError{Name: name, Readers: readers}
	default:
		return "", fmt.Errorf("%w: %q matches %s", ErrAmbiguousReader, name, quoteList(matches))
	}
}

// Connect connects to the card in reader in shared mode with T=1 or T=0.
func (p *PCSCContext) Connect(reader string) (*PCSCTransport, error) {
	card, err := p.sys.Connect(reader)
	if err != nil {
		return nil, fmt.Errorf("connecting to reader %q: %w", reader, err)
	}
	return &PCSCTransport{card: card, reader: reader}, nil
}

// PCSCTransport is a Transport over a PC/SC card connection.
type PCSCTransport struct {
	card   pcscCard
	reader string
}

// Reader returns the name of the reader.
func (t *PCSCTransport) Reader() string { return t.reader }

// Transmit sends one APDU and returns the response, status word included.
func (t *PCSCTransport) Transmit(apdu []byte) ([]byte, error) {
	resp, err := t.card.Transmit(apdu)
	if err != nil {
		return nil, fmt.Errorf("reader %q: %w", t.reader, err)
	}
	if len(resp) == 0 {
		// A response always ends with a status word. The vpcd driver, for
		// one, returns nothing once the card behind it is gone.
		return nil, fmt.Errorf("reader %q: empty response: %w", t.reader, ErrTokenNotResponding)
	}
	return resp, nil
}

// BeginTransaction gives this connection exclusive use of the card until
// EndTransaction, so that no other application interleaves its commands.
func (t *PCSCTransport) BeginTransaction() error {
	if err := t.card.BeginTransaction(); err != nil {
		return fmt.Errorf("beginning transaction on reader %q: %w", t.reader, err)
	}
	return nil
}

// EndTransaction ends the transaction and leaves the card as it is.
func (t *PCSCTransport) EndTransaction() error {
	if err := t.card.EndTransaction(); err != nil {
		return fmt.Errorf("ending transaction on reader %q: %w", t.reader, err)
	}
	return nil
}

// Close disconnects without resetting the card, so a session that another
// application shares stays as it is.
func (t *PCSCTransport) Close() error {
	if err := t.card.Disconnect(); err != nil {
		return fmt.Errorf("disconnecting from reader %q: %w", t.reader, err)
	}
	return nil
}
