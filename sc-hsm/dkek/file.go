package dkek

import (
	"fmt"
	"io"
	"os"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/internal/atomicfile"
)

// WriteFile writes a share file to path with mode 0600 and never replaces an
// existing file. It writes a temporary file in the same directory, syncs it,
// hard-links it to path and syncs the directory, so path either does not
// exist or holds the complete file. When path exists it returns an error
// wrapping fs.ErrExist. The target file system must support hard links.
func WriteFile(path string, data []byte) error {
	if err := CheckFormat(data); err != nil {
		return fmt.Errorf("writing share file %s: %w", path, err)
	}
	if err := atomicfile.WriteNew(path, data, 0o600); err != nil {
		return fmt.Errorf("writing share file: %w", err)
	}
	return nil
}

// ReadFile reads a share file. It checks the size before reading, reads at
// most one byte more than a share file holds, and returns an error wrapping
// ErrNotShareFile for anything but a 64-byte file with the "Salted__"
// header.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading share file: %w", err)
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading share file %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("reading share file %s: %w: not a regular file", path, ErrNotShareFile)
	}
	if info.Size() != int64(FileSize) {
		return nil, fmt.Errorf("reading share file %s: %w: %d bytes, a share file has exactly %d", path, ErrNotShareFile, info.Size(), FileSize)
	}

	// The file may change between Stat and Read, so the read is bounded too.
	data, err := io.ReadAll(io.LimitReader(f, int64(FileSize)+1))
	if err != nil {
		return nil, fmt.Errorf("reading share file %s: %w", path, err)
	}
	if err := CheckFormat(data); err != nil {
		return nil, fmt.Errorf("reading share file %s: %w", path, err)
	}
	return data, nil
}
