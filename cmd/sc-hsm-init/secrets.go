package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// secretSpec is the source of a secret. A flag value of the form env:NAME or
// file:PATH names a source, and "prompt" or an absent flag means a terminal
// prompt. Anything else is the secret itself, which other local users can
// read in the process list.
type secretSpec struct {
	flag  string // flag name without dashes, for messages
	value string // the raw flag value
	given bool
}

// prompts reports whether the secret is read from a terminal prompt.
func (s secretSpec) prompts() bool { return !s.given || s.value == "prompt" }

// capitalize returns s with its first letter in upper case, for prompts.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// secretReader resolves secret specs. It is a struct so that tests can feed
// a prompt without a terminal.
type secretReader struct {
	stderr   io.Writer
	isTTY    func() bool
	readLine func(prompt string) ([]byte, error) // reads one line without echo
	getenv   func(string) string
	readFile func(string) ([]byte, error)
	statFile func(string) (os.FileInfo, error)
}

func newSecretReader(stderr io.Writer) *secretReader {
	return &secretReader{
		stderr: stderr,
		isTTY:  func() bool { return term.IsTerminal(int(os.Stdin.Fd())) },
		readLine: func(prompt string) ([]byte, error) {
			fmt.Fprint(stderr, prompt)
			b, err := term.ReadPassword(int(os.Stdin.Fd()))
			fmt.Fprintln(stderr)
			return b, err
		},
		getenv:   os.Getenv,
		readFile: os.ReadFile,
		statFile: os.Stat,
	}
}

var errNoSecretSource = errors.New("no secret source")

// read returns the secret named by spec. With confirm, a prompt reads the
// secret twice, for secrets being set rather than presented.
func (r *secretReader) read(spec secretSpec, what string, confirm bool) ([]byte, error) {
	v := spec.value
	switch {
	case spec.given && strings.HasPrefix(v, "env:"):
		name := strings.TrimPrefix(v, "env:")
		if name == "" {
			return nil, fmt.Errorf("--%s env: needs a variable name, for example --%s env:SC_HSM_PIN", spec.flag, spec.flag)
		}
		s := r.getenv(name)
		if s == "" {
			return nil, fmt.Errorf("--%s: environment variable %s is empty or not set; export it or use file:PATH", spec.flag, name)
		}
		return []byte(s), nil

	case spec.given && strings.HasPrefix(v, "file:"):
		path := strings.TrimPrefix(v, "file:")
		if path == "" {
			return nil, fmt.Errorf("--%s file: needs a path, for example --%s file:/run/secrets/pin", spec.flag, spec.flag)
		}
		b, err := r.readFile(path)
		if err != nil {
			return nil, fmt.Errorf("--%s: reading %s: %w", spec.flag, path, err)
		}
		// Only a regular file can be chmod-ed to protect the secret; a pipe
		// or /dev/stdin is what it is.
		if fi, err := r.statFile(path); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(r.stderr, "warning: %s is readable by other users (mode %04o); chmod 600 it\n", path, fi.Mode().Perm())
		}
		// Only the first line counts, so that a trailing newline from an
		// editor or echo does not become part of the secret.
		if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
			b = b[:i]
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("--%s: %s is empty", spec.flag, path)
		}
		return b, nil

	case spec.prompts():
		if !r.isTTY() {
			if spec.given {
				return nil, &noSecretSourceError{fmt.Sprintf("cannot prompt for the %s: standard input is not a terminal; give --%s env:NAME or --%s file:PATH", what, spec.flag, spec.flag)}
			}
			return nil, &noSecretSourceError{fmt.Sprintf("the %s is required, and standard input is not a terminal to ask for it; give --%s env:NAME or --%s file:PATH", what, spec.flag, spec.flag)}
		}
		first, err := r.readLine(fmt.Sprintf("%s: ", capitalize(what)))
		if err != nil {
			return nil, fmt.Errorf("reading %s from the terminal: %w", what, err)
		}
		if !confirm {
			return first, nil
		}
		second, err := r.readLine(fmt.Sprintf("%s (again): ", capitalize(what)))
		if err != nil {
			return nil, fmt.Errorf("reading %s from the terminal: %w", what, err)
		}
		if !bytes.Equal(first, second) {
			return nil, fmt.Errorf("the two entries of the %s differ; run again", what)
		}
		return first, nil

	default:
		if err := checkLiteralSecret(spec.flag, v); err != nil {
			return nil, err
		}
		fmt.Fprintf(r.stderr, "warning: --%s was given as a literal value, which other local users can read in the process list; prefer --%s env:NAME or file:PATH\n", spec.flag, spec.flag)
		return []byte(v), nil
	}
}
