package teststack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/vpcd"
)

// socketEnv is the variable that points libpcsclite clients at a pcscd
// socket.
const socketEnv = "PCSCLITE_CSOCK_NAME"

// ReaderName is the PC/SC name of the first vpcd reader, the one the card
// of a stack connects to.
const ReaderName = "Virtual PCD 00 00"

// cardStopTimeout bounds the wait for vpcd.Serve to return on Stop.
const cardStopTimeout = 5 * time.Second

// Option configures Start and Main.
type Option func(*config)

type config struct {
	card       vpcd.Card
	noCard     bool
	logger     *slog.Logger
	pcscdDebug bool
}

// WithCard serves card instead of a fresh, in-memory virtual SmartCard-HSM
// from package virtualcard.
func WithCard(card vpcd.Card) Option {
	return func(c *config) { c.card = card }
}

// WithoutCard starts pcscd only, for tests that connect their own card
// process (such as "sc-hsm-init simulate") to Stack.Port.
func WithoutCard() Option {
	return func(c *config) { c.noCard = true }
}

// WithCardLogger sends the log of the card's vpcd link to logger instead of
// the file behind Stack.CardLog.
func WithCardLogger(logger *slog.Logger) Option {
	return func(c *config) { c.logger = logger }
}

// WithPCSCDDebug adds --debug and --apdu to pcscd, which then logs every
// APDU and status word in PCSCDLog. That log contains PIN and share bytes
// and is printed when a test fails, so use it only while debugging.
func WithPCSCDDebug() Option {
	return func(c *config) { c.pcscdDebug = true }
}

// Stack is a running isolated pcscd with a virtual card on its first vpcd
// reader. Its methods are safe for use by one test at a time.
type Stack struct {
	// Env holds the variables a client process needs on top of its own
	// environment: cmd.Env = append(os.Environ(), stack.Env...).
	Env []string
	// SocketPath is the pcscd client socket (the value of
	// PCSCLITE_CSOCK_NAME).
	SocketPath string
	// Reader is the PC/SC reader name the card is in.
	Reader string
	// Port is the vpcd TCP port of Reader on 127.0.0.1. Port+1 belongs to
	// the second, empty reader "Virtual PCD 00 01".
	Port int
	// Dir is the stack's private folder: conf/, run/, drivers/ and the logs.
	Dir string

	tools    tools
	cfg      config
	lease    *portLease
	logFile  *os.File
	mu       sync.Mutex
	daemon   *daemon
	cancel   context.CancelFunc
	served   chan error
	stopOnce sync.Once
	stopErr  error
}

// Start starts a stack for tb and registers Stop with tb.Cleanup. It skips
// tb when the required software is missing, or fails it when
// SCHSM_REQUIRE_STACK=1 is set. When tb has failed by cleanup time, the
// pcscd and card logs are written to the test log.
func Start(tb testing.TB, opts ...Option) *Stack {
	tb.Helper()

	s, err := newStack(opts)
	if err != nil {
		skipOrFail(tb, err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("pcscd log (%s):\n%s", s.pcscdLogPath(), s.PCSCDLog())
			tb.Logf("card log:\n%s", s.CardLog())
		}
		if err := s.Stop(); err != nil {
			tb.Errorf("stopping PC/SC test stack: %v", err)
		}
	})
	return s
}

// newStack starts pcscd and the card without a testing.TB, for Start and
// Main.
func newStack(opts []Option) (*Stack, error) {
	var cfg config
	for _, opt := range opts {
		opt(&cfg)
	}

	t, err := findTools()
	if err != nil {
		return nil, err
	}
	// A short folder under os.TempDir keeps the socket path well below the
	// 108-byte limit of Unix socket addresses, which t.TempDir may exceed.
	dir, err := os.MkdirTemp("", "schsm-stack-")
	if err != nil {
		return nil, fmt.Errorf("creating stack folder: %w", err)
	}
	s := &Stack{
		SocketPath: filepath.Join(dir, "run", "pcscd.comm"),
		Reader:     ReaderName,
		Dir:        dir,
		tools:      t,
		cfg:        cfg,
	}
	s.Env = []string{socketEnv + "=" + s.SocketPath}

	if err := s.start(); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Stack) start() error {
	for _, sub := range []string{"conf", "run", "drivers"} {
		if err := os.Mkdir(filepath.Join(s.Dir, sub), 0o755); err != nil {
			return fmt.Errorf("creating stack folder: %w", err)
		}
	}

	// Another program may take the port between the probe and pcscd's bind,
	// so a failed start is retried on a new port pair.
	var err error
	for range 3 {
		if err = s.startOnNewPort(); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}

	if s.cfg.noCard {
		return nil
	}
	logger := s.cfg.logger
	if logger == nil {
		s.logFile, err = os.Create(filepath.Join(s.Dir, "card.log"))
		if err != nil {
			return fmt.Errorf("creating card log: %w", err)
		}
		logger = slog.New(slog.NewTextHandler(s.logFile, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if s.cfg.card == nil {
		if s.cfg.card, err = newDefaultCard(logger); err != nil {
			return fmt.Errorf("creating the default virtual card: %w", err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.served = make(chan error, 1)
	go func() { s.served <- vpcd.Serve(ctx, s.Addr(), s.cfg.card, logger) }()
	return nil
}

func (s *Stack) startOnNewPort() error {
	lease, err := leasePortPair()
	if err != nil {
		return err
	}
	if err := writeReaderConf(s.Dir, lease.Port); err != nil {
		lease.Release()
		return fmt.Errorf("writing reader.conf: %w", err)
	}

	d, err := startDaemon(s.tools, s.Dir, lease.Port, s.pcscdLogPath(), s.pcscdArgs())
	if err != nil {
		lease.Release()
		return fmt.Errorf("%w\npcscd log:\n%s", err, s.PCSCDLog())
	}

	s.lease = lease
	s.Port = lease.Port
	s.daemon = d
	return nil
}

func (s *Stack) pcscdArgs() []string {
	if s.cfg.pcscdDebug {
		return []string{"--debug", "--apdu"}
	}
	return nil
}

func (s *Stack) pcscdLogPath() string { return filepath.Join(s.Dir, "pcscd.log") }

// Addr returns the vpcd address of Reader, "127.0.0.1:<Port>".
func (s *Stack) Addr() string {
	return "127.0.0.1:" + strconv.Itoa(s.Port)
}

// PID returns the process id of the running pcscd, or 0 when it is stopped.
func (s *Stack) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.daemon == nil {
		return 0
	}
	return s.daemon.pid()
}

// RestartPCSCD stops pcscd and starts it again on the same socket and port.
// The card reconnects by itself; call WaitCardPresent before using it.
func (s *Stack) RestartPCSCD(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.daemon == nil {
		tb.Fatalf("restarting pcscd: the stack is stopped")
	}
	if err := s.daemon.stop(); err != nil {
		tb.Fatalf("restarting pcscd: %v", err)
	}
	s.daemon = nil
	appendLog(s.pcscdLogPath(), "\n--- pcscd restarted by teststack ---\n")

	d, err := startDaemon(s.tools, s.Dir, s.Port, s.pcscdLogPath(), s.pcscdArgs())
	if err != nil {
		tb.Fatalf("restarting pcscd: %v\npcscd log:\n%s", err, s.PCSCDLog())
	}
	s.daemon = d
}

// Stop stops the card and pcscd (by PID), frees the port pair and removes
// Dir. It is safe to call more than once, and Start registers it with
// tb.Cleanup.
func (s *Stack) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Stack) stop() error {
	var errs []error

	if s.cancel != nil {
		s.cancel()
		select {
		case err := <-s.served:
			if err != nil && !errors.Is(err, context.Canceled) {
				errs = append(errs, fmt.Errorf("card link: %w", err))
			}
		case <-time.After(cardStopTimeout):
			errs = append(errs, fmt.Errorf("card link did not stop within %v", cardStopTimeout))
		}
	}

	s.mu.Lock()
	if s.daemon != nil {
		if err := s.daemon.stop(); err != nil {
			errs = append(errs, err)
		}
		s.daemon = nil
	}
	s.mu.Unlock()

	if s.lease != nil {
		s.lease.Release()
	}
	if s.logFile != nil {
		s.logFile.Close()
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		errs = append(errs, fmt.Errorf("removing stack folder: %w", err))
	}
	return errors.Join(errs...)
}

// PCSCDLog returns pcscd's output so far, for failure messages.
func (s *Stack) PCSCDLog() string {
	return readLog(s.pcscdLogPath())
}

// CardLog returns the log of the card's vpcd link so far. It is empty when
// WithCardLogger or WithoutCard was used.
func (s *Stack) CardLog() string {
	return readLog(filepath.Join(s.Dir, "card.log"))
}

// Command returns a command that runs name with the stack's environment.
func (s *Stack) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(withoutVar(os.Environ(), socketEnv), s.Env...)
	return cmd
}

// Run runs name with the stack's environment and returns its output. The
// command is killed when tb's context ends. Run logs neither the arguments
// nor the output, because they may hold PINs.
func (s *Stack) Run(tb testing.TB, name string, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	var out, errOut bytes.Buffer
	cmd := s.Command(tb.Context(), name, args...)
	cmd.Stdout = &out
	cmd.Stderr = &errOut

	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("running %s: %w", name, err)
	}
	return out.String(), errOut.String(), err
}

// Setenv sets PCSCLITE_CSOCK_NAME in the test process with tb.Setenv, for
// in-process PC/SC clients such as ebfe/scard. Set it before the first
// PC/SC call of the process, and prefer Main with Shared when several tests
// of a binary use PC/SC in-process.
func (s *Stack) Setenv(tb testing.TB) {
	tb.Helper()
	tb.Setenv(socketEnv, s.SocketPath)
}

func readLog(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ""
		}
		return fmt.Sprintf("(reading %s: %v)", path, err)
	}
	return string(data)
}

func appendLog(path, text string) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(text)
}
