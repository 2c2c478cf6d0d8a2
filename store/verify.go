package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"
)

// Checking the values against the root.
//
// The value table (Get, Iterate, and so the node's in-memory state loaded at start) and
// the tree (the root, proofs) are separate records. A write to the database that changes a
// value record but not the tree — someone editing the database of a stopped node — would
// change every answer while the root, the app hash and the log stay as they were. A
// [RootHasher] recomputes the root of the values a reader saw from the hashing rules
// alone; when it differs from the version's root, [View.Mismatches] walks the tree and
// names the keys whose values it does not commit to.

// leafPair is a key hash and the hash of its leaf, H(0x00 ‖ key hash ‖ value hash): the
// hashing goroutines compute it while pairs are added, so that Root has only the inner
// nodes left to hash.
type leafPair struct{ kh, lh Hash }

// pairChunk is how many pairs a RootHasher hands to a hashing goroutine at once.
const pairChunk = 2048

// RootHasher computes the root hash of a set of (key, value) pairs from the hashing rules
// alone, without reading any tree record, hashing on other goroutines while pairs are
// added. Add each key of a map once, in any order, then call Root. It is not safe for
// concurrent use. The zero value is not usable; use NewRootHasher.
type RootHasher struct {
	keys, values [][]byte
	work         chan [2][][]byte
	wg           sync.WaitGroup
	mu           sync.Mutex
	leaves       []leafPair
	done         bool
}

// NewRootHasher returns a RootHasher and starts its hashing goroutines, one fewer than
// GOMAXPROCS (at least one): the caller's goroutine, reading the pairs, is the other. Call
// Root to stop them.
func NewRootHasher() *RootHasher {
	h := &RootHasher{work: make(chan [2][][]byte, 4)}
	for range max(1, runtime.GOMAXPROCS(0)-1) {
		h.wg.Go(func() {
			var mine []leafPair
			for c := range h.work {
				for i, k := range c[0] {
					kh, vh := sha256.Sum256(k), sha256.Sum256(c[1][i])
					mine = append(mine, leafPair{kh: kh, lh: hashLeaf(&kh, &vh)})
				}
			}
			h.mu.Lock()
			h.leaves = append(h.leaves, mine...)
			h.mu.Unlock()
		})
	}
	return h
}

// Add adds a pair. key and value must not change until Root returns.
func (h *RootHasher) Add(key, value []byte) {
	if h.keys == nil {
		h.keys, h.values = make([][]byte, 0, pairChunk), make([][]byte, 0, pairChunk)
	}
	h.keys, h.values = append(h.keys, key), append(h.values, value)
	if len(h.keys) == pairChunk {
		h.work <- [2][][]byte{h.keys, h.values}
		h.keys, h.values = nil, nil
	}
}

// Root waits for the hashing to finish and returns the root hash of the pairs added. It
// fails if two pairs have the same key hash (a key added twice). Add must not be called
// after it.
func (h *RootHasher) Root() (Hash, error) {
	if !h.done {
		if len(h.keys) > 0 {
			h.work <- [2][][]byte{h.keys, h.values}
		}
		h.keys, h.values = nil, nil
		close(h.work)
		h.wg.Wait()
		h.done = true
		h.leaves = sortLeaves(h.leaves)
	}
	ls := h.leaves
	if len(ls) < 2 {
		return rootOf(ls, 0)
	}
	// The two halves of the root on two goroutines.
	split := splitAt(ls, 0)
	var l, r Hash
	var lerr, rerr error
	var wg sync.WaitGroup
	wg.Go(func() { l, lerr = rootOf(ls[:split], 1) })
	r, rerr = rootOf(ls[split:], 1)
	wg.Wait()
	if err := errors.Join(lerr, rerr); err != nil {
		return Hash{}, err
	}
	return hashInner(&l, &r), nil
}

// sortLeaves returns ls sorted by key hash: a counting sort on the first 16 bits, then each
// bucket (a handful of leaves) by comparison. It takes a tenth of the time of a comparison
// sort of the whole, which dominated the check of a large state.
func sortLeaves(ls []leafPair) []leafPair {
	if len(ls) < 1<<12 {
		slices.SortFunc(ls, func(a, b leafPair) int { return bytes.Compare(a.kh[:], b.kh[:]) })
		return ls
	}
	start := make([]int, 1<<16+1)
	for i := range ls {
		start[int(ls[i].kh[0])<<8|int(ls[i].kh[1])+1]++
	}
	for b := 1; b < len(start); b++ {
		start[b] += start[b-1]
	}
	out := make([]leafPair, len(ls))
	next := slices.Clone(start[:1<<16])
	for i := range ls {
		b := int(ls[i].kh[0])<<8 | int(ls[i].kh[1])
		out[next[b]] = ls[i]
		next[b]++
	}
	for b := range 1 << 16 {
		if bucket := out[start[b]:start[b+1]]; len(bucket) > 1 {
			slices.SortFunc(bucket, func(a, b leafPair) int { return bytes.Compare(a.kh[:], b.kh[:]) })
		}
	}
	return out
}

// splitAt returns the index of the first of ls (sorted by key hash, sharing the first
// depth bits) whose bit depth is 1.
func splitAt(ls []leafPair, depth int) int {
	return sort.Search(len(ls), func(i int) bool { return ls[i].kh[depth/8]&(0x80>>(depth%8)) != 0 })
}

// rootOf hashes the subtree at depth holding exactly ls, sorted by key hash.
func rootOf(ls []leafPair, depth int) (Hash, error) {
	switch len(ls) {
	case 0:
		return emptyHash, nil
	case 1:
		return ls[0].lh, nil
	}
	if depth >= 256 {
		return Hash{}, fmt.Errorf("two values for key hash %x", ls[0].kh)
	}
	split := splitAt(ls, depth)
	l, err := rootOf(ls[:split], depth+1)
	if err != nil {
		return Hash{}, err
	}
	r, err := rootOf(ls[split:], depth+1)
	if err != nil {
		return Hash{}, err
	}
	return hashInner(&l, &r), nil
}

// Mismatch is a key on which a version's tree and the values a reader saw disagree.
type Mismatch struct {
	// Key is the key, or nil when only its hash is known: the tree has it and the values
	// do not.
	Key     []byte
	KeyHash Hash
	// Value is the value the reader saw, nil if none.
	Value []byte
	// InTree reports whether the tree has the key; InValues whether the reader saw it. Both
	// are set when the values differ.
	InTree, InValues bool
}

// String describes the mismatch.
func (m Mismatch) String() string {
	k := fmt.Sprintf("%q", m.Key)
	if m.Key == nil {
		k = fmt.Sprintf("with hash %x", m.KeyHash)
	}
	switch {
	case m.InTree && m.InValues:
		return fmt.Sprintf("key %s has a value the root does not commit to", k)
	case m.InTree:
		return fmt.Sprintf("key %s is missing from the values, though the root commits to it", k)
	}
	return fmt.Sprintf("key %s has a value, though the root commits to its absence", k)
}

// Mismatches walks the view's tree and compares every leaf with the pairs added to h
// (after its Root), returning at most limit mismatches, those with known keys first, in
// key order. Keys known only by hash are looked up by iterating the view's values once.
// A tree record that does not hash as its parent or the root says is an error: the tree
// itself was changed. It reads the whole tree: meant for the slow path after Root differed
// from the view's Hash.
func (v *View) Mismatches(h *RootHasher, limit int) ([]Mismatch, error) {
	if !h.done {
		if _, err := h.Root(); err != nil {
			return nil, err
		}
	}
	var out []Mismatch
	ls := h.leaves
	i := 0 // next of ls not yet matched
	emit := func(m Mismatch) bool {
		out = append(out, m)
		return len(out) < limit
	}
	// leaf is called with the tree's leaves in key hash order; it returns false to stop.
	leaf := func(kh, lh *Hash) bool {
		for i < len(ls) && bytes.Compare(ls[i].kh[:], kh[:]) < 0 {
			if !emit(Mismatch{KeyHash: ls[i].kh, InValues: true}) {
				return false
			}
			i++
		}
		if i < len(ls) && ls[i].kh == *kh {
			i++
			if ls[i-1].lh != *lh {
				return emit(Mismatch{KeyHash: *kh, InTree: true, InValues: true})
			}
			return true
		}
		return emit(Mismatch{KeyHash: *kh, InTree: true})
	}
	err := v.guard(func() error {
		load := func(s *slot, d int, path *Hash) (*node, error) { return readNode(v.s.db, s, d, path) }
		_, err := walkLeaves(v.root, 0, Hash{}, load, leaf)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("walk tree at %d: %w", v.version, err)
	}
	for ; i < len(ls) && len(out) < limit; i++ {
		out = append(out, Mismatch{KeyHash: ls[i].kh, InValues: true})
	}
	if len(out) == 0 {
		return nil, nil
	}
	// Find the keys and values of the mismatches among the view's values.
	want := map[Hash]int{}
	for j := range out {
		want[out[j].KeyHash] = j
	}
	err = v.Iterate(nil, nil, false, func(k, val []byte) bool {
		if j, ok := want[sha256.Sum256(k)]; ok {
			out[j].Key, out[j].Value = k, val
			out[j].InValues = true
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b Mismatch) int {
		switch {
		case a.Key == nil && b.Key == nil:
			return 0
		case a.Key == nil:
			return 1
		case b.Key == nil:
			return -1
		}
		return bytes.Compare(a.Key, b.Key)
	})
	return out, nil
}

// walkLeaves calls leaf with the key hash and leaf hash of every leaf under slot s (a
// subtree at nibble depth d under path) in key hash order, reading nodes with load, until
// leaf returns false; it returns false then.
func walkLeaves(s slot, d int, path Hash, load func(*slot, int, *Hash) (*node, error), leaf func(kh, lh *Hash) bool) (bool, error) {
	switch s.kind {
	case kindEmpty:
		return true, nil
	case kindLeaf:
		return leaf(&s.kh, &s.hash), nil
	}
	if d > maxDepth {
		return false, fmt.Errorf("%w: tree deeper than 256 bits", errCorrupt)
	}
	n, err := load(&s, d, &path)
	if err != nil {
		return false, err
	}
	for j := range 16 {
		c := n.slot(j)
		if c.kind == kindEmpty {
			continue
		}
		more, err := walkLeaves(c, d+1, withNibble(path, d, j), load, leaf)
		if err != nil || !more {
			return more, err
		}
	}
	return true, nil
}
