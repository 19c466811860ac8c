//go:build !cgo && !windows

package schsm

import "fmt"

// EstablishContext fails in builds without cgo, because the PC/SC client
// library (libpcsclite) can only be called through cgo on this platform.
func EstablishContext() (*PCSCContext, error) {
	return nil, fmt.Errorf("establishing PC/SC context: %w (this program was built without cgo)", ErrServiceUnavailable)
}
