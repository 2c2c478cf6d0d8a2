package ledger

import (
	"bytes"

	"github.com/google/btree"

	"github.com/ipledger/ipledger"
)

// overlay buffers one transaction's writes over the block's state, so a transaction that
// fails part-way changes nothing: its writes are simply dropped. Reads see the buffered
// writes; flush applies them in key order.
type overlay struct {
	base   ipledger.KV
	writes *btree.BTreeG[entry]
}

type entry struct {
	key   string
	value []byte // nil: deleted
}

func entryLess(a, b entry) bool { return a.key < b.key }

func newOverlay(base ipledger.KV) *overlay {
	return &overlay{base: base, writes: btree.NewG(16, entryLess)}
}

func (o *overlay) Get(key []byte) ([]byte, error) {
	if e, ok := o.writes.Get(entry{key: string(key)}); ok {
		return e.value, nil
	}
	return o.base.Get(key)
}

func (o *overlay) Set(key, value []byte) error {
	o.writes.ReplaceOrInsert(entry{key: string(key), value: value})
	return nil
}

func (o *overlay) Delete(key []byte) error {
	o.writes.ReplaceOrInsert(entry{key: string(key)})
	return nil
}

// Iterate merges the buffered writes with the base state.
func (o *overlay) Iterate(start, end []byte, reverse bool, fn func(key, value []byte) bool) error {
	// Collect the buffered entries in range, in iteration order.
	var buf []entry
	visit := func(e entry) bool { buf = append(buf, e); return true }
	switch {
	case !reverse && start == nil && end == nil:
		o.writes.Ascend(visit)
	case !reverse && end == nil:
		o.writes.AscendGreaterOrEqual(entry{key: string(start)}, visit)
	case !reverse && start == nil:
		o.writes.AscendLessThan(entry{key: string(end)}, visit)
	case !reverse:
		o.writes.AscendRange(entry{key: string(start)}, entry{key: string(end)}, visit)
	default:
		visitDown := func(e entry) bool {
			if end != nil && e.key >= string(end) {
				return true // only the pivot itself: end is exclusive
			}
			if start != nil && e.key < string(start) {
				return false
			}
			buf = append(buf, e)
			return true
		}
		if end == nil {
			o.writes.Descend(visitDown)
		} else {
			o.writes.DescendLessOrEqual(entry{key: string(end)}, visitDown)
		}
	}
	i := 0
	stopped := false
	// before reports whether the buffered key k comes before base key b in iteration order.
	before := func(k string, b []byte) bool {
		c := bytes.Compare([]byte(k), b)
		if reverse {
			return c > 0
		}
		return c < 0
	}
	err := o.base.Iterate(start, end, reverse, func(k, v []byte) bool {
		for i < len(buf) && (before(buf[i].key, k) || buf[i].key == string(k)) {
			e := buf[i]
			i++
			same := e.key == string(k)
			if e.value != nil && !fn([]byte(e.key), e.value) {
				stopped = true
				return false
			}
			if same {
				return true // the buffered write shadows the base value
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
	for ; i < len(buf); i++ {
		if buf[i].value != nil && !fn([]byte(buf[i].key), buf[i].value) {
			return nil
		}
	}
	return nil
}

// flush writes the buffered changes to the base state.
func (o *overlay) flush() error {
	var err error
	o.writes.Ascend(func(e entry) bool {
		if e.value == nil {
			err = o.base.Delete([]byte(e.key))
		} else {
			err = o.base.Set([]byte(e.key), e.value)
		}
		return err == nil
	})
	return err
}
