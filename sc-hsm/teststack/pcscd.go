package teststack

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Time limits for pcscd start and stop. pcscd 1.9.9 took about a second to
// exit after SIGTERM on a 2-core Debian 12 VM, and starts in well under one.
const (
	pcscdStartTimeout = 15 * time.Second
	pcscdStopTimeout  = 10 * time.Second
	pollInterval      = 20 * time.Millisecond
)

// isolateScript runs inside the new mount namespace: it bind-mounts the
// vpcd driver folder to a private path, hides the host's USB reader drivers
// behind a tmpfs, puts the private run folder over /run/pcscd and execs
// pcscd. Arguments: $1 vpcd driver folder, $2 stack folder, $3 pcsc driver
// folder, then the pcscd command line.
const isolateScript = `set -e
mount --bind "$1" "$2/drivers"
mount -t tmpfs tmpfs "$3"
[ -d /run/pcscd ] || mkdir -p /run/pcscd
mount --bind "$2/run" /run/pcscd
shift 3
exec "$@"`

// daemon is one running pcscd process.
type daemon struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // the result of Wait, valid after exited is closed
}

// writeReaderConf writes the reader definition of the vpcd driver. As in the
// reader.conf that vsmartcard-vpcd installs, both DEVICENAME (after the
// colon) and CHANNELID carry the port.
func writeReaderConf(dir string, port int) error {
	conf := fmt.Sprintf("FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME   /dev/null:%d\nLIBPATH      %s\nCHANNELID    %d\n",
		port, filepath.Join(dir, "drivers", filepath.Base(vpcdDriver)), port)
	return os.WriteFile(filepath.Join(dir, "conf", "vpcd"), []byte(conf), 0o644)
}

// startDaemon starts pcscd in a new mount namespace with its output
// appended to logPath, and waits until its client socket exists and the
// vpcd driver listens on port.
func startDaemon(t tools, dir string, port int, logPath string, extraArgs []string) (*daemon, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening pcscd log: %w", err)
	}
	defer logFile.Close()

	socket := filepath.Join(dir, "run", "pcscd.comm")
	_ = os.Remove(socket)

	args := []string{"-m", "--propagation", "private"}
	if t.userNamespace {
		args = append([]string{"-r"}, args...)
	}
	args = append(args, t.sh, "-c", isolateScript, "sh",
		filepath.Dir(vpcdDriver), dir, pcscDriverDir,
		t.pcscd, "--foreground", "--config", filepath.Join(dir, "conf"))
	args = append(args, extraArgs...)

	cmd := exec.Command(t.unshare, args...)
	cmd.Env = withoutVar(os.Environ(), socketEnv)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// pcscd must not outlive a test binary that crashes or is killed.
		Pdeathsig: syscall.SIGKILL,
	}

	d := &daemon{cmd: cmd, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that forked the child exits, so
		// this goroutine keeps its thread until pcscd is gone.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		d.err = cmd.Wait()
		close(d.exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting pcscd: %w", err)
	}

	if err := d.waitReady(socket, port); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// waitReady polls until the client socket exists and pcscd itself listens
// on port. Checking the owner catches a port taken by another program,
// in which case vpcd fails to bind but pcscd keeps running.
func (d *daemon) waitReady(socket string, port int) error {
	deadline := time.Now().Add(pcscdStartTimeout)
	for {
		select {
		case <-d.exited:
			return fmt.Errorf("pcscd (pid %d) exited during start: %v", d.pid(), d.err)
		default:
		}

		_, statErr := os.Stat(socket)
		listening, err := listensOn(d.pid(), port)
		if err != nil {
			return fmt.Errorf("checking pcscd listener: %w", err)
		}
		if statErr == nil && listening {
			return nil
		}

		if time.Now().After(deadline) {
			return fmt.Errorf("pcscd (pid %d) not ready after %v: socket present %t, vpcd listening on port %d %t",
				d.pid(), pcscdStartTimeout, statErr == nil, port, listening)
		}
		time.Sleep(pollInterval)
	}
}

// stop sends SIGTERM, waits for the exit and kills pcscd if it hangs.
func (d *daemon) stop() error {
	select {
	case <-d.exited:
		return nil
	default:
	}

	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping pcscd (pid %d): %w", d.pid(), err)
	}
	select {
	case <-d.exited:
		return nil
	case <-time.After(pcscdStopTimeout):
	}

	if err := d.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing pcscd (pid %d): %w", d.pid(), err)
	}
	<-d.exited
	return fmt.Errorf("pcscd (pid %d) ignored SIGTERM for %v and was killed", d.pid(), pcscdStopTimeout)
}

// listensOn reports whether process pid owns a TCP socket listening on
// port, from /proc/net/tcp{,6} and the process's file descriptors. It never
// connects, because vpcd would take a connection for a card.
func listensOn(pid, port int) (bool, error) {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if err := listeningInodes(table, port, inodes); err != nil {
			return false, err
		}
	}
	if len(inodes) == 0 {
		return false, nil
	}

	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		return false, nil // the process is gone or not yet exec'd
	}
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue
		}
		inode, ok := strings.CutPrefix(target, "socket:[")
		if ok && inodes[strings.TrimSuffix(inode, "]")] {
			return true, nil
		}
	}
	return false, nil
}

// listeningInodes adds the inodes of sockets in state LISTEN on port from a
// /proc/net/tcp-format table.
func listeningInodes(table string, port int, inodes map[string]bool) error {
	f, err := os.Open(table)
	if errors.Is(err, os.ErrNotExist) {
		return nil // no IPv6
	}
	if err != nil {
		return err
	}
	defer f.Close()

	const stateListen = "0A"
	wantPort := fmt.Sprintf(":%04X", port)
	scanner := bufio.NewScanner(f)
	scanner.Scan() // header line
	for scanner.Scan() {
		// Fields: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
		fields := strings.Fields(scanner.Text())
		if len(fields) < 10 {
			continue
		}
		if strings.HasSuffix(fields[1], wantPort) && fields[3] == stateListen {
			inodes[fields[9]] = true
		}
	}
	return scanner.Err()
}

// withoutVar returns env without entries for the variable name.
func withoutVar(env []string, name string) []string {
	prefix := name + "="
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}
