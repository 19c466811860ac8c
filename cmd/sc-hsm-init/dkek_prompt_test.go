package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek/pwshare"
)

// newPromptApp returns an app on a simulated terminal. Echoed input lines
// come from stdin, and lines read without echo come from hidden in order.
// The returned slice pointer collects the prompts of the hidden lines.
func newPromptApp(stdin string, hidden []string) (*app, *bytes.Buffer, *[]string) {
	var stdout, stderr bytes.Buffer
	a := newApp(strings.NewReader(stdin), &stdout, &stderr)
	a.secrets.isTTY = func() bool { return true }
	var prompts []string
	a.secrets.readLine = func(prompt string) ([]byte, error) {
		prompts = append(prompts, prompt)
		if len(prompts) > len(hidden) {
			return nil, errors.New("no more input")
		}
		return []byte(hidden[len(prompts)-1]), nil
	}
	return a, &stderr, &prompts
}

func TestPromptPasswordSharesRetries(t *testing.T) {
	password, split, err := pwshare.NewSplit(2, 3)
	if err != nil {
		t.Fatal(err)
	}
	prime := fmt.Sprintf("%x", split[0].Prime)
	aboveRange := fmt.Sprintf("%x", new(big.Int).Add(split[0].Prime, big.NewInt(1)))
	value := func(i int) string { return fmt.Sprintf("%x", split[i].Value) }

	tests := []struct {
		name       string
		stdin      []string // prime, then the share IDs
		hidden     []string // share values
		wantReason []string // parts of the messages before a new try
		wantErr    string   // part of the error; "" for success
	}{
		{
			name:   "valid first time",
			stdin:  []string{prime, "1", "3"},
			hidden: []string{value(0), value(2)},
		},
		{
			name:       "prime not hex",
			stdin:      []string{"zz:11", prime, "1", "3"},
			hidden:     []string{value(0), value(2)},
			wantReason: []string{"Invalid prime: expected hex digits. Try again (2 tries left)."},
		},
		{
			name:       "prime not prime, then empty",
			stdin:      []string{"0f", "", prime, "1", "3"},
			hidden:     []string{value(0), value(2)},
			wantReason: []string{"not a prime", "2 tries left", "No prime was entered", "1 try left"},
		},
		{
			name:       "share ID hex and duplicate",
			stdin:      []string{prime, "1", "0a", "1", "3"},
			hidden:     []string{value(0), value(2)},
			wantReason: []string{"Invalid share ID: expected a decimal number", "Share ID 1 was already given for share 1"},
		},
		{
			name:       "share value not hex and above prime",
			stdin:      []string{prime, "1", "3"},
			hidden:     []string{"g1:22", aboveRange, value(0), value(2)},
			wantReason: []string{"Invalid share value: expected hex digits", "not below the prime", "1 try left"},
		},
		{
			name:    "share ID wrong three times",
			stdin:   []string{prime, "0", "256", "x"},
			wantErr: "no valid share ID after 3 tries",
		},
		{
			name:    "share value wrong three times",
			stdin:   []string{prime, "1"},
			hidden:  []string{"g", "h", "i"},
			wantErr: "no valid share value after 3 tries",
		},
		{
			name:    "terminal closed",
			stdin:   []string{prime, "1"},
			wantErr: "reading the share value from the terminal",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stderr, _ := newPromptApp(strings.Join(tt.stdin, "\n")+"\n", tt.hidden)
			shares, err := a.collectPasswordShares(&passwordFlags{sharesTotal: 2})

			for _, v := range split {
				if strings.Contains(stderr.String(), fmt.Sprintf("%x", v.Value)) {
					t.Errorf("standard error contains a share value:\n%s", stderr)
				}
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("collectPasswordShares: %v\n%s", err, stderr)
			}
			for _, want := range tt.wantReason {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("standard error lacks %q:\n%s", want, stderr)
				}
			}
			if len(tt.wantReason) == 0 && strings.Contains(stderr.String(), "Try again") {
				t.Errorf("valid input was prompted for again:\n%s", stderr)
			}
			got, err := pwshare.Password(shares, 2)
			if err != nil {
				t.Fatalf("reconstructing the password: %v", err)
			}
			if got != password {
				t.Error("the prompted shares give a wrong password")
			}
		})
	}
}

// writeTestShareFile writes a share file encrypted under password and
// returns it. Its key stays in the app's key cache, so that decrypting it
// with the right password again costs no derivation.
func writeTestShareFile(t *testing.T, a *app, password string) shareFile {
	t.Helper()
	var share [32]byte
	share[0], share[31] = 0x5A, 0xA5
	data, err := a.keyDeriver().Encrypt(context.Background(), share, []byte(password), [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "custodian.pbe")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return shareFile{path: path, data: data}
}

func TestDecryptPromptedRetriesWrongPassword(t *testing.T) {
	const right = "correct horse 42"
	tests := []struct {
		name        string
		password    string   // --password value; "" prompts on the terminal
		hidden      []string // passwords typed at the prompt
		wantPrompts int
		wantErr     bool
	}{
		{name: "right first time", hidden: []string{right}, wantPrompts: 1},
		{name: "wrong then right", hidden: []string{"wrong horse 1", right}, wantPrompts: 2},
		{name: "wrong twice then right", password: "prompt", hidden: []string{"wrong horse 1", "wrong horse 2", right}, wantPrompts: 3},
		{name: "wrong three times", hidden: []string{"wrong horse 1", "wrong horse 1", "wrong horse 1", right}, wantPrompts: 3, wantErr: true},
		{name: "wrong from env", password: "env:SCHSM_TEST_WRONG_SHARE_PASSWORD", hidden: []string{right}, wantPrompts: 0, wantErr: true},
	}
	// The cases share one key cache, so that each password costs one
	// derivation of about two seconds in the whole test.
	setup, _, _ := newPromptApp("", nil)
	file := writeTestShareFile(t, setup, right)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stderr, prompts := newPromptApp("", tt.hidden)
			a.deriver = setup.keyDeriver()
			a.secrets.getenv = func(string) string { return "wrong horse 1" }

			shares, err := a.decryptPrompted(context.Background(), []shareFile{file}, &passwordFlags{password: tt.password})
			if len(*prompts) != tt.wantPrompts {
				t.Errorf("asked %d times, want %d: %q", len(*prompts), tt.wantPrompts, *prompts)
			}
			if strings.Contains(stderr.String(), "horse") {
				t.Errorf("standard error contains a password:\n%s", stderr)
			}
			if tt.wantErr {
				if !errors.Is(err, dkek.ErrWrongPassword) || exitCodeOf(err) != exitUsage {
					t.Errorf("error = %v (exit %d), want a wrong password with exit %d", err, exitCodeOf(err), exitUsage)
				}
				return
			}
			if err != nil {
				t.Fatalf("decryptPrompted: %v", err)
			}
			if shares[0][0] != 0x5A || shares[0][31] != 0xA5 {
				t.Error("decrypted a wrong share")
			}
			if tt.wantPrompts > 1 && !strings.Contains(stderr.String(), "The password of "+file.path+" is wrong, or the file is damaged. Try again (2 tries left).") {
				t.Errorf("standard error lacks the reason for asking again:\n%s", stderr)
			}
		})
	}
}

func TestDKEKKCVAsksAgainForPassword(t *testing.T) {
	const right = "correct horse 42"
	a, stderr, prompts := newPromptApp("", []string{"wrong horse 1", right})
	file := writeTestShareFile(t, a, right)
	var stdout bytes.Buffer
	a.stdout = &stdout

	if err := a.execute([]string{"dkek", "kcv", file.path}); err != nil {
		t.Fatalf("dkek kcv: %v\n%s", err, stderr)
	}
	if len(*prompts) != 2 {
		t.Errorf("asked %d times, want 2", len(*prompts))
	}
	var share [32]byte
	share[0], share[31] = 0x5A, 0xA5
	kcv := dkek.KCV(share)
	if want := fmt.Sprintf("%X", kcv[:]); !strings.Contains(stdout.String(), want) {
		t.Errorf("output lacks the key check value %s:\n%s", want, stdout.String())
	}
}
