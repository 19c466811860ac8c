package pkcs11bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childModeEnv makes the test binary act as the child of VerifyInChild.
const childModeEnv = "PKCS11BRIDGE_TEST_CHILD"

const testPIN = "648219"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(runTestChild(mode))
	}
	os.Exit(runWithStack(m))
}

// runTestChild plays one kind of child process and returns its exit code.
func runTestChild(mode string) int {
	switch mode {
	case "serve":
		if err := ServeChild(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "garbage":
		io.Copy(io.Discard, os.Stdin)
		fmt.Println("this is not a report")
		return 0
	case "exit":
		input, _ := io.ReadAll(os.Stdin)
		var req Request
		json.Unmarshal(input, &req)
		// A module that prints an APDU trace with the PIN before it dies.
		fmt.Fprintf(os.Stderr, "VERIFY 00 20 00 81 06 %s; PIN %s\nmodule gave up\n", spacedHex(req.PIN), req.PIN)
		return 3
	case "kill":
		io.Copy(io.Discard, os.Stdin)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Minute)
		return 0
	case "hang":
		time.Sleep(time.Minute)
		return 0
	case "inspect":
		return inspectChild()
	}
	fmt.Fprintf(os.Stderr, "unknown %s %q\n", childModeEnv, mode)
	return 2
}

func spacedHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, " ")
}

// inspectChild reports what the child received: the request fields, whether
// the PIN shows up in its arguments or environment, and its OpenSC settings.
func inspectChild() int {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		return 1
	}
	var req Request
	if err := json.Unmarshal(input, &req); err != nil {
		return 1
	}
	config, err := os.ReadFile(os.Getenv("OPENSC_CONF"))
	if err != nil {
		config = []byte("unreadable: " + err.Error())
	}
	report := Report{
		Module: req.ModulePath,
		Checks: []Check{
			{Name: "pin", Passed: string(req.PIN) == testPIN},
			{Name: "pin-in-args", Passed: !strings.Contains(strings.Join(os.Args, " "), testPIN)},
			{Name: "pin-in-env", Passed: !strings.Contains(strings.Join(os.Environ(), " "), testPIN)},
			{Name: "opensc-debug", Passed: os.Getenv("OPENSC_DEBUG") == "", Reason: os.Getenv("OPENSC_DEBUG")},
			{Name: "opensc-conf", Passed: true, Reason: string(config)},
		},
	}
	json.NewEncoder(os.Stdout).Encode(childResponse{Report: report})
	return 0
}

func testExecutable(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func testRequest(module string) Request {
	return Request{ModulePath: module, Reader: "Virtual PCD 00 00", Serial: "ESPICOHSMTR", PIN: []byte(testPIN), UserPINTriesLeft: 3}
}

func TestVerifyInChildPassesRequestOnStdin(t *testing.T) {
	t.Setenv(childModeEnv, "inspect")
	t.Setenv("OPENSC_DEBUG", "9")
	t.Setenv("OPENSC_CONF", "/etc/opensc/user-choice.conf")

	report, err := VerifyInChild(context.Background(), testExecutable(t), nil, testRequest("/m.so"))
	if err != nil {
		t.Fatalf("VerifyInChild() error: %v", err)
	}
	if report.Module != "/m.so" {
		t.Errorf("child saw module %q, want /m.so", report.Module)
	}
	for _, name := range []string{"pin", "pin-in-args", "pin-in-env", "opensc-debug"} {
		c, ok := report.Check(name)
		if !ok || !c.Passed {
			t.Errorf("child check %q failed: %+v", name, c)
		}
	}
	config, _ := report.Check("opensc-conf")
	for _, want := range []string{"app default {", "framework pkcs15 {", "use_file_caching = no;", "file_cache_dir = "} {
		if !strings.Contains(config.Reason, want) {
			t.Errorf("child OpenSC configuration lacks %q:\n%s", want, config.Reason)
		}
	}
}

func TestVerifyInChildRemovesConfigFolder(t *testing.T) {
	t.Setenv(childModeEnv, "inspect")
	report, err := VerifyInChild(context.Background(), testExecutable(t), nil, testRequest("/m.so"))
	if err != nil {
		t.Fatalf("VerifyInChild() error: %v", err)
	}
	config, _ := report.Check("opensc-conf")
	line := ""
	for _, l := range strings.Split(config.Reason, "\n") {
		if strings.Contains(l, "file_cache_dir") {
			line = l
		}
	}
	dir := strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "file_cache_dir =")), ";")
	if dir == "" {
		t.Fatalf("no file_cache_dir in:\n%s", config.Reason)
	}
	if _, err := os.Stat(filepath.Dir(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("configuration folder %s still exists after the run (stat error %v)", filepath.Dir(dir), err)
	}
}

func TestVerifyInChildFailures(t *testing.T) {
	tests := []struct {
		mode     string
		timeout  time.Duration
		wantText []string
	}{
		{mode: "garbage", wantText: []string{"printed no valid report", `"this is not a report`}},
		{mode: "exit", wantText: []string{"exit status 3", "module gave up"}},
		{mode: "kill", wantText: []string{"signal: killed"}},
		{mode: "hang", timeout: 300 * time.Millisecond, wantText: []string{"timed out or was canceled", "deadline exceeded"}},
		{mode: "no-such-mode", wantText: []string{"exit status 2", "unknown " + childModeEnv}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Setenv(childModeEnv, tt.mode)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}

			start := time.Now()
			_, err := VerifyInChild(ctx, testExecutable(t), nil, testRequest("/m.so"))
			if !errors.Is(err, ErrChildFailed) {
				t.Fatalf("VerifyInChild() error = %v, want ErrChildFailed", err)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if strings.Contains(err.Error(), testPIN) || strings.Contains(err.Error(), spacedHex([]byte(testPIN))) {
				t.Errorf("error contains the PIN:\n%v", err)
			}
			if elapsed := time.Since(start); elapsed > 20*time.Second {
				t.Errorf("VerifyInChild() took %v", elapsed)
			}
		})
	}
}

func TestVerifyInChildMissingExecutable(t *testing.T) {
	_, err := VerifyInChild(context.Background(), filepath.Join(t.TempDir(), "missing"), nil, testRequest("/m.so"))
	if !errors.Is(err, ErrChildFailed) {
		t.Errorf("VerifyInChild() error = %v, want ErrChildFailed", err)
	}
}

func TestVerifyInChildModuleMissing(t *testing.T) {
	t.Setenv(childModeEnv, "serve")
	missing := filepath.Join(t.TempDir(), "missing.so")

	report, err := VerifyInChild(context.Background(), testExecutable(t), nil, testRequest(missing))
	if err == nil {
		t.Fatal("VerifyInChild() with a missing module succeeded, want an error")
	}
	if errors.Is(err, ErrChildFailed) {
		t.Errorf("error = %v, want Verify's error, not a child failure", err)
	}
	c, ok := report.Check(CheckModule)
	if !ok || c.Passed {
		t.Errorf("module check = %+v, want a failed check", c)
	}
	if !strings.Contains(c.Reason, "missing.so") {
		t.Errorf("module check reason %q does not name the file", c.Reason)
	}
}

// TestVerifyInChildModuleCrash loads a module whose C_GetFunctionList
// dereferences a null pointer: the child dies, the test process does not.
func TestVerifyInChildModuleCrash(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("gcc not installed")
	}
	dir := t.TempDir()
	source := filepath.Join(dir, "crash.c")
	module := filepath.Join(dir, "crash-pkcs11.so")
	code := "unsigned long C_GetFunctionList(void **list) { *(volatile int *)0 = 1; *list = 0; return 0; }\n"
	if err := os.WriteFile(source, []byte(code), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gcc, "-shared", "-fPIC", "-o", module, source).CombinedOutput(); err != nil {
		t.Fatalf("building crash module: %v\n%s", err, out)
	}

	t.Setenv(childModeEnv, "serve")
	_, err = VerifyInChild(context.Background(), testExecutable(t), nil, testRequest(module))
	if !errors.Is(err, ErrChildFailed) {
		t.Fatalf("VerifyInChild() error = %v, want ErrChildFailed", err)
	}
	t.Logf("error for a crashing module: %v", err)
	if !strings.Contains(err.Error(), "SIGSEGV") && !strings.Contains(err.Error(), "segmentation") {
		t.Errorf("error does not mention the crash:\n%v", err)
	}
}

func TestServeChildBadInput(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"not JSON", "PIN=648219", "decoding verification request"},
		{"too large", strings.Repeat(" ", maxRequestSize+1), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := ServeChild(strings.NewReader(tt.input), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ServeChild() error = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(fmt.Sprint(err), testPIN) {
				t.Errorf("error contains the PIN: %v", err)
			}
			if out.Len() != 0 {
				t.Errorf("ServeChild() wrote %q on bad input", out.String())
			}
		})
	}
}

func TestServeChildReportsVerifyError(t *testing.T) {
	input := `{"module_path": "/nowhere/opensc-pkcs11.so", "reader": "r", "serial": "s", "pin": "NjQ4MjE5"}`
	var out strings.Builder
	if err := ServeChild(strings.NewReader(input), &out); err != nil {
		t.Fatalf("ServeChild() error: %v", err)
	}
	var response childResponse
	if err := json.Unmarshal([]byte(out.String()), &response); err != nil {
		t.Fatalf("ServeChild() output is not a response: %v\n%s", err, out.String())
	}
	if !strings.Contains(response.Error, "/nowhere/opensc-pkcs11.so") {
		t.Errorf("response error = %q, want it to name the module", response.Error)
	}
	if strings.Contains(out.String(), testPIN) || strings.Contains(out.String(), "NjQ4MjE5") {
		t.Errorf("output contains the PIN: %s", out.String())
	}
}

func TestRedactPIN(t *testing.T) {
	pin := []byte(testPIN)
	input := "plain 648219, hex 363438323139, HEX 363438323139, spaced 36 34 38 32 31 39, SPACED 36 34 38 32 31 39"
	got := redactPIN(input, pin)
	for _, form := range []string{"648219", "363438323139", "36 34 38 32 31 39"} {
		if strings.Contains(got, form) {
			t.Errorf("redactPIN() kept %q: %s", form, got)
		}
	}
	if redactPIN("x", nil) != "x" {
		t.Error("redactPIN() with no PIN changed the text")
	}
}

func TestChildEnv(t *testing.T) {
	got := childEnv([]string{"HOME=/root", "OPENSC_CONF=/u.conf", "OPENSC_DEBUG=9", "PCSCLITE_CSOCK_NAME=/tmp/s"}, "/tmp/x/opensc.conf")
	want := []string{"HOME=/root", "PCSCLITE_CSOCK_NAME=/tmp/s", "OPENSC_CONF=/tmp/x/opensc.conf"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("childEnv() = %q, want %q", got, want)
	}
}

func TestHeadTailBuffer(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"short", []string{"abc"}, "abc"},
		{"fits exactly", []string{"abc", "def", "gh"}, "abcdefgh"},
		{"drops the middle", []string{"abcdef", "ghijklmn"}, "abc\n[...]\njklmn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &headTailBuffer{headMax: 3, tailMax: 5}
			for _, w := range tt.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := b.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestQuoteConfigValue(t *testing.T) {
	if got := quoteConfigValue("/tmp/a/cache"); got != "/tmp/a/cache" {
		t.Errorf("quoteConfigValue(plain) = %q", got)
	}
	if got := quoteConfigValue("/tmp/my dir/cache"); got != `"/tmp/my dir/cache"` {
		t.Errorf("quoteConfigValue(space) = %q", got)
	}
}
