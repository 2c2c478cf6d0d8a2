package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// abuseEnv: observer OBS; ORG-H holds 193.0.0.0/16 with an AS3333 authorisation up to /24
// and leases 193.0.1.0/24 (a bond of two periods) to ORG-L; ORG-R reports. ORG-L and ORG-R
// have credits.
func abuseEnv(t testing.TB, panel ...string) *tenv {
	g := testGenesis()
	g.Observers = []GenesisOrg{{Handle: testObserver, Name: "Observer", Keys: []ipledger.PublicKey{keyFor(testObserver).Public()}}}
	g.Params.MaxOpenReports = 2
	g.Params.AbusePanel = panel
	e := newEnvWith(t, g)
	e.keys[testObserver] = keyFor(testObserver)
	e.newOrg(ipledger.RIPENCC, "ORG-H", "ORG-L", "ORG-R", "ORG-X")
	e.ok(ipledger.KindAllocate, alloc("193.0.0.0/16", "ORG-H", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	e.ok(ipledger.KindMint, ipledger.MintBody{To: "ORG-L", Amount: 100_000}, testAgent)
	e.ok(ipledger.KindMint, ipledger.MintBody{To: "ORG-R", Amount: 100_000}, testAgent)
	e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.0.0/16"), MaxLength: 24, ASN: 3333}, "ORG-H")
	e.ok(ipledger.KindOffer, ipledger.OfferBody{Resource: mustRes("193.0.1.0/24"), Price: 2, Period: 30 * day, MinPeriods: 1, MaxPeriods: 12, BondPeriods: 2}, "ORG-H")
	e.ok(ipledger.KindLease, ipledger.LeaseBody{Offer: 1, ASN: 64500, Periods: 6}, "ORG-L")
	return e
}

func evidence(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func (e *tenv) abuseCase(id uint64) *ipledger.Case { return mustByID(e, CaseByID, id, "case") }

// snapshot is what an action may change and an appeal must restore: every route
// authorisation, lease, encumbrance, balance and held amount (but the held credits of
// skip: a reporter's bond goes back when the case closes).
func (e *tenv) snapshot(skip ...string) string {
	e.t.Helper()
	var b strings.Builder
	if err := RouteAuths(e.kv, func(ra *ipledger.RouteAuth) bool {
		j, _ := json.Marshal(ra)
		fmt.Fprintf(&b, "auth %s\n", j)
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	if err := Leases(e.kv, func(l *ipledger.Lease) bool {
		l.Due = 0 // the next boundary is the clock's, not the action's
		j, _ := json.Marshal(l)
		fmt.Fprintf(&b, "lease %s\n", j)
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.kv.Iterate([]byte{tagEncumbrance}, []byte{tagEncumbrance + 1}, false, func(k, _ []byte) bool {
		fmt.Fprintf(&b, "enc %x\n", k)
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	if err := Balances(e.kv, func(org string, amount uint64) bool {
		if slices.Contains(skip, org) {
			fmt.Fprintf(&b, "balance %s %d\n", org, amount)
		} else {
			fmt.Fprintf(&b, "balance %s %d held %d\n", org, amount, e.held(org))
		}
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	return b.String()
}

func TestAbuseListingCured(t *testing.T) {
	e := abuseEnv(t)
	before := e.inForce()
	e.ok(ipledger.KindObserve, obsBody(100, ipledger.ObservationListed, "193.0.2.0/24"), testObserver)
	c := e.abuseCase(1)
	if c.State != ipledger.CaseNotice || c.Holder != "ORG-H" || c.Lessee != "" || c.Registry != ipledger.RIPENCC || c.Category != CategoryDrop || c.Bond != 0 {
		t.Fatalf("opened case %+v", c)
	}
	if c.Resource != mustRes("193.0.2.0/24") || len(c.Steps) != 2 || c.Steps[1].Step != ipledger.StepNotice {
		t.Fatalf("case block %s steps %+v", c.Resource, c.Steps)
	}
	e.advance(time.Hour)
	e.ok(ipledger.KindObserve, obsBody(101, ipledger.ObservationDelisted, "193.0.2.0/24"), testObserver)
	if c := e.abuseCase(1); c.State != ipledger.CaseCured || c.Action != nil {
		t.Fatalf("after the delisting: %+v", c)
	}
	evs := e.advance(25 * time.Hour)
	if len(evs) != 1 || evs[0].Kind != "case-window" {
		t.Fatalf("cure window's end of a cured case: %+v", evs)
	}
	if got := e.inForce(); !maps(got, before) {
		t.Fatalf("a cured case acted: %v, was %v", got, before)
	}
	// Listed again: a new case, which the mechanical rule decides.
	e.ok(ipledger.KindObserve, obsBody(102, ipledger.ObservationListed, "193.0.2.0/24"), testObserver)
	e.advance(25 * time.Hour)
	if c := e.abuseCase(2); c.State != ipledger.CaseUpheld || c.Action == nil {
		t.Fatalf("listed and unanswered: %+v", c)
	}
	// A listing in pool space opens no case.
	e.ok(ipledger.KindObserve, obsBody(103, ipledger.ObservationListed, "193.1.0.0/24"), testObserver)
	if c, _ := CaseByID(e.kv, 3); c != nil {
		t.Fatalf("a case on pool space: %+v", c)
	}
}

func maps(a, b map[string]bool) bool {
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

// TestAbuseDecisionReversed: a listing of a leased block, unanswered, is decided by the
// mechanical rule; the action touches only that block (the lessor's /16 split around it);
// the appeal restores exactly what it changed.
func TestAbuseDecisionReversed(t *testing.T) {
	e := abuseEnv(t)
	if l := e.lease(1); l.Bond != 2*512 || e.held("ORG-L") != 1024 {
		t.Fatalf("lessee bond %d, held %d", l.Bond, e.held("ORG-L"))
	}
	e.ok(ipledger.KindObserve, obsBody(100, ipledger.ObservationListed, "193.0.1.0/24"), testObserver)
	if c := e.abuseCase(1); c.Lessee != "ORG-L" || c.Lease != 1 || c.Holder != "ORG-H" {
		t.Fatalf("case %+v", c)
	}
	before := e.snapshot()
	evs := e.advance(25 * time.Hour)
	if len(evs) != 1 || evs[0].Kind != "case-upheld" {
		t.Fatalf("events %+v", evs)
	}
	c := e.abuseCase(1)
	if c.State != ipledger.CaseUpheld || c.Against != "lessee" || !c.Action.Cut || c.Action.Forfeit != 1024 {
		t.Fatalf("upheld %+v action %+v", c, c.Action)
	}
	got := e.inForce()
	if got["193.0.1.0/24-24-AS64500"] || !got["193.0.1.0/24-32-AS0"] || !got["193.0.0.0/24-24-AS3333"] || !got["193.0.128.0/17-24-AS3333"] {
		t.Fatalf("in force after the action: %v", got)
	}
	if l := e.lease(1); l.Periods != 1 || !l.Terminating || l.BondCase != 1 {
		t.Fatalf("lease after the action %+v", l)
	}
	// The action's AS0 stays while the case is open; the block is encumbered.
	e.fails(ipledger.CodeEncumbered, ipledger.KindWithdrawAuth, ipledger.WithdrawAuthBody{ID: c.Action.Created[len(c.Action.Created)-1]}, "ORG-H")
	// Appeal: only the parties, only while upheld.
	e.fails(ipledger.CodeUnauthorized, ipledger.KindAppeal, ipledger.AppealBody{Case: 1, Evidence: evidence("x")}, "ORG-X")
	e.fails(ipledger.CodeInvalid, ipledger.KindAppeal, ipledger.AppealBody{Case: 1, Evidence: "beef"}, "ORG-L")
	e.ok(ipledger.KindAppeal, ipledger.AppealBody{Case: 1, Evidence: evidence("we cleaned it")}, "ORG-L")
	e.fails(ipledger.CodeInvalid, ipledger.KindAppeal, ipledger.AppealBody{Case: 1, Evidence: evidence("again")}, "ORG-L")
	// Without a panel the registry decides; dismissed on appeal reverses.
	e.fails(ipledger.CodeUnauthorized, ipledger.KindDecide, ipledger.DecideBody{Case: 1, Outcome: ipledger.OutcomeDismissed, Evidence: evidence("ok")}, "ORG-H")
	e.ok(ipledger.KindDecide, ipledger.DecideBody{Case: 1, Outcome: ipledger.OutcomeDismissed, Evidence: evidence("appeal granted")}, ipledger.RIPENCC)
	if c := e.abuseCase(1); c.State != ipledger.CaseReversed {
		t.Fatalf("after the appeal: %+v", c)
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("the appeal did not restore the state before the action:\nbefore\n%s\nafter\n%s", before, after)
	}
	e.conserved()
	// The lease runs its term again; its bond returns at its end.
	e.advance(6 * 30 * day * time.Second)
	e.advance(time.Second)
	if l := e.lease(1); l.State != ipledger.LeaseEnded || e.held("ORG-L") != 0 {
		t.Fatalf("lease %+v, held %d", l, e.held("ORG-L"))
	}
	// Grade: reversed within the window is B, unless the block is listed now.
	if g := must(GradeOf(e.kv, mustRes("193.0.1.0/24"), e.time.Unix())); g != GradeC {
		t.Fatalf("grade while listed %s", g)
	}
	e.ok(ipledger.KindObserve, obsBody(200, ipledger.ObservationDelisted, "193.0.1.0/24"), testObserver)
	if g := must(GradeOf(e.kv, mustRes("193.0.1.0/24"), e.time.Unix())); g != GradeB {
		t.Fatalf("grade after delisting and reversal %s", g)
	}
}

// TestAbuseReports: a report's bond, the rate limit, a response, the panel's decisions,
// a baseless report's bond to the holder, a final decision's payout of the lessee bond.
func TestAbuseReports(t *testing.T) {
	e := abuseEnv(t, "ORG-X")
	rep := func(res string) ipledger.ReportBody {
		return ipledger.ReportBody{Resource: mustRes(res), Category: "spam", Evidence: evidence(res), URL: "https://example.net/e/" + res}
	}
	e.fails(ipledger.CodeInvalid, ipledger.KindReport, ipledger.ReportBody{Resource: mustRes("193.0.2.0/24"), Category: "rude", Evidence: evidence("a")}, "ORG-R")
	e.fails(ipledger.CodeInvalid, ipledger.KindReport, ipledger.ReportBody{Resource: mustRes("193.0.2.0/24"), Category: "spam"}, "ORG-R")
	e.fails(ipledger.CodeInvalid, ipledger.KindReport, ipledger.ReportBody{Resource: mustRes("193.0.2.0-193.0.2.5"), Category: "spam", Evidence: evidence("a")}, "ORG-R")
	e.fails(ipledger.CodeNotFound, ipledger.KindReport, rep("193.1.0.0/24"), "ORG-R")
	e.fails(ipledger.CodeNoFunds, ipledger.KindReport, rep("193.0.2.0/24"), "ORG-X")
	e.ok(ipledger.KindReport, rep("193.0.2.0/24"), "ORG-R")
	e.ok(ipledger.KindReport, rep("193.0.1.0/24"), "ORG-R")
	e.fails(ipledger.CodeRateLimited, ipledger.KindReport, rep("193.0.3.0/24"), "ORG-R")
	if e.held("ORG-R") != 20_000 {
		t.Fatalf("reporter holds %d", e.held("ORG-R"))
	}
	// Case 1: answered, found baseless; the bond goes to the holder.
	e.fails(ipledger.CodeUnauthorized, ipledger.KindRespond, ipledger.RespondBody{Case: 1, Evidence: evidence("no")}, "ORG-L")
	e.fails(ipledger.CodeInvalid, ipledger.KindDecide, ipledger.DecideBody{Case: 1, Outcome: ipledger.OutcomeUpheld, Evidence: evidence("d")}, "ORG-X")
	e.ok(ipledger.KindRespond, ipledger.RespondBody{Case: 1, Evidence: evidence("not us")}, "ORG-H")
	e.fails(ipledger.CodeUnauthorized, ipledger.KindDecide, ipledger.DecideBody{Case: 1, Outcome: ipledger.OutcomeBaseless, Evidence: evidence("d")}, ipledger.RIPENCC)
	hb := e.balance("ORG-H")
	e.ok(ipledger.KindDecide, ipledger.DecideBody{Case: 1, Outcome: ipledger.OutcomeBaseless, Evidence: evidence("baseless")}, "ORG-X")
	if c := e.abuseCase(1); c.State != ipledger.CaseBaseless || e.balance("ORG-H") != hb+10_000 || e.held("ORG-R") != 10_000 {
		t.Fatalf("baseless: %s, holder +%d, reporter holds %d", c.State, e.balance("ORG-H")-hb, e.held("ORG-R"))
	}
	// Case 2, on the leased block: unanswered, the window ends, the panel decides.
	e.advance(73 * time.Hour)
	if c := e.abuseCase(2); c.State != ipledger.CasePending || c.Action != nil {
		t.Fatalf("a report unanswered: %+v", c)
	}
	e.ok(ipledger.KindDecide, ipledger.DecideBody{Case: 2, Outcome: ipledger.OutcomeUpheld, Evidence: evidence("upheld")}, "ORG-X")
	c := e.abuseCase(2)
	if c.State != ipledger.CaseUpheld || c.Action == nil || c.Steps[len(c.Steps)-2].Evidence != evidence("upheld") {
		t.Fatalf("upheld: %+v", c)
	}
	rb, lb, lessor := e.balance("ORG-R"), e.balance("ORG-L"), e.balance("ORG-H")
	evs := e.advance(15 * day * time.Second)
	if !slices.ContainsFunc(evs, func(ev ipledger.Event) bool { return ev.Kind == "case-closed" }) {
		t.Fatalf("appeal window's end: %+v", evs)
	}
	if c := e.abuseCase(2); c.State != ipledger.CaseClosed {
		t.Fatalf("final: %+v", c)
	}
	// The reporter's bond back (held, not paid), half the lessee bond to each side.
	if e.held("ORG-R") != 0 || e.balance("ORG-R") != rb+512 || e.balance("ORG-L") != lb-1024 || e.balance("ORG-H") != lessor+512 {
		t.Fatalf("payout: reporter %+d held %d, lessee %+d, lessor %+d", int64(e.balance("ORG-R")-rb), e.held("ORG-R"), int64(e.balance("ORG-L")-lb), int64(e.balance("ORG-H")-lessor))
	}
	if n := must(OpenReports(e.kv, "ORG-R")); n != 0 {
		t.Fatalf("open reports %d", n)
	}
	if g := must(GradeOf(e.kv, mustRes("193.0.1.0/24"), e.time.Unix())); g != GradeC {
		t.Fatalf("grade after an upheld decision %s", g)
	}
	if g := must(GradeOf(e.kv, mustRes("193.0.1.0/24"), e.time.Unix()+366*day)); g != GradeA {
		t.Fatalf("grade a year after %s", g)
	}
	// Closed: the AS0 is the holder's to withdraw.
	e.ok(ipledger.KindWithdrawAuth, ipledger.WithdrawAuthBody{ID: c.Action.Created[len(c.Action.Created)-1]}, "ORG-H")
	e.conserved()
}

// checkCases checks the invariants of every case: an action follows an upheld decision
// naming its evidence (a hash, or the listing for the mechanical rule), the held credits of
// each organisation are its open reports' bonds and its lessee bonds, and credits add up.
func checkCases(e *tenv) {
	e.t.Helper()
	want := map[string]uint64{}
	if err := Cases(e.kv, 0, func(c *ipledger.Case) bool {
		if c.Bond > 0 && ipledger.CaseOpen(c.State) {
			want[c.Reporter] += c.Bond
		}
		for i, st := range c.Steps {
			if st.Step != ipledger.StepAction {
				continue
			}
			d := c.Steps[i-1]
			if i == 0 || d.Step != ipledger.StepDecision || d.Outcome != ipledger.OutcomeUpheld || (d.Evidence == "" && !(d.Auto && c.List != "")) {
				e.t.Fatalf("case %d: action without a decision naming its evidence: %+v", c.ID, c.Steps)
			}
		}
		if c.Action != nil && !slices.ContainsFunc(c.Steps, func(s ipledger.CaseStep) bool { return s.Step == ipledger.StepAction }) {
			e.t.Fatalf("case %d: an action without its step", c.ID)
		}
		// While a decision stands, nothing but AS0 covers any of the block.
		if c.State == ipledger.CaseUpheld || c.State == ipledger.CaseAppealed {
			if err := RouteAuths(e.kv, func(ra *ipledger.RouteAuth) bool {
				if pr, _ := ipledger.PrefixResource(ra.Prefix); pr.Overlaps(c.Resource) && ra.ASN != 0 {
					e.t.Fatalf("case %d on %s is %s, yet %+v covers it", c.ID, c.Resource, c.State, ra)
				}
				return true
			}); err != nil {
				e.t.Fatal(err)
			}
		}
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	if err := Leases(e.kv, func(l *ipledger.Lease) bool {
		want[l.Lessee] += l.Bond
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	for _, org := range []string{"ORG-H", "ORG-L", "ORG-R", "ORG-X", testObserver} {
		if h := e.held(org); h != want[org] {
			e.t.Fatalf("%s holds %d, its bonds are %d", org, h, want[org])
		}
	}
	e.conserved()
}

// TestAbuseProperties runs random sequences of reports, listings, delistings, responses,
// decisions, appeals and block-time steps, checking checkCases after each.
func TestAbuseProperties(t *testing.T) {
	blocks := []string{"193.0.0.0/24", "193.0.1.0/24", "193.0.1.0/25", "193.0.2.0/23", "193.0.0.0/16", "193.0.9.0/24"}
	seen := map[string]int{} // case states at the end of every run
	defer func() {
		t.Logf("case states at the ends: %v", seen)
		if seen[ipledger.CaseReversed] == 0 || seen[ipledger.CaseClosed]+seen[ipledger.CaseUpheld] == 0 || seen[ipledger.CaseCured] == 0 {
			t.Errorf("the runs never reached some states: %v", seen)
		}
	}()
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			e := abuseEnv(t)
			rng := rand.New(rand.NewPCG(seed, 18))
			listed := map[string]bool{}
			ts := int64(100)
			for range 60 {
				blk := blocks[rng.IntN(len(blocks))]
				id := uint64(1 + rng.IntN(6))
				ev := evidence(fmt.Sprint(rng.Int()))
				switch rng.IntN(8) {
				case 0:
					e.do(ipledger.KindReport, ipledger.ReportBody{Resource: mustRes(blk), Category: "malware", Evidence: ev}, "ORG-R")
				case 1:
					ts++
					kind := ipledger.ObservationListed
					if listed[blk] {
						kind = ipledger.ObservationDelisted
					}
					if e.do(ipledger.KindObserve, obsBody(ts, kind, blk), testObserver).Code == ipledger.CodeOK {
						listed[blk] = !listed[blk]
					}
				case 2:
					e.do(ipledger.KindRespond, ipledger.RespondBody{Case: id, Evidence: ev, Cure: rng.IntN(2) == 0}, []string{"ORG-H", "ORG-L"}[rng.IntN(2)])
				case 3:
					out := []string{ipledger.OutcomeUpheld, ipledger.OutcomeDismissed, ipledger.OutcomeBaseless}[rng.IntN(3)]
					e.do(ipledger.KindDecide, ipledger.DecideBody{Case: id, Outcome: out, Evidence: ev}, ipledger.RIPENCC)
				case 4:
					e.do(ipledger.KindAppeal, ipledger.AppealBody{Case: id, Evidence: ev}, []string{"ORG-H", "ORG-L"}[rng.IntN(2)])
				default:
					e.advance(time.Duration(rng.IntN(100)) * time.Hour)
				}
				checkCases(e)
			}
			if err := Cases(e.kv, 0, func(c *ipledger.Case) bool { seen[c.State]++; return true }); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestAbuseAppealRestores: for blocks of every size around the authorisations and the
// lease, an action then a granted appeal leaves every authorisation, lease, encumbrance
// and balance as before the action.
func TestAbuseAppealRestores(t *testing.T) {
	for _, blk := range []string{"193.0.1.0/24", "193.0.1.128/25", "193.0.0.0/22", "193.0.0.0/16", "193.0.200.0/21", "193.0.7.7/32"} {
		t.Run(blk, func(t *testing.T) {
			e := abuseEnv(t)
			e.ok(ipledger.KindReport, ipledger.ReportBody{Resource: mustRes(blk), Category: "phishing", Evidence: evidence(blk)}, "ORG-R")
			e.ok(ipledger.KindRespond, ipledger.RespondBody{Case: 1, Evidence: evidence("no")}, "ORG-H")
			before := e.snapshot("ORG-R")
			e.ok(ipledger.KindDecide, ipledger.DecideBody{Case: 1, Outcome: ipledger.OutcomeUpheld, Evidence: evidence("yes")}, ipledger.RIPENCC)
			if e.snapshot("ORG-R") == before {
				t.Fatal("the action changed nothing")
			}
			e.ok(ipledger.KindAppeal, ipledger.AppealBody{Case: 1, Evidence: evidence("appeal")}, "ORG-H")
			e.ok(ipledger.KindDecide, ipledger.DecideBody{Case: 1, Outcome: ipledger.OutcomeDismissed, Evidence: evidence("granted")}, ipledger.RIPENCC)
			if after := e.snapshot("ORG-R"); after != before {
				t.Fatalf("not restored:\nbefore\n%s\nafter\n%s", before, after)
			}
			checkCases(e)
		})
	}
}

// FuzzAbuseBodies is the one fuzz target of the abuse process's decoders: the first byte
// picks the kind, the rest is its body, applied by each party to a state with one case
// upheld (appealable) and one open. No body may bring an internal error, and the
// invariants of checkCases hold after each. A first byte past the kinds picks the stored
// case summary instead: one that decodes encodes back to the same bytes.
func FuzzAbuseBodies(f *testing.F) {
	abuseKinds := []ipledger.Kind{ipledger.KindReport, ipledger.KindRespond, ipledger.KindDecide, ipledger.KindAppeal}
	seed := func(k byte, body any) {
		b, _ := json.Marshal(body)
		f.Add(append([]byte{k}, b...))
	}
	seed(0, ipledger.ReportBody{Resource: mustRes("193.0.1.0/24"), Category: "spam", Evidence: evidence("a"), URL: "https://x"})
	seed(0, ipledger.ReportBody{Resource: mustRes("2001:600::/32"), Category: "drop", Evidence: evidence("a")})
	seed(1, ipledger.RespondBody{Case: 2, Evidence: evidence("b"), Cure: true})
	seed(2, ipledger.DecideBody{Case: 2, Outcome: "upheld", Evidence: evidence("c")})
	seed(2, ipledger.DecideBody{Case: 1, Outcome: "dismissed", Evidence: evidence("c")})
	seed(3, ipledger.AppealBody{Case: 1, Evidence: evidence("d")})
	sum := &ipledger.Case{ID: 7, Resource: mustRes("193.0.1.0/24"), Category: "spam", State: ipledger.CaseUpheld, Opened: 1740926274, Decided: 1741026274}
	f.Add(append(append([]byte{4}, casePosKey(sum.Resource, sum.ID)...), encodeCaseSummary(sum)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		if int(in[0]) >= len(abuseKinds) {
			if len(in) < 28 {
				return
			}
			k, v := in[1:28], in[28:]
			s, err := decodeCaseSummary(k, v)
			if err != nil {
				return
			}
			c := &ipledger.Case{ID: s.ID, Resource: s.Resource, Category: s.Category, State: s.State, Opened: s.Opened, Decided: s.Decided}
			if again := encodeCaseSummary(c); string(again) != string(v) {
				t.Fatalf("%x decodes to %+v, which encodes to %x", v, s, again)
			}
			return
		}
		kind := abuseKinds[int(in[0])]
		body := kinds[kind].body()
		if ipledger.DecodeBody(in[1:], body) != nil {
			return
		}
		e := abuseEnv(t)
		e.ok(ipledger.KindObserve, obsBody(100, ipledger.ObservationListed, "193.0.1.0/24"), testObserver)
		e.advance(25 * time.Hour)
		e.ok(ipledger.KindReport, ipledger.ReportBody{Resource: mustRes("193.0.4.0/22"), Category: "spam", Evidence: evidence("r")}, "ORG-R")
		for _, by := range []string{"ORG-R", "ORG-H", "ORG-L", ipledger.RIPENCC} {
			if r := e.do(kind, body, by); r.Code == ipledger.CodeInternal {
				t.Fatalf("%s %q by %s: internal error %s", kind, in[1:], by, r.Log)
			}
			checkCases(e)
		}
	})
}

// TestCaseEventLeafBound: max_settlements (1000) events of the abuse process, as the
// end-of-block log leaf records them, fit one log entry, as TestEventLeafBound checks for
// the others.
func TestCaseEventLeafBound(t *testing.T) {
	for _, kind := range []string{"case-upheld", "case-pending", "case-closed", "case-window"} {
		b, _ := json.Marshal(ipledger.Event{Kind: kind, Ref: caseName(18446744073709551615)})
		if n := 1000*(len(b)+1) + 1; n > 63_500 {
			t.Errorf("1000 %s events take %d bytes", kind, n)
		}
	}
}

// TestAbuseParamsChecked: a genesis with bad abuse parameters is refused.
func TestAbuseParamsChecked(t *testing.T) {
	for name, p := range map[string]Params{
		"no cure window":   {AbuseCategories: []AbuseCategory{{Name: "spam", Bond: 1}}},
		"twice":            {AbuseCategories: []AbuseCategory{{Name: "spam", Cure: 1}, {Name: "spam", Cure: 2}}},
		"bad name":         {AbuseCategories: []AbuseCategory{{Name: "Spam Mail", Cure: 1}}},
		"bad drop list":    {DropLists: []string{"DROP"}},
		"bad panel member": {AbusePanel: []string{"not a handle"}},
	} {
		g := testGenesis()
		g.Params = p
		if err := New(testChain).InitGenesis(memKV(), g, ipledger.Block{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestAbuseListingSpansHoldings: a listing larger than every holding inside it opens a
// case on each holding's part of it, and its delisting cures them all.
func TestAbuseListingSpansHoldings(t *testing.T) {
	e := abuseEnv(t)
	e.ok(ipledger.KindAllocate, alloc("193.1.0.0/24", "ORG-X", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	e.ok(ipledger.KindObserve, obsBody(100, ipledger.ObservationListed, "193.0.0.0/15"), testObserver)
	c1, c2 := e.abuseCase(1), e.abuseCase(2)
	if c1.Resource != mustRes("193.0.0.0/16") || c1.Holder != "ORG-H" || c1.Lessee != "ORG-L" || c2.Resource != mustRes("193.1.0.0/24") || c2.Holder != "ORG-X" {
		t.Fatalf("cases %+v\n%+v", c1, c2)
	}
	if c1.Listed != netip.MustParsePrefix("193.0.0.0/15") {
		t.Fatalf("listed %s", c1.Listed)
	}
	e.ok(ipledger.KindObserve, obsBody(101, ipledger.ObservationDelisted, "193.0.0.0/15"), testObserver)
	if e.abuseCase(1).State != ipledger.CaseCured || e.abuseCase(2).State != ipledger.CaseCured {
		t.Fatal("the delisting cured not both")
	}
	// Listed again and left: both upheld by the mechanical rule, each on its own part.
	e.ok(ipledger.KindObserve, obsBody(102, ipledger.ObservationListed, "193.0.0.0/15"), testObserver)
	e.advance(25 * time.Hour)
	if e.abuseCase(3).State != ipledger.CaseUpheld || e.abuseCase(4).State != ipledger.CaseUpheld {
		t.Fatalf("not upheld: %s %s", e.abuseCase(3).State, e.abuseCase(4).State)
	}
	if got := e.inForce(); !got["193.0.0.0/16-32-AS0"] || !got["193.1.0.0/24-32-AS0"] || len(got) != 2 {
		t.Fatalf("in force %v", got)
	}
	checkCases(e)
}

// TestAbuseHolderMoved: when the holding moved before the cure window ended, the
// mechanical rule has nothing to act on: none of the action stays, and the panel decides.
func TestAbuseHolderMoved(t *testing.T) {
	e := abuseEnv(t)
	e.ok(ipledger.KindObserve, obsBody(100, ipledger.ObservationListed, "193.0.2.0/24"), testObserver)
	e.ok(ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.2.0/24"), To: "ORG-X"}, "ORG-H", "ORG-X")
	before := e.snapshot()
	if evs := e.advance(25 * time.Hour); len(evs) != 1 || evs[0].Kind != "case-pending" {
		t.Fatalf("events %+v", evs)
	}
	c := e.abuseCase(1)
	if c.State != ipledger.CasePending || c.Action != nil || slices.ContainsFunc(c.Steps, func(s ipledger.CaseStep) bool { return s.Outcome == ipledger.OutcomeUpheld }) {
		t.Fatalf("case %+v", c)
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("a refused action left writes:\n%s\n%s", before, after)
	}
}
