package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// seedStore returns a store with a few hundred keys committed in two versions.
func seedStore(tb testing.TB) *Store {
	s := openTest(tb, tb.TempDir(), Options{NoSync: true})
	for v := range 2 {
		for i := range 300 {
			if err := s.Working().Set(fmt.Appendf(nil, "key%d", i*(v+1)), fmt.Appendf(nil, "v%d", i)); err != nil {
				tb.Fatal(err)
			}
		}
		if _, _, err := s.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// closeSeed closes the seed store before fuzzing starts: Pebble's background goroutines
// would run instrumented code while the fuzzer measures coverage, and stall it.
func closeSeed(f *testing.F, s *Store) {
	if err := s.Close(); err != nil {
		f.Fatal(err)
	}
}

// records returns the records of one key space.
func records(tb testing.TB, s *Store, space byte) (keys, values [][]byte) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{space}, UpperBound: []byte{space + 1}})
	if err != nil {
		tb.Fatal(err)
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		keys = append(keys, bytes.Clone(it.Key()))
		values = append(values, bytes.Clone(it.Value()))
	}
	return keys, values
}

// FuzzProofUnmarshal feeds arbitrary bytes to the proof decoder: it must not panic, and
// what it accepts must encode back to the same bytes and verify only where it should.
func FuzzProofUnmarshal(f *testing.F) {
	s := seedStore(f)
	root := s.Hash()
	for _, k := range []string{"key1", "key299", "absent", "key598"} {
		_, p, err := s.Prove(0, []byte(k))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p.Marshal(), []byte(k))
	}
	f.Add([]byte{0, 0, 0}, []byte("k"))
	state := map[string][]byte{}
	if err := s.Working().Iterate(nil, nil, false, func(k, v []byte) bool { state[string(k)] = v; return true }); err != nil {
		f.Fatal(err)
	}
	closeSeed(f, s)
	f.Fuzz(func(t *testing.T, b, key []byte) {
		var p Proof
		if err := p.Unmarshal(b); err != nil {
			return
		}
		if got := p.Marshal(); !bytes.Equal(got, b) {
			t.Fatalf("Unmarshal(%x) then Marshal gives %x", b, got)
		}
		// Whatever it claims, it may only verify against the real root with the real value.
		value := state[string(key)]
		for _, v := range [][]byte{nil, value, []byte("other")} {
			if err := VerifyProof(root, key, v, &p); err == nil && !bytes.Equal(v, value) {
				t.Fatalf("proof %x verified %q = %q, the store holds %q", b, key, v, value)
			}
		}
	})
}

// FuzzDecodeNode feeds arbitrary bytes to the node decoder: it must not panic, and what it
// accepts must be a well-formed node that encodes back to the same bytes.
func FuzzDecodeNode(f *testing.F) {
	s := seedStore(f)
	keys, values := records(f, s, spaceNode)
	for i := range keys {
		depth := int(keys[i][9])
		f.Add(values[i], uint8(depth), keys[i][10:], uint64(9))
	}
	closeSeed(f, s)
	f.Fuzz(func(t *testing.T, b []byte, depth uint8, pathBytes []byte, version uint64) {
		var path Hash
		copy(path[:], pathBytes)
		// The path's nibbles from depth on are zero, as the tree makes them.
		for d := int(depth); d < 64; d++ {
			if d%2 == 0 {
				path[d/2] &= 0x0f
			} else {
				path[d/2] &= 0xf0
			}
		}
		n, err := decodeNode(b, version, int(depth), &path)
		if err != nil {
			return
		}
		if !n.valid() {
			t.Fatal("decoded an invalid node")
		}
		if got := n.encode(nil); !bytes.Equal(got, b) {
			t.Fatalf("decode then encode of %x gives %x", b, got)
		}
		n.rehash() // must not panic
	})
}

// FuzzDecodeRoot feeds arbitrary bytes to the root decoder.
func FuzzDecodeRoot(f *testing.F) {
	s := seedStore(f)
	_, values := records(f, s, spaceRoot)
	for _, v := range values {
		f.Add(v, uint64(5))
	}
	f.Add([]byte{0}, uint64(1))
	closeSeed(f, s)
	f.Fuzz(func(t *testing.T, b []byte, version uint64) {
		r, err := decodeRoot(b, version)
		if err != nil {
			return
		}
		if got := encodeRoot(&r); !bytes.Equal(got, b) {
			t.Fatalf("decode then encode of %x gives %x", b, got)
		}
	})
}

// FuzzDecodeKeyList feeds arbitrary bytes to the decoder of superseded-record lists.
func FuzzDecodeKeyList(f *testing.F) {
	f.Add(encodeKeyList([][]byte{[]byte("n123"), []byte("v\x00\x01")}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var keys [][]byte
		if err := decodeKeyList(b, func(k []byte) error { keys = append(keys, bytes.Clone(k)); return nil }); err != nil {
			return
		}
		if got := encodeKeyList(keys); !bytes.Equal(got, b) {
			t.Fatalf("decode then encode of %x gives %x", b, got)
		}
	})
}

// FuzzValueKeys checks the value table's key encoding: it keeps the order of keys, its
// prefixes are prefix-free, the key comes back, and Pebble's Split finds the version.
func FuzzValueKeys(f *testing.F) {
	f.Add([]byte("a"), []byte("a\x00"), uint64(1), uint64(2))
	f.Add([]byte("\x00\xff"), []byte("\x00"), uint64(7), uint64(7))
	f.Add([]byte("h\x04\x01\x00\x00"), []byte("h\x04\x01\x00\x01"), uint64(1<<40), uint64(3))
	f.Fuzz(func(t *testing.T, a, b []byte, va, vb uint64) {
		if len(a) == 0 || len(b) == 0 {
			return
		}
		ka, kb := valueKey(a, va), valueKey(b, vb)
		if c := bytes.Compare(a, b); c != 0 && bytes.Compare(ka, kb) != c {
			t.Fatalf("keys %x %x compare %d, their records do not", a, b, c)
		}
		if bytes.Equal(a, b) && va != vb && (bytes.Compare(ka, kb) < 0) != (va > vb) {
			t.Fatalf("versions %d %d of %x are not newest first", va, vb, a)
		}
		pa, pb := valuePrefix(nil, a), valuePrefix(nil, b)
		if !bytes.Equal(a, b) && (bytes.HasPrefix(pa, pb) || bytes.HasPrefix(pb, pa)) {
			t.Fatalf("prefix of %x and of %x: one starts the other", a, b)
		}
		back, err := unescapeKey(pa)
		if err != nil || !bytes.Equal(back, a) {
			t.Fatalf("unescape(%x) = %x, %v; want %x", pa, back, err, a)
		}
		if n := splitKey(ka); n != len(pa) {
			t.Fatalf("Split(%x) = %d, want %d", ka, n, len(pa))
		}
		p, v, err := splitValueKey(ka)
		if err != nil || !bytes.Equal(p, pa) || v != va {
			t.Fatalf("splitValueKey(%x) = %x, %d, %v", ka, p, v, err)
		}
		if binary.BigEndian.Uint64(ka[len(ka)-8:]) != ^va {
			t.Fatal("version suffix")
		}
	})
}

// encodeKeyList encodes keys as a key list, as Commit writes them.
func encodeKeyList(keys [][]byte) []byte {
	var out []byte
	for _, k := range keys {
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
	}
	return out
}
