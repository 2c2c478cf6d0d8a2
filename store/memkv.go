package store

import (
	"bytes"
	"fmt"

	"github.com/google/btree"

	"github.com/ipledger/ipledger"
)

// MemKV is an in-memory ipledger.KV, sorted like the state tree and with exactly the same
// semantics as the Store's working tree, for ledger tests and the importer's dry runs. The
// zero value is not usable; use NewMemKV. It is not safe for concurrent use, and Iterate's
// fn must not write to it.
type MemKV struct {
	t *btree.BTreeG[memItem]
}

type memItem struct{ key, value []byte }

func memLess(a, b memItem) bool { return bytes.Compare(a.key, b.key) < 0 }

var _ ipledger.KV = (*MemKV)(nil)

// NewMemKV returns an empty MemKV.
func NewMemKV() *MemKV {
	return &MemKV{t: btree.NewG(32, memLess)}
}

// Len returns the number of keys.
func (m *MemKV) Len() int { return m.t.Len() }

// Get returns a copy of key's value, or nil if there is none.
func (m *MemKV) Get(key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, nil
	}
	it, ok := m.t.Get(memItem{key: key})
	if !ok {
		return nil, nil
	}
	return bytes.Clone(it.value), nil
}

// Set stores value under key.
func (m *MemKV) Set(key, value []byte) error {
	if err := checkSet(key, value); err != nil {
		return fmt.Errorf("set: %w", err)
	}
	m.t.ReplaceOrInsert(memItem{key: key, value: value})
	return nil
}

// Delete removes key; deleting a missing key is not an error.
func (m *MemKV) Delete(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("delete: %w", errEmptyKVKey)
	}
	m.t.Delete(memItem{key: key})
	return nil
}

// Floor returns the greatest key in [start, end) and its value (ipledger.Floorer); the
// slices are the stored ones and must not be modified.
func (m *MemKV) Floor(start, end []byte) (key, value []byte, err error) {
	if emptyRange(start, end) {
		return nil, nil, nil
	}
	visit := func(it memItem) bool {
		if end != nil && bytes.Equal(it.key, end) {
			return true // end is exclusive
		}
		if len(start) == 0 || bytes.Compare(it.key, start) >= 0 {
			key, value = it.key, it.value
		}
		return false
	}
	if end == nil {
		m.t.Descend(visit)
	} else {
		m.t.DescendLessOrEqual(memItem{key: end}, visit)
	}
	return key, value, nil
}

var _ ipledger.Floorer = (*MemKV)(nil)

// Iterate calls fn for each key in [start, end), ascending or descending when reverse is
// set, until fn returns false.
func (m *MemKV) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	if emptyRange(start, end) {
		return nil
	}
	visit := func(it memItem) bool { return fn(copyPair(it.key, it.value)) }
	if !reverse {
		switch {
		case len(start) == 0 && end == nil:
			m.t.Ascend(visit)
		case end == nil:
			m.t.AscendGreaterOrEqual(memItem{key: start}, visit)
		case len(start) == 0:
			m.t.AscendLessThan(memItem{key: end}, visit)
		default:
			m.t.AscendRange(memItem{key: start}, memItem{key: end}, visit)
		}
		return nil
	}
	below := func(it memItem) bool {
		if len(start) > 0 && bytes.Compare(it.key, start) < 0 {
			return false
		}
		return visit(it)
	}
	if end == nil {
		m.t.Descend(below)
		return nil
	}
	m.t.DescendLessOrEqual(memItem{key: end}, func(it memItem) bool {
		if bytes.Equal(it.key, end) {
			return true // end is exclusive
		}
		return below(it)
	})
	return nil
}
