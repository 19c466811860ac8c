package main

import (
	"errors"
	"fmt"
	"strings"
)

// noSecretSourceError is the error of a secret that has no source: no
// flag, or "prompt", without a terminal to prompt on. It matches
// errNoSecretSource with errors.Is.
type noSecretSourceError struct{ msg string }

func (e *noSecretSourceError) Error() string        { return e.msg }
func (e *noSecretSourceError) Is(target error) bool { return target == errNoSecretSource }

// errLiteralLooksLikeSource is wrapped by checkLiteralSecret's errors.
var errLiteralLooksLikeSource = errors.New("the value looks like a secret source, not a secret")

// checkLiteralSecret rejects a literal secret that looks like a mistyped
// source, so that "FILE:pin" or "Env:P" never becomes the PIN. Rejected are
// env:, file: and prompt: in another case, "prompt" in another case, and a
// word of letters followed by the only ':', which reads like an unknown
// scheme. The error never repeats the value, which may be the secret.
func checkLiteralSecret(flag, v string) error {
	forms := fmt.Sprintf("give --%s env:NAME, --%s file:PATH or --%s prompt (all lowercase)", flag, flag, flag)
	if strings.EqualFold(v, "prompt") {
		return fmt.Errorf("--%s: %w: \"prompt\" must be lowercase; %s", flag, errLiteralLooksLikeSource, forms)
	}
	scheme, _, found := strings.Cut(v, ":")
	if !found {
		return nil
	}
	for _, known := range []string{"env", "file", "prompt"} {
		if strings.EqualFold(scheme, known) {
			return fmt.Errorf("--%s: %w: the source %q must be lowercase; %s", flag, errLiteralLooksLikeSource, strings.ToLower(scheme)+":", forms)
		}
	}
	if isLetters(scheme) && strings.Count(v, ":") == 1 {
		return fmt.Errorf("--%s: %w: %d letters followed by ':' read like an unknown source; %s. "+
			"A secret that contains ':' must come from env:NAME or file:PATH", flag, errLiteralLooksLikeSource, len(scheme), forms)
	}
	return nil
}

func isLetters(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}
