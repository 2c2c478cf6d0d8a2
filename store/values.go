package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The value table keeps every retained version of every key, ordered by the original key,
// for Get and Iterate at any version: the hash tree is ordered by key hash and holds only
// value hashes. A record is
//
//	'v' ‖ escape(key) ‖ 0x00 0x01 ‖ ^version(8, big-endian)  →  0x00 ‖ value, or 0x01 (deleted)
//
// escape writes every 0x00 byte as 0x00 0xff, so the escaped key and its 0x00 0x01 terminator
// sort exactly as the keys do and no key's prefix is another key's; the inverted version
// puts a key's newest record first. The value of a key at version v is its first record
// at or below v: a seek. A deletion writes a tombstone record, and only if the key existed.

// Tags of value records.
const (
	valueSet     = 0x00
	valueDeleted = 0x01
)

// valuePrefix appends the prefix of key's records to dst: 'v', the escaped key and its
// terminator.
func valuePrefix(dst, key []byte) []byte {
	dst = append(dst, spaceValue)
	for _, c := range key {
		if c == 0 {
			dst = append(dst, 0, 0xff)
		} else {
			dst = append(dst, c)
		}
	}
	return append(dst, 0, 1)
}

// ValueRecordPrefix returns the prefix of the database keys of key's records in the value
// table: 'v', key with each 0x00 written as 0x00 0xff, then 0x00 0x01; the inverted version
// follows, so the newest record comes first. It is for tools and tests that open a stopped
// node's database with Pebble and Comparer.
func ValueRecordPrefix(key []byte) []byte { return valuePrefix(nil, key) }

// valueKey returns the record key of key at version.
func valueKey(key []byte, version uint64) []byte {
	k := valuePrefix(make([]byte, 0, len(key)+12), key)
	return binary.BigEndian.AppendUint64(k, ^version)
}

// splitValueKey returns the prefix and version of a record key.
func splitValueKey(k []byte) (prefix []byte, version uint64, err error) {
	if len(k) < 11 || k[0] != spaceValue || k[len(k)-10] != 0 || k[len(k)-9] != 1 {
		return nil, 0, fmt.Errorf("%w: value key %x", errCorrupt, k)
	}
	return k[:len(k)-8], ^binary.BigEndian.Uint64(k[len(k)-8:]), nil
}

// unescapeKey returns the key of a record prefix.
func unescapeKey(p []byte) ([]byte, error) {
	p = p[1 : len(p)-2]
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == 0 {
			if i+1 >= len(p) || p[i+1] != 0xff {
				return nil, fmt.Errorf("%w: escaped key %x", errCorrupt, p)
			}
			i++
		}
		out = append(out, c)
	}
	return out, nil
}

// decodeValue returns a record's value (a copy), or nil for a tombstone.
func decodeValue(v []byte) ([]byte, error) {
	switch {
	case len(v) == 1 && v[0] == valueDeleted:
		return nil, nil
	case len(v) >= 1 && v[0] == valueSet:
		out := make([]byte, len(v)-1)
		copy(out, v[1:])
		return out, nil
	}
	return nil, fmt.Errorf("%w: value record %x", errCorrupt, v[:min(len(v), 8)])
}

// getAt returns key's value at version, nil if it has none.
func getAt(db *pebble.DB, key []byte, version uint64) (value []byte, err error) {
	if len(key) == 0 || version == 0 {
		return nil, nil
	}
	it, err := db.NewIter(nil)
	if err != nil {
		return nil, fmt.Errorf("get %x: %w", key, err)
	}
	value, err = seekValue(it, key, version)
	if cerr := it.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("get %x: %w", key, cerr)
	}
	return value, err
}

// seekValue returns key's value at version with the iterator it. The prefix seek lets
// Pebble's bloom filters, built over record prefixes (see comparer), skip the tables that
// hold no record of the key.
func seekValue(it *pebble.Iterator, key []byte, version uint64) ([]byte, error) {
	if !it.SeekPrefixGE(valueKey(key, version)) {
		if err := it.Error(); err != nil {
			return nil, fmt.Errorf("get %x: %w", key, err)
		}
		return nil, nil
	}
	raw, err := it.ValueAndErr()
	if err != nil {
		return nil, fmt.Errorf("get %x: %w", key, err)
	}
	return decodeValue(raw)
}

// comparer orders keys bytewise, like Pebble's default, and splits value records into
// their prefix (the key) and suffix (the version), so that bloom filters cover keys and
// a Get of an absent key reads no data block.
var comparer = func() *pebble.Comparer {
	c := *pebble.DefaultComparer
	c.Split = splitKey
	c.Name = "ipledger.values.v1"
	return &c
}()

// Comparer returns the Pebble comparer a store's database is opened with. A tool that
// opens the database directly (a test playing the insider who edits it) needs it.
func Comparer() *pebble.Comparer { return comparer }

// splitKey is comparer's Split: the version suffix of a value record, nothing of other keys.
func splitKey(k []byte) int {
	n := len(k) - 8
	if len(k) < 12 || k[0] != spaceValue || k[n-2] != 0 || k[n-1] != 1 {
		return len(k)
	}
	return n
}

// iterateAt is ipledger.KV's Iterate over the values at version.
func iterateAt(db pebble.Reader, version uint64, start, end []byte, reverse bool, fn func(k, v []byte) bool) (err error) {
	if emptyRange(start, end) || version == 0 {
		return nil
	}
	lower, upper := []byte{spaceValue}, []byte{spaceValue + 1}
	if len(start) > 0 {
		lower = valuePrefix(nil, start)
	}
	if end != nil {
		upper = valuePrefix(nil, end)
	}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("iterate: %w", err)
	}
	defer func() {
		if cerr := it.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("iterate: %w", cerr)
		}
	}()
	c := valueCursor{it: it, version: version, fn: fn}
	if reverse {
		err = c.backward()
	} else {
		err = c.forward()
	}
	if err != nil {
		return fmt.Errorf("iterate: %w", err)
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("iterate: %w", err)
	}
	return nil
}

type valueCursor struct {
	it      *pebble.Iterator
	version uint64
	fn      func(k, v []byte) bool
	prefix  []byte // the current key's record prefix (a copy)
	value   []byte // a copy of a record's value
	seek    []byte
}

var errStop = errors.New("stop")

// emit passes the current key with the record value raw to fn unless it is a
// tombstone; errStop ends the walk.
func (c *valueCursor) emit(raw []byte) error {
	if len(raw) == 1 && raw[0] == valueDeleted {
		return nil
	}
	if len(raw) < 1 || raw[0] != valueSet {
		return fmt.Errorf("%w: value record", errCorrupt)
	}
	k, err := unescapeKey(c.prefix)
	if err != nil {
		return err
	}
	k, v := copyPair(k, raw[1:])
	if !c.fn(k, v) {
		return errStop
	}
	return nil
}

// emitCurrent emits the record the iterator is on.
func (c *valueCursor) emitCurrent() error {
	raw, err := c.it.ValueAndErr()
	if err != nil {
		return err
	}
	return c.emit(raw)
}

// at reports whether the iterator is on a record of c.prefix, and its version.
func (c *valueCursor) at() (bool, uint64, error) {
	if !c.it.Valid() {
		return false, 0, nil
	}
	p, v, err := splitValueKey(c.it.Key())
	if err != nil {
		return false, 0, err
	}
	return bytes.Equal(p, c.prefix), v, nil
}

// seekVersion moves to the newest record of c.prefix at or below c.version.
func (c *valueCursor) seekVersion() (bool, error) {
	c.seek = binary.BigEndian.AppendUint64(append(c.seek[:0], c.prefix...), ^c.version)
	c.it.SeekGE(c.seek)
	ok, _, err := c.at()
	return ok, err
}

// forward walks keys upwards. A key's records run newest first, so the first record is
// the answer for the latest version; older versions of a key are skipped with a few Next
// calls, then with a seek past the key.
func (c *valueCursor) forward() error {
	c.it.First()
	for c.it.Valid() {
		p, v, err := splitValueKey(c.it.Key())
		if err != nil {
			return err
		}
		c.prefix = append(c.prefix[:0], p...)
		found := v <= c.version
		if !found {
			if found, err = c.seekVersion(); err != nil {
				return err
			}
		}
		if found {
			if err := c.emitCurrent(); err != nil {
				return stopped(err)
			}
		}
		// Skip the key's other records.
		for steps := 0; ; steps++ {
			ok, _, err := c.at()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if steps == 4 {
				c.seek = append(c.seek[:0], c.prefix...)
				c.seek[len(c.seek)-1] = 0x02
				c.it.SeekGE(c.seek)
				break
			}
			c.it.Next()
		}
	}
	return nil
}

// backward walks keys downwards. It arrives at a key's oldest record: one Prev tells
// whether it is the key's only one, else a seek finds the version and another skips the
// key.
func (c *valueCursor) backward() error {
	c.it.Last()
	for c.it.Valid() {
		p, v, err := splitValueKey(c.it.Key())
		if err != nil {
			return err
		}
		c.prefix = append(c.prefix[:0], p...)
		raw, err := c.it.ValueAndErr()
		if err != nil {
			return err
		}
		c.value = append(c.value[:0], raw...)
		c.it.Prev()
		ok, _, err := c.at()
		if err != nil {
			return err
		}
		if !ok {
			// The key's only record; the iterator is on the previous key already.
			if v <= c.version {
				if err := c.emit(c.value); err != nil {
					return stopped(err)
				}
			}
			continue
		}
		found, err := c.seekVersion()
		if err != nil {
			return err
		}
		if found {
			if err := c.emitCurrent(); err != nil {
				return stopped(err)
			}
		}
		c.it.SeekLT(c.prefix)
	}
	return nil
}

// stopped turns errStop into the end of a walk without error.
func stopped(err error) error {
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}
