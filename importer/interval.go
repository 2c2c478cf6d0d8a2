package importer

import (
	"slices"
	"sort"

	"github.com/ipledger/ipledger"
)

// famIndex maps a family to a small array index (0 for an invalid family).
func famIndex(f ipledger.Family) int {
	if f >= ipledger.IPv4 && f <= ipledger.ASN {
		return int(f)
	}
	return 0
}

// seg is a run of pool space under one registry in the planner's simulation of the pools.
type seg struct {
	lo, hi ipledger.Number
	reg    string
	status ipledger.Status
	// lvl is the batch level of the transfer that last moved this space here (0 for
	// genesis): a transfer touching it must come in a later level.
	lvl int
	// pool tells genesis pools apart: two adjacent segments that never moved are one
	// ledger pool only if they come from the same genesis pool.
	pool int
}

// poolMap is the pool space of one family as a sorted list of disjoint segments that
// covers the whole space. It is only mutated for the IANA file's few thousand records, so
// a sorted slice is fast enough.
type poolMap struct{ segs []seg }

// find returns the index of the segment holding n.
func (m *poolMap) find(n ipledger.Number) int {
	return sort.Search(len(m.segs), func(i int) bool { return !m.segs[i].hi.Less(n) })
}

// overlapping returns the segments that share numbers with lo..hi, in order.
func (m *poolMap) overlapping(lo, hi ipledger.Number) []seg {
	i := m.find(lo)
	j := i
	for j < len(m.segs) && !hi.Less(m.segs[j].lo) {
		j++
	}
	return m.segs[i:j]
}

// assign gives lo..hi to the registry, status and level of to, splitting the segments at
// its ends.
func (m *poolMap) assign(lo, hi ipledger.Number, to seg) {
	i, j := m.find(lo), m.find(hi)
	var repl []seg
	if first := m.segs[i]; first.lo.Less(lo) {
		first.hi, _ = lo.Prev()
		repl = append(repl, first)
	}
	to.lo, to.hi = lo, hi
	repl = append(repl, to)
	if last := m.segs[j]; hi.Less(last.hi) {
		last.lo, _ = hi.Next()
		repl = append(repl, last)
	}
	m.segs = slices.Replace(m.segs, i, j+1, repl...)
}

// spanSet is a growing set of disjoint ranges of one family, each with a reference to the
// record that claimed it. Ranges are kept sorted by start in chunks, so inserting 10^5
// ranges in any order stays cheap.
type spanSet struct{ chunks [][]claim }

type claim struct {
	lo, hi ipledger.Number
	ref    int
}

const chunkSize = 256

// pred locates the last range starting at or before x.
func (s *spanSet) pred(x ipledger.Number) (ci, k int, ok bool) {
	ci = sort.Search(len(s.chunks), func(i int) bool { return x.Less(s.chunks[i][0].lo) }) - 1
	if ci < 0 {
		return 0, 0, false
	}
	c := s.chunks[ci]
	k = sort.Search(len(c), func(i int) bool { return x.Less(c[i].lo) }) - 1
	return ci, k, true
}

// overlap returns a range of the set that shares numbers with lo..hi. The set's ranges are
// disjoint, so ends grow with starts and only the last range starting at or before hi can
// reach back to lo.
func (s *spanSet) overlap(lo, hi ipledger.Number) (claim, bool) {
	ci, k, ok := s.pred(hi)
	if !ok {
		return claim{}, false
	}
	c := s.chunks[ci][k]
	if c.hi.Less(lo) {
		return claim{}, false
	}
	return c, true
}

// insert adds c, which must not overlap the set.
func (s *spanSet) insert(c claim) {
	if len(s.chunks) == 0 {
		s.chunks = [][]claim{{c}}
		return
	}
	ci, k, ok := s.pred(c.lo)
	if !ok {
		ci, k = 0, -1
	}
	ch := slices.Insert(s.chunks[ci], k+1, c)
	if len(ch) <= 2*chunkSize {
		s.chunks[ci] = ch
		return
	}
	right := slices.Clone(ch[chunkSize:])
	s.chunks[ci] = ch[:chunkSize]
	s.chunks = slices.Insert(s.chunks, ci+1, right)
}
