package rdap

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ipledger/ipledger"
)

// randomTree returns random holdings over AS0-AS255: pools covering the space at depth 0,
// and below each holding disjoint sub-holdings, down to depth 4. Ids are assigned in
// creation order, as the ledger does.
func randomTree(rng *rand.Rand) []ipledger.Holding {
	var out []ipledger.Holding
	var grow func(first, last uint32, depth int)
	grow = func(first, last uint32, depth int) {
		out = append(out, ipledger.Holding{ID: uint64(len(out) + 1), Resource: mustAS(first, last), Depth: depth, Holder: "H"})
		if depth == 4 || rng.IntN(4) == 0 {
			return
		}
		// Disjoint children at random places inside [first, last].
		for a := first; a <= last; {
			n := uint32(rng.IntN(int(last-a)+1)) + 1
			b := a + n - 1
			if rng.IntN(3) > 0 {
				grow(a, b, depth+1)
			}
			if b == last {
				break
			}
			a = b + 1 + uint32(rng.IntN(3))
		}
	}
	for a := uint32(0); a <= 255; {
		b := min(255, a+uint32(rng.IntN(100)))
		grow(a, b, 0)
		a = b + 1
	}
	return out
}

func mustAS(a, b uint32) ipledger.Resource {
	r, err := ipledger.ASRange(a, b)
	if err != nil {
		panic(err)
	}
	return r
}

// indexOf builds an index over hs the way buildIndex does from the ledger (every holding
// served).
func indexOf(hs []ipledger.Holding) *index {
	hs = slices.Clone(hs)
	slices.SortFunc(hs, func(a, b ipledger.Holding) int {
		return cmp.Or(cmp.Compare(a.Depth, b.Depth), a.Resource.Compare(b.Resource))
	})
	x := &index{}
	for _, h := range hs {
		x.hold = append(x.hold, entry{res: h.Resource, id: h.ID, holder: h.Holder, depth: uint8(h.Depth), served: true})
	}
	f := ipledger.ASN
	for i, e := range x.hold {
		d := int(e.depth)
		for len(x.levels[f]) <= d {
			x.levels[f] = append(x.levels[f], [2]int{i, i})
		}
		x.levels[f][d][1] = i + 1
	}
	return x
}

// chainOf is the lookup chain of r: the holdings containing all of it, pool first.
func chainOf(hs []ipledger.Holding, r ipledger.Resource) []ipledger.Holding {
	var out []ipledger.Holding
	for d := 0; ; d++ {
		found := false
		for _, h := range hs {
			if h.Depth == d && h.Resource.Contains(r) {
				out, found = append(out, h), true
			}
		}
		if !found {
			return out
		}
	}
}

// TestRelationsAgainstReference compares down and bottom on random holding trees with an
// obviously correct reference: bottom is, over every number of the argument, the deepest
// holding containing it; down the holdings one level below the lookup chain inside the
// argument.
func TestRelationsAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		hs := randomTree(rng)
		x := indexOf(hs)
		for range 20 {
			a := uint32(rng.IntN(256))
			b := min(255, a+uint32(rng.IntN(80)))
			q := mustAS(a, b)
			chn := chainOf(hs, q)
			var enclosing *ipledger.Holding
			if len(chn) > 0 {
				enclosing = &chn[len(chn)-1]
			}
			// bottom
			want := map[uint64]bool{}
			for n := a; n <= b; n++ {
				c := chainOf(hs, mustAS(n, n))
				if len(c) > 0 {
					want[c[len(c)-1].ID] = true
				}
			}
			got, trunc := x.bottom(q, enclosing, 10_000)
			gotIDs := map[uint64]bool{}
			for _, i := range got {
				gotIDs[x.hold[i].id] = true
			}
			if trunc || len(got) != len(gotIDs) || !mapsEqual(gotIDs, want) {
				t.Fatalf("round %d: bottom(%s) = %v (truncated %v), want %v", round, q, gotIDs, trunc, want)
			}
			if !slices.IsSortedFunc(got, func(i, j int32) int { return x.hold[i].res.Compare(x.hold[j].res) }) {
				t.Fatalf("bottom(%s) not in address order", q)
			}
			// down
			var wantDown []uint64
			for _, h := range hs {
				if h.Depth == len(chn) && q.Contains(h.Resource) {
					wantDown = append(wantDown, h.ID)
				}
			}
			d, _ := x.down(q, len(chn), 10_000)
			var gotDown []uint64
			for _, i := range d {
				gotDown = append(gotDown, x.hold[i].id)
			}
			slices.Sort(wantDown)
			slices.Sort(gotDown)
			if !slices.Equal(gotDown, wantDown) {
				t.Fatalf("round %d: down(%s) = %v, want %v", round, q, gotDown, wantDown)
			}
			// A small limit truncates and says so.
			if len(want) > 2 {
				if got, trunc := x.bottom(q, enclosing, 2); len(got) != 2 || !trunc {
					t.Fatalf("bottom(%s) limit 2: %d results, truncated %v", q, len(got), trunc)
				}
			}
		}
	}
}

func mapsEqual(a, b map[uint64]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}
