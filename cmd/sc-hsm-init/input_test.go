package main

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput checks that bad input exits 2 with a message that names the
// value and the fix, before a single APDU reaches the card.
func TestBadInput(t *testing.T) {
	own, _ := shares(t)

	dir := t.TempDir()
	shortFile := filepath.Join(dir, "short.pbe")
	writeRandom(t, shortFile, 63)
	noMagicFile := filepath.Join(dir, "no-magic.pbe")
	writeRandom(t, noMagicFile, 64)
	missingFile := filepath.Join(dir, "missing.pbe")

	// Bad secrets come from variables of their own, so that every case
	// still uses env: and no secret is on the command line.
	badEnv := []string{
		"SCHSM_TEST_SOPIN_SHORT=516D3723765832",
		"SCHSM_TEST_SOPIN_NONHEX=516D37237658327G",
		"SCHSM_TEST_PIN_SHORT=48Q29",
		"SCHSM_TEST_PIN_NONASCII=48Q29\u00e9",
		"SCHSM_TEST_WRONG_PASSWORD=wrong horse 42",
	}
	shareArgs := func(path, passwordEnv string) []string {
		return []string{"--dkek-shares", "1", "--dkek-share", path, "--password", "env:" + passwordEnv}
	}

	tests := []struct {
		name string
		args []string
		want []string // parts of the message: the value and the fix
	}{
		{
			name: "SO-PIN wrong length",
			args: []string{"--so-pin", "env:SCHSM_TEST_SOPIN_SHORT", "--pin", "env:" + envPIN},
			want: []string{"--so-pin", "14", "16 hex digits"},
		},
		{
			name: "SO-PIN not hex",
			args: []string{"--so-pin", "env:SCHSM_TEST_SOPIN_NONHEX", "--pin", "env:" + envPIN},
			want: []string{"--so-pin", "character 16", "16 hex digits"},
		},
		{
			name: "PIN too short",
			args: []string{"--so-pin", "env:" + envSOPIN, "--pin", "env:SCHSM_TEST_PIN_SHORT"},
			want: []string{"pin", "5 characters", "6 to 16"},
		},
		{
			name: "PIN not ASCII",
			args: []string{"--so-pin", "env:" + envSOPIN, "--pin", "env:SCHSM_TEST_PIN_NONASCII"},
			want: []string{"pin", "non-ASCII characters (6 characters", "printable ASCII"},
		},
		{
			name: "retries over PIN limit",
			args: append([]string{"--pin-retry", "10"}, secretArgs...),
			want: []string{"pin-retry", "10 retries", "at most 3", "longer PIN"},
		},
		{
			name: "required keys over total",
			args: append([]string{"--public-key-auth", "2", "--required-pub-keys", "3"}, secretArgs...),
			want: []string{"required-pub-keys", "3", "1 to 2"},
		},
		{
			name: "share file wrong size",
			args: append(shareArgs(shortFile, envPassword), secretArgs...),
			want: []string{shortFile, "63 bytes", "64", "--dkek-share"},
		},
		{
			name: "share file wrong magic",
			args: append(shareArgs(noMagicFile, envPassword), secretArgs...),
			want: []string{noMagicFile, "Salted__", "--dkek-share"},
		},
		{
			name: "share file missing",
			args: append(shareArgs(missingFile, envPassword), secretArgs...),
			want: []string{missingFile, "no such file", "--dkek-share"},
		},
		{
			name: "wrong share password",
			args: append(shareArgs(own.path, "SCHSM_TEST_WRONG_PASSWORD"), secretArgs...),
			want: []string{own.path, "wrong password", "--password"},
		},
		{
			name: "unset variable",
			args: []string{"--so-pin", "env:" + envSOPIN, "--pin", "env:" + envUnset},
			want: []string{"--pin", envUnset, "export it or use file:PATH"},
		},
		{
			name: "no source without terminal",
			args: []string{"--so-pin", "env:" + envSOPIN},
			want: []string{"user PIN", "--pin env:NAME", "--pin file:PATH", "terminal"},
		},
	}

	env := envWith(stackEnv(t), badEnv)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mark := card.mark()
			r := runWithEnv(t, env, binaryPath, append([]string{"init", "--force"}, tt.args...)...)
			sent := card.since(mark)

			if r.code != exitUsage {
				t.Errorf("exit code = %d, want %d\n%s", r.code, exitUsage, r.output())
			}
			for _, want := range tt.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("message lacks %q\n%s", want, r.stderr)
				}
			}
			if len(sent) != 0 {
				t.Errorf("%d APDUs reached the card, want 0", len(sent))
			}
		})
	}
}

// TestPromptWithoutTerminal checks the other commands that read a secret
// when no source is given and standard input is no terminal.
func TestPromptWithoutTerminal(t *testing.T) {
	tests := []struct {
		name string
		args []string
		flag string
	}{
		{"verify", []string{"verify"}, "--pin"},
		{"dkek create", []string{"dkek", "create", filepath.Join(t.TempDir(), "share.pbe")}, "--password"},
		{"init SO-PIN", []string{"init", "--pin", "env:" + envPIN}, "--so-pin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mark := card.mark()
			r := run(t, tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit code = %d, want %d\n%s", r.code, exitUsage, r.output())
			}
			if want := tt.flag + " env:NAME"; !strings.Contains(r.stderr, want) {
				t.Errorf("message lacks %q\n%s", want, r.stderr)
			}
			if n := len(card.since(mark)); n != 0 {
				t.Errorf("%d APDUs reached the card, want 0", n)
			}
		})
	}
}

func writeRandom(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
