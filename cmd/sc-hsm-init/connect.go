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

// shareMode is the PC/SC share mode (SCARD_SHARE_SHARED or
// SCARD_SHARE_EXCLUSIVE) a session connects with.
type shareMode int

const (
	// shareShared lets other applications connect to the reader too, but
	// the transaction keeps their commands out while the session lasts.
	shareShared shareMode = iota
	// shareExclusive keeps every other application off the reader. Public
	// key authentication holds only until the next SELECT, and another
	// application's SELECT would clear it between the commands of the
	// session.
	shareExclusive
)

// openSession picks the reader (never silently the first of several
// tokens), connects in the given share mode and begins a transaction. When
// an exclusive connection fails because another application is connected
// to the reader, the error names the processes that use the PC/SC library.
func (a *app) openSession(mode shareMode) (*session, error) {
	ctx, err := schsm.EstablishContext()
	if err != nil {
		return nil, classifyPCSC(fmt.Errorf("connecting to the PC/SC service: %w", err))
	}
	reader, err := ctx.PickReader(a.reader)
	if err != nil {
		ctx.Release()
		return nil, classifyPCSC(fmt.Errorf("choosing a reader: %w", err))
	}
	var tr *schsm.PCSCTransport
	if mode == shareExclusive {
		tr, err = ctx.ConnectExclusive(reader)
	} else {
		tr, err = ctx.Connect(reader)
	}
	if err != nil {
		ctx.Release()
		if mode == shareExclusive && errors.Is(err, schsm.ErrSharingViolation) {
			err = fmt.Errorf("%w; public key authentication needs the reader for itself. %s", err, describePCSCUsers())
		}
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

// openAppletSession opens a shared session, stores the reader name in
// *reader and selects the applet. It closes the session when the SELECT
// fails.
func (a *app) openAppletSession(reader *string) (*session, error) {
	sess, err := a.openSession(shareShared)
	if err != nil {
		return nil, err
	}
	*reader = sess.reader
	if _, err := sess.card.SelectApplet(); err != nil {
		sess.close()
		return nil, classifyPCSC(fmt.Errorf("selecting the applet: %w", err))
	}
	return sess, nil
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
	sess, err := a.openSession(shareShared)
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
