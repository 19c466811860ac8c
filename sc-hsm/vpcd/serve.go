package vpcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// DefaultAddr is the address of the first vpcd reader ("Virtual PCD 00 00")
// in the reader.conf that vsmartcard-vpcd installs.
const DefaultAddr = "127.0.0.1:35963"

// ErrNotLoopback is returned for a vpcd address outside 127.0.0.0/8 and ::1.
// The driver listens on all interfaces, but a virtual card holding PINs and
// keys must only ever talk to the local pcscd.
var ErrNotLoopback = errors.New("vpcd address is not a loopback address")

// Backoff between dial attempts: it starts short so that a card started just
// before pcscd connects quickly, and is capped so a missing pcscd costs
// little CPU.
const (
	minRetryDelay = 50 * time.Millisecond
	maxRetryDelay = time.Second
)

// dialFailureLogEvery limits the log to one line per this many consecutive
// failed dial attempts (about one minute at the maximum delay).
const dialFailureLogEvery = 60

// Dial connects to the vpcd driver at addr, which must be a loopback
// address ("127.0.0.1:35963", "[::1]:35963" or "localhost:35963"), and sets
// TCP_NODELAY on the connection.
func Dial(ctx context.Context, addr string) (net.Conn, error) {
	target, err := loopbackAddr(addr)
	if err != nil {
		return nil, err
	}

	dialer := net.Dialer{Control: checkLoopbackControl}
	conn, err := dialer.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, fmt.Errorf("connecting to vpcd at %s: %w", target, err)
	}
	if err := conn.(*net.TCPConn).SetNoDelay(true); err != nil {
		conn.Close()
		return nil, fmt.Errorf("setting TCP_NODELAY: %w", err)
	}
	return conn, nil
}

// Serve connects card to the vpcd driver at addr and serves it until ctx is
// done. When the connection cannot be made or drops (pcscd not yet started,
// restarted or stopped), Serve calls card.PowerOff and dials again after a
// delay growing from 50 ms to 1 s. It returns ctx.Err() once ctx is done,
// or at once an error wrapping ErrNotLoopback when addr is not a loopback
// address. A nil logger discards log output.
func Serve(ctx context.Context, addr string, card Card, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	target, err := loopbackAddr(addr)
	if err != nil {
		return err
	}
	logger = logger.With("addr", target)

	delay := minRetryDelay
	failures := 0

	for {
		conn, err := Dial(ctx, target)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}

			failures++
			if failures%dialFailureLogEvery == 1 {
				logger.Info("vpcd not reachable, retrying", "attempts", failures, "err", err)
			}
			if !sleepContext(ctx, delay) {
				return ctx.Err()
			}
			delay = min(2*delay, maxRetryDelay)
			continue
		}

		logger.Info("connected to vpcd", "failed_attempts", failures)
		failures = 0
		delay = minRetryDelay

		err = serveUntilDone(ctx, conn, card, logger)
		card.PowerOff()
		if ctx.Err() != nil {
			logger.Info("disconnected from vpcd: stopping")
			return ctx.Err()
		}
		if err != nil {
			logger.Warn("disconnected from vpcd, reconnecting", "err", err)
		} else {
			logger.Info("vpcd closed the connection, reconnecting")
		}

		if !sleepContext(ctx, delay) {
			return ctx.Err()
		}
	}
}

// serveUntilDone runs the protocol on conn and closes conn when the
// connection ends or ctx is done, whichever comes first.
func serveUntilDone(ctx context.Context, conn net.Conn, card Card, logger *slog.Logger) error {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()

	return serveConn(conn, card, logger)
}

// sleepContext waits for d and reports false when ctx ends first.
func sleepContext(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()

	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// loopbackAddr validates addr and returns it with "localhost" replaced by
// 127.0.0.1, because vpcd listens on IPv4 and "localhost" may resolve to ::1
// first.
func loopbackAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("invalid vpcd address %q: %w", addr, err)
	}
	if port == "" {
		return "", fmt.Errorf("invalid vpcd address %q: missing port", addr)
	}

	if host == "localhost" {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return "", fmt.Errorf("%w: %q (use 127.0.0.1 or ::1)", ErrNotLoopback, addr)
	}
	return addr, nil
}

// checkLoopbackControl runs before the socket connects and rejects any
// resolved address that is not loopback, as a second check after
// loopbackAddr.
func checkLoopbackControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("parsing resolved vpcd address %q: %w", address, err)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("%w: resolved to %s", ErrNotLoopback, address)
	}
	return nil
}
