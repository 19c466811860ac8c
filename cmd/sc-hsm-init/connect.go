package main

import (
	"errors"
	"fmt"
	"log/slog"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// session is one PC/SC connection to the chosen token, held inside one
// transaction so that no other process can SELECT in between and reset
// the security state.
type session struct {
	ctx    *schsm.PCSCContext
	tr     *schsm.PCSCTransport
	card   *schsm.Card
	reader string
}

// openSession picks the reader (never silently the first of several
// tokens), connects in shared mode and begins a transaction.
func (a *app) openSession() (*session, error) {
	ctx, err := schsm.EstablishContext()
	if err != nil {
		return nil, classifyPCSC(fmt.Errorf("connecting to the PC/SC service: %w", err))
	}
	reader, err := ctx.PickReader(a.reader)
	if err != nil {
		ctx.Release()
		return nil, classifyPCSC(fmt.Errorf("choosing a reader: %w", err))
	}
	tr, err := ctx.Connect(reader)
	if err != nil {
		ctx.Release()
		return nil, classifyPCSC(fmt.Errorf("connecting to %q: %w", reader, err))
	}
	if err := tr.BeginTransaction(); err != nil {
		tr.Close()
		ctx.Release()
		return nil, classifyPCSC(fmt.Errorf("starting a transaction on %q: %w", reader, err))
	}

	var opts []schsm.CardOption
	if a.verbose {
		log := a.logger()
		opts = append(opts, schsm.WithTracer(func(e schsm.TraceEntry) {
			log.Debug("apdu", slog.String("reader", reader), slog.String("command", e.Command),
				slog.String("response", e.Response), slog.String("sw", fmt.Sprintf("%04X", e.SW)),
				slog.Duration("duration", e.Duration))
		}))
	}
	return &session{ctx: ctx, tr: tr, card: schsm.NewCard(tr, opts...), reader: reader}, nil
}

// close ends the transaction and disconnects without resetting the card, so
// that a PKCS#11 module loaded next sees the state as provisioning left it.
func (s *session) close() {
	s.tr.EndTransaction()
	s.tr.Close()
	s.ctx.Release()
}

// classifyPCSC attaches the exit code that matches a PC/SC or card error.
func classifyPCSC(err error) error {
	var several *schsm.SeveralTokensError
	var status *schsm.StatusError
	var wrongPIN *schsm.WrongPINError
	switch {
	case errors.Is(err, schsm.ErrServiceUnavailable):
		return withExit(exitPCSCUnavailable, err)
	case errors.Is(err, schsm.ErrNoReader), errors.Is(err, schsm.ErrNoToken), errors.Is(err, schsm.ErrTokenNotResponding),
		errors.Is(err, schsm.ErrAmbiguousReader), errors.Is(err, schsm.ErrSharingViolation),
		errors.As(err, &several):
		return withExit(exitNoToken, err)
	case errors.As(err, &status), errors.As(err, &wrongPIN):
		return withExit(exitCardRefused, err)
	default:
		return err
	}
}

// readStatus reads the token status in its own session and releases the
// reader, returning the reader name with it.
func (a *app) readStatus() (schsm.DeviceStatus, string, error) {
	sess, err := a.openSession()
	if err != nil {
		return schsm.DeviceStatus{}, "", err
	}
	st, err := sess.card.Status()
	sess.close()
	if err != nil {
		return st, sess.reader, classifyPCSC(fmt.Errorf("reading token status on %q: %w", sess.reader, err))
	}
	return st, sess.reader, nil
}
