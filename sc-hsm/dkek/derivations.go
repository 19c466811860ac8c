package dkek

// Derivations returns the number of key derivations the Deriver has
// started, including cancelled ones. A cache hit or a wait for a running
// derivation does not count, so callers and tests can check that a run
// derived each key once.
func (d *Deriver) Derivations() int64 {
	return d.derivations.Load()
}
