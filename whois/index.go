package whois

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// holderIndex is what inverse queries need and the state has no key for: the holdings of
// each holder and the organisations each registry registered. It is built from one
// committed snapshot, keeps at most perKey entries per key (an answer never shows more)
// and at most maxEntries in all.
type holderIndex struct {
	height     int64
	built      time.Time
	byHolder   map[string][]uint64 // holder handle → holding ids, in state order
	byRegistry map[string][]string // registry handle → organisations it registered
	complete   bool                // false when maxEntries cut the build short
}

// indexer builds the holder index lazily, on the first inverse query after the committed
// height moved, and at most once per minAge: between builds, answers check every entry
// against the current snapshot (so nothing stale is shown) and say which height the index
// is from (so what it cannot know yet is visible).
type indexer struct {
	mu         sync.Mutex
	cur        *holderIndex
	minAge     time.Duration
	perKey     int
	maxEntries int
	now        func() time.Time
	onBuild    func(time.Duration)
}

// get returns an index for snap, building one if there is none, or if the one there is
// older than snap and minAge.
func (x *indexer) get(snap *ipledger.Snapshot) (*holderIndex, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	now := x.now()
	if c := x.cur; c != nil && (c.height >= snap.Height || now.Sub(c.built) < x.minAge) {
		return c, nil
	}
	idx, err := x.build(snap)
	if err != nil {
		return nil, err
	}
	idx.built = now
	x.cur = idx
	if x.onBuild != nil {
		x.onBuild(x.now().Sub(now))
	}
	return idx, nil
}

func (x *indexer) build(snap *ipledger.Snapshot) (*holderIndex, error) {
	idx := &holderIndex{height: snap.Height, byHolder: map[string][]uint64{}, byRegistry: map[string][]string{}, complete: true}
	n := 0
	err := ledger.Holdings(snap.State, func(h *ipledger.Holding) bool {
		if n >= x.maxEntries {
			idx.complete = false
			return false
		}
		if l := idx.byHolder[h.Holder]; len(l) < x.perKey {
			idx.byHolder[h.Holder] = append(l, h.ID)
			n++
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("index holdings: %w", err)
	}
	err = ledger.Orgs(snap.State, func(o *ipledger.Organisation) bool {
		if n >= x.maxEntries {
			idx.complete = false
			return false
		}
		if l := idx.byRegistry[o.Registry]; o.Registry != "" && len(l) < x.perKey {
			idx.byRegistry[o.Registry] = append(l, o.Handle)
			n++
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("index organisations: %w", err)
	}
	return idx, nil
}

// inverse answers -i: the objects whose attribute (org, abuse-c or mnt-by) names the key.
func (r *run) inverse() error {
	idx, err := r.s.index.get(r.snap)
	if err != nil {
		return err
	}
	if idx.height < r.snap.Height {
		r.notes = append(r.notes, fmt.Sprintf("%% Note: inverse lookups use an index of block %d; objects changed since (the ledger is at %d) may be missing.", idx.height, r.snap.Height))
	}
	if !idx.complete {
		r.notes = append(r.notes, "% Note: the inverse index is incomplete (the state is larger than its bound); some objects may be missing.")
	}
	key := r.q.Key
	for _, a := range r.q.Inverse {
		var err error
		switch a {
		case "org":
			err = r.heldBy(idx, key, nil)
		case "abuse-c":
			err = r.abuseOf(idx, key)
		case "mnt-by":
			err = r.maintainedBy(idx, key)
		}
		if errors.Is(err, errLimit) {
			r.truncated()
			break
		}
		if err != nil {
			return err
		}
	}
	if r.primary == 0 {
		return notFound()
	}
	return nil
}

// heldBy prints the holdings whose org is handle (checked against the current state), then
// the abuse role naming handle in its org attribute. keep, if set, filters holdings.
func (r *run) heldBy(idx *holderIndex, handle string, keep func(*ipledger.Organisation) bool) error {
	o, err := r.org(handle)
	if err != nil || o == nil {
		return err
	}
	if keep != nil && !keep(o) {
		return nil
	}
	var list []*ipledger.Holding
	for _, id := range idx.byHolder[handle] {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		h, err := ledger.HoldingByID(r.kv, id)
		if err != nil {
			return fmt.Errorf("holding %d: %w", id, err)
		}
		if h != nil && h.Holder == handle && r.wants(objectType(h)) {
			list = append(list, h)
		}
	}
	sortHoldings(list)
	for _, h := range list {
		c, err := r.chainOf(h)
		if err != nil {
			return err
		}
		if err := r.holding(h, c); err != nil {
			return err
		}
	}
	if keep == nil && o.AbuseMailbox != "" && r.wants(typeRole) {
		return r.roleGroup(o)
	}
	return nil
}

// abuseOf prints the objects whose abuse-c is the role: its organisation and the
// organisation's holdings.
func (r *run) abuseOf(idx *holderIndex, role string) error {
	base, ok := strings.CutSuffix(role, roleSuffix)
	if !ok || !ipledger.ValidHandle(base) {
		return nil
	}
	o, err := r.org(base)
	if err != nil || o == nil || o.AbuseMailbox == "" {
		return err
	}
	if r.wants(typeOrg) {
		if err := r.orgGroup(o); err != nil {
			return err
		}
	}
	return r.heldBy(idx, base, func(*ipledger.Organisation) bool { return true })
}

// maintainedBy prints the objects whose mnt-by is m: m's own organisation, role and
// holdings when m signs for itself, and the organisations m registered, with the holdings
// of those still without a key (m signs for them).
func (r *run) maintainedBy(idx *holderIndex, m string) error {
	self, err := r.org(m)
	if err != nil || self == nil {
		return err
	}
	if contains(orgMaintainers(self), m) {
		if r.wants(typeOrg) {
			if err := r.orgGroup(self); err != nil {
				return err
			}
		}
		if self.AbuseMailbox != "" && r.wants(typeRole) {
			if err := r.roleGroup(self); err != nil {
				return err
			}
		}
	}
	if contains(maintainers(self), m) {
		if err := r.heldBy(idx, m, func(*ipledger.Organisation) bool { return true }); err != nil {
			return err
		}
	}
	for _, h := range idx.byRegistry[m] {
		o, err := r.org(h)
		if err != nil {
			return err
		}
		if o == nil || o.Registry != m {
			continue
		}
		if r.wants(typeOrg) {
			if err := r.orgGroup(o); err != nil {
				return err
			}
		}
		if contains(maintainers(o), m) {
			if err := r.heldBy(idx, h, func(*ipledger.Organisation) bool { return true }); err != nil {
				return err
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
