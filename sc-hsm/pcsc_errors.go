package schsm

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrTokenNotResponding means the token stopped answering in the middle of
// an operation: it was removed or reset, the reader lost power, the
// transaction broke, or the reader returned an empty response. Whatever the
// operation changed before that is kept on the token.
var ErrTokenNotResponding = errors.New("the token was removed or is not responding")

// ReaderNotFoundError is returned by PickReader when --reader matches no
// reader. It matches ErrNoReader with errors.Is.
type ReaderNotFoundError struct {
	Name    string   // the name, part of a name or index that was given
	Readers []string // the readers present
}

func (e *ReaderNotFoundError) Error() string {
	if len(e.Readers) == 0 {
		return fmt.Sprintf("no reader matches %q; no readers are connected", e.Name)
	}
	return fmt.Sprintf("no reader matches %q; readers: %s", e.Name, numberedList(e.Readers))
}

// Is reports whether target is ErrNoReader.
func (e *ReaderNotFoundError) Is(target error) bool { return target == ErrNoReader }

// numberedList formats reader names with the index that --reader accepts.
func numberedList(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += strconv.Itoa(i) + ": " + strconv.Quote(n)
	}
	return s
}

// readerByIndex returns the reader that an all-digit name selects, counting
// from 0 in the order PC/SC lists the readers, as sc-hsm-tool -r and
// opensc-tool -r do. ok is false when name is not all digits.
func readerByIndex(readers []string, name string) (reader string, ok bool, err error) {
	for _, c := range name {
		if c < '0' || c > '9' {
			return "", false, nil
		}
	}
	if name == "" {
		return "", false, nil
	}
	i, convErr := strconv.Atoi(name)
	if convErr != nil || i >= len(readers) {
		return "", true, &ReaderNotFoundError{Name: name, Readers: readers}
	}
	return readers[i], true, nil
}
