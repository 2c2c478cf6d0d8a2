package store

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// sidePrefix starts every side-table key in Pebble.
var sidePrefix = []byte{spaceSide}

func sideKey(k []byte) []byte {
	out := make([]byte, 1+len(k))
	out[0] = spaceSide
	copy(out[1:], k)
	return out
}

// SideGet returns a copy of the side-table value of key, or nil if there is none.
func (s *Store) SideGet(key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("side get: %w", ErrClosed)
	}
	v, err := pebbleGet(s.db, sideKey(key))
	if err != nil {
		return nil, fmt.Errorf("side get %x: %w", key, err)
	}
	return v, nil
}

// SideIterate calls fn for each side-table key in [start, end), ascending or descending
// when reverse is set, until fn returns false; bounds behave as in ipledger.KV's Iterate.
// It reads one consistent snapshot. fn gets slices valid only during the call and may
// write side batches.
func (s *Store) SideIterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	return iterateSide(func(o *pebble.IterOptions) (*pebble.Iterator, error) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if s.closed {
			return nil, ErrClosed
		}
		return s.db.NewIter(o)
	}, start, end, reverse, fn)
}

// iterateSide walks the side-table keys in [start, end) of the iterators newIter makes
// (the live database's or a frozen image's), for Store.SideIterate and Frozen.SideIterate.
func iterateSide(newIter func(*pebble.IterOptions) (*pebble.Iterator, error), start, end []byte, reverse bool, fn func(k, v []byte) bool) (err error) {
	if emptyRange(start, end) {
		return nil
	}
	lower, upper := sidePrefix, prefixEnd(sidePrefix)
	if len(start) > 0 {
		lower = sideKey(start)
	}
	if end != nil {
		upper = sideKey(end)
	}
	it, err := newIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("side iterate: %w", err)
	}
	defer func() {
		if cerr := it.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("side iterate: %w", cerr)
		}
	}()
	next := it.Next
	valid := it.First()
	if reverse {
		next = it.Prev
		valid = it.Last()
	}
	for ; valid; valid = next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("side iterate: %w", err)
		}
		if !fn(it.Key()[len(sidePrefix):], v) {
			return nil
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("side iterate: %w", err)
	}
	return nil
}

// SideBatch collects side-table writes that Commit applies atomically. It is not safe for
// concurrent use. Keys and values passed in must not be modified until Commit.
type SideBatch struct {
	s *Store
	b *pebble.Batch // nil after Commit or Close
}

// NewSideBatch returns an empty side batch. Call Commit or Close.
func (s *Store) NewSideBatch() *SideBatch {
	return &SideBatch{s: s, b: s.take(&s.sideBatches)}
}

// Set stores value under key.
func (b *SideBatch) Set(key, value []byte) error {
	if err := checkSet(key, value); err != nil {
		return fmt.Errorf("side set: %w", err)
	}
	if b.b == nil {
		return fmt.Errorf("side set: %w", errBatchClosed)
	}
	return b.b.Set(sideKey(key), value, nil)
}

// Delete removes key; a missing key is not an error.
func (b *SideBatch) Delete(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("side delete: %w", errEmptyKVKey)
	}
	if b.b == nil {
		return fmt.Errorf("side delete: %w", errBatchClosed)
	}
	return b.b.Delete(sideKey(key), nil)
}

// DeleteRange removes every key in [start, end); both bounds must be given.
func (b *SideBatch) DeleteRange(start, end []byte) error {
	if len(start) == 0 || len(end) == 0 {
		return fmt.Errorf("side delete range: %w", errEmptyKVKey)
	}
	if b.b == nil {
		return fmt.Errorf("side delete range: %w", errBatchClosed)
	}
	if bytes.Compare(start, end) >= 0 {
		return nil
	}
	return b.b.DeleteRange(sideKey(start), sideKey(end), nil)
}

// Len returns the number of writes in the batch.
func (b *SideBatch) Len() int {
	if b.b == nil {
		return 0
	}
	return int(b.b.Count())
}

// Commit applies the batch atomically, fsynced if sync is set, and closes it.
func (b *SideBatch) Commit(sync bool) error {
	if b.b == nil {
		return fmt.Errorf("side commit: %w", errBatchClosed)
	}
	o := pebble.NoSync
	if sync {
		o = pebble.Sync
	}
	b.s.mu.RLock()
	defer b.s.mu.RUnlock()
	if b.s.closed {
		return fmt.Errorf("side commit: %w", ErrClosed)
	}
	err := b.b.Commit(o)
	b.close()
	if err != nil {
		return fmt.Errorf("side commit: %w", err)
	}
	return nil
}

// Close discards the batch if it was not committed. It is safe to call twice.
func (b *SideBatch) Close() {
	b.close()
}

func (b *SideBatch) close() {
	if b.b != nil {
		b.s.give(&b.s.sideBatches, b.b)
		b.b = nil
	}
}
