package schsm

import (
	"fmt"
	"unicode/utf8"
)

// checkASCII rejects a secret with bytes outside ASCII before its length is
// judged: a character such as a full-width digit takes 3 bytes in UTF-8, so
// a byte count would mislead. The error counts characters and never shows
// the secret.
func checkASCII(b []byte, what string) error {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return fmt.Errorf("the %s contains non-ASCII characters (%d %s, %d bytes in UTF-8); use 6 to 16 printable ASCII characters: letters, digits and ASCII punctuation",
				what, utf8.RuneCount(b), plural(utf8.RuneCount(b), "character", "characters"), len(b))
		}
	}
	return nil
}
