// Package kvbuffer buffers writes over an ipledger.KV in an ordered in-memory tree. Reads,
// seeks and iteration see the buffered writes merged with the base; nothing reaches the
// base until FlushTo. The ledger buffers each transaction this way, so a transaction that
// fails part-way changes nothing, and the node buffers each block over the last committed
// state snapshot, so the state machine never iterates the authenticated tree's unsaved
// nodes.
package kvbuffer

import (
	"github.com/google/btree"

	"github.com/ipledger/ipledger"
)

// Buffer is an ipledger.KV that keeps writes in memory over a base KV. It is not safe for
// concurrent use. The zero Buffer is not usable; use New.
type Buffer struct {
	base   ipledger.KV
	writes *btree.BTreeG[entry]
}

type entry struct {
	key   string
	value []byte // nil: deleted
}

func entryLess(a, b entry) bool { return a.key < b.key }

// New returns an empty buffer over base.
func New(base ipledger.KV) *Buffer {
	return &Buffer{base: base, writes: btree.NewG(16, entryLess)}
}

// Len returns the number of buffered writes (deletions included).
func (o *Buffer) Len() int { return o.writes.Len() }

// Reset drops every buffered write.
func (o *Buffer) Reset() { o.writes.Clear(false) }

// Get returns the buffered value of key, or the base's.
func (o *Buffer) Get(key []byte) ([]byte, error) {
	if e, ok := o.writes.Get(entry{key: string(key)}); ok {
		return e.value, nil
	}
	return o.base.Get(key)
}

// Set buffers a write.
func (o *Buffer) Set(key, value []byte) error {
	o.writes.ReplaceOrInsert(entry{key: string(key), value: value})
	return nil
}

// Delete buffers a deletion.
func (o *Buffer) Delete(key []byte) error {
	o.writes.ReplaceOrInsert(entry{key: string(key)})
	return nil
}

// Iterate merges the buffered writes with the base, with ipledger.KV's semantics. The
// buffered side is read lazily, one O(log n) seek per entry, so a seek that stops after one
// key costs the same however many writes are buffered.
func (o *Buffer) Iterate(start, end []byte, reverse bool, fn func(key, value []byte) bool) error {
	cur := newCursor(o.writes, start, end, reverse)
	stopped := false
	// before reports whether buffered key k comes before base key b in iteration order.
	before := func(k string, b []byte) bool {
		if reverse {
			return k > string(b)
		}
		return k < string(b)
	}
	err := o.base.Iterate(start, end, reverse, func(k, v []byte) bool {
		for e, ok := cur.peek(); ok && (before(e.key, k) || e.key == string(k)); e, ok = cur.peek() {
			cur.next()
			if e.value != nil && !fn([]byte(e.key), e.value) {
				stopped = true
				return false
			}
			if e.key == string(k) {
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
	for e, ok := cur.peek(); ok; e, ok = cur.peek() {
		cur.next()
		if e.value != nil && !fn([]byte(e.key), e.value) {
			return nil
		}
	}
	return nil
}

// Floor returns the greatest key in [start, end) and its value, the buffered writes over
// the base (ipledger.Floorer).
func (o *Buffer) Floor(start, end []byte) (key, value []byte, err error) {
	for {
		var e entry
		buffered := false
		visit := func(x entry) bool {
			if end != nil && x.key >= string(end) {
				return true // end is exclusive
			}
			if start == nil || x.key >= string(start) {
				e, buffered = x, true
			}
			return false
		}
		if end == nil {
			o.writes.Descend(visit)
		} else {
			o.writes.DescendLessOrEqual(entry{key: string(end)}, visit)
		}
		bk, bv, err := ipledger.Floor(o.base, start, end)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case !buffered:
			return bk, bv, nil // no write in the range shadows the base
		case bk != nil && string(bk) > e.key:
			return bk, bv, nil // the base's key comes after every buffered one
		case e.value != nil:
			return []byte(e.key), e.value, nil
		}
		// The last buffered key is a deletion, shadowing the base's key if it is the
		// same: look below it.
		end = []byte(e.key)
	}
}

// cursor walks the buffered entries of a range one seek at a time.
type cursor struct {
	t          *btree.BTreeG[entry]
	start, end []byte
	reverse    bool
	pos        string // forward: next key ≥ pos; reverse: next key < pos
	bounded    bool   // reverse: pos is set (else: from the top)
	have       bool
	cur        entry
	done       bool
}

func newCursor(t *btree.BTreeG[entry], start, end []byte, reverse bool) *cursor {
	c := &cursor{t: t, start: start, end: end, reverse: reverse}
	if reverse {
		c.pos, c.bounded = string(end), end != nil
	} else {
		c.pos = string(start)
	}
	return c
}

func (c *cursor) peek() (entry, bool) {
	if c.have || c.done {
		return c.cur, c.have
	}
	found := false
	if c.reverse {
		visit := func(e entry) bool {
			if c.bounded && e.key >= c.pos {
				return true // the pivot itself: exclusive
			}
			if c.start != nil && e.key < string(c.start) {
				return false
			}
			c.cur, found = e, true
			return false
		}
		if c.bounded {
			c.t.DescendLessOrEqual(entry{key: c.pos}, visit)
		} else {
			c.t.Descend(visit)
		}
	} else {
		c.t.AscendGreaterOrEqual(entry{key: c.pos}, func(e entry) bool {
			if c.end == nil || e.key < string(c.end) {
				c.cur, found = e, true
			}
			return false
		})
	}
	c.have, c.done = found, !found
	return c.cur, found
}

// next consumes the peeked entry.
func (c *cursor) next() {
	if !c.have {
		return
	}
	c.have = false
	if c.reverse {
		c.pos, c.bounded = c.cur.key, true
	} else {
		c.pos = c.cur.key + "\x00"
	}
}

// FlushTo applies the buffered writes to dst in key order and keeps them buffered; dst is
// usually the base itself.
func (o *Buffer) FlushTo(dst ipledger.KV) error {
	var err error
	o.writes.Ascend(func(e entry) bool {
		if e.value == nil {
			err = dst.Delete([]byte(e.key))
		} else {
			err = dst.Set([]byte(e.key), e.value)
		}
		return err == nil
	})
	return err
}
