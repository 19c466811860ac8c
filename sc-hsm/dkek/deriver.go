package dkek

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// errWiped is the result of a derivation that Deriver.Wipe removed before
// a waiting caller read it. Callers that see it derive again.
var errWiped = errors.New("key cache wiped")

// Deriver derives share keys at most once per salt and password, runs
// derivations of different files in parallel, and starts them in the
// background. Callers that ask for a key being derived wait for that
// derivation instead of starting another.
//
// The cache maps SHA-256(password || salt) to the derived Key. It never
// stores a password. Wipe clears it. A Deriver is safe for concurrent use,
// and its zero value is not usable: call NewDeriver.
type Deriver struct {
	iterations  int
	derivations atomic.Int64 // derivations started, for tests

	mu   sync.Mutex
	keys map[[sha256.Size]byte]*derivation
}

// derivation is one key derivation, running or finished. key and err are
// written under Deriver.mu before done is closed and read under it after.
type derivation struct {
	done chan struct{}
	key  Key
	err  error
}

// NewDeriver returns a Deriver with an empty cache.
func NewDeriver() *Deriver {
	return newDeriver(Iterations)
}

func newDeriver(iterations int) *Deriver {
	return &Deriver{iterations: iterations, keys: make(map[[sha256.Size]byte]*derivation)}
}

func cacheID(password []byte, salt [8]byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write(password)
	h.Write(salt[:])
	var id [sha256.Size]byte
	h.Sum(id[:0])
	return id
}

// Key returns the key for password and salt: from the cache, from a
// derivation of the same key that is already running, or from a new
// derivation. The caller owns the returned copy and should Wipe it.
// progress may be nil. When a running derivation is shared, progress is
// called once, with 1, when it ends. Key returns ctx.Err() when ctx is done
// first.
func (d *Deriver) Key(ctx context.Context, password []byte, salt [8]byte, progress ProgressFunc) (Key, error) {
	id := cacheID(password, salt)
	for {
		d.mu.Lock()
		entry, found := d.keys[id]
		if !found {
			entry = &derivation{done: make(chan struct{})}
			d.keys[id] = entry
			d.mu.Unlock()
			return d.run(ctx, id, entry, password, salt, progress)
		}
		d.mu.Unlock()

		select {
		case <-entry.done:
		case <-ctx.Done():
			return Key{}, ctx.Err()
		}
		d.mu.Lock()
		key, err := entry.key, entry.err
		d.mu.Unlock()
		if err == nil {
			if progress != nil {
				progress(1)
			}
			return key, nil
		}
		// The derivation this call waited for was cancelled by its own
		// caller or wiped. Derive again unless this call is cancelled too.
		if ctx.Err() != nil {
			return Key{}, ctx.Err()
		}
	}
}

// run derives the key of entry and publishes it. A failed derivation is
// removed from the cache, so the next request starts a new one.
func (d *Deriver) run(ctx context.Context, id [sha256.Size]byte, entry *derivation, password []byte, salt [8]byte, progress ProgressFunc) (Key, error) {
	d.derivations.Add(1)
	key, err := deriveShareKey(ctx, password, salt, d.iterations, progress)

	d.mu.Lock()
	defer d.mu.Unlock()
	entry.key, entry.err = key, err
	if err != nil && d.keys[id] == entry {
		delete(d.keys, id)
	}
	if err == nil && d.keys[id] != entry {
		// Wipe ran during the derivation, so the result is not cached. This
		// caller still receives its copy.
		entry.key.Wipe()
		entry.err = errWiped
	}
	close(entry.done)
	return key, err
}

// Wipe overwrites every cached key with zeros and empties the cache.
// Derivations still running finish and return their key to their own
// caller without caching it.
func (d *Deriver) Wipe() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, entry := range d.keys {
		select {
		case <-entry.done:
			entry.key.Wipe()
			entry.err = errWiped
		default:
		}
		delete(d.keys, id)
	}
}

// Decrypt returns the share in a share file, deriving its key unless the
// cache has it. Errors are those of DecryptWithKey and ctx.Err().
func (d *Deriver) Decrypt(ctx context.Context, file, password []byte, progress ProgressFunc) ([32]byte, error) {
	salt, err := SaltOf(file)
	if err != nil {
		return [32]byte{}, err
	}
	key, err := d.Key(ctx, password, salt, progress)
	if err != nil {
		return [32]byte{}, err
	}
	defer key.Wipe()
	return DecryptWithKey(file, &key)
}

// Encrypt returns the share file for share under password and salt,
// deriving the key unless the cache has it. The key stays cached, so a
// later Decrypt of the file with the same password derives nothing. Take
// the salt from a random source.
func (d *Deriver) Encrypt(ctx context.Context, share [32]byte, password []byte, salt [8]byte, progress ProgressFunc) ([]byte, error) {
	if len(password) == 0 {
		return nil, ErrEmptyPassword
	}
	key, err := d.Key(ctx, password, salt, progress)
	if err != nil {
		return nil, err
	}
	defer key.Wipe()
	return EncryptWithKey(share, &key)
}

// Pending is a derivation running in the background, started by
// Deriver.Start or Deriver.StartEncrypt. T is the share ([32]byte) for
// Start and the share file ([]byte) for StartEncrypt.
type Pending[T any] struct {
	done     chan struct{}
	result   T
	err      error
	progress atomic.Uint64 // math.Float64bits of the completed fraction
}

func (p *Pending[T]) setProgress(fraction float64) {
	p.progress.Store(math.Float64bits(fraction))
}

// Progress returns the completed fraction of the derivation, from 0 to 1.
func (p *Pending[T]) Progress() float64 {
	return math.Float64frombits(p.progress.Load())
}

// Done returns a channel that is closed when the result is ready.
func (p *Pending[T]) Done() <-chan struct{} { return p.done }

// Wait blocks until the derivation ends and returns its result.
func (p *Pending[T]) Wait() (T, error) {
	<-p.done
	return p.result, p.err
}

// Start begins decrypting a share file in a new goroutine and returns at
// once, so that an interactive ceremony can derive one custodian's key
// while the next one types. Start copies password, so the caller may clear
// it when Start returns. Cancelling ctx stops the derivation.
func (d *Deriver) Start(ctx context.Context, file, password []byte) *Pending[[32]byte] {
	p := &Pending[[32]byte]{done: make(chan struct{})}
	file = append([]byte(nil), file...)
	password = append([]byte(nil), password...)
	go func() {
		defer close(p.done)
		defer clear(password)
		p.result, p.err = d.Decrypt(ctx, file, password, p.setProgress)
	}()
	return p
}

// StartEncrypt begins encrypting share under password and salt in a new
// goroutine and returns at once. Like Start, it copies password.
func (d *Deriver) StartEncrypt(ctx context.Context, share [32]byte, password []byte, salt [8]byte) *Pending[[]byte] {
	p := &Pending[[]byte]{done: make(chan struct{})}
	password = append([]byte(nil), password...)
	go func() {
		defer close(p.done)
		defer clear(password)
		defer clear(share[:])
		p.result, p.err = d.Encrypt(ctx, share, password, salt, p.setProgress)
	}()
	return p
}

// File is one share file to decrypt.
type File struct {
	Path     string // names the file in errors, may be empty
	Data     []byte // the 64-byte file contents
	Password []byte
}

func (f File) name(index int) string {
	if f.Path != "" {
		return f.Path
	}
	return fmt.Sprintf("#%d", index+1)
}

// FilesProgressFunc receives the index into the files slice and the
// completed fraction of that file's key derivation. DecryptFiles never
// calls it from two goroutines at once.
type FilesProgressFunc func(index int, fraction float64)

// DecryptFiles decrypts share files in parallel, with at most workers
// derivations at a time. workers <= 0 runs every file at once, which ends
// a set soonest: three files on two cores take about 1.5 derivation times
// that way, but two with two workers. shares[i] and errs[i] belong to
// files[i]. Each error names its file and wraps ErrNotShareFile,
// ErrWrongPassword or ctx.Err(). Files with the same salt and password
// share one derivation. progress may be nil.
func (d *Deriver) DecryptFiles(ctx context.Context, files []File, workers int, progress FilesProgressFunc) (shares [][32]byte, errs []error) {
	shares = make([][32]byte, len(files))
	errs = make([]error, len(files))
	if workers <= 0 || workers > len(files) {
		workers = len(files)
	}

	var progressMu sync.Mutex
	report := func(index int) ProgressFunc {
		if progress == nil {
			return nil
		}
		return func(fraction float64) {
			progressMu.Lock()
			defer progressMu.Unlock()
			progress(index, fraction)
		}
	}

	indexes := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range indexes {
				share, err := d.Decrypt(ctx, files[i].Data, files[i].Password, report(i))
				if err != nil {
					errs[i] = fmt.Errorf("decrypting share file %s: %w", files[i].name(i), err)
					continue
				}
				shares[i] = share
			}
		})
	}
	for i := range files {
		indexes <- i
	}
	close(indexes)
	wg.Wait()
	return shares, errs
}

// DecryptFiles decrypts share files in parallel with a new Deriver and
// wipes its keys before returning. See Deriver.DecryptFiles.
func DecryptFiles(ctx context.Context, files []File, workers int, progress FilesProgressFunc) ([][32]byte, []error) {
	d := NewDeriver()
	defer d.Wipe()
	return d.DecryptFiles(ctx, files, workers, progress)
}
