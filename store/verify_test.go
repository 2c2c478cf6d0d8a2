package store

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// TestRootHasher checks RootHasher against the definition and the tree, on maps of many
// sizes, with pairs added in random order.
func TestRootHasher(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{0, 1, 2, 3, 17, 1000, 3*pairChunk + 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			kv := map[string][]byte{}
			for len(kv) < n {
				kv[fmt.Sprintf("k%d", r.Uint64())] = fmt.Appendf(nil, "v%d", r.IntN(50))
			}
			h := NewRootHasher()
			for k, v := range kv { // map order: random
				h.Add([]byte(k), v)
			}
			got, err := h.Root()
			if err != nil {
				t.Fatal(err)
			}
			if want := specRoot(kv); !bytes.Equal(got[:], want) {
				t.Fatalf("root %x, definition gives %x", got, want)
			}
			s := openTest(t, t.TempDir(), Options{NoSync: true})
			for k, v := range kv {
				if err := s.Working().Set([]byte(k), v); err != nil {
					t.Fatal(err)
				}
			}
			if h := commit(t, s); n > 0 && !bytes.Equal(got[:], h) {
				t.Fatalf("root %x, the tree says %x", got, h)
			}
		})
	}
	h := NewRootHasher()
	h.Add([]byte("a"), []byte("1"))
	h.Add([]byte("b"), []byte("2"))
	h.Add([]byte("a"), []byte("3"))
	if _, err := h.Root(); err == nil || !strings.Contains(err.Error(), "two values") {
		t.Fatalf("a key added twice: %v", err)
	}
}

// viewRoot reads the latest version's values as a reader does and returns the hasher and
// whether its root is the view's.
func viewRoot(t *testing.T, s *Store) (*View, *RootHasher, bool) {
	t.Helper()
	v, err := s.ReadAt(0)
	if err != nil {
		t.Fatal(err)
	}
	h := NewRootHasher()
	if err := v.Iterate(nil, nil, false, func(k, val []byte) bool { h.Add(k, val); return true }); err != nil {
		t.Fatal(err)
	}
	root, err := h.Root()
	if err != nil {
		t.Fatal(err)
	}
	return v, h, bytes.Equal(root[:], v.Hash())
}

// TestMismatches edits a closed store's records directly in Pebble, as an insider with
// the database could, and wants the edits found and named.
func TestMismatches(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	for i := range 500 {
		s.Working().Set(fmt.Appendf(nil, "key%03d", i), fmt.Appendf(nil, "old%d", i))
	}
	commit(t, s)
	for i := range 100 {
		s.Working().Set(fmt.Appendf(nil, "key%03d", i*5), fmt.Appendf(nil, "new%d", i))
	}
	commit(t, s)
	if _, _, ok := viewRoot(t, s); !ok {
		t.Fatal("the untouched store's values do not hash to its root")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	edit := func(fn func(db *pebble.DB)) {
		t.Helper()
		db, err := pebble.Open(dir, &pebble.Options{Comparer: Comparer()})
		if err != nil {
			t.Fatal(err)
		}
		fn(db)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	edit(func(db *pebble.DB) {
		// key010's newest record changed in place, every record of key003 deleted, and a
		// key the tree never had.
		db.Set(valueKey([]byte("key010"), 2), []byte("\x00forged"), pebble.Sync)
		db.DeleteRange(valuePrefix(nil, []byte("key003")), valuePrefix(nil, []byte("key004")), pebble.Sync)
		db.Set(valueKey([]byte("key2000"), 2), []byte("\x00planted"), pebble.Sync)
	})
	s = openTest(t, dir, Options{NoSync: true})
	v, h, ok := viewRoot(t, s)
	if ok {
		t.Fatal("the edited values still hash to the root")
	}
	ms, err := v.Mismatches(h, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.String())
	}
	kh := sha256.Sum256([]byte("key003"))
	want := []string{
		`key "key010" has a value the root does not commit to`,
		`key "key2000" has a value, though the root commits to its absence`,
		fmt.Sprintf("key with hash %x is missing from the values, though the root commits to it", kh),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("mismatches:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if string(ms[0].Value) != "forged" || ms[2].Value != nil || !ms[0].InTree || !ms[0].InValues {
		t.Fatalf("mismatch details: %+v", ms)
	}
	if ms, err := v.Mismatches(h, 1); err != nil || len(ms) != 1 {
		t.Fatalf("limit 1: %v %v", ms, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A tree node changed too (a leaf's value hash, as someone hiding the edit would): the
	// walk refuses the tree.
	edit(func(db *pebble.DB) {
		it, _ := db.NewIter(&pebble.IterOptions{LowerBound: []byte{spaceNode}, UpperBound: []byte{spaceNode + 1}})
		it.Last()
		b := bytes.Clone(it.Value())
		k := bytes.Clone(it.Key())
		it.Close()
		b[len(b)-2] ^= 1 // inside the last slot's hash
		db.Set(k, b, pebble.Sync)
	})
	s = openTest(t, dir, Options{NoSync: true})
	v, h, _ = viewRoot(t, s)
	if _, err := v.Mismatches(h, 10); err == nil || !strings.Contains(err.Error(), "hashes to") {
		t.Fatalf("changed tree node: %v", err)
	}
}
