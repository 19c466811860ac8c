package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// openExclusiveSession opens a session like openSession, but connects in
// exclusive share mode: public key authentication holds only until the
// next SELECT, and another application's SELECT would clear it between the
// commands of the session. When another application is connected to the
// reader, the error names the processes that use the PC/SC library.
func (a *app) openExclusiveSession() (*session, error) {
	ctx, err := schsm.EstablishContext()
	if err != nil {
		return nil, classifyPCSC(fmt.Errorf("connecting to the PC/SC service: %w", err))
	}
	reader, err := ctx.PickReader(a.reader)
	if err != nil {
		ctx.Release()
		return nil, classifyPCSC(fmt.Errorf("choosing a reader: %w", err))
	}
	tr, err := ctx.ConnectExclusive(reader)
	if err != nil {
		ctx.Release()
		if errors.Is(err, schsm.ErrSharingViolation) {
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

// describePCSCUsers names the processes that have the PC/SC client library
// loaded, which are the candidates for the connection that blocks the
// reader. It reads /proc, so it finds only processes this user may inspect.
func describePCSCUsers() string {
	users := pcscUsers("/proc", os.Getpid())
	if len(users) == 0 {
		return "No other process with the PC/SC library loaded was found in /proc (another user's process may hold the reader)."
	}
	return "Processes with the PC/SC library loaded: " + strings.Join(users, ", ") + "."
}

// pcscUsers lists "name (pid N)" for each process under procDir, except
// self and pcscd itself, whose memory map contains libpcsclite.
func pcscUsers(procDir string, self int) []string {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return nil
	}
	var users []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		maps, err := os.ReadFile(filepath.Join(procDir, e.Name(), "maps"))
		if err != nil || !bytes.Contains(maps, []byte("libpcsclite")) {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(procDir, e.Name(), "comm"))
		if err != nil {
			continue
		}
		name := strings.TrimSpace(string(comm))
		if name == "pcscd" {
			continue
		}
		users = append(users, fmt.Sprintf("%s (pid %d)", name, pid))
	}
	sort.Strings(users)
	return users
}
