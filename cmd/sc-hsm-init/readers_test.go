package main

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/teststack"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/virtualcard"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/vpcd"
)

const secondReader = "Virtual PCD 00 01"

// TestTwoTokens serves a second virtual card in the second vpcd reader and
// checks that status never picks one of two tokens by itself.
func TestTwoTokens(t *testing.T) {
	stack := teststack.Shared(t)
	waitCard(t)
	env := stackEnv(t)

	second, err := virtualcard.New(virtualcard.Options{})
	if err != nil {
		t.Fatalf("creating the second card: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- vpcd.Serve(ctx, "127.0.0.1:"+strconv.Itoa(stack.Port+1), second, nil)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("serving the second card: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("the second card did not stop within 10 s")
		}
		// Later tests expect one token.
		waitReader(t, env, secondReader, false)
	})
	waitReader(t, env, secondReader, true)

	r := run(t, "status")
	if r.code != exitNoToken {
		t.Errorf("status with two tokens exited %d, want %d\n%s", r.code, exitNoToken, r.output())
	}
	for _, reader := range []string{stack.Reader, secondReader} {
		if !strings.Contains(r.stderr, reader) {
			t.Errorf("message does not name reader %q\n%s", reader, r.stderr)
		}
	}

	r = run(t, "status", "--reader", "00 01")
	if r.code != exitOK {
		t.Fatalf("status --reader \"00 01\" exited %d, want 0\n%s", r.code, r.output())
	}
	if got, _ := lineValue(r.stdout, "Reader:"); got != secondReader {
		t.Errorf("status --reader \"00 01\" used reader %q, want %q", got, secondReader)
	}
	if got, _ := lineValue(r.stdout, "Serial:"); got != second.Serial() {
		t.Errorf("status --reader \"00 01\" shows serial %q, want %q of the second card", got, second.Serial())
	}
}

func TestPCSCUnavailable(t *testing.T) {
	env := envWith(secretEnv(), []string{"PCSCLITE_CSOCK_NAME=" + filepath.Join(t.TempDir(), "missing.comm")})
	r := runWithEnv(t, env, binaryPath, "status")
	if r.code != exitPCSCUnavailable {
		t.Errorf("status without pcscd exited %d, want %d\n%s", r.code, exitPCSCUnavailable, r.output())
	}
	if !strings.Contains(r.stderr, "start pcscd") {
		t.Errorf("message does not tell to start pcscd\n%s", r.stderr)
	}
}

// TestNoToken starts a second stack whose readers stay empty. The binary is
// a child process with its own environment, so the socket that Main set in
// this process does not interfere.
func TestNoToken(t *testing.T) {
	empty := teststack.Start(t, teststack.WithoutCard())
	env := envWith(empty.Env, secretEnv())
	waitReader(t, env, empty.Reader, false)

	r := runWithEnv(t, env, binaryPath, "status")
	if r.code != exitNoToken {
		t.Errorf("status without a token exited %d, want %d\n%s", r.code, exitNoToken, r.output())
	}
	if !strings.Contains(r.stderr, "no SmartCard-HSM token found") {
		t.Errorf("message does not say that no token was found\n%s", r.stderr)
	}
}

// TestPCSCDRestart checks that the card comes back after pcscd restarts and
// that status then works.
func TestPCSCDRestart(t *testing.T) {
	stack := teststack.Shared(t)
	mustInit(t)

	stack.RestartPCSCD(t)
	waitCard(t)

	r := run(t, "status")
	if r.code != exitOK {
		t.Fatalf("status after the restart exited %d, want 0\n%s", r.code, r.output())
	}
	if got, _ := lineValue(r.stdout, "Serial:"); got != card.card.Serial() {
		t.Errorf("status shows serial %q, want %q", got, card.card.Serial())
	}
	if got, _ := lineValue(r.stdout, "User PIN:"); got != "3 tries left" {
		t.Errorf("status shows user PIN %q, want %q", got, "3 tries left")
	}
}
