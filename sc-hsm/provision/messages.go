package provision

import "fmt"

// plural returns one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// duplicateShareError names the two equal shares i and j (from 0) by their
// files when files lists them, else by their positions.
func duplicateShareError(files []string, i, j int) error {
	if i < len(files) && j < len(files) {
		return fmt.Errorf("%w (%s and %s): equal shares cancel out in the DKEK; give each share once", ErrDuplicateShare, files[i], files[j])
	}
	return fmt.Errorf("%w (shares %d and %d): equal shares cancel out in the DKEK; give each share once", ErrDuplicateShare, i+1, j+1)
}
