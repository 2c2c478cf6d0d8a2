package store

import (
	"bytes"
	"errors"
	"fmt"

	corestore "cosmossdk.io/core/store"
	"github.com/cosmos/iavl"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/ipledger/ipledger"
)

// The KV implementations of this package (the working tree, View and MemKV) share these
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

// treeReader is what the working tree and a snapshot have in common.
type treeReader interface {
	Get(key []byte) ([]byte, error)
	Iterator(start, end []byte, ascending bool) (corestore.Iterator, error)
}

func treeGet(t treeReader, key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, nil
	}
	v, err := t.Get(key)
	if err != nil {
		return nil, fmt.Errorf("get %x: %w", key, err)
	}
	return bytes.Clone(v), nil
}

func treeIterate(t treeReader, start, end []byte, reverse bool, fn func(k, v []byte) bool) (err error) {
	if emptyRange(start, end) {
		return nil
	}
	if len(start) == 0 {
		start = nil
	}
	it, err := t.Iterator(start, end, !reverse)
	if err != nil {
		return fmt.Errorf("iterate: %w", err)
	}
	defer func() {
		if cerr := it.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("iterate: %w", cerr)
		}
	}()
	for ; it.Valid(); it.Next() {
		if !fn(copyPair(it.Key(), it.Value())) {
			return nil
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("iterate: %w", err)
	}
	return nil
}

// workingKV is the working tree as an ipledger.KV.
type workingKV struct{ s *Store }

var _ ipledger.KV = workingKV{}

func (w workingKV) Get(key []byte) ([]byte, error) {
	if w.s.shut.Load() {
		return nil, fmt.Errorf("get: %w", ErrClosed)
	}
	return treeGet(w.s.tree, key)
}

func (w workingKV) Set(key, value []byte) error {
	if err := checkSet(key, value); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	if w.s.shut.Load() {
		return fmt.Errorf("set: %w", ErrClosed)
	}
	if _, err := w.s.tree.Set(key, value); err != nil {
		return fmt.Errorf("set %x: %w", key, err)
	}
	return nil
}

func (w workingKV) Delete(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("delete: %w", errEmptyKVKey)
	}
	if w.s.shut.Load() {
		return fmt.Errorf("delete: %w", ErrClosed)
	}
	if _, _, err := w.s.tree.Remove(key); err != nil {
		return fmt.Errorf("delete %x: %w", key, err)
	}
	return nil
}

func (w workingKV) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	if w.s.shut.Load() {
		return fmt.Errorf("iterate: %w", ErrClosed)
	}
	return treeIterate(w.s.tree, start, end, reverse, fn)
}

// View is an immutable snapshot of one committed version, from [Store.ReadAt]. It is an
// ipledger.KV whose Set and Delete fail with ErrReadOnly, and it is safe for concurrent use.
type View struct {
	s       *Store
	tree    *iavl.ImmutableTree // nil: the empty tree before the first commit
	version int64
	hash    []byte
}

var _ ipledger.KV = (*View)(nil)

// Version returns the view's version, 0 for the empty store.
func (v *View) Version() int64 { return v.version }

// Hash returns the view's root hash.
func (v *View) Hash() []byte { return bytes.Clone(v.hash) }

// Get returns a copy of key's value at the view's version, or nil.
func (v *View) Get(key []byte) (value []byte, err error) {
	if v.tree == nil {
		return nil, nil
	}
	err = v.guard(func() (err error) {
		value, err = treeGet(v.tree, key)
		return err
	})
	return value, err
}

// guard runs fn with the view's version pinned against pruning, and turns a panic of iavl
// (some of its proof code dereferences the result of a failed node read) into an error.
func (v *View) guard(fn func() error) (err error) {
	if err := v.s.pin(v.version); err != nil {
		return err
	}
	defer v.s.unpin(v.version)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read version %d: iavl panicked: %v", v.version, r)
		}
	}()
	return fn()
}

// Set fails with ErrReadOnly.
func (v *View) Set(key, _ []byte) error { return fmt.Errorf("set %x: %w", key, ErrReadOnly) }

// Delete fails with ErrReadOnly.
func (v *View) Delete(key []byte) error { return fmt.Errorf("delete %x: %w", key, ErrReadOnly) }

// Iterate is ipledger.KV's Iterate at the view's version.
func (v *View) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	if v.tree == nil {
		return nil
	}
	return v.guard(func() error { return treeIterate(v.tree, start, end, reverse, fn) })
}

// Prove returns key's value with a membership proof, or nil with a non-membership proof,
// against the view's Hash. An empty tree has no proofs.
func (v *View) Prove(key []byte) (value []byte, proof *ics23.CommitmentProof, err error) {
	if len(key) == 0 {
		return nil, nil, fmt.Errorf("prove: %w", errEmptyKVKey)
	}
	if v.tree == nil || v.tree.Size() == 0 {
		return nil, nil, fmt.Errorf("prove %x: no proofs in an empty tree", key)
	}
	err = v.guard(func() error {
		var err error
		if value, err = v.tree.Get(key); err != nil {
			return err
		}
		if value != nil {
			proof, err = v.tree.GetMembershipProof(key)
		} else {
			proof, err = v.tree.GetNonMembershipProof(key)
		}
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("prove %x: %w", key, err)
	}
	return bytes.Clone(value), proof, nil
}
