package iana

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"sync"

	"github.com/ipledger/ipledger"
)

// Pool is a registry's depth-0 holding at genesis: a block of IANA's or of an RIR's pool.
// The zero Pool has an invalid Resource.
type Pool = ipledger.Pool

// GenesisPools lays the registries' rows over the three number spaces and returns the pools
// of genesis, sorted by ipledger.Resource.Compare. They cover 0.0.0.0-255.255.255.255, ::/0
// and AS0-AS4294967295 exactly, without gaps or overlaps:
//
//   - space IANA gave an RIR (allocated or legacy) is that RIR's, ipledger.StatusRIRPool;
//   - special-purpose blocks are IANA's, ipledger.StatusReserved, wherever they lie (the
//     rows of r.Special are carved out of whatever surrounds them, 100.64.0.0/10 out of
//     ARIN's 100/8);
//   - all other space (IANA's reserved and unallocated rows, multicast, IPv6 outside the
//     unicast assignments) is IANA's, ipledger.StatusIANAPool.
//
// Adjacent pools of the same registry and status are merged into one. Its Registered date is
// the earliest of the merged rows' dates if every part has one, and "" otherwise (space no
// row covers has no date): genesis never claims a date for space IANA gives none for. IPv6 space is held as prefixes, so a
// merged IPv6 run that is not one prefix becomes its shortest list of prefixes, each with the
// run's date. Where rows overlap, the one later in Compare order wins (the inner of two
// nested blocks), and special-purpose rows win over the others. A nil r gives the whole of
// each space to IANA.
func GenesisPools(r *Registries) []Pool {
	spaces := map[ipledger.Family][]Pool{}
	for _, f := range []ipledger.Family{ipledger.IPv4, ipledger.IPv6, ipledger.ASN} {
		spaces[f] = []Pool{{Resource: ipledger.Whole(f), Registry: ipledger.IANA, Status: ipledger.StatusIANAPool}}
	}
	if r != nil {
		var rows []Entry
		rows = append(rows, r.IPv4...)
		rows = append(rows, r.IPv6...)
		rows = append(rows, r.ASN...)
		layer(spaces, rows, false)
		layer(spaces, r.Special, true)
	}
	var out []Pool
	for _, f := range []ipledger.Family{ipledger.IPv4, ipledger.IPv6, ipledger.ASN} {
		for _, p := range merge(spaces[f]) {
			if f != ipledger.IPv6 {
				out = append(out, p)
				continue
			}
			out = append(out, splitPrefixes(p)...)
		}
	}
	return out
}

// splitPrefixes returns an IPv6 pool as one pool per prefix of its shortest decomposition.
// A pool with a prefix that ipledger.PrefixResource refuses (one inside the IPv4-mapped
// block other than the block itself, which parsers never produce) stays whole.
func splitPrefixes(p Pool) []Pool {
	var out []Pool
	for _, q := range p.Resource.Prefixes() {
		r, err := ipledger.PrefixResource(q)
		if err != nil {
			return []Pool{p}
		}
		part := p
		part.Resource = r
		out = append(out, part)
	}
	return out
}

// layer lays rows over the spaces in Compare order, so an inner block lands after the block
// around it.
func layer(spaces map[ipledger.Family][]Pool, rows []Entry, special bool) {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b Entry) int { return a.Resource.Compare(b.Resource) })
	for _, e := range rows {
		f := e.Resource.Family()
		if _, ok := spaces[f]; !ok {
			continue // the zero Resource
		}
		p := Pool{Resource: e.Resource, Registry: e.Registry, Status: ipledger.StatusRIRPool, Registered: e.Registered}
		switch {
		case special:
			p.Registry, p.Status = ipledger.IANA, ipledger.StatusReserved
		case p.Registry == "" || p.Registry == ipledger.IANA:
			p.Registry, p.Status = ipledger.IANA, ipledger.StatusIANAPool
		}
		spaces[f] = overlay(spaces[f], p)
	}
}

// overlay puts p over pools, which are sorted, disjoint and cover p's whole family: the parts
// of pools outside p stay, the parts inside give way to p.
func overlay(pools []Pool, p Pool) []Pool {
	start := p.Resource.Point()
	lo := sort.Search(len(pools), func(i int) bool { return pools[i].Resource.LastPoint().Compare(start) >= 0 })
	hi := lo
	for hi < len(pools) && pools[hi].Resource.Overlaps(p.Resource) {
		hi++
	}
	if lo == hi { // cannot happen while pools cover the family
		return slices.Insert(pools, lo, p)
	}
	var mid []Pool
	for _, rest := range pools[lo].Resource.Subtract(p.Resource) {
		if rest.Compare(p.Resource) < 0 {
			left := pools[lo]
			left.Resource = rest
			mid = append(mid, left)
		}
	}
	mid = append(mid, p)
	for _, rest := range pools[hi-1].Resource.Subtract(p.Resource) {
		if rest.Compare(p.Resource) > 0 {
			right := pools[hi-1]
			right.Resource = rest
			mid = append(mid, right)
		}
	}
	return slices.Replace(pools, lo, hi, mid...)
}

// merge joins adjacent pools of the same registry and status.
func merge(pools []Pool) []Pool {
	var out []Pool
	for _, p := range pools {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.Registry == p.Registry && last.Status == p.Status && last.Resource.Adjacent(p.Resource) {
				last.Resource = last.Resource.Span(p.Resource)
				last.Registered = earliest(last.Registered, p.Registered)
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// earliest returns the earlier of two YYYY-MM-DD dates, or "" if either is unknown.
func earliest(a, b string) string {
	if a == "" || b == "" {
		return ""
	}
	return min(a, b)
}

// Default returns the registries compiled into the binary (facts_gen.go, generated from
// IANA's files by gen.go): what Load returns for those files.
func Default() *Registries {
	var r Registries
	lists := [...]*[]Entry{factIPv4: &r.IPv4, factIPv6: &r.IPv6, factASN: &r.ASN, factSpecial: &r.Special}
	for _, f := range facts {
		*lists[f.list] = append(*lists[f.list], Entry{
			Resource:   mustParseFact(f.res),
			Registry:   f.registry,
			Status:     f.status,
			Registered: f.registered,
			Name:       f.name,
		})
	}
	return &r
}

// DefaultPools returns GenesisPools(Default()): the genesis pools from the compiled facts.
// Each call returns a new slice.
func DefaultPools() []Pool { return slices.Clone(defaultPools()) }

var defaultPools = sync.OnceValue(func() []Pool { return GenesisPools(Default()) })

// factList names the Registries list a compiled fact belongs to.
type factList uint8

// The lists of Registries, in its field order.
const (
	factIPv4 factList = iota
	factIPv6
	factASN
	factSpecial
)

// fact is a compiled Entry: the list it belongs to and the Resource in its String form.
type fact struct {
	list                                    factList
	res, registry, status, registered, name string
}

// mustParseFact parses a fact's resource: a prefix, or an AS number or range. The table is
// generated from Resource.String, so only a hand-edited table fails.
func mustParseFact(s string) ipledger.Resource {
	if p, err := netip.ParsePrefix(s); err == nil {
		r, err := ipledger.PrefixResource(p)
		if err != nil {
			panic(fmt.Sprintf("iana: bad fact %q: %v", s, err))
		}
		return r
	}
	return ipledger.MustParseResource(s)
}
