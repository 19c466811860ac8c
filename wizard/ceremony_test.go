package wizard

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
)

const (
	testSharePassword  = "correct horse 42"
	testSharePassword2 = "battery staple 7"
)

// TestCeremonyCreateAndImport runs one custodian who creates a share file
// and one who imports an existing file, first with a wrong password. Each
// key derivation takes a few seconds.
func TestCeremonyCreateAndImport(t *testing.T) {
	dir := t.TempDir()
	var existing [32]byte
	rand.Read(existing[:])
	var salt [8]byte
	rand.Read(salt[:])
	file, err := dkek.Encrypt(existing, []byte(testSharePassword2), salt)
	if err != nil {
		t.Fatal(err)
	}
	importPath := filepath.Join(dir, "existing.pbe")
	if err := dkek.WriteFile(importPath, file); err != nil {
		t.Fatal(err)
	}

	var created [32]byte
	rand.Read(created[:])
	script := &Script{Steps: []Step{
		{Name: QShareSource + "-0-1"},
		{Name: QSharePath + "-0-1"},
		{Name: QSharePassword + "-0-1", Answer: "short"},
		{Name: QSharePassword + "-0-1", Answer: testSharePassword},
		{Name: QSharePasswordAgain + "-0-1", Answer: testSharePassword},
		{Name: QShareSource + "-0-2", Answer: OptImportShare},
		{Name: QSharePath + "-0-2", Answer: filepath.Join(dir, "missing.pbe")},
		{Name: QSharePath + "-0-2", Answer: importPath},
		{Name: QSharePassword + "-0-2", Answer: "wrong password"},
		{Name: QSharePassword + "-0-2", Answer: testSharePassword2},
	}}
	display := &recordingDisplay{}
	prompter := &displayCheckingPrompter{Script: script, display: display, t: t}
	c := &Ceremony{Prompter: prompter, Deriver: dkek.NewDeriver(), Dir: dir,
		NewShare: func() ([32]byte, [8]byte, error) { return created, [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, nil },
		Progress: display.start}
	ctx := context.Background()
	slots := ShareSlots(Answers{Settings: settingsWithShares(2)})
	custodians, err := c.Collect(ctx, slots)
	if err != nil {
		t.Fatal(err)
	}

	// The wrong password of the imported file is found and asked again
	// before the summary, with the progress display stopped meanwhile.
	if err := c.CheckImports(ctx, custodians); err != nil {
		t.Fatal(err)
	}
	if len(script.Steps) != 0 {
		t.Errorf("after CheckImports %d answers are left, next %q; the wrong password was not asked again", len(script.Steps), script.Steps[0].Name)
	}
	if display.starts == 0 || display.active {
		t.Errorf("progress display started %d times and is active: %v; want started and stopped", display.starts, display.active)
	}
	if _, err := os.Stat(filepath.Join(dir, "dkek-share-0-1.pbe")); err == nil {
		t.Error("CheckImports wrote the new share file before the confirmation")
	}

	shares, err := c.Finish(ctx, custodians)
	if err != nil {
		t.Fatal(err)
	}
	if shares[0] != created || shares[1] != existing {
		t.Error("shares differ from the created and the imported one")
	}
	if len(script.Steps) != 0 {
		t.Errorf("%d answers left, next %q", len(script.Steps), script.Steps[0].Name)
	}
	if len(script.Rejected) != 2 {
		t.Errorf("rejections = %q, want the short password and the missing file", script.Rejected)
	}
	if !shownContains(script, "is wrong") {
		t.Error("no message about the wrong password")
	}

	newPath := filepath.Join(dir, "dkek-share-0-1.pbe")
	if custodians[0].Path != newPath || !custodians[0].Created {
		t.Errorf("first custodian = %+v, want a new file %s", custodians[0], newPath)
	}
	fi, err := os.Stat(newPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("share file mode = %04o, want 0600", fi.Mode().Perm())
	}
	data, _ := dkek.ReadFile(newPath)
	back, err := c.Deriver.Decrypt(ctx, data, []byte(testSharePassword), nil)
	if err != nil || back != created {
		t.Errorf("the new share file does not decrypt to the share: %v", err)
	}
	if got := ShareFileArgs(custodians); len(got) != 2 || got[1] != importPath {
		t.Errorf("share file arguments = %q", got)
	}
}

func TestShareSlotsKeyDomains(t *testing.T) {
	a := Answers{Settings: settingsWithShares(2), KeyDomainShares: []int{2, 1}}
	a.Settings.KeyDomains = 2
	slots := ShareSlots(a)
	want := []ShareSlot{{0, 1, 2}, {0, 2, 2}, {1, 1, 1}}
	if len(slots) != len(want) {
		t.Fatalf("slots = %v, want %v", slots, want)
	}
	for i := range want {
		if slots[i] != want[i] {
			t.Errorf("slot %d = %v, want %v", i, slots[i], want[i])
		}
	}
	cs := []*CustodianShare{{Slot: slots[0], Path: "a"}, {Slot: slots[2], Path: "c"}}
	if got := ShareFileArgs(cs); got[0] != "a" || got[1] != "1:c" {
		t.Errorf("share file arguments = %q, want [a 1:c]", got)
	}
}

// recordingDisplay is a ProgressDisplay that records whether it runs.
type recordingDisplay struct {
	mu     sync.Mutex
	active bool
	starts int
}

func (d *recordingDisplay) start([]string) ProgressDisplay {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.active = true
	d.starts++
	return d
}

func (d *recordingDisplay) Set(int, float64) {}

func (d *recordingDisplay) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.active = false
}

// displayCheckingPrompter fails the test when a question is asked while
// the progress display runs, because the display would overwrite it.
type displayCheckingPrompter struct {
	*Script
	display *recordingDisplay
	t       *testing.T
}

func (p *displayCheckingPrompter) check(q Question) {
	p.display.mu.Lock()
	defer p.display.mu.Unlock()
	if p.display.active {
		p.t.Errorf("question %q asked while the progress display runs", q.Name)
	}
}

func (p *displayCheckingPrompter) Password(q Question) (string, error) {
	p.check(q)
	return p.Script.Password(q)
}
