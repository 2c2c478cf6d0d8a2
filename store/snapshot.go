package store

import (
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Frozen is a consistent, read-only image of the whole database at one moment, from
// [Store.Freeze]: the state at the version that was the last committed one then, and the
// side tables exactly as they were, whatever commits and side writes follow. A node writes
// a state-sync snapshot from it in the background while blocks go on. It is safe for
// concurrent use.
//
// A Frozen holds the Store open: [Store.Close] waits until it is closed, so whoever freezes
// must close it promptly when the store is shutting down. Its methods never wait for the
// Store.
type Frozen struct {
	s       *Store
	snap    *pebble.Snapshot
	version int64
	root    slot
	once    sync.Once
}

// Freeze returns an image of the last committed version and the side tables as they are
// now. Side data written after that version's Commit (the next block's, if a block is
// being committed concurrently) may be in the image; a caller that freezes on the goroutine
// that commits, right after Commit, gets exactly the side data of the frozen version.
// Close the Frozen when done.
func (s *Store) Freeze() (*Frozen, error) {
	s.readers.RLock() // released by Frozen.Close
	s.mu.RLock()
	version, root, closed := s.version, s.root, s.closed
	var snap *pebble.Snapshot
	if !closed {
		snap = s.db.NewSnapshot()
	}
	s.mu.RUnlock()
	if closed {
		s.readers.RUnlock()
		return nil, fmt.Errorf("freeze: %w", ErrClosed)
	}
	return &Frozen{s: s, snap: snap, version: version, root: root}, nil
}

// Version returns the frozen state's version, 0 if the store had none.
func (f *Frozen) Version() int64 { return f.version }

// Hash returns the frozen state's root hash.
func (f *Frozen) Hash() []byte {
	h := f.root.subtreeHash()
	return h[:]
}

// Iterate calls fn for each key of the frozen state in [start, end), ascending or
// descending when reverse is set, until fn returns false; bounds behave as in
// ipledger.KV's Iterate. fn gets copies.
func (f *Frozen) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	if f.version == 0 {
		return nil
	}
	return iterateAt(f.snap, uint64(f.version), start, end, reverse, fn)
}

// SideGet returns a copy of the frozen side-table value of key, or nil.
func (f *Frozen) SideGet(key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, nil
	}
	v, closer, err := f.snap.Get(sideKey(key))
	if err == pebble.ErrNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("side get %x: %w", key, err)
	}
	out := append([]byte{}, v...)
	if err := closer.Close(); err != nil {
		return nil, fmt.Errorf("side get %x: %w", key, err)
	}
	return out, nil
}

// SideIterate calls fn for each frozen side-table key in [start, end), ascending, until fn
// returns false; bounds behave as in [Store.SideIterate]. fn gets slices valid only during
// the call.
func (f *Frozen) SideIterate(start, end []byte, fn func(k, v []byte) bool) error {
	return iterateSide(f.snap.NewIter, start, end, false, fn)
}

// Close releases the image; the Store may close after it. It is safe to call twice.
func (f *Frozen) Close() error {
	var err error
	f.once.Do(func() {
		err = f.snap.Close()
		f.s.readers.RUnlock()
	})
	if err != nil {
		return fmt.Errorf("close frozen image: %w", err)
	}
	return nil
}
