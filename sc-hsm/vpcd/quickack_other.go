//go:build !linux

package vpcd

import (
	"io"
	"log/slog"
	"net"
)

// newQuickAckReader returns conn unchanged: TCP_QUICKACK exists only on
// Linux, and TCP_NODELAY alone is set on other systems.
func newQuickAckReader(conn net.Conn, _ *slog.Logger) io.Reader {
	return conn
}
