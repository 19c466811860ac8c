package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestLockStateFileExcludesSecondUser(t *testing.T) {
	state := filepath.Join(t.TempDir(), "card.json")
	unlock, err := lockStateFile(state)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}

	if _, err := lockStateFile(state); err == nil || !strings.Contains(err.Error(), "in use by another") {
		t.Errorf("second lock err = %v, want an in-use error", err)
	}

	unlock()
	again, err := lockStateFile(state)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}
