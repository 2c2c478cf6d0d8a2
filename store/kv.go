package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ipledger/ipledger"
)

// The KV implementations of this package (the working state, View and MemKV) share these
// rules, beyond ipledger.KV's: an empty key is never stored (Set and Delete reject it, Get
// finds nothing), Get returns a copy the caller owns, Iterate hands fn copies too, an empty
// start is the same as nil, and a range with start >= end or an empty end is empty.

var errEmptyKVKey = errors.New("empty key")

// checkSet validates the arguments of Set.
func checkSet(key, value []byte) error {
	if len(key) == 0 {
		return errEmptyKVKey
	}
	if value == nil {
		return fmt.Errorf("nil value for key %x", key)
	}
	return nil
}

// emptyRange reports whether [start, end) holds no key.
func emptyRange(start, end []byte) bool {
	return end != nil && (len(end) == 0 || (len(start) > 0 && bytes.Compare(start, end) >= 0))
}

// copyPair returns copies of k and v in one allocation.
func copyPair(k, v []byte) ([]byte, []byte) {
	buf := make([]byte, len(k)+len(v))
	copy(buf, k)
	copy(buf[len(k):], v)
	return buf[:len(k):len(k)], buf[len(k):]
}

// workingKV is the working state as an ipledger.KV: the changes since the last Commit over
// the committed values.
type workingKV struct{ s *Store }

var _ ipledger.KV = workingKV{}

func (w workingKV) Get(key []byte) ([]byte, error) {
	if w.s.shut.Load() {
		return nil, fmt.Errorf("get: %w", ErrClosed)
	}
	if len(key) == 0 {
		return nil, nil
	}
	if e, ok := w.s.dirty[string(key)]; ok {
		return bytes.Clone(e.value), nil
	}
	version := uint64(w.s.Version())
	if version == 0 {
		return nil, nil
	}
	// The tree in memory knows most absent keys without a read.
	if w.s.t.absent(sha256.Sum256(key)) {
		return nil, nil
	}
	// One iterator serves the working Gets until the next Commit: it sees the committed
	// versions, which is all they read from disk.
	if w.s.workIter == nil {
		it, err := w.s.db.NewIter(nil)
		if err != nil {
			return nil, fmt.Errorf("get %x: %w", key, err)
		}
		w.s.workIter = it
	}
	return seekValue(w.s.workIter, key, version)
}

func (w workingKV) Set(key, value []byte) error {
	if err := checkSet(key, value); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	if w.s.shut.Load() {
		return fmt.Errorf("set: %w", ErrClosed)
	}
	w.s.write(key, bytes.Clone(value))
	return nil
}

func (w workingKV) Delete(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("delete: %w", errEmptyKVKey)
	}
	if w.s.shut.Load() {
		return fmt.Errorf("delete: %w", ErrClosed)
	}
	w.s.write(key, nil)
	return nil
}

// write records a change; value nil deletes.
func (s *Store) write(key, value []byte) {
	e, ok := s.dirty[string(key)]
	if !ok {
		e = &dirtyEntry{key: string(key)}
		s.dirty[e.key] = e
		if n := len(s.order); n > 0 && s.order[n-1].key >= e.key {
			s.inOrder = false
		}
		s.order = append(s.order, e)
	}
	e.value = value
	if !e.queued {
		e.queued = true
		s.queue = append(s.queue, e)
	}
}

// Iterate merges the working changes in the range, collected and sorted first (the node
// iterates its in-memory copy of the state, not this), with the committed values.
func (w workingKV) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	if w.s.shut.Load() {
		return fmt.Errorf("iterate: %w", ErrClosed)
	}
	if emptyRange(start, end) {
		return nil
	}
	var changes []*dirtyEntry
	for k, e := range w.s.dirty {
		if k >= string(start) && (end == nil || k < string(end)) {
			changes = append(changes, e)
		}
	}
	slices.SortFunc(changes, func(a, b *dirtyEntry) int {
		if reverse {
			return strings.Compare(b.key, a.key)
		}
		return strings.Compare(a.key, b.key)
	})
	// before reports whether a change to key a comes before committed key b.
	before := func(a string, b []byte) bool {
		if reverse {
			return a > string(b)
		}
		return a < string(b)
	}
	i, stopped := 0, false
	emit := func(e *dirtyEntry) bool {
		if e.value == nil {
			return true
		}
		if !fn(copyPair([]byte(e.key), e.value)) {
			stopped = true
			return false
		}
		return true
	}
	err := iterateAt(w.s.db, uint64(w.s.Version()), start, end, reverse, func(k, v []byte) bool {
		for i < len(changes) && (before(changes[i].key, k) || changes[i].key == string(k)) {
			e := changes[i]
			i++
			if !emit(e) {
				return false
			}
			if e.key == string(k) {
				return true // the change replaces the committed value
			}
		}
		if !fn(k, v) {
			stopped = true
			return false
		}
		return true
	})
	if err != nil || stopped {
		return err
	}
	for ; i < len(changes); i++ {
		if !emit(changes[i]) {
			break
		}
	}
	return nil
}

// View is an immutable snapshot of one committed version, from [Store.ReadAt]. It is an
// ipledger.KV whose Set and Delete fail with ErrReadOnly, and it is safe for concurrent use.
// The zero View is not usable.
type View struct {
	s       *Store
	version int64 // 0: the empty map before the first commit
	root    slot
}

var _ ipledger.KV = (*View)(nil)

// Version returns the view's version, 0 for the empty store.
func (v *View) Version() int64 { return v.version }

// Hash returns the view's root hash.
func (v *View) Hash() []byte {
	h := v.root.subtreeHash()
	return h[:]
}

// guard runs fn with the view's version pinned against pruning and the store held open.
func (v *View) guard(fn func() error) error {
	if err := v.s.pin(v.version); err != nil {
		return err
	}
	defer v.s.unpin(v.version)
	v.s.readers.RLock()
	defer v.s.readers.RUnlock()
	if v.s.shut.Load() {
		return ErrClosed
	}
	return fn()
}

// Get returns a copy of key's value at the view's version, or nil.
func (v *View) Get(key []byte) (value []byte, err error) {
	if v.version == 0 || len(key) == 0 {
		return nil, nil
	}
	err = v.guard(func() (err error) {
		value, err = getAt(v.s.db, key, uint64(v.version))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get %x at %d: %w", key, v.version, err)
	}
	return value, nil
}

// Set fails with ErrReadOnly.
func (v *View) Set(key, _ []byte) error { return fmt.Errorf("set %x: %w", key, ErrReadOnly) }

// Delete fails with ErrReadOnly.
func (v *View) Delete(key []byte) error { return fmt.Errorf("delete %x: %w", key, ErrReadOnly) }

// Iterate is ipledger.KV's Iterate at the view's version.
func (v *View) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	if v.version == 0 {
		return nil
	}
	return v.guard(func() error { return iterateAt(v.s.db, uint64(v.version), start, end, reverse, fn) })
}

// Prove returns key's value with a membership proof, or nil with a non-membership proof,
// against the view's Hash.
func (v *View) Prove(key []byte) (value []byte, proof *Proof, err error) {
	if len(key) == 0 {
		return nil, nil, fmt.Errorf("prove: %w", errEmptyKVKey)
	}
	if v.version == 0 {
		return nil, &Proof{}, nil
	}
	kh := sha256.Sum256(key)
	err = v.guard(func() error {
		var err error
		if value, err = getAt(v.s.db, key, uint64(v.version)); err != nil {
			return err
		}
		load := func(s *slot, d int, path *Hash) (*node, error) { return readNode(v.s.db, s, d, path) }
		if proof, err = prove(v.root, &kh, load); err != nil {
			return err
		}
		// The value table and the tree must agree.
		l := proof.Leaf
		present := l != nil && l.KeyHash == kh
		if present != (value != nil) || (present && sha256.Sum256(value) != l.ValueHash) {
			return fmt.Errorf("%w: value table and tree disagree on %x", errCorrupt, key)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("prove %x at %d: %w", key, v.version, err)
	}
	return value, proof, nil
}
