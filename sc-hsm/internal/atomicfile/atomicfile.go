// Package atomicfile creates files that either do not exist or hold their
// complete contents, and never replaces an existing file.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteNew writes data to a new file at path with mode perm. It writes a
// temporary file in the same directory, syncs it, hard-links it to path and
// syncs the directory, so path either does not exist or holds the complete
// file. When path exists it returns an error wrapping fs.ErrExist and
// naming path. The target file system must support hard links.
func WriteNew(path string, data []byte, perm os.FileMode) error {
	if _, err := os.Lstat(path); err == nil {
		return existsError(path)
	}

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)

	if err := writeAndSync(tmp, data, perm); err != nil {
		return err
	}

	// os.Link fails when path exists, unlike os.Rename, so a file created
	// by someone else since the check above is not replaced.
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return existsError(path)
		}
		return fmt.Errorf("linking the temporary file: %w", err)
	}
	return syncDir(dir)
}

func existsError(path string) error {
	return fmt.Errorf("%s: %w; choose another file name or move the old file away", path, fs.ErrExist)
}

func writeAndSync(f *os.File, data []byte, perm os.FileMode) error {
	if err := f.Chmod(perm); err != nil {
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
