package importer

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// checkPlan replays plan's steps on a small, independent model of the ledger's pools and
// fails the test on anything the ledger would refuse:
//
//   - a transfer item must lie inside one pool of its From registry that is not
//     special-purpose space; the moved piece becomes To's (StatusRIRPool) and merges with
//     the adjacent pools of To with that status, as the ledger's coalescing does (pools
//     that never moved stay apart);
//   - register-org steps come after every transfer, handles are valid and new;
//   - allocations come last, lie inside one pool of their signer, name an organisation that
//     signer registered, have a valid status, and never overlap each other; an item naming
//     the signer itself marks pool space (AVAILABLE or RESERVED) and overlaps nothing
//     either, so every allocation still lies in one pool as the model has it;
//   - every body is at most opt's size and item limits, and the counts add up.
//
// The model keeps an IPv6 pool's remainder as one range where the ledger splits it into
// prefixes; an item that is a prefix lies inside one of those exactly when it lies inside
// the range.
func checkPlan(t *testing.T, pools []Pool, plan *Plan, opt Options) {
	t.Helper()
	if opt.MaxBodyBytes == 0 {
		opt.MaxBodyBytes = MaxBodyBytes
	}
	if opt.MaxItems == 0 {
		opt.MaxItems = ipledger.MaxBatchItems
	}
	m := newModel(pools)
	orgReg := map[string]string{}
	var allocs []ipledger.Resource
	phase, transfers, orgs, holdings, marks := 0, 0, 0, 0, 0
	for i, st := range plan.Steps {
		js, err := json.Marshal(st.Body)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if len(js) > opt.MaxBodyBytes {
			t.Errorf("step %d (%s): body is %d bytes, limit %d", i, st.Kind, len(js), opt.MaxBodyBytes)
		}
		if n := st.Items(); n == 0 || n > opt.MaxItems {
			t.Errorf("step %d (%s): %d items, limit %d", i, st.Kind, n, opt.MaxItems)
		}
		// The body must decode strictly as the ledger decodes it.
		switch st.Kind {
		case ipledger.KindRegistryTransfer:
			var b ipledger.RegistryTransferBody
			if err := ipledger.DecodeBody(js, &b); err != nil || !slices.Equal(b.Items, st.Body.(*ipledger.RegistryTransferBody).Items) {
				t.Fatalf("step %d: body does not round-trip: %v", i, err)
			}
		case ipledger.KindAllocate:
			var b ipledger.AllocateBody
			if err := ipledger.DecodeBody(js, &b); err != nil || !slices.Equal(b.Items, st.Body.(*ipledger.AllocateBody).Items) {
				t.Fatalf("step %d: body does not round-trip: %v", i, err)
			}
		}
		switch b := st.Body.(type) {
		case *ipledger.RegistryTransferBody:
			if st.Kind != ipledger.KindRegistryTransfer || phase > 0 {
				t.Fatalf("step %d: registry transfer out of place (kind %s)", i, st.Kind)
			}
			if len(st.Signers) != 2 {
				t.Fatalf("step %d: signers %v", i, st.Signers)
			}
			for _, it := range b.Items {
				if it.From != st.Signers[0] || it.To != st.Signers[1] || it.From == it.To {
					t.Fatalf("step %d: item %s from %s to %s signed by %v", i, it.Resource, it.From, it.To, st.Signers)
				}
			}
			if err := m.transfer(b.Items, st.Signers[0], st.Signers[1]); err != "" {
				t.Fatalf("step %d: %s", i, err)
			}
			transfers += len(b.Items)
		case *ipledger.RegisterOrgBody:
			if st.Kind != ipledger.KindRegisterOrg || phase > 1 || len(st.Signers) != 1 {
				t.Fatalf("step %d: register-org out of place (kind %s, signers %v)", i, st.Kind, st.Signers)
			}
			phase = 1
			for _, o := range b.Orgs {
				if !ipledger.ValidHandle(o.Handle) || slices.Contains(ipledger.Registries, o.Handle) {
					t.Errorf("step %d: bad handle %q", i, o.Handle)
				}
				if _, dup := orgReg[o.Handle]; dup {
					t.Errorf("step %d: handle %s registered twice", i, o.Handle)
				}
				if o.Name == "" || len(o.Name) > ipledger.MaxNameBytes || !ipledger.ValidCountry(o.Country) || len(o.OpaqueID) > ipledger.MaxOpaqueID || len(o.Keys) != 0 {
					t.Errorf("step %d: bad organisation %+v", i, o)
				}
				orgReg[o.Handle] = st.Signers[0]
			}
			orgs += len(b.Orgs)
		case *ipledger.AllocateBody:
			if st.Kind != ipledger.KindAllocate || len(st.Signers) != 1 {
				t.Fatalf("step %d: allocate out of place (kind %s, signers %v)", i, st.Kind, st.Signers)
			}
			phase = 2
			reg := st.Signers[0]
			for _, it := range b.Items {
				mark := it.Org == reg
				switch {
				case mark && (!ipledger.ValidPoolStatus(it.Status) || it.Country != ""):
					t.Fatalf("step %d: bad pool mark %+v", i, it)
				case mark:
					marks++
					holdings--
				case orgReg[it.Org] != reg:
					t.Fatalf("step %d: %s allocated to %s, registered by %q, not %s", i, it.Resource, it.Org, orgReg[it.Org], reg)
				}
				if !mark && !ipledger.ValidAllocateStatus(it.Resource.Family(), it.Status) || !ipledger.ValidCountry(it.Country) {
					t.Fatalf("step %d: bad item %+v", i, it)
				}
				if it.Registered != "" {
					if _, err := time.Parse(time.DateOnly, it.Registered); err != nil {
						t.Fatalf("step %d: bad date in %+v", i, it)
					}
				}
				if it.Resource.Family() == ipledger.IPv6 {
					if _, ok := it.Resource.Prefix(); !ok {
						t.Fatalf("step %d: IPv6 allocation %s is not a prefix", i, it.Resource)
					}
				}
				if err := m.allocate(it.Resource, reg); err != "" {
					t.Fatalf("step %d: %s", i, err)
				}
				allocs = append(allocs, it.Resource)
			}
			holdings += len(b.Items)
		default:
			t.Fatalf("step %d: body of type %T", i, st.Body)
		}
	}
	slices.SortFunc(allocs, ipledger.Resource.Compare)
	for i := 1; i < len(allocs); i++ {
		if allocs[i-1].Overlaps(allocs[i]) {
			t.Fatalf("allocations %s and %s overlap", allocs[i-1], allocs[i])
		}
	}
	s := plan.Stats
	if s.Transfers != transfers || s.Orgs != orgs || s.Holdings != holdings || s.PoolPieces != marks {
		t.Errorf("stats say %d transfers, %d orgs, %d holdings, %d pool pieces; the steps carry %d, %d, %d, %d",
			s.Transfers, s.Orgs, s.Holdings, s.PoolPieces, transfers, orgs, holdings, marks)
	}
	if s.Records != s.Holdings+s.NotHoldings+s.Rejected {
		t.Errorf("stats: %d records != %d holdings + %d not holdings + %d rejected", s.Records, s.Holdings, s.NotHoldings, s.Rejected)
	}
	if s.Rejected != len(plan.Flaws) {
		t.Errorf("stats: %d rejected, %d planner flaws", s.Rejected, len(plan.Flaws))
	}
}

// model is the pool layer of a ledger: per family, sorted disjoint pools covering the space.
type model struct {
	pools map[ipledger.Family][]mpool
}

type mpool struct {
	lo, hi ipledger.Number
	reg    string
	status ipledger.Status
	moved  bool // moved by the batch being applied
}

func newModel(pools []Pool) *model {
	m := &model{pools: map[ipledger.Family][]mpool{}}
	for _, p := range pools {
		lo, hi := p.Resource.Bounds()
		f := p.Resource.Family()
		m.pools[f] = append(m.pools[f], mpool{lo: lo, hi: hi, reg: p.Registry, status: p.Status})
	}
	for f := range m.pools {
		slices.SortFunc(m.pools[f], func(a, b mpool) int { return a.lo.Compare(b.lo) })
	}
	return m
}

// at returns the index of the pool containing all of r, or -1.
func (m *model) at(r ipledger.Resource) int {
	lo, hi := r.Bounds()
	ps := m.pools[r.Family()]
	i, _ := slices.BinarySearchFunc(ps, lo, func(p mpool, x ipledger.Number) int {
		switch {
		case p.hi.Less(x):
			return -1
		case x.Less(p.lo):
			return 1
		}
		return 0
	})
	if i < len(ps) && !lo.Less(ps[i].lo) && !ps[i].hi.Less(hi) {
		return i
	}
	return -1
}

// transfer applies one registry-transfer step. Its items share from and to and must not
// overlap, so checking each against the state before the step is the same as applying
// them one by one.
func (m *model) transfer(items []ipledger.RegistryTransferItem, from, to string) string {
	byFam := map[ipledger.Family][]ipledger.Resource{}
	for _, it := range items {
		if it.Resource.Family() == ipledger.IPv6 {
			if _, ok := it.Resource.Prefix(); !ok {
				return "IPv6 transfer " + it.Resource.String() + " is not a prefix"
			}
		}
		i := m.at(it.Resource)
		if i < 0 {
			return it.Resource.String() + " is not inside one pool"
		}
		p := m.pools[it.Resource.Family()][i]
		if p.reg != from {
			return it.Resource.String() + " is in a pool of " + p.reg + ", not " + from
		}
		if p.reg == ipledger.IANA && p.status == ipledger.StatusReserved {
			return it.Resource.String() + " is special-purpose space"
		}
		byFam[it.Resource.Family()] = append(byFam[it.Resource.Family()], it.Resource)
	}
	for f, rs := range byFam {
		slices.SortFunc(rs, ipledger.Resource.Compare)
		for i := 1; i < len(rs); i++ {
			if rs[i-1].Overlaps(rs[i]) {
				return "items " + rs[i-1].String() + " and " + rs[i].String() + " of one step overlap"
			}
		}
		var pieces []mpool
		j := 0
		for _, p := range m.pools[f] {
			cur, open := p.lo, true
			for open && j < len(rs) {
				lo, hi := rs[j].Bounds()
				if p.hi.Less(lo) {
					break
				}
				if cur.Less(lo) {
					before, _ := lo.Prev()
					pieces = append(pieces, mpool{lo: cur, hi: before, reg: p.reg, status: p.status})
				}
				pieces = append(pieces, mpool{lo: lo, hi: hi, reg: to, status: ipledger.StatusRIRPool, moved: true})
				cur, open = hi.Next()
				if !open || p.hi.Less(cur) {
					open = false
				}
				j++
			}
			if open {
				pieces = append(pieces, mpool{lo: cur, hi: p.hi, reg: p.reg, status: p.status})
			}
		}
		// Coalesce: a moved piece merges with its neighbours of the same registry and status.
		var out []mpool
		lastMoved := false
		for _, pc := range pieces {
			if n := len(out); n > 0 && (lastMoved || pc.moved) && out[n-1].reg == pc.reg && out[n-1].status == pc.status {
				out[n-1].hi = pc.hi
			} else {
				out = append(out, mpool{lo: pc.lo, hi: pc.hi, reg: pc.reg, status: pc.status})
			}
			lastMoved = pc.moved
		}
		m.pools[f] = out
	}
	return ""
}

func (m *model) allocate(r ipledger.Resource, reg string) string {
	i := m.at(r)
	if i < 0 {
		return r.String() + " is not inside one pool"
	}
	p := m.pools[r.Family()][i]
	if p.reg != reg || p.reg == ipledger.IANA && p.status == ipledger.StatusReserved {
		return r.String() + " is in a pool of " + p.reg + " (" + string(p.status) + "), not one of " + reg
	}
	return ""
}

// steps renders the steps for comparing plans.
func steps(tb testing.TB, plan *Plan) string {
	var b strings.Builder
	for _, st := range plan.Steps {
		js, err := json.Marshal(st.Body)
		if err != nil {
			tb.Fatal(err)
		}
		b.WriteString(st.Kind.String() + " " + strings.Join(st.Signers, ",") + " " + string(js) + "\n")
	}
	return b.String()
}
