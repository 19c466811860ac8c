package vpcd

import (
	"io"
	"log/slog"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// quickAckReader re-arms TCP_QUICKACK after every read. Linux clears the flag
// once it has sent an acknowledgement, so a single setsockopt at connect time
// only covers the first segment.
type quickAckReader struct {
	conn   net.Conn
	raw    syscall.RawConn
	logger *slog.Logger
	failed bool
}

func newQuickAckReader(conn net.Conn, logger *slog.Logger) io.Reader {
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		return conn
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		logger.Warn("cannot reach the socket to set TCP_QUICKACK; APDUs may be slow", "err", err)
		return conn
	}

	r := &quickAckReader{conn: conn, raw: raw, logger: logger}
	r.arm()
	return r
}

func (r *quickAckReader) Read(p []byte) (int, error) {
	n, err := r.conn.Read(p)
	if n > 0 {
		r.arm()
	}
	return n, err
}

func (r *quickAckReader) arm() {
	var sockErr error
	err := r.raw.Control(func(fd uintptr) {
		sockErr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
	if err == nil {
		err = sockErr
	}

	// Log once per connection: the card still works, only slower.
	if err != nil && !r.failed {
		r.failed = true
		r.logger.Warn("setting TCP_QUICKACK failed; APDUs may be slow", "err", err)
	}
}
