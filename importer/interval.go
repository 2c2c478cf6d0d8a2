package importer

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"sort"

	"github.com/ipledger/ipledger"
)

// num is an unsigned 128-bit number: a position in any family's number space. The root
// package keeps Resource's bounds private, so the planner converts through netip.
type num struct{ hi, lo uint64 }

func (a num) less(b num) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a num) cmp(b num) int {
	switch {
	case a == b:
		return 0
	case a.less(b):
		return -1
	}
	return 1
}

// next returns a+1; ok is false when a is the largest number (2^128-1).
func (a num) next() (num, bool) {
	if a.lo == ^uint64(0) {
		if a.hi == ^uint64(0) {
			return num{}, false
		}
		return num{a.hi + 1, 0}, true
	}
	return num{a.hi, a.lo + 1}, true
}

// prev returns a-1; a must not be zero.
func (a num) prev() num {
	if a.lo == 0 {
		return num{a.hi - 1, ^uint64(0)}
	}
	return num{a.hi, a.lo - 1}
}

func addrNum(a netip.Addr) num {
	if a.Is4() {
		b := a.As4()
		return num{0, uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return num{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func numAddr(f ipledger.Family, n num) netip.Addr {
	if f == ipledger.IPv4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(n.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], n.hi)
	binary.BigEndian.PutUint64(b[8:], n.lo)
	return netip.AddrFrom16(b)
}

// bounds returns the first and last number of r.
func bounds(r ipledger.Resource) (lo, hi num) {
	if r.Family() == ipledger.ASN {
		return num{0, uint64(r.FirstAS())}, num{0, uint64(r.LastAS())}
	}
	return addrNum(r.FirstAddr()), addrNum(r.LastAddr())
}

// span returns the resource lo..hi of family f.
func span(f ipledger.Family, lo, hi num) (ipledger.Resource, error) {
	switch f {
	case ipledger.ASN:
		if lo.hi != 0 || hi.hi != 0 || lo.lo > 0xFFFFFFFF || hi.lo > 0xFFFFFFFF {
			return ipledger.Resource{}, fmt.Errorf("AS range out of bounds")
		}
		return ipledger.ASRange(uint32(lo.lo), uint32(hi.lo))
	case ipledger.IPv4, ipledger.IPv6:
		return ipledger.AddrRange(numAddr(f, lo), numAddr(f, hi))
	}
	return ipledger.Resource{}, fmt.Errorf("unknown family %d", f)
}

// famIndex maps a family to a small array index (0 for an invalid family).
func famIndex(f ipledger.Family) int {
	if f >= ipledger.IPv4 && f <= ipledger.ASN {
		return int(f)
	}
	return 0
}

// seg is a run of pool space under one registry in the planner's simulation of the pools.
type seg struct {
	lo, hi num
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
func (m *poolMap) find(n num) int {
	return sort.Search(len(m.segs), func(i int) bool { return !m.segs[i].hi.less(n) })
}

// overlapping returns the segments that share numbers with lo..hi, in order.
func (m *poolMap) overlapping(lo, hi num) []seg {
	i := m.find(lo)
	j := i
	for j < len(m.segs) && !hi.less(m.segs[j].lo) {
		j++
	}
	return m.segs[i:j]
}

// assign gives lo..hi to the registry, status and level of to, splitting the segments at
// its ends.
func (m *poolMap) assign(lo, hi num, to seg) {
	i, j := m.find(lo), m.find(hi)
	var repl []seg
	if first := m.segs[i]; first.lo.less(lo) {
		first.hi = lo.prev()
		repl = append(repl, first)
	}
	to.lo, to.hi = lo, hi
	repl = append(repl, to)
	if last := m.segs[j]; hi.less(last.hi) {
		last.lo, _ = hi.next()
		repl = append(repl, last)
	}
	m.segs = slices.Replace(m.segs, i, j+1, repl...)
}

// spanSet is a growing set of disjoint ranges of one family, each with a reference to the
// record that claimed it. Ranges are kept sorted by start in chunks, so inserting 10^5
// ranges in any order stays cheap.
type spanSet struct{ chunks [][]claim }

type claim struct {
	lo, hi num
	ref    int
}

const chunkSize = 256

// pred locates the last range starting at or before x.
func (s *spanSet) pred(x num) (ci, k int, ok bool) {
	ci = sort.Search(len(s.chunks), func(i int) bool { return x.less(s.chunks[i][0].lo) }) - 1
	if ci < 0 {
		return 0, 0, false
	}
	c := s.chunks[ci]
	k = sort.Search(len(c), func(i int) bool { return x.less(c[i].lo) }) - 1
	return ci, k, true
}

// overlap returns a range of the set that shares numbers with lo..hi. The set's ranges are
// disjoint, so ends grow with starts and only the last range starting at or before hi can
// reach back to lo.
func (s *spanSet) overlap(lo, hi num) (claim, bool) {
	ci, k, ok := s.pred(hi)
	if !ok {
		return claim{}, false
	}
	c := s.chunks[ci][k]
	if c.hi.less(lo) {
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
