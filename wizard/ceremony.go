package wizard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
)

// Question name prefixes of the DKEK ceremony. Each is followed by
// "-D-I" for share I (from 1) of key domain D.
const (
	QShareSource        = "share-source"
	QSharePath          = "share-path"
	QSharePassword      = "share-password"
	QSharePasswordAgain = "share-password-again"
)

// Choices of the share source question.
const (
	OptCreateShare = "Create a new share file"
	OptImportShare = "Import an existing share file"
)

// minSharePassword is the shortest share password accepted, as sc-hsm-tool
// requires.
const minSharePassword = 6

// ShareSlot is one DKEK share the ceremony collects.
type ShareSlot struct {
	KeyDomain int
	Index     int // from 1
	Count     int // shares of the key domain
}

func (s ShareSlot) suffix() string { return fmt.Sprintf("-%d-%d", s.KeyDomain, s.Index) }

// ShareSlots lists the shares to collect for the answers: those of key
// domain 0 without key domains, or those of every key domain.
func ShareSlots(a Answers) []ShareSlot {
	counts := a.KeyDomainShares
	if a.Settings.KeyDomains == 0 {
		if a.Settings.DKEKShares <= 0 {
			return nil
		}
		counts = []int{a.Settings.DKEKShares}
	}
	var slots []ShareSlot
	for d, n := range counts {
		for i := 1; i <= n; i++ {
			slots = append(slots, ShareSlot{KeyDomain: d, Index: i, Count: n})
		}
	}
	return slots
}

// CustodianShare is one share of the ceremony. Its derivation runs in the
// background from the moment the custodian entered the password.
type CustodianShare struct {
	Slot    ShareSlot
	Path    string
	Created bool // a new file, written once its key is derived

	data    []byte // the file contents of an imported share
	share   [32]byte
	encrypt *dkek.Pending[[]byte]
	decrypt *dkek.Pending[[32]byte]
}

// Progress returns the completed fraction of the share's key derivation.
func (c *CustodianShare) Progress() float64 {
	if c.encrypt != nil {
		return c.encrypt.Progress()
	}
	return c.decrypt.Progress()
}

// Ceremony collects the DKEK shares custodian by custodian.
type Ceremony struct {
	Prompter Prompter
	Deriver  *dkek.Deriver
	// NewShare returns a new random share and salt for a created file.
	NewShare func() (share [32]byte, salt [8]byte, err error)
	// Dir is the folder of the default path of a new share file.
	Dir string
	// Progress, when not nil, starts a display of the derivations of the
	// share files names, in the order of the shares.
	Progress func(names []string) ProgressDisplay
}

// Collect asks each custodian in turn to create a new share file (the
// password typed twice) or to import an existing one, and starts the key
// derivation of each share as soon as its password is entered, so that it
// runs while the next custodian types. Call Finish for the shares.
func (c *Ceremony) Collect(ctx context.Context, slots []ShareSlot) ([]*CustodianShare, error) {
	var out []*CustodianShare
	used := map[string]bool{}
	for _, slot := range slots {
		cs, err := c.collectOne(ctx, slot, used)
		if err != nil {
			return out, err
		}
		used[filepath.Clean(cs.Path)] = true
		out = append(out, cs)
	}
	return out, nil
}

func (c *Ceremony) collectOne(ctx context.Context, slot ShareSlot, used map[string]bool) (*CustodianShare, error) {
	p := c.Prompter
	title := fmt.Sprintf("DKEK share %d of %d", slot.Index, slot.Count)
	if slot.KeyDomain > 0 {
		title += fmt.Sprintf(" of key domain %d", slot.KeyDomain)
	}
	p.Show(title + ": hand the keyboard to its custodian.")

	source, err := p.Select(Question{
		Name:    QShareSource + slot.suffix(),
		Message: title + ":",
		Help: "Create: a new random share is written to a new file, encrypted under a password only this custodian knows. " +
			"Import: an existing share file (from sc-hsm-tool or sc-hsm-init) is used, for example to give this token the same " +
			"DKEK as another one. Default: create.",
		Options: []string{OptCreateShare, OptImportShare},
		Default: OptCreateShare,
	})
	if err != nil {
		return nil, err
	}
	cs := &CustodianShare{Slot: slot, Created: source == OptCreateShare}

	def := ""
	if cs.Created {
		def = c.freePath(slot, used)
	}
	cs.Path, err = p.Input(Question{
		Name:    QSharePath + slot.suffix(),
		Message: "Share file:",
		Help:    "The path of the share file. A new file is never written over an existing one, and it gets mode 0600.",
		Default: def,
		Validate: func(path string) error {
			if path == "" {
				return errors.New("the path is empty; enter the path of the share file")
			}
			if used[filepath.Clean(path)] {
				return errors.New("this file is already used for another share; equal shares cancel out, so give each share once")
			}
			if cs.Created {
				if _, err := os.Stat(path); err == nil {
					return fmt.Errorf("%s exists; choose a new file name", path)
				}
				return nil
			}
			_, err := dkek.ReadFile(path)
			return err
		}})
	if err != nil {
		return nil, err
	}

	if cs.Created {
		return cs, c.startCreate(ctx, cs)
	}
	if cs.data, err = dkek.ReadFile(cs.Path); err != nil {
		return nil, err
	}
	return cs, c.startImport(ctx, cs)
}

// freePath returns a share file name in Dir that does not exist yet.
func (c *Ceremony) freePath(slot ShareSlot, used map[string]bool) string {
	for n := 0; ; n++ {
		name := fmt.Sprintf("dkek-share-%d-%d.pbe", slot.KeyDomain, slot.Index)
		if n > 0 {
			name = fmt.Sprintf("dkek-share-%d-%d-%d.pbe", slot.KeyDomain, slot.Index, n)
		}
		path := filepath.Join(c.Dir, name)
		if _, err := os.Stat(path); err != nil && !used[filepath.Clean(path)] {
			return path
		}
	}
}

func (c *Ceremony) startCreate(ctx context.Context, cs *CustodianShare) error {
	a := &asker{p: c.Prompter}
	password, err := a.askTwice(QSharePassword+cs.Slot.suffix(), QSharePasswordAgain+cs.Slot.suffix(),
		"Password of the new share file (at least 6 characters):",
		"Only this custodian should know it. Without it the share, and so the DKEK, cannot be rebuilt.",
		func(s string) error {
			if len(s) < minSharePassword {
				return fmt.Errorf("the password has %d characters; use at least %d", len(s), minSharePassword)
			}
			return nil
		})
	if err != nil {
		return err
	}
	share, salt, err := c.NewShare()
	if err != nil {
		return err
	}
	cs.share = share
	cs.encrypt = c.Deriver.StartEncrypt(ctx, share, []byte(password), salt)
	return nil
}

func (c *Ceremony) startImport(ctx context.Context, cs *CustodianShare) error {
	password, err := c.Prompter.Password(Question{
		Name:    QSharePassword + cs.Slot.suffix(),
		Message: "Password of " + cs.Path + ":",
		Help:    "The password the custodian chose when the file was created. A wrong password is detected before the token is touched.",
		Validate: func(s string) error {
			if s == "" {
				return errors.New("the password is empty; enter the share file's password")
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	cs.decrypt = c.Deriver.Start(ctx, cs.data, []byte(password))
	return nil
}

// progressInterval is how often the ceremony reports the derivations'
// progress while it waits.
const progressInterval = 200 * time.Millisecond

// ProgressDisplay shows the progress of the key derivations while the
// ceremony waits for them.
type ProgressDisplay interface {
	// Set records the completed fraction of share index.
	Set(index int, fraction float64)
	// Stop ends the display. The ceremony calls it before it asks a
	// question, so that the display does not overwrite the prompt.
	Stop()
}

// waiter waits for derivations and runs one display at a time, started
// when a wait lasts longer than progressInterval.
type waiter struct {
	c       *Ceremony
	shares  []*CustodianShare
	display ProgressDisplay
}

func (w *waiter) wait(done <-chan struct{}) {
	ticker := time.NewTicker(progressInterval)
	defer ticker.Stop()
	for {
		select {
		case <-done:
			return
		case <-ticker.C:
			w.update()
		}
	}
}

func (w *waiter) update() {
	if w.c.Progress == nil {
		return
	}
	if w.display == nil {
		names := make([]string, len(w.shares))
		for i, cs := range w.shares {
			names[i] = cs.Path
		}
		w.display = w.c.Progress(names)
	}
	for i, cs := range w.shares {
		w.display.Set(i, cs.Progress())
	}
}

func (w *waiter) stop() {
	if w.display != nil {
		w.display.Stop()
		w.display = nil
	}
}

// await waits for the derivation of shares[i]. While the password of an
// imported file is wrong, it stops the display, reports the wrong password
// and asks again.
func (w *waiter) await(ctx context.Context, i int) ([32]byte, error) {
	cs := w.shares[i]
	for {
		w.wait(cs.doneChannel())
		share, err := w.c.result(cs)
		if !errors.Is(err, dkek.ErrWrongPassword) || cs.Created {
			return share, err
		}
		w.stop()
		w.c.Prompter.Show(fmt.Sprintf("The password of %s is wrong.", cs.Path))
		if err := w.c.startImport(ctx, cs); err != nil {
			return [32]byte{}, err
		}
	}
}

// CheckImports waits for the derivations of the imported share files and
// asks again for every password that is wrong, so that the summary comes
// only after each imported share decrypted. The derivations of new share
// files go on in the background.
func (c *Ceremony) CheckImports(ctx context.Context, shares []*CustodianShare) error {
	w := &waiter{c: c, shares: shares}
	defer w.stop()
	for i, cs := range shares {
		if cs.Created {
			continue
		}
		if _, err := w.await(ctx, i); err != nil {
			return fmt.Errorf("DKEK share file %s: %w", cs.Path, err)
		}
	}
	return nil
}

// Finish waits for every derivation, writes the new share files and
// returns the shares in order. A wrong password of an imported file is
// asked again, and its derivation runs again.
func (c *Ceremony) Finish(ctx context.Context, shares []*CustodianShare) ([][32]byte, error) {
	w := &waiter{c: c, shares: shares}
	defer w.stop()
	out := make([][32]byte, len(shares))
	for i, cs := range shares {
		share, err := w.await(ctx, i)
		if err != nil {
			return nil, fmt.Errorf("DKEK share file %s: %w", cs.Path, err)
		}
		out[i] = share
	}
	if w.display != nil {
		for i := range shares {
			w.display.Set(i, 1)
		}
	}
	return out, nil
}

func (cs *CustodianShare) doneChannel() <-chan struct{} {
	if cs.encrypt != nil {
		return cs.encrypt.Done()
	}
	return cs.decrypt.Done()
}

// result returns the share once its derivation ended, writing a new file.
func (c *Ceremony) result(cs *CustodianShare) ([32]byte, error) {
	if !cs.Created {
		return cs.decrypt.Wait()
	}
	file, err := cs.encrypt.Wait()
	if err != nil {
		return [32]byte{}, err
	}
	if err := dkek.WriteFile(cs.Path, file); err != nil {
		return [32]byte{}, err
	}
	return cs.share, nil
}

// ShareFileArgs returns the share files as init --dkek-share takes them:
// "D:FILE" for key domain D > 0, FILE for key domain 0.
func ShareFileArgs(shares []*CustodianShare) []string {
	var out []string
	for _, cs := range shares {
		if cs.Slot.KeyDomain > 0 {
			out = append(out, fmt.Sprintf("%d:%s", cs.Slot.KeyDomain, cs.Path))
			continue
		}
		out = append(out, cs.Path)
	}
	return slices.Clip(out)
}
