package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newTestSecretReader returns a secretReader with a fixed environment and
// no terminal, writing warnings to the returned buffer.
func newTestSecretReader(env map[string]string) (*secretReader, *bytes.Buffer) {
	var stderr bytes.Buffer
	r := newSecretReader(&stderr)
	r.getenv = func(name string) string { return env[name] }
	r.isTTY = func() bool { return false }
	r.readLine = func(string) ([]byte, error) { return nil, errors.New("readLine called without a terminal") }
	return r, &stderr
}

func writeSecretFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSecretSources(t *testing.T) {
	env := map[string]string{"SC_PIN": "648219x", "SC_EMPTY": ""}
	tests := []struct {
		name        string
		spec        secretSpec
		want        string
		wantErr     []string // parts of the error message; nil for success
		wantWarning string   // part of the warning; "" for none
	}{
		{
			name: "env variable",
			spec: secretSpec{flag: "pin", value: "env:SC_PIN", given: true},
			want: "648219x",
		},
		{
			name:    "env variable empty",
			spec:    secretSpec{flag: "pin", value: "env:SC_EMPTY", given: true},
			wantErr: []string{"--pin", "SC_EMPTY", "empty or not set", "file:PATH"},
		},
		{
			name:    "env variable unset",
			spec:    secretSpec{flag: "pin", value: "env:SC_MISSING", given: true},
			wantErr: []string{"--pin", "SC_MISSING", "empty or not set"},
		},
		{
			name:    "env without name",
			spec:    secretSpec{flag: "so-pin", value: "env:", given: true},
			wantErr: []string{"--so-pin env: needs a variable name", "--so-pin env:SC_HSM_PIN"},
		},
		{
			name:    "file without path",
			spec:    secretSpec{flag: "pin", value: "file:", given: true},
			wantErr: []string{"--pin file: needs a path"},
		},
		{
			name:    "file missing",
			spec:    secretSpec{flag: "pin", value: "file:/nonexistent/sc-hsm-init/pin", given: true},
			wantErr: []string{"--pin", "/nonexistent/sc-hsm-init/pin"},
		},
		{
			name:        "literal value",
			spec:        secretSpec{flag: "pin", value: "123456", given: true},
			want:        "123456",
			wantWarning: "--pin was given as a literal value",
		},
		{
			name:    "absent without terminal",
			spec:    secretSpec{flag: "pin"},
			wantErr: []string{"user PIN is required", "--pin env:NAME", "--pin file:PATH", "terminal"},
		},
		{
			name:    "prompt without terminal",
			spec:    secretSpec{flag: "pin", value: "prompt", given: true},
			wantErr: []string{"--pin env:NAME"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, stderr := newTestSecretReader(env)
			got, err := r.read(tt.spec, "user PIN", false)

			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("read returned no error, want one containing %q", tt.wantErr)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("read = %q, want %q", got, tt.want)
			}
			if tt.wantWarning == "" && stderr.Len() > 0 {
				t.Errorf("unexpected warning %q", stderr.String())
			}
			if tt.wantWarning != "" && !strings.Contains(stderr.String(), tt.wantWarning) {
				t.Errorf("warning %q lacks %q", stderr.String(), tt.wantWarning)
			}
		})
	}
}

func TestSecretNoSourceIsErrNoSecretSource(t *testing.T) {
	r, _ := newTestSecretReader(nil)
	_, err := r.read(secretSpec{flag: "pin"}, "user PIN", true)
	if !errors.Is(err, errNoSecretSource) {
		t.Errorf("error %v does not wrap errNoSecretSource", err)
	}
}

func TestSecretFile(t *testing.T) {
	tests := []struct {
		name        string
		content     string
		mode        os.FileMode
		want        string
		wantErr     string
		wantWarning bool
	}{
		{name: "first line only", content: "482913\nsecond line\n", mode: 0o600, want: "482913"},
		{name: "CRLF line end", content: "482913\r\n", mode: 0o600, want: "482913"},
		{name: "no line end", content: "482913", mode: 0o600, want: "482913"},
		{name: "spaces kept", content: "correct horse 42\n", mode: 0o600, want: "correct horse 42"},
		{name: "world readable", content: "482913\n", mode: 0o644, want: "482913", wantWarning: true},
		{name: "group readable", content: "482913\n", mode: 0o640, want: "482913", wantWarning: true},
		{name: "empty file", content: "", mode: 0o600, wantErr: "is empty"},
		{name: "empty first line", content: "\n482913\n", mode: 0o600, wantErr: "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeSecretFile(t, tt.content, tt.mode)
			r, stderr := newTestSecretReader(nil)
			got, err := r.read(secretSpec{flag: "pin", value: "file:" + path, given: true}, "user PIN", false)

			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("read = %q, want %q", got, tt.want)
			}

			warning := stderr.String()
			if tt.wantWarning && !strings.Contains(warning, "readable by other users") {
				t.Errorf("no mode warning for mode %04o; stderr %q", tt.mode, warning)
			}
			if tt.wantWarning && !strings.Contains(warning, "chmod 600") {
				t.Errorf("mode warning %q does not give the fix", warning)
			}
			if !tt.wantWarning && warning != "" {
				t.Errorf("unexpected warning %q", warning)
			}
			if strings.Contains(warning, tt.want) {
				t.Errorf("warning contains the secret")
			}
		})
	}
}

func TestSecretPrompt(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		confirm bool
		want    string
		wantErr string
		prompts []string
	}{
		{name: "single entry", lines: []string{"482913"}, want: "482913", prompts: []string{"User PIN: "}},
		{name: "confirmed", lines: []string{"482913", "482913"}, confirm: true, want: "482913",
			prompts: []string{"User PIN: ", "User PIN (again): "}},
		{name: "confirm mismatch", lines: []string{"482913", "482914"}, confirm: true,
			wantErr: "the two entries of the user PIN differ", prompts: []string{"User PIN: ", "User PIN (again): "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newTestSecretReader(nil)
			r.isTTY = func() bool { return true }
			var prompts []string
			r.readLine = func(prompt string) ([]byte, error) {
				prompts = append(prompts, prompt)
				if len(prompts) > len(tt.lines) {
					return nil, errors.New("no more input")
				}
				return []byte(tt.lines[len(prompts)-1]), nil
			}

			got, err := r.read(secretSpec{flag: "pin", value: "prompt", given: true}, "user PIN", tt.confirm)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if err != nil && strings.Contains(err.Error(), tt.lines[0]) {
					t.Errorf("error contains an entered secret")
				}
			} else {
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if string(got) != tt.want {
					t.Errorf("read = %q, want %q", got, tt.want)
				}
			}
			if strings.Join(prompts, "|") != strings.Join(tt.prompts, "|") {
				t.Errorf("prompts = %q, want %q", prompts, tt.prompts)
			}
		})
	}
}

func TestSecretPromptReadError(t *testing.T) {
	r, _ := newTestSecretReader(nil)
	r.isTTY = func() bool { return true }
	r.readLine = func(string) ([]byte, error) { return nil, errors.New("terminal closed") }
	_, err := r.read(secretSpec{flag: "pin"}, "user PIN", false)
	if err == nil || !strings.Contains(err.Error(), "reading user PIN from the terminal") {
		t.Errorf("error = %v, want one about reading from the terminal", err)
	}
}
