package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek/pwshare"
)

// pwArgs and pinArgs give dkek commands the test share password and PIN.
var (
	pwArgs  = []string{"--password", "env:" + envPassword}
	pinArgs = []string{"--pin", "env:" + envPIN}
)

// initOutstanding initializes the card for a DKEK of shares shares and
// imports none, so init exits with "steps remain".
func initOutstanding(t *testing.T, shares string) {
	t.Helper()
	r := initCard(t, "--dkek-shares", shares, "--no-verify")
	if r.code != exitStepsRemain {
		t.Fatalf("init --dkek-shares %s exited %d, want %d\n%s", shares, r.code, exitStepsRemain, r.output())
	}
}

// ourKCV returns the key check value that dkek import printed.
func ourKCV(t *testing.T, r result) string {
	t.Helper()
	v, ok := lineValue(r.stdout, "Key check value:")
	if !ok {
		t.Fatalf("dkek import printed no key check value (exit %d)\n%s", r.code, r.output())
	}
	return v
}

// offlineKCVs runs dkek kcv and returns the key check values by file, with
// "" for the XOR of all files.
func offlineKCVs(t *testing.T, args ...string) map[string]string {
	t.Helper()
	r := runWithEnv(t, envWith(secretEnv()), binaryPath, append([]string{"dkek", "kcv", "--json"}, args...)...)
	if r.code != exitOK {
		t.Fatalf("dkek kcv exited %d\n%s", r.code, r.output())
	}
	var out dkekKCVOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("dkek kcv output: %v\n%s", err, r.stdout)
	}
	kcvs := map[string]string{"": out.Combined}
	for _, f := range out.Files {
		kcvs[f.File] = f.KCV
	}
	return kcvs
}

func TestDKEKInteropWithSCHSMTool(t *testing.T) {
	own, tool := shares(t)
	initOutstanding(t, "2")

	r := runTool(t, "sc-hsm-tool", "--import-dkek-share", own.path, "--password", testSharePassword)
	if r.code != 0 || !strings.Contains(r.stdout, "1 share(s) still missing") {
		t.Fatalf("sc-hsm-tool import of our share exited %d\n%s", r.code, r.output())
	}
	r = run(t, append(append([]string{"dkek", "import", tool.path}, pwArgs...), pinArgs...)...)
	if r.code != exitOK {
		t.Fatalf("dkek import of sc-hsm-tool's share exited %d\n%s", r.code, r.output())
	}
	got := ourKCV(t, r)
	want := strings.ToUpper(hexKCV(dkek.KCV(dkek.Combine(own.share, tool.share))))
	if got != want {
		t.Errorf("dkek import KCV = %s, want %s", got, want)
	}
	offline := offlineKCVs(t, append([]string{own.path, tool.path}, pwArgs...)...)
	if offline[""] != got {
		t.Errorf("dkek kcv of both files = %s, card reports %s", offline[""], got)
	}
	if offline[own.path] != kcvHex(own.share) || offline[tool.path] != kcvHex(tool.share) {
		t.Errorf("dkek kcv per file = %v, want %s and %s", offline, kcvHex(own.share), kcvHex(tool.share))
	}

	st := run(t, "dkek", "status")
	if !strings.Contains(st.stdout, "complete, key check value "+got) {
		t.Errorf("dkek status lacks the KCV %s\n%s", got, st.output())
	}
}

func hexKCV(kcv [8]byte) string { return fmt.Sprintf("%X", kcv[:]) }

// ptyStep is one prompt of an interactive tool and the line to answer it.
type ptyStep struct {
	prompt string
	answer string
}

// runInPTY runs name in a pseudo-terminal, answers each prompt in order,
// and returns everything the tool wrote.
func runInPTY(t *testing.T, steps []ptyStep, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = stackEnv(t)
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatalf("starting %s in a pseudo-terminal: %v", filepath.Base(name), err)
	}
	defer tty.Close()

	var mu sync.Mutex
	var transcript bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			transcript.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()

	searchFrom := 0
	for _, step := range steps {
		deadline := time.Now().Add(commandTimeout)
		for {
			mu.Lock()
			text := transcript.String()
			mu.Unlock()
			if i := strings.Index(text[searchFrom:], step.prompt); i >= 0 {
				searchFrom += i + len(step.prompt)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never prompted %q; output:\n%s", filepath.Base(name), step.prompt, text)
			}
			time.Sleep(20 * time.Millisecond) // poll interval, bounded by the deadline above
		}
		if _, err := io.WriteString(tty, step.answer+"\r"); err != nil {
			t.Fatalf("answering %q: %v", step.prompt, err)
		}
	}
	err = cmd.Wait()
	<-done
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", filepath.Base(name), err)
	}
	mu.Lock()
	defer mu.Unlock()
	return transcript.String(), code
}

func TestDKEKPasswordSharesFromSCHSMTool(t *testing.T) {
	waitCard(t)
	initOutstanding(t, "1")
	path := filepath.Join(t.TempDir(), "tool-nofm.pbe")

	steps := []ptyStep{{"Press <enter> to continue", ""}}
	for range 3 {
		steps = append(steps, ptyStep{"Press <enter> to display key share", ""}, ptyStep{"press <enter> when finished", ""})
	}
	transcript, code := runInPTY(t, steps, "/usr/bin/sc-hsm-tool", "--create-dkek-share", path, "--pwd-shares-threshold", "2", "--pwd-shares-total", "3")
	if code != 0 {
		t.Fatalf("sc-hsm-tool --create-dkek-share exited %d\n%s", code, transcript)
	}
	parsed, err := pwshare.Parse(strings.NewReader(transcript))
	if err != nil || len(parsed) != 3 {
		t.Fatalf("parsing sc-hsm-tool's printout: %d shares, %v", len(parsed), err)
	}

	// Two of the three custodians, each with the screen they noted.
	dir := t.TempDir()
	var shareArgs []string
	for _, s := range parsed[1:] {
		p := filepath.Join(dir, fmt.Sprintf("custodian-%d.txt", s.ID))
		if err := os.WriteFile(p, []byte(pwshare.Format(s)), 0o600); err != nil {
			t.Fatal(err)
		}
		shareArgs = append(shareArgs, "--pwd-share-file", p)
	}
	r := run(t, append(append([]string{"dkek", "import", path}, shareArgs...), pinArgs...)...)
	if r.code != exitOK {
		t.Fatalf("dkek import with 2 of 3 password shares exited %d\n%s", r.code, r.output())
	}
	offline := offlineKCVs(t, append([]string{path}, shareArgs...)...)
	if got := ourKCV(t, r); got != offline[path] {
		t.Errorf("card KCV %s, offline KCV %s", got, offline[path])
	}
}

func TestDKEKPasswordSharesIntoSCHSMTool(t *testing.T) {
	waitCard(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "own-nofm.pbe")
	r := run(t, "dkek", "create", path, "--no-token", "--pwd-shares-threshold", "2", "--pwd-shares-total", "10", "--pwd-shares-dir", dir)
	if r.code != exitOK {
		t.Fatalf("dkek create with password shares exited %d\n%s", r.code, r.output())
	}
	read := func(id int) pwshare.Share {
		t.Helper()
		s, err := pwshare.ReadShareFile(passwordSharePath(dir, path, id))
		if err != nil || len(s) != 1 {
			t.Fatalf("reading password share %d: %v", id, err)
		}
		if info, err := os.Stat(passwordSharePath(dir, path, id)); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("password share file %d: mode %v, %v; want 0600", id, info.Mode().Perm(), err)
		}
		return s[0]
	}
	s1, s10 := read(1), read(10)

	// sc-hsm-tool reads the share ID as hex, so ID 10 is typed as "a".
	initOutstanding(t, "1")
	value := func(s pwshare.Share) string {
		v, _ := lineValue(pwshare.Format(s), "Share value :")
		return v
	}
	prime, _ := lineValue(pwshare.Format(s1), "Prime       :")
	steps := []ptyStep{
		{"Please enter prime:", prime},
		{"to enter share 1 of 2", ""}, {"share ID:", "1"}, {"share value:", value(s1)},
		{"to enter share 2 of 2", ""}, {"share ID:", "a"}, {"share value:", value(s10)},
	}
	transcript, code := runInPTY(t, steps, "/usr/bin/sc-hsm-tool", "--import-dkek-share", path, "--pwd-shares-total", "2")
	if code != 0 || !strings.Contains(transcript, "DKEK share imported") {
		t.Fatalf("sc-hsm-tool import with password shares 1 and 10 exited %d\n%s", code, transcript)
	}
	kcv := regexp.MustCompile(`DKEK key check value : ([0-9A-Fa-fx]+)`).FindStringSubmatch(transcript)
	if kcv == nil {
		t.Fatalf("sc-hsm-tool printed no key check value\n%s", transcript)
	}

	// We read the ID as printed, in decimal.
	offline := offlineKCVs(t, path, "--pwd-share-file", passwordSharePath(dir, path, 1), "--pwd-share-file", passwordSharePath(dir, path, 10))
	if want := strings.ToUpper(strings.TrimPrefix(kcv[1], "0x")); offline[path] != want {
		t.Errorf("dkek kcv with shares 1 and 10 = %s, sc-hsm-tool's card reports %s", offline[path], want)
	}
}

func TestDKEKKeyDomains(t *testing.T) {
	own, tool := shares(t)
	r := initCard(t, "--key-domains", "2", "--key-domain-shares", "2", "--key-domain-shares", "1",
		"--dkek-share", own.path, "--password", "env:"+envPassword, "--no-verify")
	if r.code != exitStepsRemain || !strings.Contains(r.stdout, "create key domain 1") {
		t.Fatalf("init with two key domains exited %d, want %d\n%s", r.code, exitStepsRemain, r.output())
	}

	for _, imp := range []struct{ domain, file string }{{"0", tool.path}, {"1", own.path}} {
		r := run(t, append(append([]string{"dkek", "import", "--key-domain", imp.domain, imp.file}, pwArgs...), pinArgs...)...)
		if r.code != exitOK {
			t.Fatalf("dkek import into key domain %s exited %d\n%s", imp.domain, r.code, r.output())
		}
	}

	r = run(t, "dkek", "domain", "status", "--json")
	var st dkekStatusOutput
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.KeyDomains) != 2 {
		t.Fatalf("dkek domain status: %v\n%s", err, r.output())
	}
	want0 := hexKCV(dkek.KCV(dkek.Combine(own.share, tool.share)))
	want1 := kcvHex(own.share)
	if st.KeyDomains[0].KCV != want0 || st.KeyDomains[0].Total != 2 {
		t.Errorf("key domain 0 = %+v, want 2 shares with KCV %s", st.KeyDomains[0], want0)
	}
	if st.KeyDomains[1].KCV != want1 || st.KeyDomains[1].Total != 1 {
		t.Errorf("key domain 1 = %+v, want 1 share with KCV %s", st.KeyDomains[1], want1)
	}
	if want0 == want1 {
		t.Error("the two key domains have the same KCV")
	}

	r = run(t, append([]string{"dkek", "domain", "clear", "--key-domain", "1", "--json"}, pinArgs...)...)
	if r.code != exitOK || !strings.Contains(r.stdout, `"shares_outstanding": 1`) {
		t.Errorf("dkek domain clear exited %d, want 1 outstanding afterwards\n%s", r.code, r.output())
	}
	r = run(t, append([]string{"dkek", "domain", "delete", "--key-domain", "1"}, pinArgs...)...)
	if r.code != exitUsage || !strings.Contains(r.stderr, "--force") {
		t.Errorf("dkek domain delete without --force off a terminal exited %d, want %d\n%s", r.code, exitUsage, r.output())
	}
	r = run(t, append([]string{"dkek", "domain", "delete", "--key-domain", "1", "--force", "--json"}, pinArgs...)...)
	if r.code != exitOK || !strings.Contains(r.stdout, `"state": "undefined"`) {
		t.Errorf("dkek domain delete exited %d, want the domain undefined afterwards\n%s", r.code, r.output())
	}
	r = run(t, "dkek", "status", "--key-domain", "1")
	if !strings.Contains(r.stdout, "undefined") {
		t.Errorf("dkek status of the deleted domain:\n%s", r.output())
	}
}

func TestDKEKImportBadInput(t *testing.T) {
	own, _ := shares(t)
	initOutstanding(t, "1")
	dir := t.TempDir()
	data, err := os.ReadFile(own.path)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wrongMagic := append([]byte("Salted_X"), data[8:]...)
	env := envWith(stackEnv(t), []string{"SCHSM_TEST_BAD_PASSWORD=not the password"})

	tests := []struct {
		name    string
		args    []string
		message string
	}{
		{"truncated", []string{write("short.pbe", data[:63])}, "63 bytes"},
		{"oversized", []string{write("long.pbe", append(append([]byte(nil), data...), 0))}, "65 bytes"},
		{"wrong magic", []string{write("magic.pbe", wrongMagic)}, `"Salted__"`},
		{"wrong password", []string{own.path, "--password", "env:SCHSM_TEST_BAD_PASSWORD"}, "wrong password or damaged file"},
		{"same share twice", []string{own.path, write("copy.pbe", data)}, "same DKEK share"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"dkek", "import"}, tt.args...)
			if !strings.Contains(strings.Join(tt.args, " "), "--password") {
				args = append(args, pwArgs...)
			}
			mark := card.mark()
			r := runWithEnv(t, env, binaryPath, append(args, pinArgs...)...)
			if r.code != exitUsage {
				t.Errorf("exit code %d, want %d\n%s", r.code, exitUsage, r.output())
			}
			if !strings.Contains(r.stderr, tt.message) {
				t.Errorf("message lacks %q\n%s", tt.message, r.stderr)
			}
			if n := len(card.since(mark)); n != 0 {
				t.Errorf("%d APDUs reached the card, want 0", n)
			}
		})
	}

	t.Run("more than outstanding", func(t *testing.T) {
		_, tool := shares(t)
		mark := card.mark()
		r := run(t, append(append([]string{"dkek", "import", own.path, tool.path}, pwArgs...), pinArgs...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "only 1 of 1 shares outstanding") {
			t.Errorf("exit code %d, want %d with the outstanding count\n%s", r.code, exitUsage, r.output())
		}
		for _, apdu := range card.since(mark) {
			if apdu.INS == 0x52 && apdu.Len > 5 || apdu.INS == 0x20 {
				t.Errorf("APDU %02X %02X %02X %02X of %d bytes reached the card; only status queries may", apdu.CLA, apdu.INS, apdu.P1, apdu.P2, apdu.Len)
			}
		}
	})

	t.Run("create and import derive once", func(t *testing.T) {
		path := filepath.Join(dir, "create-import.pbe")
		r := run(t, append(append([]string{"dkek", "create", path, "--no-token", "--import", "--verbose"}, pwArgs...), pinArgs...)...)
		if r.code != exitOK {
			t.Fatalf("dkek create --import exited %d\n%s", r.code, r.output())
		}
		if !strings.Contains(r.stderr, "msg=\"share key derivations\" count=1") {
			t.Errorf("dkek create --import did not derive exactly once\n%s", r.stderr)
		}
		if !strings.Contains(r.stdout, "Outstanding:   0") {
			t.Errorf("dkek create --import did not complete the DKEK\n%s", r.stdout)
		}
	})
}
