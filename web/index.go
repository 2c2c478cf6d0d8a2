package web

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// The page index: every organisation's name and every holding by holder, of one committed
// state. The ledger keys holdings by resource, so an organisation's holdings and a search
// by name would each walk the whole state; the index walks it once per state a page needs
// it for (a new state root; empty blocks keep it), one build at a time while other pages
// wait for it.

type pageIndex struct {
	key  string
	orgs []orgEntry // in handle order
	held map[string][]heldEntry
}

type orgEntry struct {
	handle, name, upper string // upper: handle and name upper-cased, for searching
}

// heldEntry is one holding of an organisation.
type heldEntry struct {
	Resource ipledger.Resource
	Status   ipledger.Status
	Depth    int
	ID       uint64
}

type indexCache struct {
	mu  sync.Mutex
	cur *pageIndex
}

func indexKey(s *ipledger.Snapshot) string {
	if len(s.Block.StateRoot) > 0 {
		return "root:" + string(s.Block.StateRoot)
	}
	return "height:" + strconv.FormatInt(s.Height, 10)
}

// get returns the index of snap's state, building it if the last one is of another.
func (c *indexCache) get(snap *ipledger.Snapshot) (*pageIndex, error) {
	key := indexKey(snap)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && c.cur.key == key {
		return c.cur, nil
	}
	x := &pageIndex{key: key, held: map[string][]heldEntry{}}
	if err := ledger.Orgs(snap.State, func(o *ipledger.Organisation) bool {
		x.orgs = append(x.orgs, orgEntry{handle: o.Handle, name: o.Name, upper: strings.ToUpper(o.Handle + " " + o.Name)})
		return true
	}); err != nil {
		return nil, fmt.Errorf("index organisations: %w", err)
	}
	if err := ledger.Holdings(snap.State, func(h *ipledger.Holding) bool {
		x.held[h.Holder] = append(x.held[h.Holder], heldEntry{Resource: h.Resource, Status: h.Status, Depth: h.Depth, ID: h.ID})
		return true
	}); err != nil {
		return nil, fmt.Errorf("index holdings: %w", err)
	}
	for _, hs := range x.held {
		slices.SortFunc(hs, func(a, b heldEntry) int { return a.Resource.Compare(b.Resource) })
	}
	c.cur = x
	return x, nil
}

// findOrgs returns the organisations whose handle or name contains every word of q
// (upper case), in handle order, at most limit, and whether more match.
func (x *pageIndex) findOrgs(q string, limit int) ([]orgMatch, bool) {
	words := strings.Fields(q)
	var out []orgMatch
	for _, o := range x.orgs {
		if !containsAll(o.upper, words) {
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, orgMatch{Handle: o.handle, Name: o.name})
	}
	return out, false
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return len(words) > 0
}
