package store

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	corestore "cosmossdk.io/core/store"
	"github.com/cockroachdb/pebble/v2"
	dbm "github.com/cosmos/iavl/db"
)

// Errors of the iavl database adapter, as the cosmossdk.io/core/store contracts describe them.
var (
	errClosed      = errors.New("store is closed")
	errBatchClosed = errors.New("batch has been written or closed")
	errEmptyKey    = errors.New("key cannot be empty")
	errNilValue    = errors.New("value cannot be nil")
)

// maxBatchPrealloc bounds the buffer a batch preallocates. iavl asks for its flush threshold,
// which Open sets to "never flush" so that one SaveVersion is one atomic Pebble batch.
const maxBatchPrealloc = 1 << 20

// prefixDB is the iavl database (github.com/cosmos/iavl/db.DB) on one key prefix of the
// node's Pebble database. iavl sees its own key space; every key gets prefix on the way in
// and loses it on the way out.
type prefixDB struct {
	prefix []byte
	upper  []byte // first key after the prefix's range

	mu     sync.RWMutex // guards closed against a concurrent Close
	closed bool
	db     *pebble.DB

	noSync atomic.Bool // WriteSync writes without fsync, see setNoSync
}

var _ dbm.DB = (*prefixDB)(nil)

func newPrefixDB(db *pebble.DB, prefix []byte) *prefixDB {
	return &prefixDB{db: db, prefix: prefix, upper: prefixEnd(prefix)}
}

func (p *prefixDB) key(k []byte) []byte {
	out := make([]byte, len(p.prefix)+len(k))
	copy(out, p.prefix)
	copy(out[len(p.prefix):], k)
	return out
}

// keyBufs recycles the buffers of prefixed keys that Pebble only reads during a call.
var keyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64); return &b }}

// Get returns a copy of the value of key, or nil if there is none.
func (p *prefixDB) Get(key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, errEmptyKey
	}
	buf := keyBufs.Get().(*[]byte)
	defer keyBufs.Put(buf)
	*buf = append(append((*buf)[:0], p.prefix...), key...)
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return nil, errClosed
	}
	return pebbleGet(p.db, *buf)
}

// Has reports whether key exists.
func (p *prefixDB) Has(key []byte) (bool, error) {
	v, err := p.Get(key)
	return v != nil, err
}

// Iterator returns an ascending iterator over [start, end) of the iavl key space.
func (p *prefixDB) Iterator(start, end []byte) (corestore.Iterator, error) {
	return p.newIterator(start, end, false)
}

// ReverseIterator returns a descending iterator over [start, end) of the iavl key space.
func (p *prefixDB) ReverseIterator(start, end []byte) (corestore.Iterator, error) {
	return p.newIterator(start, end, true)
}

func (p *prefixDB) newIterator(start, end []byte, reverse bool) (corestore.Iterator, error) {
	if (start != nil && len(start) == 0) || (end != nil && len(end) == 0) {
		return nil, errEmptyKey
	}
	if start != nil && end != nil && bytes.Compare(start, end) >= 0 {
		return &prefixIterator{start: start, end: end, reverse: reverse}, nil // empty domain
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return nil, errClosed
	}
	lower, upper := p.prefix, p.upper
	if start != nil {
		lower = p.key(start)
	}
	if end != nil {
		upper = p.key(end)
	}
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("new iterator: %w", err)
	}
	if reverse {
		it.Last()
	} else {
		it.First()
	}
	return &prefixIterator{it: it, prefixLen: len(p.prefix), start: start, end: end, reverse: reverse}, nil
}

// setNoSync makes WriteSync skip the fsync while on. The Store turns it on while pruning,
// whose writes need not be durable on their own.
func (p *prefixDB) setNoSync(on bool) { p.noSync.Store(on) }

// Close marks the adapter closed; the Pebble database itself belongs to the Store.
func (p *prefixDB) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// NewBatch returns a batch that is written atomically.
func (p *prefixDB) NewBatch() corestore.Batch { return p.NewBatchWithSize(0) }

// NewBatchWithSize returns a batch that is written atomically, preallocating up to size bytes.
func (p *prefixDB) NewBatchWithSize(size int) corestore.Batch {
	size = min(max(size, 0), maxBatchPrealloc)
	return &prefixBatch{p: p, b: p.db.NewBatchWithSize(size)}
}

// prefixIterator is a corestore.Iterator over a Pebble iterator. Unlike the interface's
// description, calling Next, Key or Value on an exhausted iterator does not panic: Next does
// nothing and Key and Value return nil.
type prefixIterator struct {
	it         *pebble.Iterator
	prefixLen  int
	start, end []byte
	reverse    bool
	err        error
}

func (i *prefixIterator) Domain() (start, end []byte) { return i.start, i.end }

func (i *prefixIterator) Valid() bool { return i.it != nil && i.err == nil && i.it.Valid() }

func (i *prefixIterator) Next() {
	if !i.Valid() {
		return
	}
	if i.reverse {
		i.it.Prev()
	} else {
		i.it.Next()
	}
}

// Key returns a copy of the current key, without the prefix.
func (i *prefixIterator) Key() []byte {
	if !i.Valid() {
		return nil
	}
	return bytes.Clone(i.it.Key()[i.prefixLen:])
}

// Value returns a copy of the current value.
func (i *prefixIterator) Value() []byte {
	if !i.Valid() {
		return nil
	}
	v, err := i.it.ValueAndErr()
	if err != nil {
		i.err = err
		return nil
	}
	return bytes.Clone(v)
}

func (i *prefixIterator) Error() error {
	if i.err != nil {
		return i.err
	}
	if i.it == nil {
		return nil
	}
	return i.it.Error()
}

func (i *prefixIterator) Close() error {
	if i.it == nil {
		return nil
	}
	err := i.it.Close()
	i.it = nil
	return err
}

// prefixBatch is a corestore.Batch over one Pebble batch.
type prefixBatch struct {
	p   *prefixDB
	b   *pebble.Batch // nil once written or closed
	buf []byte        // the prefixed key; Pebble copies it into the batch
}

func (b *prefixBatch) key(k []byte) []byte {
	b.buf = append(append(b.buf[:0], b.p.prefix...), k...)
	return b.buf
}

func (b *prefixBatch) Set(key, value []byte) error {
	switch {
	case b.b == nil:
		return errBatchClosed
	case len(key) == 0:
		return errEmptyKey
	case value == nil:
		return errNilValue
	}
	return b.b.Set(b.key(key), value, nil)
}

func (b *prefixBatch) Delete(key []byte) error {
	switch {
	case b.b == nil:
		return errBatchClosed
	case len(key) == 0:
		return errEmptyKey
	}
	return b.b.Delete(b.key(key), nil)
}

func (b *prefixBatch) Write() error { return b.write(pebble.NoSync) }

func (b *prefixBatch) WriteSync() error {
	if b.p.noSync.Load() {
		return b.write(pebble.NoSync)
	}
	return b.write(pebble.Sync)
}

func (b *prefixBatch) write(o *pebble.WriteOptions) error {
	if b.b == nil {
		return errBatchClosed
	}
	b.p.mu.RLock()
	defer b.p.mu.RUnlock()
	if b.p.closed {
		return errClosed
	}
	if err := b.b.Commit(o); err != nil {
		return fmt.Errorf("commit batch: %w", err)
	}
	return b.Close()
}

func (b *prefixBatch) Close() error {
	if b.b == nil {
		return nil
	}
	err := b.b.Close()
	b.b = nil
	return err
}

func (b *prefixBatch) GetByteSize() (int, error) {
	if b.b == nil {
		return 0, errBatchClosed
	}
	return b.b.Len(), nil
}

// pebbleGet returns a copy of key's value, or nil if there is none.
func pebbleGet(db *pebble.DB, key []byte) ([]byte, error) {
	v, closer, err := db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	out := bytes.Clone(v)
	if out == nil {
		out = []byte{}
	}
	if err := closer.Close(); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	return out, nil
}

// prefixEnd returns the first key after every key that starts with prefix, or nil if there
// is none (a prefix of only 0xff bytes).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
