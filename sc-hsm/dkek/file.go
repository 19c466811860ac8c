package dkek

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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
	if _, err := os.Lstat(path); err == nil {
		return existsError(path)
	}

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing share file %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)

	if err := writeAndSync(tmp, data); err != nil {
		return fmt.Errorf("writing share file %s: %w", path, err)
	}

	// os.Link fails when path exists, unlike os.Rename, so a file created
	// by someone else since the check above is not replaced.
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return existsError(path)
		}
		return fmt.Errorf("writing share file %s: linking the temporary file: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("writing share file %s: %w", path, err)
	}
	return nil
}

func existsError(path string) error {
	return fmt.Errorf("writing share file %s: %w; choose another file name or move the old share file away", path, fs.ErrExist)
}

func writeAndSync(f *os.File, data []byte) error {
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
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
