package web

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// The page index: every organisation's name and every holding by holder. The ledger keys
// holdings by resource, so an organisation's holdings and a search by name would each
// walk the whole state (a second on the 2014-06 import). The index walks it once, then
// follows the chain: for each new block it re-reads only the holdings and organisations
// the block's transactions and events touched (every change to a holding touches it and
// its holder). A page may so read the index a block ahead of its own state, never behind.

// maxCatchUp is the most blocks the index follows one by one; further behind it is built
// again from the state.
const maxCatchUp = 256

type pageIndex struct {
	mu     sync.RWMutex
	height int64
	orgs   []orgEntry // in handle order
	held   map[string][]heldEntry
	holder map[uint64]string            // holding id → holder, to find a changed holding's old entry
	live   map[uint64]*ipledger.Listing // open and pending listings, for resource pages

	textMu sync.Mutex // builds text under the read lock
	text   *nameText  // nil until a search needs it, and again after an organisation changes
}

type orgEntry struct {
	handle, name string
}

// nameText is every organisation's handle and name upper-cased, one line each in handle
// order, for searching. A search looks through runs of chunkLines lines with bytes.Index
// (memory speed once it turns to SIMD); a strings.Contains per organisation started over
// 139,000 times, and searches by name took two thirds of the explorer's CPU under bench
// web. Each chunk also keeps a Bloom filter of its lines' three-byte sequences: a chunk
// lacking one of a query word's is skipped unread.
type nameText struct {
	text  []byte
	ends  []int // ends[i] is the offset just past organisation i's line
	bloom []chunkBloom
}

// chunkLines is how many lines one Bloom filter covers.
const chunkLines = 16

// chunkBloom is a Bloom filter (one hash) of the trigrams of chunkLines lines: 8,192
// bits, about a third of them set by 16 imported names (their boilerplate repeats).
type chunkBloom [8192 / 64]uint64

// trigramBit is the Bloom filter bit of the three bytes a, b, c.
func trigramBit(a, b, c byte) uint32 {
	return (uint32(a)<<16 | uint32(b)<<8 | uint32(c)) * 0x9E3779B1 >> (32 - 13)
}

func (b *chunkBloom) add(line []byte) {
	for j := 0; j+2 < len(line); j++ {
		k := trigramBit(line[j], line[j+1], line[j+2])
		b[k/64] |= 1 << (k % 64)
	}
}

func (b *chunkBloom) hasAll(bits []uint32) bool {
	for _, k := range bits {
		if b[k/64]&(1<<(k%64)) == 0 {
			return false
		}
	}
	return true
}

// lineStart is the offset of line i.
func (t *nameText) lineStart(i int) int {
	if i == 0 {
		return 0
	}
	return t.ends[i-1]
}

// heldEntry is one holding of an organisation.
type heldEntry struct {
	Resource ipledger.Resource
	Status   ipledger.Status
	Depth    int
	ID       uint64
}

type indexCache struct {
	mu     sync.Mutex // one build or catch-up at a time
	cur    *pageIndex
	builds int // full builds, for tests
}

// get returns the index at snap's height or later, building it or catching it up.
func (c *indexCache) get(r ipledger.Reader, snap *ipledger.Snapshot) (*pageIndex, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if x := c.cur; x != nil {
		x.mu.RLock()
		h := x.height
		x.mu.RUnlock()
		if h >= snap.Height {
			return x, nil
		}
		if snap.Height-h <= maxCatchUp {
			err := x.catchUp(r, snap)
			if err == nil {
				return x, nil
			}
			// A block record the node no longer has, or a state that moved on: build.
		}
	}
	x, err := buildIndex(snap)
	if err != nil {
		return nil, err
	}
	c.cur = x
	c.builds++
	return x, nil
}

func buildIndex(snap *ipledger.Snapshot) (*pageIndex, error) {
	x := &pageIndex{height: snap.Height, held: map[string][]heldEntry{}, holder: map[uint64]string{}, live: map[uint64]*ipledger.Listing{}}
	if err := ledger.Orgs(snap.State, func(o *ipledger.Organisation) bool {
		x.orgs = append(x.orgs, newOrgEntry(o))
		return true
	}); err != nil {
		return nil, fmt.Errorf("index organisations: %w", err)
	}
	if err := ledger.Holdings(snap.State, func(h *ipledger.Holding) bool {
		x.held[h.Holder] = append(x.held[h.Holder], newHeldEntry(h))
		x.holder[h.ID] = h.Holder
		return true
	}); err != nil {
		return nil, fmt.Errorf("index holdings: %w", err)
	}
	for _, hs := range x.held {
		slices.SortFunc(hs, compareHeld)
	}
	if err := ledger.Listings(snap.State, func(l *ipledger.Listing) bool {
		if liveListing(l) {
			x.live[l.ID] = l
		}
		return true
	}); err != nil {
		return nil, fmt.Errorf("index listings: %w", err)
	}
	return x, nil
}

func newOrgEntry(o *ipledger.Organisation) orgEntry {
	return orgEntry{handle: o.Handle, name: o.Name}
}

func newHeldEntry(h *ipledger.Holding) heldEntry {
	return heldEntry{Resource: h.Resource, Status: h.Status, Depth: h.Depth, ID: h.ID}
}

func compareHeld(a, b heldEntry) int {
	return cmp.Or(a.Resource.Compare(b.Resource), cmp.Compare(a.Depth, b.Depth))
}

// catchUp brings x from its height to snap's: it reads each block record in between for
// the objects touched, then re-reads those from snap's state.
func (x *pageIndex) catchUp(r ipledger.Reader, snap *ipledger.Snapshot) error {
	touched := map[string]bool{}
	for h := x.height + 1; h <= snap.Height; h++ {
		rec, err := r.Block(h)
		if err != nil {
			return fmt.Errorf("block %d: %w", h, err)
		}
		if rec == nil {
			return fmt.Errorf("no record of block %d", h)
		}
		for _, t := range rec.Txs {
			for _, o := range t.Touched {
				touched[o] = true
			}
		}
		for _, ev := range rec.Events {
			for _, o := range ev.Touched {
				touched[o] = true
			}
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for obj := range touched {
		kind, id, _ := strings.Cut(obj, "/")
		var err error
		switch kind {
		case "holding":
			err = x.updateHolding(snap.State, id)
		case "org":
			err = x.updateOrg(snap.State, id)
		case "listing":
			err = x.updateListing(snap.State, id)
		}
		if err != nil {
			return err
		}
	}
	x.height = snap.Height
	return nil
}

func (x *pageIndex) updateHolding(kv ipledger.KV, ids string) error {
	id, err := strconv.ParseUint(ids, 10, 64)
	if err != nil {
		return fmt.Errorf("touched holding %q: %w", ids, err)
	}
	if old, ok := x.holder[id]; ok {
		x.held[old] = slices.DeleteFunc(x.held[old], func(e heldEntry) bool { return e.ID == id })
		delete(x.holder, id)
	}
	h, err := ledger.HoldingByID(kv, id)
	if err != nil || h == nil {
		return err // nil: the holding is gone
	}
	e := newHeldEntry(h)
	hs := x.held[h.Holder]
	i, _ := slices.BinarySearchFunc(hs, e, compareHeld)
	x.held[h.Holder] = slices.Insert(hs, i, e)
	x.holder[id] = h.Holder
	return nil
}

func (x *pageIndex) updateOrg(kv ipledger.KV, handle string) error {
	o, err := ledger.Org(kv, handle)
	if err != nil || o == nil {
		return err
	}
	i, ok := slices.BinarySearchFunc(x.orgs, handle, func(e orgEntry, h string) int { return strings.Compare(e.handle, h) })
	if ok {
		x.orgs[i] = newOrgEntry(o)
	} else {
		x.orgs = slices.Insert(x.orgs, i, newOrgEntry(o))
	}
	x.text = nil // under the write lock: no search is reading it
	return nil
}

func liveListing(l *ipledger.Listing) bool {
	return l.State == ipledger.ListingOpen || l.State == ipledger.ListingPending
}

func (x *pageIndex) updateListing(kv ipledger.KV, ids string) error {
	id, err := strconv.ParseUint(ids, 10, 64)
	if err != nil {
		return fmt.Errorf("touched listing %q: %w", ids, err)
	}
	l, err := ledger.ListingByID(kv, id)
	if err != nil {
		return err
	}
	if l != nil && liveListing(l) {
		x.live[id] = l
	} else {
		delete(x.live, id)
	}
	return nil
}

// listingsOver returns the open and pending listings of blocks overlapping r, by id.
// A listing is never changed in place (a change stores a new one), so they may be shared.
func (x *pageIndex) listingsOver(r ipledger.Resource) []*ipledger.Listing {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []*ipledger.Listing
	for _, l := range x.live {
		if l.Resource.Overlaps(r) {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b *ipledger.Listing) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// heldBy returns a copy of the holdings of org from position from, at most limit, and
// how many it holds.
func (x *pageIndex) heldBy(org string, from, limit int) ([]heldEntry, int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	hs := x.held[org]
	if from >= len(hs) {
		return nil, len(hs)
	}
	return slices.Clone(hs[from:min(len(hs), from+limit)]), len(hs)
}

// names returns the search text of x's organisations, building it on first use. The
// caller holds x.mu for reading.
func (x *pageIndex) names() *nameText {
	x.textMu.Lock()
	defer x.textMu.Unlock()
	if x.text == nil {
		t := &nameText{ends: make([]int, 0, len(x.orgs))}
		for _, o := range x.orgs {
			// Upper-case, and no line break inside a line: a query word has none, so a
			// match never spans two organisations.
			t.text = append(t.text, strings.ToUpper(strings.ReplaceAll(o.handle+" "+o.name, "\n", " "))...)
			t.text = append(t.text, '\n')
			t.ends = append(t.ends, len(t.text))
		}
		t.bloom = make([]chunkBloom, (len(t.ends)+chunkLines-1)/chunkLines)
		for i := range t.ends {
			t.bloom[i/chunkLines].add(t.text[t.lineStart(i) : t.ends[i]-1])
		}
		x.text = t
	}
	return x.text
}

// findOrgs returns the organisations whose handle or name contains every word of q
// (upper case), in handle order, at most limit, and whether more match. It looks for the
// longest word through the whole text, then checks the others on each line it hits.
func (x *pageIndex) findOrgs(q string, limit int) ([]orgMatch, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	words := strings.Fields(q)
	if len(words) == 0 {
		return nil, false
	}
	slices.SortStableFunc(words, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	t := x.names()
	var bits []uint32 // every trigram of every word: a matching line holds them all
	for _, w := range words {
		for j := 0; j+2 < len(w); j++ {
			bits = append(bits, trigramBit(w[j], w[j+1], w[j+2]))
		}
	}
	first := []byte(words[0])
	var out []orgMatch
	for c := range t.bloom {
		if !t.bloom[c].hasAll(bits) {
			continue
		}
		lo, hi := c*chunkLines, min((c+1)*chunkLines, len(t.ends))
		end := t.ends[hi-1]
		for pos := t.lineStart(lo); pos < end; {
			j := bytes.Index(t.text[pos:end], first)
			if j < 0 {
				break
			}
			i, _ := slices.BinarySearch(t.ends[lo:hi], pos+j+1) // the line holding the match
			i += lo
			start := t.lineStart(i)
			pos = t.ends[i]
			if !containsAll(t.text[start:pos], words[1:]) {
				continue
			}
			if len(out) == limit {
				return out, true
			}
			out = append(out, orgMatch{Handle: x.orgs[i].handle, Name: x.orgs[i].name})
		}
	}
	return out, false
}

func containsAll(line []byte, words []string) bool {
	for _, w := range words {
		if !bytes.Contains(line, []byte(w)) {
			return false
		}
	}
	return true
}
