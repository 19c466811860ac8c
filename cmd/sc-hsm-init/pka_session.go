package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// describePCSCUsers names the processes that have the PC/SC client library
// loaded, which are the candidates for the connection that blocks the
// reader. It reads /proc, so it finds only processes this user may inspect.
func describePCSCUsers() string {
	users := pcscUsers("/proc", os.Getpid())
	if len(users) == 0 {
		return "No other process with the PC/SC library loaded was found in /proc (another user's process may hold the reader)."
	}
	return "Processes with the PC/SC library loaded: " + strings.Join(users, ", ") + "."
}

// pcscUsers lists "name (pid N)" for each process under procDir, except
// self and pcscd itself, whose memory map contains libpcsclite.
func pcscUsers(procDir string, self int) []string {
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return nil
	}
	var users []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		maps, err := os.ReadFile(filepath.Join(procDir, e.Name(), "maps"))
		if err != nil || !bytes.Contains(maps, []byte("libpcsclite")) {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(procDir, e.Name(), "comm"))
		if err != nil {
			continue
		}
		name := strings.TrimSpace(string(comm))
		if name == "pcscd" {
			continue
		}
		users = append(users, fmt.Sprintf("%s (pid %d)", name, pid))
	}
	sort.Strings(users)
	return users
}
