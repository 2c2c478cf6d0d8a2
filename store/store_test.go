package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/ipledger/ipledger"
)

func openTest(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	opts.Dir = dir
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// refKV is the obviously-correct reference: a map, sorted on every iteration.
type refKV map[string][]byte

func (r refKV) clone() refKV {
	c := make(refKV, len(r))
	for k, v := range r {
		c[k] = v
	}
	return c
}

// want lists what Iterate must yield.
func (r refKV) want(start, end []byte, reverse bool, limit int) [][2]string {
	var keys []string
	for k := range r {
		if len(start) > 0 && k < string(start) {
			continue
		}
		if end != nil && k >= string(end) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if reverse {
		slices.Reverse(keys)
	}
	var out [][2]string
	for _, k := range keys {
		if limit >= 0 && len(out) == limit {
			break
		}
		out = append(out, [2]string{k, string(r[k])})
	}
	return out
}

func collect(t *testing.T, kv ipledger.KV, start, end []byte, reverse bool, limit int) [][2]string {
	t.Helper()
	var out [][2]string
	err := kv.Iterate(start, end, reverse, func(k, v []byte) bool {
		if limit >= 0 && len(out) == limit {
			t.Fatalf("Iterate called fn after it returned false")
		}
		out = append(out, [2]string{string(k), string(v)})
		return limit < 0 || len(out) < limit
	})
	if err != nil {
		t.Fatalf("Iterate: %v", err)
	}
	return out
}

func randKey(r *rand.Rand) []byte {
	const alphabet = "abc\x00\xff"
	k := make([]byte, 1+r.IntN(3))
	for i := range k {
		k[i] = alphabet[r.IntN(len(alphabet))]
	}
	return k
}

// randBound returns an iteration bound: nil, empty or a random key, one time in 6, 6 and
// 4 of 6.
func randBound(r *rand.Rand) []byte { return boundOr(r, 6, randKey) }

// boundOr returns nil or an empty bound one time in n each, else key(r).
func boundOr(r *rand.Rand, n int, key func(*rand.Rand) []byte) []byte {
	switch r.IntN(n) {
	case 0:
		return nil
	case 1:
		return []byte{}
	default:
		return key(r)
	}
}

// TestKVRandomized runs one random sequence of operations against the reference, the
// Store's working tree, its committed views and MemKV, and checks all agree.
func TestKVRandomized(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0))
			dir := t.TempDir()
			// A tiny node cache makes updates read nodes back from Pebble.
			opts := Options{NoSync: true, CacheSize: int(seed-1) * 10}
			s := openTest(t, dir, opts)
			mem := NewMemKV()
			ref, committed := refKV{}, refKV{}
			kvs := map[string]ipledger.KV{"working": s.Working(), "mem": mem}
			for step := range 4000 {
				switch op := r.IntN(100); {
				case op < 35:
					k := randKey(r)
					v := []byte(fmt.Sprint(step))
					if r.IntN(10) == 0 {
						v = []byte{}
					}
					ref[string(k)] = v
					for name, kv := range kvs {
						if err := kv.Set(k, v); err != nil {
							t.Fatalf("%s Set: %v", name, err)
						}
					}
				case op < 50:
					k := randKey(r)
					delete(ref, string(k))
					for name, kv := range kvs {
						if err := kv.Delete(k); err != nil {
							t.Fatalf("%s Delete: %v", name, err)
						}
					}
				case op < 70:
					k := randBound(r)
					want, ok := ref[string(k)]
					for name, kv := range kvs {
						got, err := kv.Get(k)
						if err != nil {
							t.Fatalf("%s Get: %v", name, err)
						}
						if (got != nil) != ok || !bytes.Equal(got, want) {
							t.Fatalf("step %d: %s Get(%q) = %q, want %q (present %v)", step, name, k, got, want, ok)
						}
					}
				case op < 94:
					start, end := randBound(r), randBound(r)
					reverse := r.IntN(2) == 0
					limit := -1
					if r.IntN(3) == 0 {
						limit = 1 + r.IntN(4)
					}
					want := ref.want(start, end, reverse, limit)
					for name, kv := range kvs {
						if got := collect(t, kv, start, end, reverse, limit); !slices.Equal(got, want) {
							t.Fatalf("step %d: %s Iterate(%q, %q, %v, limit %d) = %q, want %q", step, name, start, end, reverse, limit, got, want)
						}
					}
				case op < 96:
					commit(t, s)
					committed = ref.clone()
					view, err := s.ReadAt(0)
					if err != nil {
						t.Fatalf("ReadAt: %v", err)
					}
					if got, want := collect(t, view, nil, nil, false, -1), committed.want(nil, nil, false, -1); !slices.Equal(got, want) {
						t.Fatalf("view after commit = %q, want %q", got, want)
					}
				default:
					// Roll the working tree back, or reopen the store, which drops
					// uncommitted changes too; rebuild MemKV from the committed state.
					if op < 99 {
						s.Rollback()
					} else {
						if err := s.Close(); err != nil {
							t.Fatal(err)
						}
						s = openTest(t, dir, opts)
						kvs["working"] = s.Working()
					}
					ref = committed.clone()
					mem = NewMemKV()
					for k, v := range ref {
						if err := mem.Set([]byte(k), v); err != nil {
							t.Fatal(err)
						}
					}
					kvs["mem"] = mem
				}
			}
		})
	}
}

func TestKVRejects(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	for name, kv := range map[string]ipledger.KV{"working": s.Working(), "mem": NewMemKV()} {
		t.Run(name, func(t *testing.T) {
			if err := kv.Set(nil, []byte("v")); err == nil {
				t.Error("Set(nil key) succeeded")
			}
			if err := kv.Set([]byte{}, []byte("v")); err == nil {
				t.Error("Set(empty key) succeeded")
			}
			if err := kv.Set([]byte("k"), nil); err == nil {
				t.Error("Set(nil value) succeeded")
			}
			if err := kv.Delete(nil); err == nil {
				t.Error("Delete(nil key) succeeded")
			}
			if err := kv.Delete([]byte("missing")); err != nil {
				t.Errorf("Delete(missing) = %v", err)
			}
			// Get returns a copy: changing it changes nothing stored.
			if err := kv.Set([]byte("k"), []byte("value")); err != nil {
				t.Fatal(err)
			}
			v, _ := kv.Get([]byte("k"))
			v[0] = 'X'
			if v, _ := kv.Get([]byte("k")); string(v) != "value" {
				t.Errorf("stored value changed through Get's result: %q", v)
			}
		})
	}
}

func TestEmptyStore(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	empty := emptyHash
	if s.Version() != 0 || !bytes.Equal(s.Hash(), empty[:]) || !bytes.Equal(s.WorkingHash(), empty[:]) {
		t.Fatalf("empty store: version %d hash %x working %x", s.Version(), s.Hash(), s.WorkingHash())
	}
	v, err := s.ReadAt(0)
	if err != nil {
		t.Fatalf("ReadAt(0): %v", err)
	}
	if got, _ := v.Get([]byte("k")); got != nil || v.Version() != 0 {
		t.Fatalf("empty view: %q version %d", got, v.Version())
	}
	if _, err := s.ReadAt(1); !errors.Is(err, ErrVersionNotFound) {
		t.Fatalf("ReadAt(1) = %v, want ErrVersionNotFound", err)
	}
	// The empty map proves every key absent.
	value, proof, err := s.Prove(0, []byte("k"))
	if err != nil || value != nil {
		t.Fatalf("Prove on empty store = %q, %v", value, err)
	}
	if err := VerifyProof(empty[:], []byte("k"), nil, proof); err != nil {
		t.Fatalf("VerifyProof on empty store: %v", err)
	}
	// An empty commit is a version too.
	hash, version, err := s.Commit()
	if err != nil || version != 1 || !bytes.Equal(hash, empty[:]) {
		t.Fatalf("empty Commit = %x, %d, %v", hash, version, err)
	}
}

func TestCommitReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	w := s.Working()
	hashes := map[int64][]byte{}
	for v := int64(1); v <= 5; v++ {
		for i := range 100 {
			if err := w.Set(fmt.Appendf(nil, "key/%03d", i), fmt.Appendf(nil, "v%d-%d", v, i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Delete(fmt.Appendf(nil, "key/%03d", v)); err != nil {
			t.Fatal(err)
		}
		hash, version, err := s.Commit()
		if err != nil {
			t.Fatal(err)
		}
		if version != v || !bytes.Equal(hash, s.Hash()) || s.Version() != v {
			t.Fatalf("Commit = %x, %d; Version %d Hash %x", hash, version, s.Version(), s.Hash())
		}
		hashes[v] = hash
	}
	// Uncommitted writes must not survive.
	if err := w.Set([]byte("uncommitted"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openTest(t, dir, Options{})
	if s.Version() != 5 || !bytes.Equal(s.Hash(), hashes[5]) {
		t.Fatalf("reopened at %d %x, want 5 %x", s.Version(), s.Hash(), hashes[5])
	}
	if !bytes.Equal(s.WorkingHash(), hashes[5]) {
		t.Fatalf("WorkingHash after reopen %x, want %x", s.WorkingHash(), hashes[5])
	}
	if v, _ := s.Working().Get([]byte("uncommitted")); v != nil {
		t.Fatalf("uncommitted write survived: %q", v)
	}
	for v := int64(1); v <= 5; v++ {
		view, err := s.ReadAt(v)
		if err != nil {
			t.Fatalf("ReadAt(%d): %v", v, err)
		}
		if !bytes.Equal(view.Hash(), hashes[v]) {
			t.Fatalf("ReadAt(%d) hash %x, want %x", v, view.Hash(), hashes[v])
		}
		got, _ := view.Get([]byte("key/050"))
		if want := fmt.Sprintf("v%d-50", v); string(got) != want {
			t.Fatalf("ReadAt(%d) key/050 = %q, want %q", v, got, want)
		}
		if got, _ := view.Get(fmt.Appendf(nil, "key/%03d", v)); got != nil {
			t.Fatalf("ReadAt(%d) sees key deleted at that version: %q", v, got)
		}
		if err := view.Set([]byte("a"), []byte("b")); !errors.Is(err, ErrReadOnly) {
			t.Fatalf("view Set = %v, want ErrReadOnly", err)
		}
		if err := view.Delete([]byte("a")); !errors.Is(err, ErrReadOnly) {
			t.Fatalf("view Delete = %v, want ErrReadOnly", err)
		}
	}
	if _, err := s.ReadAt(6); !errors.Is(err, ErrVersionNotFound) {
		t.Fatalf("ReadAt(6) = %v, want ErrVersionNotFound", err)
	}
	// The store keeps working after reopen.
	if err := s.Working().Set([]byte("after"), []byte("reopen")); err != nil {
		t.Fatal(err)
	}
	if _, v, err := s.Commit(); err != nil || v != 6 {
		t.Fatalf("Commit after reopen = %d, %v", v, err)
	}
}

func TestDeterministicHash(t *testing.T) {
	// The same writes in the same order give the same root in separate stores.
	build := func() []byte {
		s := openTest(t, t.TempDir(), Options{NoSync: true})
		r := rand.New(rand.NewPCG(7, 7))
		for range 3 {
			for range 300 {
				k := fmt.Appendf(nil, "k%04d", r.IntN(1000))
				var err error
				if r.IntN(5) == 0 {
					err = s.Working().Delete(k)
				} else {
					err = s.Working().Set(k, fmt.Appendf(nil, "v%d", r.Int()))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		return s.Hash()
	}
	if a, b := build(), build(); !bytes.Equal(a, b) {
		t.Fatalf("same writes gave roots %x and %x", a, b)
	}
}

func TestProofs(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	w := s.Working()
	for i := 0; i < 200; i += 2 {
		if err := w.Set(fmt.Appendf(nil, "k%03d", i), fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	root1, _, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Set([]byte("k010"), []byte("changed")); err != nil {
		t.Fatal(err)
	}
	root2, _, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		version int64
		root    []byte
		key     string
		want    string // "" for absent
	}{
		{"present", 2, root2, "k010", "changed"},
		{"present latest", 0, root2, "k020", "v20"},
		{"present old", 1, root1, "k010", "v10"},
		{"absent middle", 2, root2, "k011", ""},
		{"absent before all", 2, root2, "a", ""},
		{"absent after all", 2, root2, "z", ""},
		{"absent old", 1, root1, "k013", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			value, proof, err := s.Prove(c.version, []byte(c.key))
			if err != nil {
				t.Fatalf("Prove: %v", err)
			}
			if string(value) != c.want || (c.want == "") != (value == nil) {
				t.Fatalf("Prove value %q, want %q", value, c.want)
			}
			if err := VerifyProof(c.root, []byte(c.key), value, proof); err != nil {
				t.Fatalf("VerifyProof: %v", err)
			}
			other := root1
			if bytes.Equal(c.root, root1) {
				other = root2
			}
			if err := VerifyProof(other, []byte(c.key), value, proof); err == nil {
				t.Error("proof verified against the wrong root")
			}
			if value != nil {
				if err := VerifyProof(c.root, []byte(c.key), []byte("wrong"), proof); err == nil {
					t.Error("membership proof verified a wrong value")
				}
				if err := VerifyProof(c.root, []byte(c.key), nil, proof); err == nil {
					t.Error("membership proof verified absence")
				}
			} else {
				if err := VerifyProof(c.root, []byte(c.key), []byte("v"), proof); err == nil {
					t.Error("non-membership proof verified presence")
				}
				if err := VerifyProof(c.root, []byte("k020"), nil, proof); err == nil {
					t.Error("non-membership proof verified absence of another, present key")
				}
			}
		})
	}
	if err := VerifyProof(root2, []byte("k"), nil, nil); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("nil proof: %v, want ErrInvalidProof", err)
	}
}

func TestPruning(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{KeepRecent: 3, NoSync: true})
	w := s.Working()
	for v := 1; v <= 10; v++ {
		for i := range 50 {
			if err := w.Set(fmt.Appendf(nil, "k%02d", (i*7+v)%60), fmt.Appendf(nil, "v%d", v)); err != nil {
				t.Fatal(err)
			}
		}
		if v%4 == 0 {
			// A version without changes: its root record repeats the previous root,
			// which pruning must handle.
			if _, _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			v++
		}
		if _, _, err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	latest := s.Version()
	want := collect(t, mustView(t, s, 0), nil, nil, false, -1)
	check := func(s *Store) {
		for v := int64(1); v <= latest; v++ {
			_, err := s.ReadAt(v)
			if v <= latest-3 && !errors.Is(err, ErrVersionNotFound) {
				t.Errorf("ReadAt(%d) of a pruned version = %v", v, err)
			}
			if v > latest-3 && err != nil {
				t.Errorf("ReadAt(%d) of a retained version = %v", v, err)
			}
		}
		if got := collect(t, mustView(t, s, 0), nil, nil, false, -1); !slices.Equal(got, want) {
			t.Errorf("latest after pruning = %q, want %q", got, want)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{KeepRecent: 3, NoSync: true})
	check(s)
}

func mustView(t *testing.T, s *Store, version int64) *View {
	t.Helper()
	v, err := s.ReadAt(version)
	if err != nil {
		t.Fatalf("ReadAt(%d): %v", version, err)
	}
	return v
}

func TestSideTables(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	b := s.NewSideBatch()
	for i := range 10 {
		if err := b.Set(fmt.Appendf(nil, "leaf/%02d", i), fmt.Appendf(nil, "l%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Set([]byte("meta"), []byte("m")); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.SideGet([]byte("meta")); v != nil {
		t.Fatal("side write visible before Commit")
	}
	if b.Len() != 11 {
		t.Fatalf("Len = %d", b.Len())
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(true); err == nil {
		t.Fatal("second Commit succeeded")
	}
	if v, _ := s.SideGet([]byte("meta")); string(v) != "m" {
		t.Fatalf("SideGet = %q", v)
	}
	// Side tables and the tree do not see each other.
	if v, _ := s.Working().Get([]byte("meta")); v != nil {
		t.Fatalf("side key visible in the tree: %q", v)
	}
	if err := s.Working().Set([]byte("tree"), []byte("t")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.SideGet([]byte("tree")); v != nil {
		t.Fatalf("tree key visible in side tables: %q", v)
	}

	ref := refKV{"meta": []byte("m")}
	for i := range 10 {
		ref[fmt.Sprintf("leaf/%02d", i)] = fmt.Appendf(nil, "l%d", i)
	}
	b = s.NewSideBatch()
	if err := b.Delete([]byte("leaf/03")); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteRange([]byte("leaf/06"), []byte("leaf/08")); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(false); err != nil {
		t.Fatal(err)
	}
	delete(ref, "leaf/03")
	delete(ref, "leaf/06")
	delete(ref, "leaf/07")
	side := sideKV{s}
	r := rand.New(rand.NewPCG(3, 3))
	for range 300 {
		start, end := randSideBound(r), randSideBound(r)
		reverse := r.IntN(2) == 0
		limit := -1
		if r.IntN(3) == 0 {
			limit = 1 + r.IntN(4)
		}
		if got, want := collect(t, side, start, end, reverse, limit), ref.want(start, end, reverse, limit); !slices.Equal(got, want) {
			t.Fatalf("SideIterate(%q, %q, %v, %d) = %q, want %q", start, end, reverse, limit, got, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{NoSync: true})
	if got, want := collect(t, sideKV{s}, nil, nil, false, -1), ref.want(nil, nil, false, -1); !slices.Equal(got, want) {
		t.Fatalf("side tables after reopen = %q, want %q", got, want)
	}
}

// randSideBound is randBound for the side tables' leaf keys: one time in 5, 5 and 3 of 5.
func randSideBound(r *rand.Rand) []byte {
	return boundOr(r, 5, func(r *rand.Rand) []byte { return fmt.Appendf(nil, "leaf/%02d", r.IntN(12)) })
}

// sideKV adapts the side tables' iteration for collect.
type sideKV struct{ s *Store }

func (k sideKV) Get(key []byte) ([]byte, error) { return k.s.SideGet(key) }
func (k sideKV) Set(key, value []byte) error    { return errors.New("not supported") }
func (k sideKV) Delete(key []byte) error        { return errors.New("not supported") }
func (k sideKV) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	return k.s.SideIterate(start, end, reverse, fn)
}

// TestCrashBetweenSideAndTree follows the documented order for a block: side batch, then
// Commit. A crash between them leaves the tree at the previous height, and replay rewrites
// the side data.
func TestCrashBetweenSideAndTree(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	for h := int64(1); h <= 2; h++ {
		b := s.NewSideBatch()
		if err := b.Set(fmt.Appendf(nil, "block/%d", h), []byte("record")); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(false); err != nil {
			t.Fatal(err)
		}
		if err := s.Working().Set(fmt.Appendf(nil, "state/%d", h), []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	hash2 := s.Hash()
	// Height 3: side data written, tree not committed, then the process dies.
	b := s.NewSideBatch()
	if err := b.Set([]byte("block/3"), []byte("record")); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	if err := s.Working().Set([]byte("state/3"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	s = reopenAt(t, s, dir, 2, hash2)
	if v, _ := s.Working().Get([]byte("state/3")); v != nil {
		t.Fatal("uncommitted state of height 3 survived")
	}
	if v, _ := s.SideGet([]byte("block/3")); v == nil {
		t.Fatal("side data of height 3 is gone; the contract says it stays until rewritten")
	}
}

// reopenAt closes s, as a crash would leave it, reopens dir and checks the store is at
// version with root hash.
func reopenAt(t *testing.T, s *Store, dir string, version int64, hash []byte) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{})
	if s.Version() != version || !bytes.Equal(s.Hash(), hash) {
		t.Fatalf("reopened at %d %x, want %d %x", s.Version(), s.Hash(), version, hash)
	}
	return s
}

// TestCrashBeforeRoot stops a commit after the version's records but before its root, as
// a crash inside Commit would: the store reopens at the previous version with its contents,
// and replaying the block gives the hash a clean run gives.
func TestCrashBeforeRoot(t *testing.T) {
	change := func(s *Store, h int) {
		t.Helper()
		w := s.Working()
		for i := range 50 {
			if err := w.Set(fmt.Appendf(nil, "state/%d/%d", h, i), fmt.Appendf(nil, "value %d", h)); err != nil {
				t.Fatal(err)
			}
		}
		if h > 1 {
			if err := errors.Join(w.Set([]byte("state/1/0"), fmt.Appendf(nil, "changed at %d", h)), w.Delete([]byte("state/1/1"))); err != nil {
				t.Fatal(err)
			}
		}
	}
	clean := openTest(t, t.TempDir(), Options{})
	for h := 1; h <= 3; h++ {
		change(clean, h)
		if _, _, err := clean.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	for h := 1; h <= 2; h++ {
		change(s, h)
		if _, _, err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	hash2, want2 := s.Hash(), collect(t, s.Working(), nil, nil, false, -1)
	change(s, 3)
	if err := s.applyQueue(); err != nil {
		t.Fatal(err)
	}
	side := s.NewSideBatch()
	if err := side.Set([]byte("block/3"), []byte("record")); err != nil {
		t.Fatal(err)
	}
	if err := s.writeRecords(3, side); err != nil { // then the process dies
		t.Fatal(err)
	}
	s = reopenAt(t, s, dir, 2, hash2)
	if got := collect(t, s.Working(), nil, nil, false, -1); !slices.Equal(got, want2) {
		t.Fatalf("after the crash the state reads %d pairs, %d before it", len(got), len(want2))
	}
	view, err := s.ReadAt(2)
	if err != nil {
		t.Fatal(err)
	}
	if got := collect(t, view, nil, nil, false, -1); !slices.Equal(got, want2) {
		t.Fatal("version 2 reads differently after the crash")
	}
	change(s, 3)
	if _, v, err := s.Commit(); err != nil || v != 3 {
		t.Fatalf("replay of 3: %d %v", v, err)
	}
	if !bytes.Equal(s.Hash(), clean.Hash()) || !slices.Equal(collect(t, s.Working(), nil, nil, false, -1), collect(t, clean.Working(), nil, nil, false, -1)) {
		t.Fatal("the replayed version differs from a clean run's")
	}
}

func TestRefusesForeignDatabase(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{NoSync: true})
	if err := s.db.Delete(formatKey, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Working().Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(Options{Dir: dir}); err == nil {
		_ = s.Close()
		t.Fatal("Open accepted a database without the format marker")
	}
}

func TestClosed(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := s.Commit(); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close = %v", err)
	}
	if _, err := s.ReadAt(0); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadAt after Close = %v", err)
	}
	w := s.Working()
	if _, err := w.Get([]byte("k")); !errors.Is(err, ErrClosed) {
		t.Errorf("working Get after Close = %v", err)
	}
	if err := w.Set([]byte("k"), []byte("v")); !errors.Is(err, ErrClosed) {
		t.Errorf("working Set after Close = %v", err)
	}
	if err := w.Iterate(nil, nil, false, func(k, v []byte) bool { return true }); !errors.Is(err, ErrClosed) {
		t.Errorf("working Iterate after Close = %v", err)
	}
	s.Rollback() // must not panic
	if h := s.WorkingHash(); h != nil {
		t.Errorf("WorkingHash after Close = %x", h)
	}
	if _, err := s.SideGet([]byte("k")); !errors.Is(err, ErrClosed) {
		t.Errorf("SideGet after Close = %v", err)
	}
	if err := s.SideIterate(nil, nil, false, func(k, v []byte) bool { return true }); !errors.Is(err, ErrClosed) {
		t.Errorf("SideIterate after Close = %v", err)
	}
}
