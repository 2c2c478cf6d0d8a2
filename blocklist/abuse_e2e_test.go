package blocklist_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/blocklist"
	"github.com/ipledger/ipledger/iana"
	"github.com/ipledger/ipledger/importer"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

// abuseChain is a ledger with AFRINIC's 2026-08 delegated statistics imported, an observer
// OBS and a settlement agent, on synthetic block time; every block runs EndBlock.
type abuseChain struct {
	t     *testing.T
	l     *ledger.Ledger
	kv    ipledger.KV
	block ipledger.Block
	seq   map[string]uint64
}

func (c *abuseChain) apply(kind ipledger.Kind, body any, signers ...string) ledger.Result {
	c.t.Helper()
	c.seq[signers[0]]++
	return ipledgertest.Apply(c.t, c.l, c.kv, c.block, kind, c.seq[signers[0]], body, ipledgertest.Signers(signers...)...)
}

// next starts a block at time at (after the previous one's EndBlock).
func (c *abuseChain) next(at time.Time) {
	c.block.Height++
	c.block.Time = at
}

func (c *abuseChain) endBlock() []ipledger.Event {
	c.t.Helper()
	evs, err := c.l.EndBlock(c.kv, c.block)
	if err != nil {
		c.t.Fatal(err)
	}
	return evs
}

// interval is a prefix's stay on the list, by list time; delisted 0 while it stays.
type interval struct {
	prefix           netip.Prefix
	listed, delisted int64
}

// TestAbuseRealDROP is issue 18's end-to-end run on real data: AFRINIC's 2026-08
// delegated file imported, the 2025-03-03 DROP snapshot observed, then each day's changes
// in order, the lists' timestamps as block time. Holders of two listed blocks get keys and
// route authorisations, one of them leases its block out with a bond. Every case opened,
// cured or decided by the mechanical rule is checked against a computation in this test
// from the files alone: a listing opens a case when its prefix lies inside one allocated
// or assigned record; a delisting no later than the first block at or after the cure
// window's end cures it, otherwise that block upholds it, and the decision is final when
// the appeal window ends. One upheld decision is appealed and reversed.
func TestAbuseRealDROP(t *testing.T) {
	f, err := importer.ParseFile(ipledgertest.Data(t, "delegated/2026-08/delegated-afrinic-extended-latest"), false)
	if err != nil {
		t.Fatal(err)
	}
	first := readDROP(t, snapshot1)
	days := dailyLists(t, first)
	// The drop category's cure window is 24 h by default; no AFRINIC listing of these six
	// weeks went that fast, so this chain gives the drop category three weeks, to see one
	// cured.
	p := ledger.DefaultParams()
	for i := range p.AbuseCategories {
		if p.AbuseCategories[i].Name == ledger.CategoryDrop {
			p.AbuseCategories[i].Cure = 21 * 24 * 3600
		}
	}

	// The computation from the files: the intervals of the listed prefixes inside one record.
	inRecord := func(pf netip.Prefix) bool {
		r, _ := ipledger.PrefixResource(pf)
		for _, rec := range f.Records {
			if rec.Holding() && rec.Resource.Contains(r) {
				return true
			}
		}
		return false
	}
	var runs []*blocklist.List // every run's list, in order
	runs = append(runs, first)
	runs = append(runs, days...)
	open := map[netip.Prefix]*interval{}
	var intervals []*interval
	prev := map[netip.Prefix]bool{}
	for _, l := range runs {
		now := map[netip.Prefix]bool{}
		for _, e := range l.Entries {
			now[e.Prefix] = true
			if !prev[e.Prefix] && inRecord(e.Prefix) {
				iv := &interval{prefix: e.Prefix, listed: l.Time}
				open[e.Prefix] = iv
				intervals = append(intervals, iv)
			}
		}
		for pf := range prev {
			if !now[pf] && open[pf] != nil {
				open[pf].delisted = l.Time
				delete(open, pf)
			}
		}
		prev = now
	}
	if len(intervals) < 5 {
		t.Fatalf("only %d listings in AFRINIC's allocated space", len(intervals))
	}
	// The block times are the runs' list times: the cure window ends at the first at or
	// after listed + 24 h.
	blockAt := func(at int64) int64 {
		for _, l := range runs {
			if l.Time >= at {
				return l.Time
			}
		}
		return 0 // after the last run
	}
	cure, _ := categoryCure(p, ledger.CategoryDrop)
	lastTime := runs[len(runs)-1].Time
	expect := func(iv *interval) string {
		end := blockAt(iv.listed + cure)
		switch {
		case end == 0:
			if iv.delisted != 0 {
				return ipledger.CaseCured
			}
			return ipledger.CaseNotice
		case iv.delisted != 0 && iv.delisted <= end:
			return ipledger.CaseCured
		case blockAt(end+p.AppealWindow) != 0:
			return ipledger.CaseClosed
		}
		return ipledger.CaseUpheld
	}
	// Pick the blocks whose holders act: an upheld one to lease out, another to appeal.
	var leased, appealed *interval
	for _, iv := range intervals {
		if st := expect(iv); st == ipledger.CaseClosed || st == ipledger.CaseUpheld {
			alone := !slices.ContainsFunc(intervals, func(o *interval) bool { return o != iv && o.prefix.Overlaps(iv.prefix) })
			if pf := iv.prefix; alone && pf.Bits() >= 20 && iv.listed == first.Time {
				switch {
				case leased == nil:
					leased = iv
				case appealed == nil:
					appealed = iv
				}
			}
		}
	}
	if leased == nil || appealed == nil {
		t.Fatal("no two upheld listings to act on")
	}

	// The ledger: the import, then the two holders' keys, routes and the lease.
	g := ipledgertest.GenesisOf(iana.DefaultPools())
	g.Observers = []ledger.GenesisOrg{{Handle: "OBS", Name: "Observer", Keys: []ipledger.PublicKey{ipledgertest.Key("OBS").Public()}}}
	g.Params.AbuseCategories = p.AbuseCategories
	g.SettlementAgents = []ledger.GenesisOrg{{Handle: ipledgertest.Agent, Name: "Agent", Keys: []ipledger.PublicKey{ipledgertest.Key(ipledgertest.Agent).Public()}}}
	c := &abuseChain{t: t, l: ledger.New("abuse-e2e"), kv: store.NewMemKV(), seq: map[string]uint64{},
		block: ipledger.Block{Height: 1, Time: time.Unix(first.Time, 0).Add(-24 * time.Hour)}}
	if err := c.l.InitGenesis(c.kv, g, c.block); err != nil {
		t.Fatal(err)
	}
	plan, err := importer.PlanImport([]*importer.File{f}, iana.DefaultPools(), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.next(c.block.Time.Add(time.Second))
	for _, st := range plan.Steps {
		c.apply(st.Kind, st.Body, st.Signers...)
	}
	holderOf := func(pf netip.Prefix) string {
		r, _ := ipledger.PrefixResource(pf)
		chn, err := ledger.Lookup(c.kv, r)
		if err != nil || len(chn) < 2 {
			t.Fatalf("%s: no holding (%v)", pf, err)
		}
		return chn[len(chn)-1].Holder
	}
	lessor, appellant := holderOf(leased.prefix), holderOf(appealed.prefix)
	c.next(c.block.Time.Add(time.Second))
	c.apply(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-LESSEE", Name: "Lessee",
		Keys: []ipledger.PublicKey{ipledgertest.Key("ORG-LESSEE").Public()}}}}, ipledger.AFRINIC)
	c.apply(ipledger.KindBindKey, ipledger.BindKeyBody{Org: lessor, Key: ipledgertest.Key(lessor).Public()}, ipledger.AFRINIC)
	if appellant != lessor {
		c.apply(ipledger.KindBindKey, ipledger.BindKeyBody{Org: appellant, Key: ipledgertest.Key(appellant).Public()}, ipledger.AFRINIC)
	}
	c.apply(ipledger.KindMint, ipledger.MintBody{To: "ORG-LESSEE", Amount: 10_000_000}, ipledgertest.Agent)
	c.apply(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: appealed.prefix, MaxLength: 24, ASN: 37000}, appellant)
	c.apply(ipledger.KindOffer, ipledger.OfferBody{Resource: mustResource(t, leased.prefix), Price: 1, Period: 30 * 86400,
		MinPeriods: 1, MaxPeriods: 12, BondPeriods: 2}, lessor)
	c.apply(ipledger.KindLease, ipledger.LeaseBody{Offer: 1, ASN: 64512, Periods: 6}, "ORG-LESSEE")
	lease, _ := ledger.LeaseByID(c.kv, 1)
	if lease == nil || lease.Bond == 0 {
		t.Fatalf("lease %+v", lease)
	}
	routesBefore := routesOver(t, c.kv, appealed.prefix)

	// The observer posts every run; each block ends with its EndBlock. The appealed
	// block's holder appeals in the block after its decision, and the registry grants it.
	const list = "spamhaus-drop"
	appealDone := false
	for _, l := range runs {
		c.next(time.Unix(l.Time, 0))
		var cur []blocklist.Entry
		if err := ledger.Observations(c.kv, "OBS", list, ipledger.Resource{}, 0, func(o *ipledger.Observation) bool {
			cur = append(cur, blocklist.Entry{Prefix: o.Prefix, ID: o.ID})
			return true
		}); err != nil {
			t.Fatal(err)
		}
		for _, b := range blocklist.Batches(list, l.Time, blocklist.Changes(cur, l.Entries), 400) {
			c.apply(ipledger.KindObserve, b, "OBS")
		}
		if !appealDone {
			if cs := caseOn(t, c.kv, appealed); cs != nil && cs.State == ipledger.CaseUpheld {
				if got := routesOver(t, c.kv, appealed.prefix); got == routesBefore {
					t.Fatalf("upheld, yet the routes over %s are unchanged: %s", appealed.prefix, got)
				}
				ev := strings.Repeat("ab", 32)
				c.apply(ipledger.KindAppeal, ipledger.AppealBody{Case: cs.ID, Evidence: ev}, appellant)
				c.apply(ipledger.KindDecide, ipledger.DecideBody{Case: cs.ID, Outcome: ipledger.OutcomeDismissed, Evidence: ev}, ipledger.AFRINIC)
				if got := routesOver(t, c.kv, appealed.prefix); got != routesBefore {
					t.Fatalf("the appeal did not restore the routes over %s: %s, was %s", appealed.prefix, got, routesBefore)
				}
				appealDone = true
			}
		}
		c.endBlock()
	}
	if !appealDone {
		t.Fatal("the appealed block was never upheld")
	}

	// Every case against the computation.
	var cases []*ipledger.Case
	if err := ledger.Cases(c.kv, 0, func(cs *ipledger.Case) bool { cases = append(cases, cs); return true }); err != nil {
		t.Fatal(err)
	}
	if len(cases) != len(intervals) {
		t.Fatalf("%d cases for %d listings in allocated space", len(cases), len(intervals))
	}
	counts := map[string]int{}
	for i, iv := range intervals {
		cs := cases[i]
		want := expect(iv)
		if iv == appealed {
			want = ipledger.CaseReversed
		}
		counts[want]++
		r, _ := ipledger.PrefixResource(iv.prefix)
		if cs.Resource != r || cs.State != want || cs.Opened != iv.listed || cs.Category != ledger.CategoryDrop {
			t.Errorf("case %d: %s %s opened %d, want %s %s opened %d", cs.ID, cs.Resource, cs.State, cs.Opened, r, want, iv.listed)
		}
		auto := slices.ContainsFunc(cs.Steps, func(s ipledger.CaseStep) bool { return s.Auto && s.Outcome == ipledger.OutcomeUpheld })
		if auto != (want == ipledger.CaseClosed || want == ipledger.CaseUpheld || want == ipledger.CaseReversed) {
			t.Errorf("case %d (%s): mechanical decision %v", cs.ID, want, auto)
		}
		// The grade: C while listed or within a year of an upheld decision, B if cured.
		wantGrade := ledger.GradeC
		if want == ipledger.CaseCured || want == ipledger.CaseReversed {
			wantGrade = ledger.GradeB
			if iv.delisted == 0 || slices.ContainsFunc(intervals, func(o *interval) bool { return o != iv && o.prefix.Overlaps(iv.prefix) }) {
				wantGrade = "" // still listed, or another listing overlaps it: not this case's alone
			}
		}
		if g, err := ledger.GradeOf(c.kv, r, lastTime); err != nil || wantGrade != "" && g != wantGrade {
			t.Errorf("%s (%s): grade %s, want %s (%v)", r, want, g, wantGrade, err)
		}
	}
	delisted := 0
	for _, iv := range intervals {
		if iv.delisted != 0 {
			delisted++
		}
	}
	t.Logf("%d listings in AFRINIC's allocated space, %d delisted: %v", len(intervals), delisted, counts)
	if counts[ipledger.CaseCured] == 0 || counts[ipledger.CaseClosed] == 0 {
		t.Errorf("the run lacks a cured or a final case: %v", counts)
	}

	// The leased block: its lease was cut, its bond paid out half to the observer (the
	// reporter) and half to the lessor; AS0 covers it.
	l, _ := ledger.LeaseByID(c.kv, 1)
	if cs := caseOn(t, c.kv, leased); cs == nil || cs.Lessee != "ORG-LESSEE" || cs.Action == nil || !cs.Action.Cut || cs.Action.Forfeit != lease.Bond {
		t.Fatalf("the leased block's case %+v", cs)
	}
	if l.State != ipledger.LeaseEnded || l.Bond != 0 {
		t.Errorf("lease after the case %+v", l)
	}
	if got, err := ledger.Balance(c.kv, "OBS"); err != nil || got != lease.Bond/2 {
		t.Errorf("the observer got %d of a bond of %d (%v)", got, lease.Bond, err)
	}
	if got := routesOver(t, c.kv, leased.prefix); !strings.Contains(got, "AS0") || strings.Contains(got, "AS64512") {
		t.Errorf("routes over the leased block at the end: %s", got)
	}
}

func categoryCure(p ledger.Params, name string) (int64, bool) {
	for _, c := range p.AbuseCategories {
		if c.Name == name {
			return c.Cure, true
		}
	}
	return 0, false
}

func mustResource(t *testing.T, pf netip.Prefix) ipledger.Resource {
	r, err := ipledger.PrefixResource(pf)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// caseOn returns the last case on iv's prefix opened at its listing.
func caseOn(t *testing.T, kv ipledger.KV, iv *interval) *ipledger.Case {
	cs, err := ledger.CasesOverlapping(kv, mustResource(t, iv.prefix))
	if err != nil {
		t.Fatal(err)
	}
	var out *ipledger.Case
	for _, c := range cs {
		if c.Resource == mustResource(t, iv.prefix) && c.Opened == iv.listed {
			out = c
		}
	}
	return out
}

// routesOver lists the authorisations overlapping pf as "id prefix ASn" lines.
func routesOver(t *testing.T, kv ipledger.KV, pf netip.Prefix) string {
	var b strings.Builder
	if err := ledger.RouteAuths(kv, func(ra *ipledger.RouteAuth) bool {
		if ra.Prefix.Overlaps(pf) {
			fmt.Fprintf(&b, "%s AS%d #%d\n", ra.Prefix, ra.ASN, ra.ID)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
