package rdap

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// The search index: a compact copy of every holding and organisation of one committed state,
// sorted for the searches. Lookups never need it; searches, relation searches below a
// holding and bootstrap files do. It is built on the first such request after the state
// changed (a new state root, not merely a new height: empty blocks reuse it), by one request
// at a time while the others wait, so a chain with hundreds of thousands of holdings scans
// its store once per state a search sees rather than once per request.

// Search classes: networks and autnums are searched apart.
const (
	classIP = 0
	classAS = 1
)

func classOf(f ipledger.Family) int {
	if f == ipledger.ASN {
		return classAS
	}
	return classIP
}

// entry is one holding in the index.
type entry struct {
	res    ipledger.Resource
	id     uint64
	holder string
	depth  uint8
	served bool // its pool belongs to IANA or an authoritative registry
}

type orgEntry struct {
	handle string
	name   string // upper case
}

type index struct {
	key  string
	snap *ipledger.Snapshot
	// hold is every holding in the ledger's key order (family, depth, first number);
	// levels[family][depth] is the [start, end) of one depth of one family in hold.
	hold   []entry
	levels [4][][2]int
	// byID and byHolder are positions in hold per class, by id and by (holder, position);
	// served entries only.
	byID     [2][]int32
	byHolder [2][]int32
	orgs     []orgEntry // by handle (the ledger's order)
	byOrg    []int32    // positions in orgs by (name, handle)
}

// indexKey names a state: its root hash when the block record carries one (equal roots,
// equal states), else its height.
func indexKey(s *ipledger.Snapshot) string {
	if len(s.Block.StateRoot) > 0 {
		return "root:" + string(s.Block.StateRoot)
	}
	return "height:" + strconv.FormatInt(s.Height, 10)
}

// snapFor returns the snapshot answers built on x should read: s when it has x's state,
// else the one x was built from.
func (x *index) snapFor(s *ipledger.Snapshot) *ipledger.Snapshot {
	if indexKey(s) == x.key {
		return s
	}
	return x.snap
}

// indexer holds the current index and builds the next one, one build at a time.
type indexer struct {
	mu      sync.Mutex
	cur     *index
	lastErr error
	wait    chan struct{} // open while a build runs
}

// get returns an index of snap's state, building it if needed. While another request builds
// one, it waits for that build and takes its result even if the chain moved on meanwhile, so
// a busy chain costs one build at a time, not one per request. A request that took its
// snapshot before a newer state was indexed is answered from the newer index too (as
// snapFor reads): rebuilding the older state would flap between the two under load.
func (ix *indexer) get(ctx context.Context, snap *ipledger.Snapshot, h *handler) (*index, error) {
	key := indexKey(snap)
	ix.mu.Lock()
	if ix.cur != nil && (ix.cur.key == key || snap.Height < ix.cur.snap.Height) {
		x := ix.cur
		ix.mu.Unlock()
		return x, nil
	}
	if w := ix.wait; w != nil {
		ix.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for search index: %w", ctx.Err())
		}
		ix.mu.Lock()
		x, err := ix.cur, ix.lastErr
		ix.mu.Unlock()
		if x == nil {
			return nil, fmt.Errorf("search index: %w", err)
		}
		return x, nil
	}
	w := make(chan struct{})
	ix.wait = w
	ix.mu.Unlock()

	start := time.Now()
	x, err := buildIndex(snap, key)
	el := time.Since(start)
	ix.mu.Lock()
	if err == nil {
		ix.cur = x
	}
	ix.lastErr = err
	ix.wait = nil
	close(w)
	ix.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("search index at height %d: %w", snap.Height, err)
	}
	h.m.indexBuilds.Inc()
	h.m.indexSeconds.Observe(el.Seconds())
	h.m.indexHeight.Set(float64(snap.Height))
	h.log.Debug("rdap search index built", "height", snap.Height, "holdings", len(x.hold), "orgs", len(x.orgs), "seconds", el.Seconds())
	return x, nil
}

// buildIndex reads every organisation and holding of snap: the two tables at once, as they
// are independent until the holdings' registries are looked up.
func buildIndex(snap *ipledger.Snapshot, key string) (*index, error) {
	x := &index{key: key, snap: snap}
	served := map[string]bool{ipledger.IANA: true}
	var orgErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		orgErr = ledger.Orgs(snap.State, func(o *ipledger.Organisation) bool {
			x.orgs = append(x.orgs, orgEntry{handle: o.Handle, name: strings.ToUpper(o.Name)})
			if o.IsRegistry && o.Authoritative {
				served[o.Handle] = true
			}
			return true
		})
	})
	err := ledger.Holdings(snap.State, func(h *ipledger.Holding) bool {
		x.hold = append(x.hold, entry{res: h.Resource, id: h.ID, holder: h.Holder, depth: uint8(h.Depth)})
		return true
	})
	wg.Wait()
	if orgErr != nil {
		return nil, fmt.Errorf("read organisations: %w", orgErr)
	}
	if err != nil {
		return nil, fmt.Errorf("read holdings: %w", err)
	}
	// Holders share their organisation's handle string rather than one copy per holding.
	handles := make(map[string]string, len(x.orgs))
	for _, o := range x.orgs {
		handles[o.handle] = o.handle
	}
	for i := range x.hold {
		if h, ok := handles[x.hold[i].holder]; ok {
			x.hold[i].holder = h
		}
	}
	if len(x.hold) >= 1<<31 {
		return nil, fmt.Errorf("%d holdings: too many to index", len(x.hold))
	}
	// Levels: hold is in (family, depth, first) order already.
	for lo := 0; lo < len(x.hold); {
		f, d := x.hold[lo].res.Family(), int(x.hold[lo].depth)
		hi := lo + 1
		for hi < len(x.hold) && x.hold[hi].res.Family() == f && int(x.hold[hi].depth) == d {
			hi++
		}
		if int(f) >= len(x.levels) {
			return nil, fmt.Errorf("holding %d has family %d", x.hold[lo].id, f)
		}
		for len(x.levels[f]) <= d {
			x.levels[f] = append(x.levels[f], [2]int{})
		}
		x.levels[f][d] = [2]int{lo, hi}
		lo = hi
	}
	for i := range x.hold {
		e := &x.hold[i]
		if e.depth == 0 {
			e.served = served[e.holder]
		} else if p := x.containing(e.res, 0); p >= 0 {
			e.served = x.hold[p].served
		}
		if e.served {
			c := classOf(e.res.Family())
			x.byID[c] = append(x.byID[c], int32(i))
			x.byHolder[c] = append(x.byHolder[c], int32(i))
		}
	}
	for c := range 2 {
		slices.SortFunc(x.byID[c], func(a, b int32) int { return cmp.Compare(x.hold[a].id, x.hold[b].id) })
		slices.SortStableFunc(x.byHolder[c], func(a, b int32) int {
			return cmp.Or(strings.Compare(x.hold[a].holder, x.hold[b].holder), x.hold[a].res.Compare(x.hold[b].res))
		})
	}
	x.byOrg = make([]int32, len(x.orgs))
	for i := range x.byOrg {
		x.byOrg[i] = int32(i)
	}
	slices.SortStableFunc(x.byOrg, func(a, b int32) int { return strings.Compare(x.orgs[a].name, x.orgs[b].name) })
	return x, nil
}

// level returns the [lo, hi) of one depth of one family in hold.
func (x *index) level(f ipledger.Family, depth int) (lo, hi int) {
	if int(f) >= len(x.levels) || depth < 0 || depth >= len(x.levels[f]) {
		return 0, 0
	}
	l := x.levels[f][depth]
	return l[0], l[1]
}

// firstAfter returns the first position in [lo, hi) whose holding starts after the first
// number of r (or at it, when orEqual).
func (x *index) firstAfter(lo, hi int, r ipledger.Resource, orEqual bool) int {
	p := r.Point()
	return lo + sort.Search(hi-lo, func(i int) bool {
		c := x.hold[lo+i].res.Point().Compare(p)
		return c > 0 || (orEqual && c == 0)
	})
}

// containing returns the position of the holding at depth that contains all of r, or -1.
func (x *index) containing(r ipledger.Resource, depth int) int32 {
	lo, hi := x.level(r.Family(), depth)
	i := x.firstAfter(lo, hi, r, false) - 1
	if i < lo || !x.hold[i].res.Contains(r) {
		return -1
	}
	return int32(i)
}

// parent returns the position of the holding one level above hold[i], or -1 for a pool.
func (x *index) parent(i int32) int32 {
	e := &x.hold[i]
	if e.depth == 0 {
		return -1
	}
	return x.containing(e.res, int(e.depth)-1)
}

// within returns the [lo, hi) of the holdings at depth lying inside r, in address order.
// Holdings of one depth never overlap, so only the last one starting inside r can run past
// its end.
func (x *index) within(r ipledger.Resource, depth int) (int, int) {
	lo, hi := x.level(r.Family(), depth)
	a := x.firstAfter(lo, hi, r, true)
	b := x.firstAfter(lo, hi, r.LastPoint(), false)
	if b > a && !r.Contains(x.hold[b-1].res) {
		b--
	}
	if b < a {
		return a, a
	}
	return a, b
}

// down lists the served holdings at depth that lie inside r: one level below the lookup
// chain of r, whose length is depth.
func (x *index) down(r ipledger.Resource, depth, limit int) ([]int32, bool) {
	var out []int32
	lo, hi := x.within(r, depth)
	for i := lo; i < hi; i++ {
		if !x.hold[i].served {
			continue
		}
		if len(out) == limit {
			return out, true
		}
		out = append(out, int32(i))
	}
	return out, false
}

// overlapping returns the [lo, hi) of the holdings at depth overlapping r, in address order:
// the one starting before r that reaches into it, and those starting inside it.
func (x *index) overlapping(r ipledger.Resource, depth int) (int, int) {
	lo, hi := x.level(r.Family(), depth)
	a := x.firstAfter(lo, hi, r, false) - 1
	if a < lo || !x.hold[a].res.Overlaps(r) {
		a++
	}
	b := x.firstAfter(lo, hi, r.LastPoint(), false)
	return a, max(a, b)
}

// coversPart reports whether hold[lo:hi] (in order, disjoint, each overlapping r) leave no
// number of r uncovered.
func (x *index) coversPart(lo, hi int, r ipledger.Resource) bool {
	if hi <= lo || !x.hold[lo].res.Contains(r.Point()) || !x.hold[hi-1].res.Contains(r.LastPoint()) {
		return false
	}
	for i := lo + 1; i < hi; i++ {
		if !x.hold[i-1].res.Adjacent(x.hold[i].res) {
			return false
		}
	}
	return true
}

// intersect returns the numbers r and o (overlapping) have in common.
func intersect(r, o ipledger.Resource) ipledger.Resource {
	lo, hi := r.Point(), r.LastPoint()
	if o.Point().Compare(lo) > 0 {
		lo = o.Point()
	}
	if o.LastPoint().Compare(hi) < 0 {
		hi = o.LastPoint()
	}
	return lo.Span(hi)
}

// maxVisit bounds the holdings one bottom search visits, per result allowed.
const maxVisit = 50

// bottom lists the most specific served holdings for the numbers of r: every holding that
// is, for some number of r, the deepest one containing it. That is the leaves of the
// holding tree under r, the holdings whose sub-holdings leave part of r uncovered, and the
// enclosing holding (the deepest containing all of r) when the holdings below it do. The
// walk visits at most maxVisit holdings per result allowed.
func (x *index) bottom(r ipledger.Resource, enclosing *ipledger.Holding, limit int) ([]int32, bool) {
	var out []int32
	truncated := false
	visits, budget := 0, maxVisit*limit
	// walk emits hold[i] if some number of part (inside it) lies in none of its children.
	var walk func(i int, part ipledger.Resource) bool
	walk = func(i int, part ipledger.Resource) bool {
		if visits++; visits > budget {
			truncated = true
			return false
		}
		lo, hi := x.overlapping(part, int(x.hold[i].depth)+1)
		if !x.coversPart(lo, hi, part) {
			if len(out) == limit {
				truncated = true
				return false
			}
			out = append(out, int32(i))
		}
		for k := lo; k < hi; k++ {
			if !walk(k, intersect(x.hold[k].res, part)) {
				return false
			}
		}
		return true
	}
	if enclosing != nil {
		if p := x.containing(enclosing.Resource, enclosing.Depth); p >= 0 && x.hold[p].id == enclosing.ID && x.hold[p].served {
			walk(int(p), r)
		}
	} else {
		lo, hi := x.overlapping(r, 0)
		for i := lo; i < hi; i++ {
			if x.hold[i].served && !walk(i, intersect(x.hold[i].res, r)) {
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b int32) int {
		return cmp.Or(x.hold[a].res.Compare(x.hold[b].res), cmp.Compare(x.hold[a].depth, x.hold[b].depth))
	})
	return out, truncated
}

// byHandle searches served holdings of a class by handle, IPL-H<id>: an exact handle is one
// lookup, a trailing wildcard enumerates the id ranges with that decimal prefix, and any
// other pattern scans the class. Results come in id order.
func (x *index) byHandle(class int, p pattern, limit int) ([]int32, bool) {
	ids := x.byID[class]
	const pre = "IPL-H"
	find := func(id uint64) int {
		return sort.Search(len(ids), func(i int) bool { return x.hold[ids[i]].id >= id })
	}
	switch {
	case !p.wildcard:
		digits, ok := strings.CutPrefix(p.prefix, pre)
		n, okN := parseDigits(digits, 20)
		if !ok || !okN {
			return nil, false
		}
		if i := find(n); i < len(ids) && x.hold[ids[i]].id == n {
			return []int32{ids[i]}, false
		}
		return nil, false
	case p.suffix == "" && strings.HasPrefix(pre, p.prefix):
		// IP*, IPL-*, IPL-H*: every holding.
		return bounded(ids, limit)
	case p.suffix == "" && strings.HasPrefix(p.prefix, pre):
		d := p.prefix[len(pre):]
		start, ok := parseDigits(d, 19)
		if !ok || start == 0 {
			return nil, false // no id has a leading zero
		}
		var out []int32
		// Ids with decimal prefix d: d itself, then d0..d9, d00..d99, and so on.
		for lo, span := start, uint64(1); lo <= x.maxID(class); lo, span = lo*10, span*10 {
			hi := lo + span - 1
			for i := find(lo); i < len(ids) && x.hold[ids[i]].id <= hi; i++ {
				if len(out) == limit {
					return out, true
				}
				out = append(out, ids[i])
			}
			if lo > (1<<64-1)/10 {
				break
			}
		}
		return out, false
	}
	var out []int32
	var buf []byte
	for _, i := range ids {
		buf = strconv.AppendUint(append(buf[:0], pre...), x.hold[i].id, 10)
		if p.match(string(buf)) {
			if len(out) == limit {
				return out, true
			}
			out = append(out, i)
		}
	}
	return out, false
}

func (x *index) maxID(class int) uint64 {
	ids := x.byID[class]
	if len(ids) == 0 {
		return 0
	}
	return x.hold[ids[len(ids)-1]].id
}

// byName searches served holdings of a class by name, which is the holder's handle.
func (x *index) byName(class int, p pattern, limit int) ([]int32, bool) {
	l := x.byHolder[class]
	return searchSorted(len(l), func(i int) string { return x.hold[l[i]].holder }, p, limit, func(i int) int32 { return l[i] })
}

// orgsByHandle searches organisations by handle.
func (x *index) orgsByHandle(p pattern, limit int) ([]int32, bool) {
	return searchSorted(len(x.orgs), func(i int) string { return x.orgs[i].handle }, p, limit, func(i int) int32 { return int32(i) })
}

// orgsByName searches organisations by name (the fn of their jCard), case-insensitively.
func (x *index) orgsByName(p pattern, limit int) ([]int32, bool) {
	return searchSorted(len(x.byOrg), func(i int) string { return x.orgs[x.byOrg[i]].name }, p, limit, func(i int) int32 { return x.byOrg[i] })
}

// searchSorted finds the keys (sorted ascending) matching p: an exact string or a trailing
// wildcard is a binary search and a walk over the matches; any other wildcard scans. It
// returns at most limit results and whether more exist.
func searchSorted(n int, key func(int) string, p pattern, limit int, result func(int) int32) ([]int32, bool) {
	var out []int32
	if !p.wildcard || p.suffix == "" {
		for i := sort.Search(n, func(i int) bool { return key(i) >= p.prefix }); i < n; i++ {
			k := key(i)
			if !strings.HasPrefix(k, p.prefix) || (!p.wildcard && k != p.prefix) {
				break
			}
			if len(out) == limit {
				return out, true
			}
			out = append(out, result(i))
		}
		return out, false
	}
	for i := range n {
		if p.match(key(i)) {
			if len(out) == limit {
				return out, true
			}
			out = append(out, result(i))
		}
	}
	return out, false
}

func bounded(l []int32, limit int) ([]int32, bool) {
	if len(l) > limit {
		return slices.Clone(l[:limit]), true
	}
	return slices.Clone(l), false
}

// servedPools returns the depth-0 served holdings of family f other than IANA's, merged
// where they touch: the space of the authoritative registries, for the bootstrap files.
func (x *index) servedPools(f ipledger.Family) []ipledger.Resource {
	var out []ipledger.Resource
	lo, hi := x.level(f, 0)
	for _, e := range x.hold[lo:hi] {
		if !e.served || e.holder == ipledger.IANA {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Adjacent(e.res) {
			out[n-1] = out[n-1].Span(e.res)
			continue
		}
		out = append(out, e.res)
	}
	return out
}
