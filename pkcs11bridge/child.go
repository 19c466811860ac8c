package pkcs11bridge

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// DefaultChildTimeout bounds VerifyInChild when ctx has no deadline. OpenSC
// needs a few seconds for a real card; the bound only stops a hung module.
const DefaultChildTimeout = 2 * time.Minute

// maxRequestSize bounds the request a child reads from standard input.
const maxRequestSize = 64 << 10

// stderrHeadSize and stderrTailSize bound how much of the child's standard
// error an error quotes: the start names a crash (the Go runtime prints the
// signal first), the end shows the last messages.
const (
	stderrHeadSize = 1 << 10
	stderrTailSize = 2 << 10
)

// childResponse is the JSON document ServeChild writes to standard output.
type childResponse struct {
	Report Report `json:"report"`
	// Error is the message of the error Verify returned, empty on success.
	Error string `json:"error,omitempty"`
}

// ErrChildFailed is wrapped by VerifyInChild when the child process died,
// timed out or printed something that is not a report.
var ErrChildFailed = errors.New("PKCS#11 verification process failed")

// VerifyInChild runs Verify in a child process. It starts exe with args,
// normally the sc-hsm-init binary with the hidden internal-pkcs11-verify
// subcommand, which calls ServeChild. It writes req as JSON to the child's
// standard input and reads the Report from its standard output. The module
// is therefore loaded fresh, and a crash inside it ends only the child.
//
// The child runs with an OpenSC configuration generated for this run (see
// writeOpenSCConfig) and without OPENSC_DEBUG. The PIN is passed only on
// standard input, never on the command line or in the environment.
//
// When the child ran Verify to the end, the error is the one Verify returned.
// A child that exits with a failure, is killed, times out or prints something
// other than a report yields an error wrapping ErrChildFailed with the exit
// status and the end of its standard error.
func VerifyInChild(ctx context.Context, exe string, args []string, req Request) (Report, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultChildTimeout)
		defer cancel()
	}

	configDir, err := os.MkdirTemp("", "sc-hsm-init-opensc-")
	if err != nil {
		return Report{}, fmt.Errorf("creating OpenSC configuration folder: %w", err)
	}
	defer os.RemoveAll(configDir)
	configPath, err := writeOpenSCConfig(configDir)
	if err != nil {
		return Report{}, err
	}

	input, err := json.Marshal(req)
	if err != nil {
		return Report{}, fmt.Errorf("encoding verification request: %w", err)
	}
	defer clear(input)

	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = childEnv(os.Environ(), configPath)
	cmd.Stdin = bytes.NewReader(input)
	var stdout bytes.Buffer
	stderr := &headTailBuffer{headMax: stderrHeadSize, tailMax: stderrTailSize}
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	// A module that ignores the kill of its process group leader must not
	// keep the pipes open forever.
	cmd.WaitDelay = 5 * time.Second

	runErr := cmd.Run()
	tail := redactPIN(stderr.String(), req.PIN)

	if ctx.Err() != nil {
		return Report{}, fmt.Errorf("%w: %s timed out or was canceled (%v)%s", ErrChildFailed, exe, ctx.Err(), formatTail(tail))
	}
	if runErr != nil {
		return Report{}, fmt.Errorf("%w: %s: %v%s", ErrChildFailed, exe, describeExit(runErr), formatTail(tail))
	}

	var response childResponse
	decoder := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&response); err != nil {
		return Report{}, fmt.Errorf("%w: %s printed no valid report (%v); output starts with %q%s",
			ErrChildFailed, exe, err, firstBytes(stdout.Bytes(), 120), formatTail(tail))
	}
	if response.Error != "" {
		return response.Report, errors.New(response.Error)
	}
	return response.Report, nil
}

// ServeChild is the child side of VerifyInChild: it reads one Request as JSON
// from stdin, runs Verify and writes the Report as JSON to stdout. It returns
// an error only when the request cannot be read or the report cannot be
// written, because a failed verification is part of the report.
func ServeChild(stdin io.Reader, stdout io.Writer) error {
	input, err := io.ReadAll(io.LimitReader(stdin, maxRequestSize+1))
	defer clear(input)
	if err != nil {
		return fmt.Errorf("reading verification request: %w", err)
	}
	if len(input) > maxRequestSize {
		return fmt.Errorf("reading verification request: longer than %d bytes", maxRequestSize)
	}

	// A request that omits the retry counter means "unknown", not "blocked".
	req := Request{UserPINTriesLeft: -1}
	if err := json.Unmarshal(input, &req); err != nil {
		return fmt.Errorf("decoding verification request: %w", err)
	}
	defer clear(req.PIN)

	report, verifyErr := Verify(req)
	response := childResponse{Report: report}
	if verifyErr != nil {
		response.Error = verifyErr.Error()
	}
	if err := json.NewEncoder(stdout).Encode(response); err != nil {
		return fmt.Errorf("writing verification report: %w", err)
	}
	return nil
}

// writeOpenSCConfig writes the opensc.conf that the child loads through
// OPENSC_CONF.
//
// OpenSC's PKCS#15 layer can cache card files on disk (use_file_caching in
// opensc.conf, off by default). OpenSC's SmartCard-HSM emulation
// (pkcs15-sc-hsm.c) reads EF.C_DevAut and EF.TokenInfo before it has set
// the serial, so they come from the card. It reads the key descriptions (C4xx),
// certificates (CExx) and data object descriptions through the cache once
// the serial is set. The cache file name joins the serial, the token's
// last-update time ("NODATE" for a SmartCard-HSM), the AID and the file ID:
// OpenSC 0.23 writes "<serial>_NODATE_E82B0601040181C31F0201_C400" after
// pkcs11-tool -L. The serial comes from the device certificate, which
// INITIALIZE DEVICE does not change. So after a re-initialization, a new key
// that reuses an old key ID would show the old label and certificate.
//
// The child therefore gets a configuration with file caching off. Its
// file_cache_dir also points at an empty folder that is removed afterwards,
// so a file cached by an earlier run is out of reach in any case.
//
// NOTE: the generated file replaces the user's opensc.conf for the child, so
// settings made there (card driver selection, reader options) do not apply
// to the verification, which sees OpenSC's defaults.
func writeOpenSCConfig(dir string) (string, error) {
	cacheDir := filepath.Join(dir, "cache")
	if err := os.Mkdir(cacheDir, 0o700); err != nil {
		return "", fmt.Errorf("creating empty OpenSC cache folder: %w", err)
	}
	config := fmt.Sprintf(`# Generated by sc-hsm-init for one PKCS#11 verification run.
app default {
	framework pkcs15 {
		use_file_caching = no;
		file_cache_dir = %s;
	}
}
`, quoteConfigValue(cacheDir))
	path := filepath.Join(dir, "opensc.conf")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return "", fmt.Errorf("writing OpenSC configuration: %w", err)
	}
	return path, nil
}

// quoteConfigValue quotes a value for OpenSC's scconf syntax when it contains
// characters that would end an unquoted token.
func quoteConfigValue(s string) string {
	if strings.ContainsAny(s, " \t;{}=#\",") {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return s
}

// childEnv returns the parent environment with OPENSC_CONF pointing at the
// generated configuration. OPENSC_DEBUG is dropped because OpenSC's debug log
// contains the VERIFY APDU, and with it the PIN.
func childEnv(parent []string, configPath string) []string {
	env := make([]string, 0, len(parent)+1)
	for _, kv := range parent {
		name, _, _ := strings.Cut(kv, "=")
		if name == "OPENSC_CONF" || name == "OPENSC_DEBUG" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "OPENSC_CONF="+configPath)
}

func describeExit(err error) string {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return "child " + exitErr.ProcessState.String()
	}
	return err.Error()
}

func formatTail(tail string) string {
	tail = strings.TrimSpace(tail)
	if tail == "" {
		return "; no output on standard error"
	}
	return "; standard error:\n" + tail
}

func firstBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// redactPIN removes the PIN from child output before it reaches an error
// message: as text, as hex digits and as the space-separated hex of an APDU
// trace.
func redactPIN(s string, pin []byte) string {
	if len(pin) == 0 {
		return s
	}
	hexPIN := hex.EncodeToString(pin)
	spaced := make([]string, len(pin))
	for i, b := range pin {
		spaced[i] = fmt.Sprintf("%02x", b)
	}
	forms := []string{
		string(pin),
		hexPIN, strings.ToUpper(hexPIN),
		strings.Join(spaced, " "), strings.ToUpper(strings.Join(spaced, " ")),
	}
	for _, form := range forms {
		s = strings.ReplaceAll(s, form, "(redacted)")
	}
	return s
}

// headTailBuffer keeps the first headMax and the last tailMax bytes written
// to it.
type headTailBuffer struct {
	headMax, tailMax int
	head, tail       []byte
	dropped          bool
}

func (b *headTailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.headMax - len(b.head); room > 0 {
		take := min(room, len(p))
		b.head = append(b.head, p[:take]...)
		p = p[take:]
	}
	b.tail = append(b.tail, p...)
	if over := len(b.tail) - b.tailMax; over > 0 {
		b.tail = append(b.tail[:0], b.tail[over:]...)
		b.dropped = true
	}
	return n, nil
}

func (b *headTailBuffer) String() string {
	if b.dropped {
		return string(b.head) + "\n[...]\n" + string(b.tail)
	}
	return string(b.head) + string(b.tail)
}
