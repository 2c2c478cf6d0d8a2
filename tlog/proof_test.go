package tlog

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// Reference RFC 6962 §2.1 definitions, written from the RFC's recursive text: MTH, PATH
// and SUBPROOF. Slow and obviously correct; the tree and proofs under test must agree.

func refLeaf(d []byte) []byte { h := sha256.Sum256(append([]byte{0}, d...)); return h[:] }

func refNode(l, r []byte) []byte {
	h := sha256.Sum256(append(append([]byte{1}, l...), r...))
	return h[:]
}

// split returns the largest power of two smaller than n (n > 1).
func split(n int) int {
	k := 1
	for k*2 < n {
		k *= 2
	}
	return k
}

// ref evaluates the definitions over leaves d; subtree hashes are memoised by range (the
// data only grows, so a range's hash never changes).
type ref struct {
	d    [][]byte
	memo map[[2]int][]byte
}

func (r *ref) mth(lo, hi int) []byte {
	switch hi - lo {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return refLeaf(r.d[lo])
	}
	if h, ok := r.memo[[2]int{lo, hi}]; ok {
		return h
	}
	k := split(hi - lo)
	h := refNode(r.mth(lo, lo+k), r.mth(lo+k, hi))
	r.memo[[2]int{lo, hi}] = h
	return h
}

func (r *ref) path(m, lo, hi int) [][]byte {
	if hi-lo <= 1 {
		return nil
	}
	k := split(hi - lo)
	if m < k {
		return append(r.path(m, lo, lo+k), r.mth(lo+k, hi))
	}
	return append(r.path(m-k, lo+k, hi), r.mth(lo, lo+k))
}

func (r *ref) subproof(m, lo, hi int, b bool) [][]byte {
	n := hi - lo
	if m == n {
		if b {
			return nil
		}
		return [][]byte{r.mth(lo, hi)}
	}
	k := split(n)
	if m <= k {
		return append(r.subproof(m, lo, lo+k, b), r.mth(lo+k, hi))
	}
	return append(r.subproof(m-k, lo+k, hi, false), r.mth(lo, lo+k))
}

func TestProofsAgainstReference(t *testing.T) {
	const max = 3000
	rf := &ref{memo: map[[2]int][]byte{}}
	nodes := map[[2]uint64][]byte{}
	read := func(level uint, index uint64) ([]byte, error) { return nodes[[2]uint64{uint64(level), index}], nil }
	tr := New()
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= max; n++ {
		leaf := []byte(fmt.Sprintf("leaf %d", n-1))
		rf.d = append(rf.d, leaf)
		data := rf.d
		if err := tr.Append(HashLeaf(leaf), func(level uint, index uint64, h []byte) {
			nodes[[2]uint64{uint64(level), index}] = h
		}); err != nil {
			t.Fatal(err)
		}
		size := uint64(n)
		root := tr.Root()
		if want := rf.mth(0, n); !bytes.Equal(root, want) {
			t.Fatalf("size %d: root %x, reference %x", n, root, want)
		}
		for _, i := range []int{0, n / 2, n - 1, rng.IntN(n)} {
			p, err := InclusionProof(uint64(i), size, read)
			if err != nil {
				t.Fatal(err)
			}
			if want := rf.path(i, 0, n); !equalHashes(p, want) {
				t.Fatalf("size %d leaf %d: inclusion proof differs from PATH", n, i)
			}
			if err := VerifyInclusion(uint64(i), size, refLeaf(data[i]), p, root); err != nil {
				t.Fatalf("size %d leaf %d: %v", n, i, err)
			}
			if err := VerifyInclusion(uint64(i), size, refLeaf([]byte("other")), p, root); err == nil {
				t.Fatalf("size %d leaf %d: proof verifies a different leaf", n, i)
			}
		}
		for _, m := range []int{1, n / 2, n - 1, 1 + rng.IntN(n)} {
			if m < 1 || m > n {
				continue
			}
			p, err := ConsistencyProof(uint64(m), size, read)
			if err != nil {
				t.Fatal(err)
			}
			if want := rf.subproof(m, 0, n, true); !equalHashes(p, want) {
				t.Fatalf("sizes %d→%d: consistency proof differs from SUBPROOF", m, n)
			}
			if err := VerifyConsistency(uint64(m), size, p, rf.mth(0, m), root); err != nil {
				t.Fatalf("sizes %d→%d: %v", m, n, err)
			}
			if err := VerifyConsistency(uint64(m), size, p, refLeaf([]byte("forged")), root); err == nil {
				t.Fatalf("sizes %d→%d: proof accepts a forged old root", m, n)
			}
		}
	}
}

func equalHashes(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestTilePaths(t *testing.T) {
	for _, c := range []struct {
		tile Tile
		path string
	}{
		{Tile{Level: 0, Index: 0, Width: 256}, "tile/0/000"},
		{Tile{Level: 1, Index: 1234067, Width: 256}, "tile/1/x001/x234/067"},
		{Tile{Level: -1, Index: 5, Width: 17}, "tile/entries/005.p/17"},
		{Tile{Level: 2, Index: 1000, Width: 255}, "tile/2/x001/000.p/255"},
	} {
		if got := c.tile.Path(); got != c.path {
			t.Errorf("%+v: path %q, want %q", c.tile, got, c.path)
		}
		if got, err := ParseTilePath(c.path); err != nil || got != c.tile {
			t.Errorf("parse %q: %+v %v", c.path, got, err)
		}
	}
	for _, bad := range []string{"tile/0/1", "tile/0/x000/001", "tile/0/001/002", "tile/-1/000", "tile/0/000.p/256",
		"tile/0/000.p/0", "tile/0/000.p/07", "tile/01/000", "tile/entries/", "tiles/0/000", "tile/0/x1/000",
		"tile/0/" + strings.Repeat("x999/", 7) + "999"} {
		if _, err := ParseTilePath(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestBundles(t *testing.T) {
	var b []byte
	var err error
	entries := [][]byte{{}, []byte("a"), bytes.Repeat([]byte{7}, MaxEntry)}
	for _, e := range entries {
		if b, err = AppendBundle(b, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := SplitBundle(b)
	if err != nil || !equalHashes(got, entries) {
		t.Fatalf("split: %d entries, %v", len(got), err)
	}
	if _, err := AppendBundle(nil, make([]byte, MaxEntry+1)); err == nil {
		t.Fatal("oversized entry bundled")
	}
	if _, err := SplitBundle(b[:len(b)-1]); err == nil {
		t.Fatal("truncated bundle split")
	}
}

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/1/x001/x234/067", "tile/entries/005.p/17", "tile/0/x1/000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tl, err := ParseTilePath(s)
		if err != nil {
			return
		}
		if tl.Path() != s {
			t.Fatalf("%q parsed to %+v which writes %q", s, tl, tl.Path())
		}
	})
}

func FuzzSplitBundle(f *testing.F) {
	f.Add([]byte{0, 1, 'a', 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := SplitBundle(b)
		if err != nil {
			return
		}
		var out []byte
		for _, e := range es {
			out, _ = AppendBundle(out, e)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("bundle does not re-encode to itself")
		}
	})
}
