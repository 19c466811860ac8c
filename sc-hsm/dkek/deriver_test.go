package dkek

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestDeriveProgressAndResult(t *testing.T) {
	const iterations = 2*progressInterval + 5
	password := []byte("progress pw")
	salt := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}

	var fractions []float64
	key, err := deriveShareKey(context.Background(), password, salt, iterations, func(f float64) {
		fractions = append(fractions, f)
	})
	if err != nil {
		t.Fatalf("deriveShareKey: %v", err)
	}
	wantKey, wantIV := DeriveKey(password, salt[:], iterations)
	if key.aesKey != wantKey || key.iv != wantIV {
		t.Errorf("key with progress differs from DeriveKey")
	}
	if key.Salt() != salt {
		t.Errorf("Salt() = %x, want %x", key.Salt(), salt)
	}

	// Each of the three blocks reports after its first two intervals, and
	// the end adds one report.
	if len(fractions) < 7 {
		t.Fatalf("got %d progress reports, want at least 7: %v", len(fractions), fractions)
	}
	for i := 1; i < len(fractions); i++ {
		if fractions[i] <= fractions[i-1] {
			t.Errorf("progress not increasing: %v", fractions)
			break
		}
	}
	if last := fractions[len(fractions)-1]; last != 1 {
		t.Errorf("last progress = %v, want 1", last)
	}
}

func TestDeriveContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	key, err := DeriveContext(ctx, []byte("pw"), [8]byte{}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if key.valid {
		t.Errorf("a cancelled derivation returned a usable key")
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("cancelled derivation took %v; it should stop after the first interval", elapsed)
	}
}

func TestDecryptWithKeyErrors(t *testing.T) {
	key, err := deriveShareKey(context.Background(), []byte("pw-one"), [8]byte{1}, fastIterations, nil)
	if err != nil {
		t.Fatal(err)
	}
	file, err := EncryptWithKey(fill(0x42), &key)
	if err != nil {
		t.Fatalf("EncryptWithKey: %v", err)
	}
	if !bytes.Equal(file[8:16], []byte{1, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("salt in file = %x, want the key's salt", file[8:16])
	}
	share, err := DecryptWithKey(file, &key)
	if err != nil || share != fill(0x42) {
		t.Fatalf("DecryptWithKey = %x, %v; want 42 x 32", share, err)
	}

	other, _ := deriveShareKey(context.Background(), []byte("pw-one"), [8]byte{2}, fastIterations, nil)
	if _, err := DecryptWithKey(file, &other); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("key of another salt: err = %v, want ErrKeyMismatch", err)
	}
	wrong, _ := deriveShareKey(context.Background(), []byte("pw-two"), [8]byte{1}, fastIterations, nil)
	if _, err := DecryptWithKey(file, &wrong); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("key of another password: err = %v, want ErrWrongPassword", err)
	}
	var zero Key
	if _, err := DecryptWithKey(file, &zero); !errors.Is(err, ErrNoKey) {
		t.Errorf("zero key: err = %v, want ErrNoKey", err)
	}
	if _, err := EncryptWithKey(fill(1), &zero); !errors.Is(err, ErrNoKey) {
		t.Errorf("EncryptWithKey with zero key: err = %v, want ErrNoKey", err)
	}
	key.Wipe()
	if key.aesKey != ([32]byte{}) || key.iv != ([16]byte{}) {
		t.Errorf("Wipe left key material")
	}
	if _, err := DecryptWithKey(file, &key); !errors.Is(err, ErrNoKey) {
		t.Errorf("wiped key: err = %v, want ErrNoKey", err)
	}
	if _, err := DecryptWithKey(file[:10], &other); !errors.Is(err, ErrNotShareFile) {
		t.Errorf("short file: err = %v, want ErrNotShareFile", err)
	}
}

func TestDeriverCreateThenImportDerivesOnce(t *testing.T) {
	d := newDeriver(fastIterations)
	ctx := context.Background()
	salt := [8]byte{9, 9, 9}

	file, err := d.Encrypt(ctx, fill(0x11), []byte("custodian-1"), salt, nil)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	share, err := d.Decrypt(ctx, file, []byte("custodian-1"), nil)
	if err != nil || share != fill(0x11) {
		t.Fatalf("Decrypt = %x, %v", share, err)
	}
	if n := d.derivations.Load(); n != 1 {
		t.Errorf("derivations = %d, want 1", n)
	}

	// The file must equal one made without the cache.
	plain, err := encrypt(fill(0x11), []byte("custodian-1"), salt, fastIterations)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, plain) {
		t.Errorf("Deriver.Encrypt and encrypt produce different files")
	}

	// A wrong password is another key: derived, and rejected.
	if _, err := d.Decrypt(ctx, file, []byte("custodian-2"), nil); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("wrong password: err = %v, want ErrWrongPassword", err)
	}
	if n := d.derivations.Load(); n != 2 {
		t.Errorf("derivations = %d, want 2", n)
	}
}

func TestDeriverCacheStoresNoPassword(t *testing.T) {
	d := newDeriver(fastIterations)
	password := []byte("cache-password")
	salt := [8]byte{7}
	if _, err := d.Key(context.Background(), password, salt, nil); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(append(bytes.Clone(password), salt[:]...))
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.keys) != 1 {
		t.Fatalf("cache holds %d entries, want 1", len(d.keys))
	}
	if _, found := d.keys[want]; !found {
		t.Errorf("cache key is not SHA-256(password || salt)")
	}
}

func TestDeriverWipe(t *testing.T) {
	d := newDeriver(fastIterations)
	ctx := context.Background()
	file, err := d.Encrypt(ctx, fill(0x22), []byte("wipe-me"), [8]byte{3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	var cached *derivation
	for _, entry := range d.keys {
		cached = entry
	}
	d.mu.Unlock()

	d.Wipe()
	if cached.key.aesKey != ([32]byte{}) || cached.key.valid {
		t.Errorf("Wipe left the cached key")
	}
	if _, err := d.Decrypt(ctx, file, []byte("wipe-me"), nil); err != nil {
		t.Fatalf("Decrypt after Wipe: %v", err)
	}
	if n := d.derivations.Load(); n != 2 {
		t.Errorf("derivations = %d, want 2 (Wipe should force a new one)", n)
	}
}

func TestDeriverConcurrentSameKeyDerivesOnce(t *testing.T) {
	d := newDeriver(2 * progressInterval)
	var wg sync.WaitGroup
	keys := make([]Key, 4)
	for i := range keys {
		wg.Go(func() {
			key, err := d.Key(context.Background(), []byte("same"), [8]byte{5}, nil)
			if err != nil {
				t.Errorf("Key: %v", err)
			}
			keys[i] = key
		})
	}
	wg.Wait()
	if n := d.derivations.Load(); n != 1 {
		t.Errorf("derivations = %d, want 1", n)
	}
	for i := range keys {
		if keys[i] != keys[0] {
			t.Errorf("caller %d got another key", i)
		}
	}
}

func TestDeriverWaiterSurvivesCancelledOwner(t *testing.T) {
	d := newDeriver(2 * progressInterval)
	ownerCtx, cancelOwner := context.WithCancel(context.Background())
	started := make(chan struct{})
	var once sync.Once
	ownerDone := make(chan error, 1)
	go func() {
		_, err := d.Key(ownerCtx, []byte("pw"), [8]byte{6}, func(float64) { once.Do(func() { close(started) }) })
		ownerDone <- err
	}()
	<-started

	waiterDone := make(chan error, 1)
	go func() {
		key, err := d.Key(context.Background(), []byte("pw"), [8]byte{6}, nil)
		if err == nil && !key.valid {
			err = errors.New("invalid key")
		}
		waiterDone <- err
	}()
	time.Sleep(10 * time.Millisecond)
	cancelOwner()

	if err := <-ownerDone; !errors.Is(err, context.Canceled) {
		t.Errorf("owner err = %v, want context.Canceled", err)
	}
	if err := <-waiterDone; err != nil {
		t.Errorf("waiter err = %v, want a key", err)
	}
}

func TestDeriverStart(t *testing.T) {
	d := newDeriver(fastIterations)
	ctx := context.Background()
	password := []byte("typed-by-custodian")
	pendingFile := d.StartEncrypt(ctx, fill(0x33), password, [8]byte{4})
	file, err := pendingFile.Wait()
	if err != nil {
		t.Fatalf("StartEncrypt: %v", err)
	}

	pending := d.Start(ctx, file, password)
	clear(password) // Start copied it
	share, err := pending.Wait()
	if err != nil || share != fill(0x33) {
		t.Fatalf("Start.Wait = %x, %v", share, err)
	}
	select {
	case <-pending.Done():
	default:
		t.Errorf("Done not closed after Wait")
	}
	if got := pending.Progress(); got != 1 {
		t.Errorf("Progress = %v, want 1", got)
	}
	if n := d.derivations.Load(); n != 1 {
		t.Errorf("derivations = %d, want 1", n)
	}

	bad := d.Start(ctx, []byte("short"), []byte("x"))
	if _, err := bad.Wait(); !errors.Is(err, ErrNotShareFile) {
		t.Errorf("Start on a bad file: err = %v, want ErrNotShareFile", err)
	}
}

func TestDecryptFiles(t *testing.T) {
	d := newDeriver(fastIterations)
	ctx := context.Background()
	mk := func(b byte, pw string) []byte {
		file, err := encrypt(fill(b), []byte(pw), [8]byte{b}, fastIterations)
		if err != nil {
			t.Fatal(err)
		}
		return file
	}
	one, two := mk(1, "pw-1"), mk(2, "pw-2")
	badMagic := bytes.Clone(one)
	badMagic[0] = 'X'
	files := []File{
		{Path: "one.pbe", Data: one, Password: []byte("pw-1")},
		{Path: "two.pbe", Data: two, Password: []byte("pw-2")},
		{Path: "typo.pbe", Data: two, Password: []byte("pw-3")},
		{Path: "magic.pbe", Data: badMagic, Password: []byte("pw-1")},
		{Data: one, Password: []byte("pw-1")}, // the same file again, no path
	}

	var mu sync.Mutex
	last := map[int]float64{}
	shares, errs := d.DecryptFiles(ctx, files, 0, func(i int, f float64) {
		mu.Lock()
		defer mu.Unlock()
		last[i] = f
	})

	if errs[0] != nil || shares[0] != fill(1) {
		t.Errorf("file 0: %x, %v", shares[0], errs[0])
	}
	if errs[1] != nil || shares[1] != fill(2) {
		t.Errorf("file 1: %x, %v", shares[1], errs[1])
	}
	if !errors.Is(errs[2], ErrWrongPassword) || !strings.Contains(errs[2].Error(), "typo.pbe") {
		t.Errorf("file 2: err = %v, want ErrWrongPassword naming typo.pbe", errs[2])
	}
	if !errors.Is(errs[3], ErrNotShareFile) || !strings.Contains(errs[3].Error(), "magic.pbe") {
		t.Errorf("file 3: err = %v, want ErrNotShareFile naming magic.pbe", errs[3])
	}
	if errs[4] != nil || shares[4] != fill(1) {
		t.Errorf("file 4: %x, %v", shares[4], errs[4])
	}
	if shares[2] != ([32]byte{}) || shares[3] != ([32]byte{}) {
		t.Errorf("failed files returned share bytes")
	}
	for _, i := range []int{0, 1, 2, 4} {
		if last[i] != 1 {
			t.Errorf("last progress of file %d = %v, want 1", i, last[i])
		}
	}
	// one.pbe twice shares a derivation; the bad magic derives nothing.
	if n := d.derivations.Load(); n != 3 {
		t.Errorf("derivations = %d, want 3", n)
	}
	for _, err := range errs {
		if err != nil && strings.Contains(err.Error(), "pw-") {
			t.Errorf("error %q contains a password", err)
		}
	}
}

func TestDecryptFilesCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	file, err := encrypt(fill(1), []byte("pw"), [8]byte{1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, errs := DecryptFiles(ctx, []File{{Path: "a.pbe", Data: file, Password: []byte("pw")}}, 1, nil)
	if !errors.Is(errs[0], context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", errs[0])
	}
}

func TestDecryptFilesEmpty(t *testing.T) {
	shares, errs := DecryptFiles(context.Background(), nil, 0, nil)
	if len(shares) != 0 || len(errs) != 0 {
		t.Errorf("got %d shares and %d errors for no files", len(shares), len(errs))
	}
}
