package ledger

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

const day = 24 * 3600

// advance moves block time on by d and runs EndBlock in a block of its own.
func (e *tenv) advance(d time.Duration) []ipledger.Event {
	e.t.Helper()
	e.height++
	e.time = e.time.Add(d)
	evs, err := e.l.EndBlock(e.kv, ipledger.Block{Height: e.height, Time: e.time})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func (e *tenv) balance(org string) uint64 {
	e.t.Helper()
	b, err := Balance(e.kv, org)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *tenv) lease(id uint64) *ipledger.Lease { return mustByID(e, LeaseByID, id, "lease") }

// mustByID loads the what numbered id with get, failing the test if there is none.
func mustByID[T any](e *tenv, get func(ipledger.KV, uint64) (*T, error), id uint64, what string) *T {
	e.t.Helper()
	v, err := get(e.kv, id)
	if err != nil || v == nil {
		e.t.Fatalf("%s %d: %v %v", what, id, v, err)
	}
	return v
}

// inForce lists the authorisations in force now as "prefix-maxlen-ASn".
func (e *tenv) inForce() map[string]bool {
	e.t.Helper()
	out := map[string]bool{}
	if err := InForce(e.kv, e.time.Unix(), func(ra *ipledger.RouteAuth) bool {
		out[ra.Prefix.String()+"-"+strconv.Itoa(ra.MaxLength)+"-AS"+strconv.Itoa(int(ra.ASN))] = true
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *tenv) geos() []ipledger.Geo {
	var out []ipledger.Geo
	if err := Geos(e.kv, func(g *ipledger.Geo) bool { out = append(out, *g); return true }); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func TestCredits(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A", "ORG-B")
	e.ok(ipledger.KindMint, ipledger.MintBody{To: "ORG-A", Amount: 1000}, testAgent)
	e.fails(ipledger.CodeUnauthorized, ipledger.KindMint, ipledger.MintBody{To: "ORG-A", Amount: 1}, "ORG-A")
	e.fails(ipledger.CodeUnauthorized, ipledger.KindMint, ipledger.MintBody{To: "ORG-A", Amount: 1}, ipledger.RIPENCC)
	e.fails(ipledger.CodeOverflow, ipledger.KindMint, ipledger.MintBody{To: "ORG-B", Amount: ^uint64(0)}, testAgent)
	e.fails(ipledger.CodeInvalid, ipledger.KindMint, ipledger.MintBody{To: "ORG-B"}, testAgent)
	e.fails(ipledger.CodeNotFound, ipledger.KindMint, ipledger.MintBody{To: "ORG-NONE", Amount: 1}, testAgent)
	e.ok(ipledger.KindPay, ipledger.PayBody{To: "ORG-B", Amount: 400}, "ORG-A")
	e.fails(ipledger.CodeNoFunds, ipledger.KindPay, ipledger.PayBody{To: "ORG-B", Amount: 601}, "ORG-A")
	e.fails(ipledger.CodeInvalid, ipledger.KindPay, ipledger.PayBody{To: "ORG-A", Amount: 1}, "ORG-A")
	e.ok(ipledger.KindPay, ipledger.PayBody{To: testAgent, Amount: 100}, "ORG-B")
	e.fails(ipledger.CodeNoFunds, ipledger.KindBurn, ipledger.BurnBody{Amount: 101}, testAgent)
	e.ok(ipledger.KindBurn, ipledger.BurnBody{Amount: 100}, testAgent)
	e.fails(ipledger.CodeUnauthorized, ipledger.KindBurn, ipledger.BurnBody{Amount: 1}, "ORG-A")
	if a, b, s := e.balance("ORG-A"), e.balance("ORG-B"), must(Supply(e.kv)); a != 600 || b != 300 || s != 900 {
		t.Fatalf("balances %d %d supply %d", a, b, s)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestRouteAuthorisations(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A", "ORG-B")
	e.ok(ipledger.KindAllocate, alloc("193.0.0.0/16", "ORG-A", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	pfx := netip.MustParsePrefix
	e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: pfx("193.0.0.0/16"), MaxLength: 24, ASN: 3333}, "ORG-A")
	for _, c := range []struct {
		name string
		code ipledger.Code
		body ipledger.AuthoriseBody
		by   string
	}{
		{"not the holder", ipledger.CodeUnauthorized, ipledger.AuthoriseBody{Prefix: pfx("193.0.4.0/24"), MaxLength: 24, ASN: 1}, "ORG-B"},
		{"host bits", ipledger.CodeInvalid, ipledger.AuthoriseBody{Prefix: pfx("193.0.4.1/24"), MaxLength: 24, ASN: 1}, "ORG-A"},
		{"max length short", ipledger.CodeInvalid, ipledger.AuthoriseBody{Prefix: pfx("193.0.4.0/24"), MaxLength: 23, ASN: 1}, "ORG-A"},
		{"max length long", ipledger.CodeInvalid, ipledger.AuthoriseBody{Prefix: pfx("193.0.4.0/24"), MaxLength: 33, ASN: 1}, "ORG-A"},
		{"outside holding", ipledger.CodeOutsideParent, ipledger.AuthoriseBody{Prefix: pfx("41.0.0.0/16"), MaxLength: 16, ASN: 1}, "ORG-A"},
		{"expired", ipledger.CodeInvalid, ipledger.AuthoriseBody{Prefix: pfx("193.0.4.0/24"), MaxLength: 24, ASN: 1, Expires: 1000}, "ORG-A"},
		{"no prefix", ipledger.CodeInvalid, ipledger.AuthoriseBody{MaxLength: 24, ASN: 1}, "ORG-A"},
	} {
		t.Run(c.name, func(t *testing.T) { e.t = t; e.fails(c.code, ipledger.KindAuthorise, c.body, c.by) })
	}
	e.t = t
	exp := e.time.Add(48 * time.Hour).Unix()
	e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: pfx("193.0.8.0/22"), MaxLength: 24, ASN: 65000, Expires: exp}, "ORG-A")
	if got := e.inForce(); !got["193.0.0.0/16-24-AS3333"] || !got["193.0.8.0/22-24-AS65000"] || len(got) != 2 {
		t.Fatalf("in force %v", got)
	}
	e.fails(ipledger.CodeUnauthorized, ipledger.KindWithdrawAuth, ipledger.WithdrawAuthBody{ID: 1}, "ORG-B")
	e.fails(ipledger.CodeNotFound, ipledger.KindWithdrawAuth, ipledger.WithdrawAuthBody{ID: 99}, "ORG-A")
	evs := e.advance(72 * time.Hour)
	if len(evs) != 1 || evs[0].Kind != "route-expired" || evs[0].Ref != "route/2" {
		t.Fatalf("events %+v", evs)
	}
	if a, _ := RouteAuthByID(e.kv, 2); a != nil {
		t.Fatal("expired authorisation still stored")
	}
	e.ok(ipledger.KindWithdrawAuth, ipledger.WithdrawAuthBody{ID: 1}, "ORG-A")
	if got := e.inForce(); len(got) != 0 {
		t.Fatalf("in force after withdrawal %v", got)
	}
}

// TestLeaseLifecycle walks one lease from offer to AS0: encumbrance, first payment with the
// start, the lessee's authorisation suppressing the lessor's, geolocation, a paid boundary,
// a failed one, the grace period, the end, and the AS0 window.
func TestLeaseLifecycle(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A", "ORG-L", "ORG-X")
	e.ok(ipledger.KindAllocate, alloc("193.0.0.0/16", "ORG-A", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	e.ok(ipledger.KindMint, ipledger.MintBody{To: "ORG-L", Amount: 1200}, testAgent)
	e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.0.0/16"), MaxLength: 24, ASN: 3333}, "ORG-A")

	const month = 30 * day
	offer := ipledger.OfferBody{Resource: mustRes("193.0.1.0/24"), Price: 2, Period: month, MinPeriods: 1, MaxPeriods: 12, Renewable: true}
	e.fails(ipledger.CodeUnauthorized, ipledger.KindOffer, offer, "ORG-X")
	e.fails(ipledger.CodeInvalid, ipledger.KindOffer, ipledger.OfferBody{Resource: offer.Resource, Price: 2, Period: 0, MinPeriods: 1, MaxPeriods: 1}, "ORG-A")
	e.fails(ipledger.CodeInvalid, ipledger.KindOffer, ipledger.OfferBody{Resource: offer.Resource, Price: 2, Period: month, MinPeriods: 2, MaxPeriods: 1}, "ORG-A")
	e.fails(ipledger.CodeOverflow, ipledger.KindOffer, ipledger.OfferBody{Resource: offer.Resource, Price: 1 << 60, Period: month, MinPeriods: 1, MaxPeriods: 1}, "ORG-A")
	e.ok(ipledger.KindOffer, offer, "ORG-A")
	// The offered block is encumbered.
	e.fails(ipledger.CodeEncumbered, ipledger.KindOffer, ipledger.OfferBody{Resource: mustRes("193.0.1.128/25"), Price: 1, Period: month, MinPeriods: 1, MaxPeriods: 1}, "ORG-A")
	e.fails(ipledger.CodeEncumbered, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.0.0/23"), To: "ORG-X"}, "ORG-A", "ORG-X")
	e.fails(ipledger.CodeEncumbered, ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: mustRes("193.0.1.0/26"), Org: "ORG-X", Status: ipledger.StatusAssignedPA}}}, "ORG-A")
	// Taking it: wrong term, AS0, own block, no funds.
	e.fails(ipledger.CodeInvalid, ipledger.KindLease, ipledger.LeaseBody{Offer: 1, ASN: 64500, Periods: 13}, "ORG-L")
	e.fails(ipledger.CodeInvalid, ipledger.KindLease, ipledger.LeaseBody{Offer: 1, ASN: 0, Periods: 3}, "ORG-L")
	e.fails(ipledger.CodeInvalid, ipledger.KindLease, ipledger.LeaseBody{Offer: 1, ASN: 64500, Periods: 3}, "ORG-A")
	e.fails(ipledger.CodeNoFunds, ipledger.KindLease, ipledger.LeaseBody{Offer: 1, ASN: 64500, Periods: 3}, "ORG-X")
	e.fails(ipledger.CodeNotFound, ipledger.KindLease, ipledger.LeaseBody{Offer: 7, ASN: 64500, Periods: 3}, "ORG-L")

	e.ok(ipledger.KindLease, ipledger.LeaseBody{Offer: 1, ASN: 64500, Periods: 3}, "ORG-L")
	start := e.time.Unix()
	if l, a := e.balance("ORG-L"), e.balance("ORG-A"); l != 1200-512 || a != 512 {
		t.Fatalf("after start: lessee %d lessor %d", l, a)
	}
	if o, _ := OfferByID(e.kv, 1); o != nil {
		t.Fatal("taken offer still open")
	}
	chain, _ := Lookup(e.kv, mustRes("193.0.1.7"))
	if top := chain[len(chain)-1]; top.Holder != "ORG-L" || top.Status != ipledger.StatusLeased || top.Resource != offer.Resource {
		t.Fatalf("leased holding %+v", top)
	}
	if got := e.inForce(); !got["193.0.1.0/24-24-AS64500"] || got["193.0.0.0/16-24-AS3333"] || len(got) != 1 {
		t.Fatalf("in force during lease %v (lessor's /16 must be suppressed)", got)
	}
	e.fails(ipledger.CodeEncumbered, ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.1.0/24"), MaxLength: 24, ASN: 1}, "ORG-A")
	e.fails(ipledger.CodeEncumbered, ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.1.0/25"), MaxLength: 25, ASN: 1}, "ORG-L")
	e.fails(ipledger.CodeEncumbered, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.1.0/24"), To: "ORG-X"}, "ORG-L", "ORG-X")
	e.fails(ipledger.CodeEncumbered, ipledger.KindReturn, ipledger.ReturnBody{Resource: mustRes("193.0.1.0/24")}, "ORG-L")
	e.fails(ipledger.CodeUnauthorized, ipledger.KindWithdrawAuth, ipledger.WithdrawAuthBody{ID: 2}, "ORG-L")
	// Geolocation: the lessee's to set.
	geo := ipledger.SetGeoBody{Resource: mustRes("193.0.1.0/24"), Country: "NL", Region: "NL-NH", City: "Amsterdam"}
	e.fails(ipledger.CodeUnauthorized, ipledger.KindSetGeo, geo, "ORG-A")
	e.fails(ipledger.CodeInvalid, ipledger.KindSetGeo, ipledger.SetGeoBody{Resource: geo.Resource, Country: "NL", Region: "DE-BE"}, "ORG-L")
	e.fails(ipledger.CodeInvalid, ipledger.KindSetGeo, ipledger.SetGeoBody{Resource: geo.Resource, Country: "NL", City: "A,B"}, "ORG-L")
	e.ok(ipledger.KindSetGeo, geo, "ORG-L")
	if g := e.geos(); len(g) != 1 || g[0].City != "Amsterdam" || g[0].Holder != "ORG-L" {
		t.Fatalf("geos %+v", g)
	}

	// First boundary: paid.
	evs := e.advance(month * time.Second)
	if len(evs) != 1 || evs[0].Kind != "lease-paid" || e.balance("ORG-L") != 1200-1024 {
		t.Fatalf("first boundary: %+v balance %d", evs, e.balance("ORG-L"))
	}
	// Nothing due in between.
	if evs := e.advance(time.Hour); len(evs) != 0 {
		t.Fatalf("events between boundaries: %+v", evs)
	}
	// The lessee spends its credits; the second boundary fails and grace starts.
	e.ok(ipledger.KindPay, ipledger.PayBody{To: "ORG-X", Amount: e.balance("ORG-L")}, "ORG-L")
	e.time = time.Unix(start+2*month, 0).UTC().Add(-time.Second)
	if evs := e.advance(time.Second); len(evs) != 1 || evs[0].Kind != "lease-grace" {
		t.Fatalf("second boundary: %+v", evs)
	}
	if l := e.lease(1); l.State != ipledger.LeaseGrace || l.GraceUntil != start+2*month+3*day {
		t.Fatalf("lease in grace: %+v", l)
	}
	if got := e.inForce(); !got["193.0.1.0/24-24-AS64500"] {
		t.Fatalf("the lessee's route must stay during grace: %v", got)
	}
	// Grace runs out unpaid: the lease ends in that block.
	evs = e.advance(3 * day * time.Second)
	if len(evs) != 1 || evs[0].Kind != "lease-ended" {
		t.Fatalf("grace end: %+v", evs)
	}
	if l := e.lease(1); l.State != ipledger.LeaseEnded || l.EndReason != "unpaid" {
		t.Fatalf("ended lease %+v", l)
	}
	if got := e.holder("193.0.1.7"); got != "ORG-A" {
		t.Fatalf("holder after the lease %q", got)
	}
	if got := e.inForce(); !got["193.0.1.0/24-24-AS0"] || !got["193.0.0.0/16-24-AS3333"] || got["193.0.1.0/24-24-AS64500"] || len(got) != 2 {
		t.Fatalf("in force after the lease %v", got)
	}
	if g := e.geos(); len(g) != 0 {
		t.Fatalf("geolocation outlived the lease: %+v", g)
	}
	e.ok(ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.1.0/24"), To: "ORG-X"}, "ORG-A", "ORG-X")
	// The AS0 window closes.
	if evs := e.advance(7 * day * time.Second); len(evs) != 1 || evs[0].Kind != "route-expired" {
		t.Fatalf("AS0 expiry: %+v", evs)
	}
	if got := e.inForce(); got["193.0.1.0/24-24-AS0"] {
		t.Fatalf("AS0 outlived its window: %v", got)
	}
}

func TestLeaseRenewTerminateExpire(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A", "ORG-L")
	e.ok(ipledger.KindAllocate, alloc("2001:600::/32", "ORG-A", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	e.ok(ipledger.KindMint, ipledger.MintBody{To: "ORG-L", Amount: 1000}, testAgent)
	// IPv6 is priced per block.
	e.ok(ipledger.KindOffer, ipledger.OfferBody{Resource: mustRes("2001:600:1::/48"), Price: 10, Period: day, MinPeriods: 2, MaxPeriods: 5, Renewable: true}, "ORG-A")
	e.ok(ipledger.KindLease, ipledger.LeaseBody{Offer: 1, ASN: 64501, Periods: 4}, "ORG-L")
	if b := e.balance("ORG-L"); b != 990 {
		t.Fatalf("balance %d", b)
	}
	e.fails(ipledger.CodeInvalid, ipledger.KindRenew, ipledger.RenewBody{Lease: 1, Periods: 6}, "ORG-L")
	e.fails(ipledger.CodeUnauthorized, ipledger.KindRenew, ipledger.RenewBody{Lease: 1, Periods: 1}, "ORG-A")
	e.ok(ipledger.KindRenew, ipledger.RenewBody{Lease: 1, Periods: 2}, "ORG-L")
	if l := e.lease(1); l.Periods != 6 {
		t.Fatalf("renewed %+v", l)
	}
	// Early termination stops at the minimum term (2), the lease having paid 1.
	e.ok(ipledger.KindTerminate, ipledger.TerminateBody{Lease: 1}, "ORG-L")
	l := e.lease(1)
	if l.Periods != 2 || !l.Terminating {
		t.Fatalf("terminating %+v", l)
	}
	auth, _ := RouteAuthByID(e.kv, 1)
	if auth == nil || auth.Expires != l.End() {
		t.Fatalf("lessee authorisation %+v, want expiry %d", auth, l.End())
	}
	e.fails(ipledger.CodeInvalid, ipledger.KindTerminate, ipledger.TerminateBody{Lease: 1}, "ORG-L")
	// A long gap between blocks: both remaining boundaries settle in one block.
	evs := e.advance(10 * day * time.Second)
	if len(evs) != 2 || evs[0].Kind != "lease-paid" || evs[1].Kind != "lease-ended" {
		t.Fatalf("events after the gap %+v", evs)
	}
	if l := e.lease(1); l.EndReason != "terminated" || l.Paid != 2 || e.balance("ORG-L") != 980 || e.balance("ORG-A") != 20 {
		t.Fatalf("after the gap %+v, balances %d %d", l, e.balance("ORG-L"), e.balance("ORG-A"))
	}
	e.fails(ipledger.CodeInvalid, ipledger.KindRenew, ipledger.RenewBody{Lease: 1, Periods: 1}, "ORG-L")
	// The block can be offered again; the new lease clears the AS0 left by the old one.
	e.ok(ipledger.KindOffer, ipledger.OfferBody{Resource: mustRes("2001:600:1::/48"), Price: 1, Period: day, MinPeriods: 1, MaxPeriods: 1}, "ORG-A")
	e.ok(ipledger.KindWithdrawOffer, ipledger.WithdrawOfferBody{Offer: 2}, "ORG-A")
	e.fails(ipledger.CodeNotFound, ipledger.KindLease, ipledger.LeaseBody{Offer: 2, ASN: 1, Periods: 1}, "ORG-L")
	e.ok(ipledger.KindOffer, ipledger.OfferBody{Resource: mustRes("2001:600:1::/48"), Price: 1, Period: day, MinPeriods: 1, MaxPeriods: 1}, "ORG-A")
	e.ok(ipledger.KindLease, ipledger.LeaseBody{Offer: 3, ASN: 64502, Periods: 1}, "ORG-L")
	if got := e.inForce(); !got["2001:600:1::/48-48-AS64502"] || len(got) != 1 {
		t.Fatalf("in force under the second lease %v", got)
	}
}

func TestEndBlockBound(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A")
	e.ok(ipledger.KindAllocate, alloc("193.0.0.0/16", "ORG-A", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	p, _ := ChainParams(e.kv)
	n := p.MaxSettlements + 5
	for i := range n {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{193, 0, byte(i / 256), byte(i % 256)}), 32)
		e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: p, MaxLength: 32, ASN: 1, Expires: e.time.Unix() + 60}, "ORG-A")
	}
	if evs := e.advance(time.Hour); len(evs) != p.MaxSettlements {
		t.Fatalf("first block applied %d events, want %d", len(evs), p.MaxSettlements)
	}
	if evs := e.advance(time.Second); len(evs) != 5 {
		t.Fatalf("second block applied %d events, want the 5 carried over", len(evs))
	}
}
