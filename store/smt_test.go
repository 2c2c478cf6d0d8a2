package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// specRoot computes the root hash of kv straight from the definition in the package
// documentation, independently of the tree code: the obviously-correct reference.
func specRoot(kv map[string][]byte) []byte {
	type leaf struct{ kh, vh [32]byte }
	var leaves []leaf
	for k, v := range kv {
		leaves = append(leaves, leaf{sha256.Sum256([]byte(k)), sha256.Sum256(v)})
	}
	sort.Slice(leaves, func(i, j int) bool { return bytes.Compare(leaves[i].kh[:], leaves[j].kh[:]) < 0 })
	bit := func(h [32]byte, i int) bool { return h[i/8]&(0x80>>(i%8)) != 0 }
	var hash func(ls []leaf, depth int) [32]byte
	hash = func(ls []leaf, depth int) [32]byte {
		switch len(ls) {
		case 0:
			return [32]byte{}
		case 1:
			return sha256.Sum256(slices.Concat([]byte{0}, ls[0].kh[:], ls[0].vh[:]))
		}
		split := sort.Search(len(ls), func(i int) bool { return bit(ls[i].kh, depth) })
		l, r := hash(ls[:split], depth+1), hash(ls[split:], depth+1)
		return sha256.Sum256(slices.Concat([]byte{1}, l[:], r[:]))
	}
	h := hash(leaves, 0)
	return h[:]
}

func commit(t testing.TB, s *Store) []byte {
	t.Helper()
	want := s.WorkingHash()
	h, _, err := s.Commit()
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if !bytes.Equal(h, want) {
		t.Fatalf("Commit hash %x, WorkingHash said %x", h, want)
	}
	return h
}

// TestRootFollowsDefinition checks the tree's root against specRoot on maps of many sizes,
// including the empty map and a single key.
func TestRootFollowsDefinition(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	if got, want := s.WorkingHash(), specRoot(nil); !bytes.Equal(got, want) {
		t.Fatalf("empty root %x, want %x", got, want)
	}
	ref := map[string][]byte{}
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 1, 2, 3, 17, 100, 1000, 5000} {
		for range n {
			k := fmt.Appendf(nil, "key-%d", r.IntN(4000))
			if r.IntN(4) == 0 {
				delete(ref, string(k))
				if err := s.Working().Delete(k); err != nil {
					t.Fatal(err)
				}
				continue
			}
			v := fmt.Appendf(nil, "value-%d", r.Int())
			ref[string(k)] = v
			if err := s.Working().Set(k, v); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := commit(t, s), specRoot(ref); !bytes.Equal(got, want) {
			t.Fatalf("after %d keys: root %x, definition gives %x", len(ref), got, want)
		}
	}
}

// TestRootIndependentOfHistory builds one final state through different orders, batchings
// and detours (values overwritten, keys deleted and written again, empty commits) and
// expects one root.
func TestRootIndependentOfHistory(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	final := map[string][]byte{}
	for i := range 3000 {
		final[fmt.Sprintf("k%05d", r.IntN(1_000_000))] = fmt.Appendf(nil, "v%d", i)
	}
	keys := slices.Sorted(maps.Keys(final))
	want := specRoot(final)

	build := func(name string, seed uint64, perCommit int, detours bool) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir, Options{NoSync: true, CacheSize: 50})
			r := rand.New(rand.NewPCG(seed, seed))
			order := slices.Clone(keys)
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			w := s.Working()
			for i, k := range order {
				if detours {
					switch r.IntN(5) {
					case 0: // an interim value
						if err := w.Set([]byte(k), []byte("interim")); err != nil {
							t.Fatal(err)
						}
						if r.IntN(2) == 0 {
							commit(t, s)
						}
					case 1: // a key that comes and goes
						junk := fmt.Appendf(nil, "junk%d", r.IntN(100))
						if err := w.Set(junk, []byte("x")); err != nil {
							t.Fatal(err)
						}
						if r.IntN(2) == 0 {
							s.WorkingHash()
						}
						if err := w.Delete(junk); err != nil {
							t.Fatal(err)
						}
					}
				}
				if err := w.Set([]byte(k), final[k]); err != nil {
					t.Fatal(err)
				}
				if perCommit > 0 && (i+1)%perCommit == 0 {
					commit(t, s)
					if detours && r.IntN(3) == 0 {
						commit(t, s) // an empty version
					}
				}
			}
			if got := commit(t, s); !bytes.Equal(got, want) {
				t.Fatalf("root %x, want %x", got, want)
			}
			// After a reopen the nodes come from disk: a key that comes and goes
			// leaves the root as it was.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openTest(t, dir, Options{NoSync: true, CacheSize: 50})
			if err := w.Set([]byte("transient"), []byte("x")); err == nil {
				t.Fatal("the closed store's working state accepted a write")
			}
			w = s.Working()
			if err := w.Set([]byte("transient"), []byte("x")); err != nil {
				t.Fatal(err)
			}
			if got := commit(t, s); bytes.Equal(got, want) {
				t.Fatal("adding a key left the root unchanged")
			}
			if err := w.Delete([]byte("transient")); err != nil {
				t.Fatal(err)
			}
			if got := commit(t, s); !bytes.Equal(got, want) {
				t.Fatalf("root after reopen, add and delete %x, want %x", got, want)
			}
		})
	}
	build("one commit", 1, 0, false)
	build("shuffled, 7 per commit", 2, 7, false)
	build("shuffled, 500 per commit", 3, 500, false)
	build("one per commit with detours", 4, 1, true)
	build("shuffled, 64 per commit with detours", 5, 64, true)
}

// TestVersionsAgainstReference runs random changes over many versions with pruning, a
// tiny node cache and reopens, and after each commit checks retained versions (Get,
// Iterate both ways, Prove) against copies of a reference map, and pruned versions fail.
func TestVersionsAgainstReference(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			const keep = 6
			r := rand.New(rand.NewPCG(seed, 99))
			dir := t.TempDir()
			opts := Options{NoSync: true, KeepRecent: keep, CacheSize: 8}
			s := openTest(t, dir, opts)
			ref := refKV{}
			history := map[int64]refKV{}
			key := func() []byte {
				// Short keys over a small alphabet with 0x00 and 0xff collide often
				// and exercise the value table's escaping; a few long ones too.
				const alphabet = "ab\x00\xff"
				k := make([]byte, 1+r.IntN(4))
				for i := range k {
					k[i] = alphabet[r.IntN(len(alphabet))]
				}
				if r.IntN(20) == 0 {
					k = append(k, bytes.Repeat([]byte{0}, 30)...)
				}
				return k
			}
			for v := int64(1); v <= 60; v++ {
				for range r.IntN(40) {
					k := key()
					if r.IntN(3) == 0 {
						delete(ref, string(k))
						if err := s.Working().Delete(k); err != nil {
							t.Fatal(err)
						}
						continue
					}
					val := fmt.Appendf(nil, "%d", r.IntN(1000))
					if r.IntN(8) == 0 {
						val = []byte{}
					}
					ref[string(k)] = val
					if err := s.Working().Set(k, val); err != nil {
						t.Fatal(err)
					}
				}
				if r.IntN(10) == 0 {
					// Changes that never commit.
					if err := s.Working().Set([]byte("rolled back"), []byte("x")); err != nil {
						t.Fatal(err)
					}
					s.WorkingHash()
					s.Rollback()
					ref = history[v-1].clone()
					if ref == nil {
						ref = refKV{}
					}
				}
				h := commit(t, s)
				if want := specRoot(ref); !bytes.Equal(h, want) {
					t.Fatalf("version %d: root %x, definition gives %x", v, h, want)
				}
				history[v] = ref.clone()
				if r.IntN(8) == 0 {
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					s = openTest(t, dir, opts)
					if s.Version() != v || !bytes.Equal(s.Hash(), h) {
						t.Fatalf("reopened at %d %x, want %d %x", s.Version(), s.Hash(), v, h)
					}
				}
				for old := int64(1); old <= v; old++ {
					view, err := s.ReadAt(old)
					if old <= v-keep {
						if !errors.Is(err, ErrVersionNotFound) {
							t.Fatalf("version %d of %d: ReadAt = %v, want ErrVersionNotFound", old, v, err)
						}
						continue
					}
					if err != nil {
						t.Fatalf("ReadAt(%d): %v", old, err)
					}
					checkRetained(t, r, view, history[old], key)
				}
			}
		})
	}
}

// checkRetained compares a view with the reference of its version.
func checkRetained(t *testing.T, r *rand.Rand, view *View, ref refKV, key func() []byte) {
	t.Helper()
	if want := specRoot(ref); !bytes.Equal(view.Hash(), want) {
		t.Fatalf("version %d: hash %x, want %x", view.Version(), view.Hash(), want)
	}
	for range 5 {
		k := key()
		want, ok := ref[string(k)]
		got, err := view.Get(k)
		if err != nil || (got != nil) != ok || !bytes.Equal(got, want) {
			t.Fatalf("version %d: Get(%q) = %q, %v; want %q (present %v)", view.Version(), k, got, err, want, ok)
		}
		value, proof, err := view.Prove(k)
		if err != nil || !bytes.Equal(value, want) || (value != nil) != ok {
			t.Fatalf("version %d: Prove(%q) = %q, %v; want %q", view.Version(), k, value, err, want)
		}
		if err := VerifyProof(view.Hash(), k, value, proof); err != nil {
			t.Fatalf("version %d: VerifyProof(%q): %v", view.Version(), k, err)
		}
		var back Proof
		if err := back.Unmarshal(proof.Marshal()); err != nil || VerifyProof(view.Hash(), k, value, &back) != nil {
			t.Fatalf("version %d: proof of %q does not survive Marshal: %v", view.Version(), k, err)
		}
	}
	for range 3 {
		start, end := key(), key()
		if r.IntN(4) == 0 {
			start = nil
		}
		if r.IntN(4) == 0 {
			end = nil
		}
		reverse := r.IntN(2) == 0
		limit := -1
		if r.IntN(3) == 0 {
			limit = 1 + r.IntN(3)
		}
		if got, want := collect(t, view, start, end, reverse, limit), ref.want(start, end, reverse, limit); !slices.Equal(got, want) {
			t.Fatalf("version %d: Iterate(%q, %q, %v, %d) = %q, want %q", view.Version(), start, end, reverse, limit, got, want)
		}
	}
}

// TestProofsRejectTampering checks that every part of a proof matters.
func TestProofsRejectTampering(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	for i := range 500 {
		if err := s.Working().Set(fmt.Appendf(nil, "k%d", i), fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	root := commit(t, s)
	for _, key := range []string{"k7", "k123", "absent", "k5000"} {
		value, proof, err := s.Prove(0, []byte(key))
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyProof(root, []byte(key), value, proof); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		enc := proof.Marshal()
		for i := range enc {
			for _, bit := range []byte{0x01, 0x80} {
				bad := bytes.Clone(enc)
				bad[i] ^= bit
				var p Proof
				if p.Unmarshal(bad) != nil {
					continue
				}
				if err := VerifyProof(root, []byte(key), value, &p); err == nil {
					t.Fatalf("%s: proof with byte %d flipped (%02x) verified", key, i, bit)
				}
			}
		}
		if len(proof.Siblings) > 0 {
			short := &Proof{Siblings: proof.Siblings[1:], Leaf: proof.Leaf}
			if VerifyProof(root, []byte(key), value, short) == nil {
				t.Fatalf("%s: proof without its first sibling verified", key)
			}
			long := &Proof{Siblings: append(slices.Clone(proof.Siblings), proof.Siblings[0]), Leaf: proof.Leaf}
			if VerifyProof(root, []byte(key), value, long) == nil {
				t.Fatalf("%s: proof with an extra sibling verified", key)
			}
		}
		if VerifyProof(root, []byte(key+"x"), value, proof) == nil {
			t.Fatalf("%s: proof verified for another key", key)
		}
		if value != nil {
			if VerifyProof(root, []byte(key), nil, proof) == nil {
				t.Fatalf("%s: membership proof verified absence", key)
			}
			if VerifyProof(root, []byte(key), append(value, 'x'), proof) == nil {
				t.Fatalf("%s: membership proof verified another value", key)
			}
		} else if VerifyProof(root, []byte(key), []byte("v"), proof) == nil {
			t.Fatalf("%s: non-membership proof verified presence", key)
		}
		if VerifyProof(root[:31], []byte(key), value, proof) == nil {
			t.Fatalf("%s: proof verified against a short root", key)
		}
	}
}

// TestProofEncoding pins the proof encoding.
func TestProofEncoding(t *testing.T) {
	sib := Hash{1}
	cases := []struct {
		name string
		p    Proof
		want []byte
	}{
		{"empty map", Proof{}, []byte{0, 0, 0}},
		{"single leaf", Proof{Leaf: &ProofLeaf{KeyHash: Hash{0xaa}, ValueHash: Hash{0xbb}}},
			slices.Concat([]byte{1, 0, 0}, hb(Hash{0xaa}), hb(Hash{0xbb}))},
		{"siblings", Proof{Siblings: []Hash{sib, {}, sib}},
			slices.Concat([]byte{0, 0, 3, 0x40}, sib[:], sib[:])},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.p.Marshal()
			if !bytes.Equal(got, c.want) {
				t.Fatalf("Marshal = %x, want %x", got, c.want)
			}
			var back Proof
			if err := back.Unmarshal(got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back.Marshal(), got) {
				t.Fatalf("round trip gives %x", back.Marshal())
			}
		})
	}
	for _, bad := range [][]byte{
		nil,
		{0, 0},
		{2, 0, 0},          // unknown flag
		{0, 1, 1},          // depth 257
		{0, 0, 1, 0x80, 1}, // trailing byte
		{0, 0, 1, 0x40},    // bitmap padding
		slices.Concat([]byte{0, 0, 1, 0}, make([]byte, 32)), // listed empty sibling
		{1, 0, 0, 1, 2, 3}, // short leaf
	} {
		var p Proof
		if err := p.Unmarshal(bad); !errors.Is(err, ErrInvalidProof) {
			t.Errorf("Unmarshal(%x) = %v, want ErrInvalidProof", bad, err)
		}
	}
}

func hb(h Hash) []byte { return h[:] }

// TestRefusesIAVLStore opens a database laid out as format 1 left it (Pebble's default
// comparer, the marker ipledger-store/1, IAVL nodes under 't') and expects a clear refusal
// that leaves the database as it was.
func TestRefusesIAVLStore(t *testing.T) {
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set(formatKey, []byte("ipledger-store/1"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("ts\x00\x00\x00\x01"), []byte("an IAVL root"), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s, err := Open(Options{Dir: dir})
		if err == nil {
			_ = s.Close()
			t.Fatal("Open accepted an IAVL store")
		}
		for _, want := range []string{"IAVL", "ipledger-store/1", "new node home"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	}
}

// TestCorruptNode damages tree records on disk and expects errors, not panics or wrong
// roots, from the working tree and from proofs.
func TestCorruptNode(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"garbage", func([]byte) []byte { return []byte("garbage") }},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }},
		{"another hash", func(b []byte) []byte { b = bytes.Clone(b); b[10] ^= 1; return b }},
		{"missing", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTest(t, dir, Options{NoSync: true})
			for i := range 2000 {
				if err := s.Working().Set(fmt.Appendf(nil, "k%d", i), []byte("v")); err != nil {
					t.Fatal(err)
				}
			}
			commit(t, s)
			// Damage the root node, which every path goes through.
			keys, values := records(t, s, spaceNode)
			i := slices.IndexFunc(keys, func(k []byte) bool { return k[9] == 0 })
			if i < 0 {
				t.Fatal("no root node")
			}
			var err error
			if c.damage == nil {
				err = s.db.Delete(keys[i], pebble.Sync)
			} else {
				err = s.db.Set(keys[i], c.damage(values[i]), pebble.Sync)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openTest(t, dir, Options{NoSync: true})
			if _, _, err := s.Prove(0, []byte("k1")); !errors.Is(err, errCorrupt) {
				t.Errorf("Prove = %v, want a corruption error", err)
			}
			if err := s.Working().Set([]byte("k1"), []byte("w")); err != nil {
				t.Fatal(err)
			}
			if h := s.WorkingHash(); h != nil {
				t.Errorf("WorkingHash over a damaged tree = %x, want nil", h)
			}
			if _, _, err := s.Commit(); !errors.Is(err, errCorrupt) {
				t.Errorf("Commit = %v, want a corruption error", err)
			}
			// Reads of values do not need the tree.
			if v, err := s.Working().Get([]byte("k2")); err != nil || string(v) != "v" {
				t.Errorf("Get = %q, %v", v, err)
			}
		})
	}
}

// TestPruningDeletesRecords checks that pruning removes what only pruned versions used:
// the records stay bounded however many versions go by.
func TestPruningDeletesRecords(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true, KeepRecent: 2})
	count := func(space byte) int { k, _ := records(t, s, space); return len(k) }
	for v := range 200 {
		for i := range 50 {
			k := fmt.Appendf(nil, "k%d", (i*7+v)%80)
			var err error
			if (i+v)%9 == 0 {
				err = s.Working().Delete(k)
			} else {
				err = s.Working().Set(k, fmt.Appendf(nil, "%d", v))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		commit(t, s)
	}
	t.Logf("records: %d roots, %d values, %d nodes, %d lists", count(spaceRoot), count(spaceValue), count(spaceNode), count(spaceStale))
	// Retained: 2 versions of at most 80 keys (plus tombstones) and their nodes.
	if n := count(spaceRoot); n != 2 {
		t.Errorf("%d root records, want 2", n)
	}
	if n := count(spaceValue); n > 3*80 {
		t.Errorf("%d value records for 80 keys in 2 versions", n)
	}
	if n := count(spaceNode); n > 3*20 {
		t.Errorf("%d node records for 80 keys in 2 versions", n)
	}
	if n := count(spaceStale); n > 3 {
		t.Errorf("%d superseded-record lists", n)
	}
}

// TestProofsMustBeCanonical builds proofs no tree gives, with roots that fit them, and
// expects VerifyProof to refuse them anyway: the walk stops at the first subtree of at
// most one leaf, so the last sibling is never empty, and a proof's leaf lies on the key's
// path.
func TestProofsMustBeCanonical(t *testing.T) {
	key := []byte("k")
	kh := sha256.Sum256(key)
	// fold computes the root a proof gives for key, as VerifyProof does.
	fold := func(p *Proof, h Hash) []byte {
		for i := len(p.Siblings) - 1; i >= 0; i-- {
			if kh[i/8]&(0x80>>(i%8)) == 0 {
				h = hashInner(&h, &p.Siblings[i])
			} else {
				h = hashInner(&p.Siblings[i], &h)
			}
		}
		return h[:]
	}
	vh := sha256.Sum256([]byte("v"))
	// A leaf for key one level down beside an empty subtree: the tree would have
	// stored the leaf one level up.
	p := &Proof{Siblings: []Hash{emptyHash}, Leaf: &ProofLeaf{KeyHash: kh, ValueHash: vh}}
	if err := VerifyProof(fold(p, hashLeaf(&kh, &vh)), key, []byte("v"), p); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("empty last sibling: %v", err)
	}
	// A leaf off the key's path, offered as proof of absence.
	other := kh
	other[0] ^= 0x80
	p = &Proof{Siblings: []Hash{{7}}, Leaf: &ProofLeaf{KeyHash: other, ValueHash: vh}}
	if err := VerifyProof(fold(p, hashLeaf(&other, &vh)), key, nil, p); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("leaf off the path: %v", err)
	}
	// The same leaf on the path proves absence.
	other = kh
	other[31] ^= 1
	p = &Proof{Siblings: []Hash{{7}}, Leaf: &ProofLeaf{KeyHash: other, ValueHash: vh}}
	if err := VerifyProof(fold(p, hashLeaf(&other, &vh)), key, nil, p); err != nil {
		t.Errorf("leaf on the path: %v", err)
	}
}

// TestSideBatchOrder checks that a side batch applies writes to one key in call order,
// also around range deletions, although it hands most batches to Pebble sorted by key.
func TestSideBatchOrder(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{NoSync: true})
	b := s.NewSideBatch()
	buf := []byte("a")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.Set(buf, []byte("1")))
	buf[0] = 'z' // the batch copied the key
	must(b.Set([]byte("b"), []byte("1")))
	must(b.Delete([]byte("b")))
	must(b.Delete([]byte("c")))
	must(b.Set([]byte("c"), []byte("2")))
	must(b.Set([]byte("d"), []byte("1")))
	must(b.Set([]byte("d"), []byte("2")))
	must(b.Commit(false))
	want := refKV{"a": []byte("1"), "c": []byte("2"), "d": []byte("2")}
	if got := collect(t, sideKV{s}, nil, nil, false, -1); !slices.Equal(got, want.want(nil, nil, false, -1)) {
		t.Fatalf("side tables %q, want %q", got, want.want(nil, nil, false, -1))
	}
	b = s.NewSideBatch()
	must(b.Set([]byte("k2"), []byte("gone")))
	must(b.DeleteRange([]byte("k1"), []byte("k5")))
	must(b.Set([]byte("k3"), []byte("kept")))
	must(b.Set([]byte("a"), []byte("3")))
	must(b.Commit(false))
	want["k3"], want["a"] = []byte("kept"), []byte("3")
	if got := collect(t, sideKV{s}, nil, nil, false, -1); !slices.Equal(got, want.want(nil, nil, false, -1)) {
		t.Fatalf("side tables %q, want %q", got, want.want(nil, nil, false, -1))
	}
}
