package dkek

import (
	"context"
	"crypto/md5"
	"fmt"
	"testing"
)

// The benchmarks below feed scripts/bench-dkek.sh and docs/benchmarks.md.
// BenchmarkDeriveKey (in dkek_test.go) times one share key derivation with
// the real count of 10,000,000 iterations.

// BenchmarkMD5SumLoop is the baseline: a plain loop of crypto/md5.Sum over
// the 30,000,000 16-byte blocks of one share key derivation.
func BenchmarkMD5SumLoop(b *testing.B) {
	for b.Loop() {
		var digest [md5.Size]byte
		for range 3 * Iterations {
			digest = md5.Sum(digest[:])
		}
	}
}

// BenchmarkDecryptThreeFiles decrypts three share files with different
// salts in parallel through DecryptFiles, each with its own derivation.
func BenchmarkDecryptThreeFiles(b *testing.B) {
	ctx := context.Background()
	setup := NewDeriver()
	pending := make([]*Pending[[]byte], 3)
	for i := range pending {
		password := fmt.Appendf(nil, "benchmark password %d", i)
		pending[i] = setup.StartEncrypt(ctx, fill(byte(i+1)), password, [8]byte{byte(i + 1), 0xBE})
	}
	files := make([]File, len(pending))
	for i, p := range pending {
		data, err := p.Wait()
		if err != nil {
			b.Fatal(err)
		}
		files[i] = File{Path: fmt.Sprintf("share%d.pbe", i+1), Data: data, Password: fmt.Appendf(nil, "benchmark password %d", i)}
	}
	setup.Wipe()

	for b.Loop() {
		_, errs := DecryptFiles(ctx, files, 0, nil)
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
