package ledger

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// marketEnv is an env with a seller ORG-S holding 193.0.0.0/16 (ALLOCATED PA) and two
// buyers ORG-B and ORG-C with 1,000,000 credits each.
func marketEnv(t testing.TB, g *Genesis) *tenv {
	if g == nil {
		g = testGenesis()
	}
	e := newEnvWith(t, g)
	e.newOrg(ipledger.RIPENCC, "ORG-S", "ORG-B", "ORG-C")
	e.ok(ipledger.KindAllocate, alloc("193.0.0.0/16", "ORG-S", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	e.ok(ipledger.KindMint, ipledger.MintBody{To: "ORG-B", Amount: 1_000_000}, testAgent)
	e.ok(ipledger.KindMint, ipledger.MintBody{To: "ORG-C", Amount: 1_000_000}, testAgent)
	return e
}

func (e *tenv) held(org string) uint64 {
	e.t.Helper()
	return must(Held(e.kv, org))
}

func (e *tenv) listing(id uint64) *ipledger.Listing {
	return mustByID(e, ListingByID, id, "listing")
}

func (e *tenv) trades() []ipledger.Trade {
	e.t.Helper()
	var out []ipledger.Trade
	if err := Trades(e.kv, func(tr *ipledger.Trade) bool { out = append(out, *tr); return true }); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// conserved fails unless the balances add up to the supply and no organisation holds more
// than its balance.
func (e *tenv) conserved() {
	e.t.Helper()
	var sum uint64
	if err := Balances(e.kv, func(org string, amount uint64) bool {
		sum += amount
		if h := e.held(org); h > amount {
			e.t.Fatalf("%s holds %d of a balance of %d", org, h, amount)
		}
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	if s := must(Supply(e.kv)); s != sum {
		e.t.Fatalf("balances add up to %d, supply %d", sum, s)
	}
}

func (e *tenv) list(res string, reserve uint64, d time.Duration) {
	e.t.Helper()
	e.ok(ipledger.KindList, ipledger.ListBody{Resource: mustRes(res), Reserve: reserve, MinIncrement: 100, End: e.time.Add(d).Unix()}, "ORG-S")
}

func TestListingRules(t *testing.T) {
	e := marketEnv(t, nil)
	end := e.time.Add(time.Hour).Unix()
	body := func(res string, reserve uint64, end int64) ipledger.ListBody {
		return ipledger.ListBody{Resource: mustRes(res), Reserve: reserve, MinIncrement: 100, End: end}
	}
	for _, c := range []struct {
		name string
		code ipledger.Code
		body ipledger.ListBody
		by   string
	}{
		{"not the holder", ipledger.CodeUnauthorized, body("193.0.4.0/22", 1000, end), "ORG-B"},
		{"no reserve", ipledger.CodeInvalid, body("193.0.4.0/22", 0, end), "ORG-S"},
		{"ended", ipledger.CodeInvalid, body("193.0.4.0/22", 1000, e.time.Unix()-1), "ORG-S"},
		{"too long", ipledger.CodeInvalid, body("193.0.4.0/22", 1000, e.time.Add(100*24*time.Hour).Unix()), "ORG-S"},
		{"pool space", ipledger.CodeUnauthorized, body("193.1.0.0/24", 1000, end), ipledger.RIPENCC},
		{"outside", ipledger.CodeOutsideParent, body("41.0.0.0/24", 1000, end), "ORG-S"},
	} {
		t.Run(c.name, func(t *testing.T) { e.t = t; e.fails(c.code, ipledger.KindList, c.body, c.by) })
	}
	e.t = t
	e.list("193.0.4.0/22", 1000, time.Hour)
	// The listing holds the block: no second listing, transfer, offer or assignment in it.
	e.fails(ipledger.CodeEncumbered, ipledger.KindList, body("193.0.4.0/24", 1000, end), "ORG-S")
	e.fails(ipledger.CodeEncumbered, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.0.0/16"), To: "ORG-B"}, "ORG-S", "ORG-B")
	e.fails(ipledger.CodeEncumbered, ipledger.KindOffer, ipledger.OfferBody{Resource: mustRes("193.0.4.0/24"), Price: 1, Period: 100, MinPeriods: 1, MaxPeriods: 1}, "ORG-S")
	e.fails(ipledger.CodeEncumbered, ipledger.KindSwap, ipledger.SwapBody{Resource: mustRes("193.0.5.0/24"), Buyer: "ORG-B", Price: 1}, "ORG-S", "ORG-B")
	// A route authorisation is not blocked by a listing.
	e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.4.0/24"), MaxLength: 24, ASN: 7}, "ORG-S")

	e.fails(ipledger.CodeInvalid, ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 5000}, "ORG-S")
	e.fails(ipledger.CodeNotFound, ipledger.KindBid, ipledger.BidBody{Listing: 9, Amount: 5000}, "ORG-B")
	e.fails(ipledger.CodeInvalid, ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 999}, "ORG-B")
	e.fails(ipledger.CodeNoFunds, ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 1_000_001}, "ORG-B")
	e.ok(ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 1000}, "ORG-B")
	if e.held("ORG-B") != 1000 {
		t.Fatalf("ORG-B holds %d", e.held("ORG-B"))
	}
	// Held credits cannot be paid.
	e.fails(ipledger.CodeNoFunds, ipledger.KindPay, ipledger.PayBody{To: "ORG-C", Amount: 999_001}, "ORG-B")
	e.fails(ipledger.CodeInvalid, ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 1099}, "ORG-C")
	e.ok(ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 1100, ASN: 64500}, "ORG-C")
	if e.held("ORG-B") != 0 || e.held("ORG-C") != 1100 {
		t.Fatalf("held %d %d: the outbid hold is released at once", e.held("ORG-B"), e.held("ORG-C"))
	}
	e.fails(ipledger.CodeInvalid, ipledger.KindCancelListing, ipledger.CancelListingBody{Listing: 1}, "ORG-S")
	e.fails(ipledger.CodeUnauthorized, ipledger.KindCancelListing, ipledger.CancelListingBody{Listing: 1}, "ORG-B")
	e.conserved()
}

func TestListingSettles(t *testing.T) {
	e := marketEnv(t, nil)
	pfx := netip.MustParsePrefix
	e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: pfx("193.0.0.0/16"), MaxLength: 24, ASN: 3333}, "ORG-S")
	e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: pfx("193.0.5.0/24"), MaxLength: 24, ASN: 4444}, "ORG-S")
	e.list("193.0.4.0/22", 1000, time.Hour)
	e.ok(ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 1000}, "ORG-B")
	e.ok(ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 2000, ASN: 64500}, "ORG-C")
	end := e.listing(1).End
	// Soft close: a bid in the last ten minutes moves the end to ten minutes after it.
	if evs := e.advance(time.Hour - 5*time.Minute - 5*time.Second); len(evs) != 0 {
		t.Fatalf("events before the end: %+v", evs)
	}
	e.ok(ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 2100, ASN: 64501}, "ORG-B")
	if l := e.listing(1); l.End != e.time.Unix()+600 || l.End <= end {
		t.Fatalf("end %d after a bid at %d (was %d)", l.End, e.time.Unix(), end)
	}
	if evs := e.advance(6 * time.Minute); len(evs) != 0 {
		t.Fatalf("events at the old end: %+v", evs)
	}
	evs := e.advance(5 * time.Minute)
	if len(evs) != 1 || evs[0].Kind != "listing-sold" || evs[0].Ref != "listing/1" {
		t.Fatalf("events %+v", evs)
	}
	if h := e.holder("193.0.4.0/22"); h != "ORG-B" {
		t.Fatalf("holder %s", h)
	}
	if h := e.holder("193.0.8.0/24"); h != "ORG-S" {
		t.Fatalf("rest held by %s", h)
	}
	// 2100 paid; the fee, 50 basis points rounded down (10), goes to the fee account.
	if b, s, f := e.balance("ORG-B"), e.balance("ORG-S"), e.balance(ipledger.IANA); b != 1_000_000-2100 || s != 2090 || f != 10 {
		t.Fatalf("balances buyer %d seller %d fee %d", b, s, f)
	}
	if e.held("ORG-B") != 0 || e.held("ORG-C") != 0 {
		t.Fatal("holds not released")
	}
	e.conserved()
	trs := e.trades()
	if len(trs) != 1 || trs[0].Price != 2100 || trs[0].Fee != 10 || trs[0].Units != 1024 || trs[0].PricePerUnit != 2 ||
		trs[0].Venue != "listing" || trs[0].Ref != "listing/1" || trs[0].Seller != "ORG-S" || trs[0].Buyer != "ORG-B" || trs[0].Family != "ipv4" {
		t.Fatalf("trades %+v", trs)
	}
	if l := e.listing(1); l.State != ipledger.ListingSold || l.Trade != 1 {
		t.Fatalf("listing %+v", l)
	}
	// Partial cover: the seller's /16 is split into the complement of the /22; its /24
	// inside goes; the buyer's bid named AS64501.
	want := map[string]bool{"193.0.4.0/22-22-AS64501": true}
	for _, p := range []string{"193.0.0.0/22", "193.0.8.0/21", "193.0.16.0/20", "193.0.32.0/19", "193.0.64.0/18", "193.0.128.0/17"} {
		want[p+"-24-AS3333"] = true
	}
	if got := e.inForce(); len(got) != len(want) {
		t.Fatalf("in force %v, want %v", got, want)
	} else {
		for k := range want {
			if !got[k] {
				t.Fatalf("in force %v, want %v", got, want)
			}
		}
	}
	// The sold block can move on (no holding period by default).
	e.ok(ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.4.0/24"), To: "ORG-C"}, "ORG-B", "ORG-C")
	if trs := e.trades(); len(trs) != 2 || trs[1].Venue != "transfer" || trs[1].Price != 0 {
		t.Fatalf("a plain transfer is an unpriced trade: %+v", trs)
	}
}

func TestListingExpiresAndCancels(t *testing.T) {
	e := marketEnv(t, nil)
	e.list("193.0.4.0/24", 1000, time.Hour)
	e.list("193.0.5.0/24", 1000, time.Hour)
	e.ok(ipledger.KindCancelListing, ipledger.CancelListingBody{Listing: 2}, "ORG-S")
	e.fails(ipledger.CodeInvalid, ipledger.KindCancelListing, ipledger.CancelListingBody{Listing: 2}, "ORG-S")
	e.fails(ipledger.CodeInvalid, ipledger.KindBid, ipledger.BidBody{Listing: 2, Amount: 1000}, "ORG-B")
	evs := e.advance(time.Hour)
	if len(evs) != 1 || evs[0].Kind != "listing-unsold" || evs[0].Ref != "listing/1" {
		t.Fatalf("events %+v", evs)
	}
	if e.listing(1).State != ipledger.ListingExpired || e.listing(2).State != ipledger.ListingCancelled {
		t.Fatal("states")
	}
	e.fails(ipledger.CodeInvalid, ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 1000}, "ORG-B")
	// Everything released: the blocks move again.
	e.ok(ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.4.0/23"), To: "ORG-C"}, "ORG-S", "ORG-C")
}

func TestSwap(t *testing.T) {
	e := marketEnv(t, nil)
	sw := func(res string, price uint64) ipledger.SwapBody {
		return ipledger.SwapBody{Resource: mustRes(res), Buyer: "ORG-B", Price: price, ASN: 64500}
	}
	e.fails(ipledger.CodeUnauthorized, ipledger.KindSwap, sw("193.0.1.0/24", 5000), "ORG-S")
	e.fails(ipledger.CodeUnauthorized, ipledger.KindSwap, sw("193.0.1.0/24", 5000), "ORG-S", "ORG-C")
	e.fails(ipledger.CodeUnauthorized, ipledger.KindSwap, sw("193.0.1.0/24", 5000), "ORG-C", "ORG-B")
	e.fails(ipledger.CodeNoFunds, ipledger.KindSwap, sw("193.0.1.0/24", 2_000_000), "ORG-S", "ORG-B")
	e.ok(ipledger.KindSwap, sw("193.0.1.0/24", 5000), "ORG-S", "ORG-B")
	if e.holder("193.0.1.0/24") != "ORG-B" || e.balance("ORG-S") != 4975 || e.balance("ORG-B") != 995_000 || e.balance(ipledger.IANA) != 25 {
		t.Fatalf("after the swap: %s %d %d %d", e.holder("193.0.1.0/24"), e.balance("ORG-S"), e.balance("ORG-B"), e.balance(ipledger.IANA))
	}
	if got := e.inForce(); !got["193.0.1.0/24-24-AS64500"] || len(got) != 1 {
		t.Fatalf("in force %v", got)
	}
	e.conserved()
	// A swap for nothing is a gift: no fee, a trade at 0.
	e.ok(ipledger.KindSwap, ipledger.SwapBody{Resource: mustRes("193.0.2.0/24"), Buyer: "ORG-B"}, "ORG-S", "ORG-B")
	if trs := e.trades(); len(trs) != 2 || trs[1].Fee != 0 || trs[1].Venue != "swap" {
		t.Fatalf("trades %+v", trs)
	}
	// Units: IPv6 per /48 contained, AS numbers per number (and no route authorisation).
	e.ok(ipledger.KindAllocate, alloc("2001:600::/32", "ORG-S", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	e.ok(ipledger.KindAllocate, alloc("AS1000-AS1009", "ORG-S", ipledger.StatusAllocated), ipledger.RIPENCC)
	e.ok(ipledger.KindSwap, ipledger.SwapBody{Resource: mustRes("2001:600::/46"), Buyer: "ORG-B", Price: 4001}, "ORG-S", "ORG-B")
	e.ok(ipledger.KindSwap, ipledger.SwapBody{Resource: mustRes("AS1000-AS1002"), Buyer: "ORG-B", Price: 300, ASN: 1000}, "ORG-S", "ORG-B")
	trs := e.trades()
	if v6, as := trs[2], trs[3]; v6.Units != 4 || v6.PricePerUnit != 1000 || v6.Family != "ipv6" || as.Units != 3 || as.PricePerUnit != 100 || as.Family != "asn" {
		t.Fatalf("trades %+v %+v", v6, as)
	}
	if e.holder("AS1001") != "ORG-B" || len(e.inForce()) != 1 {
		t.Fatalf("AS holder %s, in force %v", e.holder("AS1001"), e.inForce())
	}
	e.conserved()
}

func TestLargeSale(t *testing.T) {
	e := marketEnv(t, nil)
	sw := ipledger.SwapBody{Resource: mustRes("193.0.0.0/16"), Buyer: "ORG-B", Price: 100_000}
	e.ok(ipledger.KindSwap, sw, "ORG-S", "ORG-B")
	if e.holder("193.0.0.0/16") != "ORG-S" || e.held("ORG-B") != 100_000 {
		t.Fatal("a /16 settles only after the challenge window")
	}
	e.fails(ipledger.CodeEncumbered, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.0.0/24"), To: "ORG-C"}, "ORG-S", "ORG-C")
	e.fails(ipledger.CodeUnauthorized, ipledger.KindCancelSale, ipledger.CancelSaleBody{Sale: 1}, "ORG-B")
	e.ok(ipledger.KindCancelSale, ipledger.CancelSaleBody{Sale: 1}, "ORG-S")
	e.fails(ipledger.CodeInvalid, ipledger.KindCancelSale, ipledger.CancelSaleBody{Sale: 1}, "ORG-S")
	if e.held("ORG-B") != 0 {
		t.Fatal("cancel releases the buyer's credits")
	}
	if evs := e.advance(73 * time.Hour); len(evs) != 0 {
		t.Fatalf("a cancelled sale settles: %+v", evs)
	}
	e.ok(ipledger.KindSwap, sw, "ORG-S", "ORG-B")
	e.advance(71 * time.Hour)
	if e.holder("193.0.0.0/16") != "ORG-S" {
		t.Fatal("settled early")
	}
	// Past the window a carried-over sale can no longer be cancelled.
	e.time = e.time.Add(time.Hour)
	e.fails(ipledger.CodeInvalid, ipledger.KindCancelSale, ipledger.CancelSaleBody{Sale: 2}, "ORG-S")
	e.time = e.time.Add(-time.Hour - time.Second)
	evs := e.advance(time.Hour)
	if len(evs) != 1 || evs[0].Kind != "sale-settled" || evs[0].Ref != "sale/2" {
		t.Fatalf("events %+v", evs)
	}
	if e.holder("193.0.0.0/16") != "ORG-B" || e.held("ORG-B") != 0 || e.balance("ORG-S") != 99_500 {
		t.Fatalf("after settlement: %s held %d seller %d", e.holder("193.0.0.0/16"), e.held("ORG-B"), e.balance("ORG-S"))
	}
	e.conserved()

	// A large listing goes pending at its end, then settles.
	e.ok(ipledger.KindList, ipledger.ListBody{Resource: mustRes("193.0.0.0/16"), Reserve: 10, End: e.time.Add(time.Hour).Unix()}, "ORG-B")
	e.ok(ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 50_000}, "ORG-C")
	evs = e.advance(time.Hour)
	if len(evs) != 1 || evs[0].Kind != "sale-pending" || e.listing(1).State != ipledger.ListingPending || e.held("ORG-C") != 50_000 {
		t.Fatalf("events %+v, listing %+v", evs, e.listing(1))
	}
	evs = e.advance(72 * time.Hour)
	if len(evs) != 1 || evs[0].Kind != "sale-settled" || e.holder("193.0.0.0/16") != "ORG-C" || e.listing(1).State != ipledger.ListingSold {
		t.Fatalf("events %+v", evs)
	}
	e.conserved()
}

func TestSaleSubjectToLease(t *testing.T) {
	e := marketEnv(t, nil)
	e.newOrg(ipledger.RIPENCC, "ORG-L")
	e.ok(ipledger.KindMint, ipledger.MintBody{To: "ORG-L", Amount: 1_000_000}, testAgent)
	e.ok(ipledger.KindOffer, ipledger.OfferBody{Resource: mustRes("193.0.1.0/24"), Price: 1, Period: 30 * day, MinPeriods: 1, MaxPeriods: 12}, "ORG-S")
	e.ok(ipledger.KindLease, ipledger.LeaseBody{Offer: 1, ASN: 65001, Periods: 6}, "ORG-L")
	// A lease blocks a plain transfer and a sale of part of the leased block, not a sale
	// of all of it.
	e.fails(ipledger.CodeEncumbered, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.1.0/24"), To: "ORG-B"}, "ORG-S", "ORG-B")
	e.fails(ipledger.CodeEncumbered, ipledger.KindSwap, ipledger.SwapBody{Resource: mustRes("193.0.1.0/25"), Buyer: "ORG-B", Price: 1}, "ORG-S", "ORG-B")
	e.list("193.0.0.0/23", 1000, time.Hour)
	e.ok(ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 1000, ASN: 64500}, "ORG-B")
	e.advance(time.Hour)
	if e.holder("193.0.0.0/24") != "ORG-B" || e.holder("193.0.1.0/24") != "ORG-L" {
		t.Fatalf("holders %s %s", e.holder("193.0.0.0/24"), e.holder("193.0.1.0/24"))
	}
	if l := e.lease(1); l.Lessor != "ORG-B" || l.State != ipledger.LeaseActive {
		t.Fatalf("lease %+v", l)
	}
	if trs := e.trades(); len(trs) != 1 || !trs[0].SubjectToLease {
		t.Fatalf("trades %+v", trs)
	}
	// The lessee's authorisation stays the only one on the leased /24; the buyer's covers
	// the rest.
	if got := e.inForce(); !got["193.0.1.0/24-24-AS65001"] || !got["193.0.0.0/24-24-AS64500"] || len(got) != 2 {
		t.Fatalf("in force %v", got)
	}
	// The next period is paid to the buyer.
	before := e.balance("ORG-B")
	e.advance(30 * day * time.Second)
	if got := e.balance("ORG-B"); got != before+256 {
		t.Fatalf("buyer's balance %d, want %d", got, before+256)
	}
	e.conserved()
}

func TestTransferPolicy(t *testing.T) {
	g := testGenesis()
	g.Params.Transfer = TransferPolicy{MinIPv4: 256, HoldingPeriod: day, Statuses: []ipledger.Status{ipledger.StatusAllocatedPA}}
	g.Params.FeeAccount = "ORG-FEES"
	e := marketEnv(t, g)
	e.ok(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: mustRes("193.0.200.0/24"), Org: "ORG-C", Status: ipledger.StatusAssignedPA}}}, "ORG-S")
	e.fails(ipledger.CodePolicy, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.0.0/25"), To: "ORG-B"}, "ORG-S", "ORG-B")
	e.fails(ipledger.CodePolicy, ipledger.KindSwap, ipledger.SwapBody{Resource: mustRes("193.0.0.0/25"), Buyer: "ORG-B"}, "ORG-S", "ORG-B")
	e.fails(ipledger.CodePolicy, ipledger.KindList, ipledger.ListBody{Resource: mustRes("193.0.0.0/25"), Reserve: 1, End: e.time.Unix() + 60}, "ORG-S")
	e.fails(ipledger.CodePolicy, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.200.0/24"), To: "ORG-B"}, "ORG-C", "ORG-B")
	e.ok(ipledger.KindSwap, ipledger.SwapBody{Resource: mustRes("193.0.0.0/24"), Buyer: "ORG-B", Price: 1000}, "ORG-S", "ORG-B")
	if e.balance("ORG-FEES") != 5 {
		t.Fatalf("fee account %d", e.balance("ORG-FEES"))
	}
	// The holding period blocks the next transfer or sale, not an assignment.
	e.fails(ipledger.CodeEncumbered, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.0.0/24"), To: "ORG-C"}, "ORG-B", "ORG-C")
	e.fails(ipledger.CodeEncumbered, ipledger.KindSwap, ipledger.SwapBody{Resource: mustRes("193.0.0.0/24"), Buyer: "ORG-C"}, "ORG-B", "ORG-C")
	e.ok(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: mustRes("193.0.0.0/26"), Org: "ORG-C", Status: ipledger.StatusAssignedPA}}}, "ORG-B")
	evs := e.advance(day * time.Second)
	if len(evs) != 1 || evs[0].Kind != "period-ended" {
		t.Fatalf("events %+v", evs)
	}
	e.ok(ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.0.0/24"), To: "ORG-C"}, "ORG-B", "ORG-C")
}

// TestMarketEventsCarryOver: market events go through the due-queue, at most
// max_settlements a block, the rest in the next blocks.
func TestMarketEventsCarryOver(t *testing.T) {
	g := testGenesis()
	g.Params.MaxSettlements = 2
	e := marketEnv(t, g)
	end := e.time.Add(time.Hour).Unix()
	for i := range 5 {
		e.ok(ipledger.KindList, ipledger.ListBody{Resource: ipledger.MustParseResource("193.0." + string(rune('1'+i)) + ".0/24"), Reserve: 10, End: end}, "ORG-S")
		e.ok(ipledger.KindBid, ipledger.BidBody{Listing: uint64(i + 1), Amount: 10}, "ORG-B")
	}
	e.time = time.Unix(end, 0).Add(-time.Second)
	var per []int
	for range 4 {
		per = append(per, len(e.advance(time.Second)))
	}
	if per[0] != 2 || per[1] != 2 || per[2] != 1 || per[3] != 0 {
		t.Fatalf("events per block %v", per)
	}
	if n := len(e.trades()); n != 5 {
		t.Fatalf("%d trades", n)
	}
	e.conserved()
}

// TestEventLeafBound: max_settlements (1000) events of the longest kind and reference, as
// the end-of-block log leaf records them, fit one log entry (64 KiB less its header).
func TestEventLeafBound(t *testing.T) {
	const maxID = "18446744073709551615"
	evs := map[string]string{
		"lease-paid": "lease/", "lease-grace": "lease/", "lease-ended": "lease/", "route-expired": "route/",
		"listing-sold": "listing/", "listing-unsold": "listing/", "listing-failed": "listing/", "sale-pending": "listing/",
		"sale-settled": "sale/", "sale-failed": "sale/", "period-ended": "period/",
		"auction-cleared": "clear/", "auction-idle": "clear/", "fill-settled": "fill/", "fill-pending": "fill/",
		"fill-failed": "fill/", "bid-expired": "bid/",
	}
	for kind, ref := range evs {
		b, _ := json.Marshal(ipledger.Event{Kind: kind, Ref: ref + maxID})
		if n := 1000*(len(b)+1) + 1; n > 63_500 {
			t.Errorf("1000 %s events take %d bytes", kind, n)
		}
	}
}

// TestSettlementRefused: a settlement the rules refuse at its time (here the transfer policy
// changed meanwhile, as governance will change it) closes the listing or sale with
// everything released, in its own overlay: nothing of the half-done settlement stays.
func TestSettlementRefused(t *testing.T) {
	e := marketEnv(t, nil)
	e.list("193.0.4.0/24", 1000, time.Hour)
	e.ok(ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 2000}, "ORG-B")
	e.ok(ipledger.KindAllocate, alloc("193.1.0.0/16", "ORG-S", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	e.ok(ipledger.KindSwap, ipledger.SwapBody{Resource: mustRes("193.1.0.0/16"), Buyer: "ORG-C", Price: 5000}, "ORG-S", "ORG-C")
	p := must(ChainParams(e.kv))
	p.Transfer.Statuses = []ipledger.Status{ipledger.StatusLegacy}
	if err := (state{e.kv}).putParams(p); err != nil {
		t.Fatal(err)
	}
	before := e.balance("ORG-S")
	evs := e.advance(time.Hour)
	if len(evs) != 1 || evs[0].Kind != "listing-failed" || e.listing(1).State != ipledger.ListingCancelled {
		t.Fatalf("events %+v, listing %+v", evs, e.listing(1))
	}
	evs = e.advance(72 * time.Hour)
	if len(evs) != 1 || evs[0].Kind != "sale-failed" || evs[0].Ref != "sale/1" {
		t.Fatalf("events %+v", evs)
	}
	if e.holder("193.0.4.0/24") != "ORG-S" || e.held("ORG-B") != 0 || e.held("ORG-C") != 0 || e.balance("ORG-S") != before || len(e.trades()) != 0 {
		t.Fatalf("holder %s, held %d %d, seller %d (was %d), trades %d", e.holder("193.0.4.0/24"), e.held("ORG-B"), e.held("ORG-C"), e.balance("ORG-S"), before, len(e.trades()))
	}
	e.conserved()
	// Released: the block is free again (the policy now refuses a transfer, not the
	// encumbrance).
	e.fails(ipledger.CodePolicy, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.4.0/24"), To: "ORG-B"}, "ORG-S", "ORG-B")
}
