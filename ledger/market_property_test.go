package ledger

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// The market's property test drives random order flow — listings, bids, cancellations,
// swaps (some large), cancelled sales, leases, plain transfers, class auctions' asks, bids
// and cancellations, and gaps of block time —
// chosen by a byte stream over 193.0.0.0/16, and checks after every step: credits are
// conserved and every held credit is an open bid's or a pending sale's; no listing or sale
// settles twice; no bid fills above its amount or below the reserve; no auction fill is above
// its bid's limit or below its ask's minimum; a block under a running lease is sold only
// subject to it, and only whole; the holding tree's invariants.

var marketOrgs = []string{"ORG-S", "ORG-B", "ORG-C", "ORG-L"}

// marketBlock picks a /22 to /24 inside 193.0.0.0/20, or (1 in 16) one of the /16s
// 193.1–3.0.0 (a large sale).
func (s *stream) marketBlock() ipledger.Resource {
	v := s.next()
	if v%16 == 0 {
		return mustRes(fmt.Sprintf("193.%d.0.0/16", 1+v>>4%3))
	}
	p := netip.PrefixFrom(netip.AddrFrom4([4]byte{193, 0, byte(v >> 4 % 16), 0}), 22+int(v%3)).Masked()
	r, _ := ipledger.PrefixResource(p)
	return r
}

func runMarketSequence(t *testing.T, data []byte) map[string]int {
	counts := map[string]int{}
	e := marketEnv(t, nil)
	e.newOrg(ipledger.RIPENCC, "ORG-L")
	e.ok(ipledger.KindMint, ipledger.MintBody{To: "ORG-L", Amount: 1_000_000}, testAgent)
	for i, o := range marketOrgs[:3] {
		e.ok(ipledger.KindAllocate, alloc(fmt.Sprintf("193.%d.0.0/16", i+1), o, ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	}
	for n := range 9 { // whole /24s for class auctions' asks
		e.ok(ipledger.KindAllocate, alloc(fmt.Sprintf("193.4.%d.0/24", n), marketOrgs[n%3], ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	}
	s := &stream{b: data}
	org := func() string { return marketOrgs[s.next()%uint32(len(marketOrgs))] }
	// pick returns the id and seller (1 in 4: any organisation) of one of the listings or
	// sales (from each) that are open, or a made-up one when none is.
	pick := func(each func(func(id uint64, seller string, open bool))) (uint64, string) {
		type obj struct {
			id     uint64
			seller string
		}
		var open []obj
		each(func(id uint64, seller string, ok bool) {
			if ok {
				open = append(open, obj{id, seller})
			}
		})
		if len(open) == 0 {
			return 99, "ORG-S"
		}
		o := open[s.next()%uint32(len(open))]
		if s.next()%4 == 0 {
			return o.id, org() // often not the seller
		}
		return o.id, o.seller
	}
	listings := eachOpen(t, e.kv, Listings, func(l *ipledger.Listing) (uint64, string, bool) {
		return l.ID, l.Seller, l.State == ipledger.ListingOpen
	})
	sales := eachOpen(t, e.kv, Sales, func(x *ipledger.Sale) (uint64, string, bool) { return x.ID, x.Seller, x.State == salePending })
	other := func(o string) string {
		for {
			if p := org(); p != o || len(s.b) < 2 {
				if p == o {
					p = marketOrgs[(slices.Index(marketOrgs, o)+1)%len(marketOrgs)]
				}
				return p
			}
		}
	}
	count := func(what string, r Result) {
		if r.Code == ipledger.CodeOK {
			counts[what]++
		}
	}
	for step := 0; len(s.b) >= 2 && step < 200; step++ {
		leasesBefore := must(RunningLeases(e.kv))
		tradesBefore := len(e.trades())
		op := s.next() % 12
		switch op {
		case 0:
			o := org()
			count("list", e.do(ipledger.KindList, ipledger.ListBody{Resource: s.marketBlock(), Reserve: uint64(1 + s.next()%1000), MinIncrement: uint64(s.next() % 50), End: e.time.Unix() + int64(60+s.next()%3600)}, o))
		case 1, 2:
			id, _ := pick(listings)
			count("bid", e.do(ipledger.KindBid, ipledger.BidBody{Listing: id, Amount: uint64(s.next() % 3000), ASN: s.next() % 2 * 64500}, org()))
		case 3:
			id, seller := pick(listings)
			count("cancel-listing", e.do(ipledger.KindCancelListing, ipledger.CancelListingBody{Listing: id}, seller))
		case 4:
			o := org()
			b := other(o)
			count("swap", e.do(ipledger.KindSwap, ipledger.SwapBody{Resource: s.marketBlock(), Buyer: b, Price: uint64(s.next()), ASN: 64501}, o, b))
		case 5:
			id, seller := pick(sales)
			count("cancel-sale", e.do(ipledger.KindCancelSale, ipledger.CancelSaleBody{Sale: id}, seller))
		case 6:
			o := org()
			r := e.do(ipledger.KindOffer, ipledger.OfferBody{Resource: s.marketBlock(), Price: 1, Period: 3600, MinPeriods: 1, MaxPeriods: 100}, o)
			count("offer", r)
			if r.Code == ipledger.CodeOK {
				var id uint64
				if err := Offers(e.kv, func(of *ipledger.Offer) bool { id = of.ID; return true }); err != nil {
					t.Fatal(err)
				}
				count("lease", e.do(ipledger.KindLease, ipledger.LeaseBody{Offer: id, ASN: 65001, Periods: int(1 + s.next()%50)}, other(o)))
			}
		case 7:
			o := org()
			to := other(o)
			count("transfer", e.do(ipledger.KindTransfer, ipledger.TransferBody{Resource: s.marketBlock(), To: to}, o, to))
		case 9:
			var r ipledger.Resource
			switch s.next() % 3 {
			case 0:
				r = s.marketBlock()
			case 1:
				r = mustRes(fmt.Sprintf("193.%d.0.0/16", 1+s.next()%3))
			default:
				r = mustRes(fmt.Sprintf("193.4.%d.0/24", s.next()%9))
			}
			min := uint64(1 + s.next()%20)
			if ipledger.Units(r) >= 1<<16 {
				min = 1 + min%4 // what a bidder's credits reach
			}
			count("ask", e.do(ipledger.KindAsk, ipledger.AskBody{Resource: r, MinPrice: min}, org()))
		case 10:
			reg, bits := "any-any", []int{16, 22, 23, 24}[s.next()%4]
			if s.next()%2 == 0 {
				reg = "RIPE-NCC-ZZ"
			}
			c := mustClass(fmt.Sprintf("ipv4-%d-%s-A", bits, reg))
			limit := uint64(1 + s.next()%50)
			if s.next()%2 == 0 {
				// Often the class of an open ask and about its price, so that books meet.
				if err := Asks(e.kv, func(a *ipledger.Ask) bool {
					if a.State == ipledger.OrderOpen {
						c.Bits, limit = a.Class.Bits, a.MinPrice-1+uint64(s.next()%4)
					}
					return a.State != ipledger.OrderOpen
				}); err != nil {
					t.Fatal(err)
				}
			}
			count("order", e.do(ipledger.KindOrder, ipledger.OrderBody{Class: c, Quantity: uint64(1 + s.next()%3), Limit: limit, Expiry: e.time.Unix() + int64(60+s.next()%10000), ASN: s.next() % 2 * 64502}, org()))
		case 11:
			var open []ipledger.Hash
			var owner []string
			if err := Asks(e.kv, func(a *ipledger.Ask) bool {
				if a.State == ipledger.OrderOpen {
					open, owner = append(open, a.ID), append(owner, a.Seller)
				}
				return true
			}); err != nil {
				t.Fatal(err)
			}
			if err := Bids(e.kv, func(b *ipledger.Bid) bool {
				if b.State == ipledger.OrderOpen {
					open, owner = append(open, b.ID), append(owner, b.Bidder)
				}
				return true
			}); err != nil {
				t.Fatal(err)
			}
			if len(open) > 0 && s.next()%2 == 0 {
				i := int(s.next()) % len(open)
				by := owner[i]
				if s.next()%4 == 0 {
					by = org()
				}
				count("cancel-order", e.do(ipledger.KindCancelOrder, ipledger.CancelOrderBody{Order: open[i]}, by))
			}
		case 8:
			d := time.Duration(1+s.next()%4000) * time.Second
			if s.next()%8 == 0 {
				d = 72 * time.Hour
			}
			for _, ev := range e.advance(d) {
				counts[ev.Kind]++
			}
		}
		where := fmt.Sprintf("step %d (op %d)", step, op)
		checkInvariants(t, e, where)
		checkMarket(t, e, where, leasesBefore, tradesBefore)
	}
	return counts
}

// eachOpen turns a walk over listings or sales into pick's: id, seller and whether it is
// open, for each.
func eachOpen[T any](t *testing.T, kv ipledger.KV, walk func(ipledger.KV, func(*T) bool) error, of func(*T) (uint64, string, bool)) func(func(uint64, string, bool)) {
	return func(fn func(uint64, string, bool)) {
		if err := walk(kv, func(x *T) bool { fn(of(x)); return true }); err != nil {
			t.Fatal(err)
		}
	}
}

func checkMarket(t *testing.T, e *tenv, where string, leasesBefore []RunningLease, tradesBefore int) {
	t.Helper()
	e.t = t
	e.conserved()
	want := map[string]uint64{}
	byListing := map[uint64]*ipledger.Listing{}
	if err := Listings(e.kv, func(l *ipledger.Listing) bool {
		byListing[l.ID] = l
		if l.State == ipledger.ListingOpen && l.Bids > 0 {
			want[l.HighBidder] += l.HighBid
		}
		if l.Bids > 0 && l.HighBid < l.Reserve {
			t.Fatalf("%s: listing %d's highest bid %d is below its reserve %d", where, l.ID, l.HighBid, l.Reserve)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if err := Sales(e.kv, func(s *ipledger.Sale) bool {
		if s.State == salePending {
			want[s.Buyer] += s.Price
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	bids := map[ipledger.Hash]*ipledger.Bid{}
	if err := Bids(e.kv, func(b *ipledger.Bid) bool {
		bids[b.ID] = b
		want[b.Bidder] += b.Held
		return true
	}); err != nil {
		t.Fatal(err)
	}
	pendingFills := map[ipledger.Hash]uint64{}
	if err := Fills(e.kv, func(f *ipledger.Fill) bool {
		a := must(AskByID(e.kv, f.Ask))
		b := bids[f.Bid]
		if a == nil || b == nil || f.PricePerUnit < a.MinPrice || f.PricePerUnit > b.Limit || a.Fill != f.ID {
			t.Fatalf("%s: fill %+v of ask %+v and bid %+v", where, f, a, b)
		}
		if f.State == salePending {
			pendingFills[f.Bid]++
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for _, b := range bids {
		// A bid holds its limit for every block neither settled nor given up.
		blocks := pendingFills[b.ID]
		if b.State == ipledger.OrderOpen {
			blocks += b.Quantity - b.Matched
		}
		if w := must(perBlock(b.Limit, b.Class.BlockUnits(), blocks)); b.Held != w || b.Matched > b.Quantity {
			t.Fatalf("%s: bid %+v holds %d, want %d", where, b, b.Held, w)
		}
	}
	for _, o := range marketOrgs {
		if got := e.held(o); got != want[o] {
			t.Fatalf("%s: %s holds %d; its open bids and pending purchases are %d", where, o, got, want[o])
		}
	}
	refs := map[string]bool{}
	trades := e.trades()
	for i, tr := range trades {
		if tr.Ref != "" {
			if refs[tr.Ref] {
				t.Fatalf("%s: %s settled twice", where, tr.Ref)
			}
			refs[tr.Ref] = true
		}
		if id, ok := strings.CutPrefix(tr.Ref, "listing/"); ok && tr.Venue == "listing" {
			var n uint64
			fmt.Sscan(id, &n)
			l := byListing[n]
			if l == nil || tr.Price != l.HighBid || tr.Price < l.Reserve || tr.Buyer != l.HighBidder {
				t.Fatalf("%s: trade %+v does not fill listing %+v's highest bid", where, tr, l)
			}
		}
		if i < tradesBefore {
			continue
		}
		for _, rl := range leasesBefore {
			if !rl.Resource.Overlaps(tr.Resource) {
				continue
			}
			if tr.Venue == "transfer" || !tr.SubjectToLease || !tr.Resource.Contains(rl.Resource) {
				t.Fatalf("%s: trade %+v of space under lease %d (%s)", where, tr, rl.Lease, rl.Resource)
			}
		}
	}
}

func TestMarketProperties(t *testing.T) {
	seededRuns(t, 20, 0x3a7e, 1200, runMarketSequence, "list", "bid", "cancel-listing", "swap", "cancel-sale", "lease", "transfer",
		"listing-sold", "listing-unsold", "sale-pending", "sale-settled", "ask", "order", "cancel-order", "auction-cleared", "fill-settled")
}

// FuzzMarketBodies is the fuzz target of every market body kind: the first byte picks the
// kind, the rest is its body. A body that decodes is applied, signed by its natural
// signers, to a state with an open listing with a bid, a pending large sale and an ask and a
// bid of a class auction that do not meet; whatever it
// says, the state machine must answer with a code (never an internal error) and keep
// credits conserved.
func FuzzMarketBodies(f *testing.F) {
	type kindCase struct {
		kind    ipledger.Kind
		signers []string
	}
	table := []kindCase{
		{ipledger.KindList, []string{"ORG-S"}},
		{ipledger.KindBid, []string{"ORG-C"}},
		{ipledger.KindCancelListing, []string{"ORG-S"}},
		{ipledger.KindSwap, []string{"ORG-S", "ORG-B"}},
		{ipledger.KindCancelSale, []string{"ORG-S"}},
		{ipledger.KindAsk, []string{"ORG-S"}},
		{ipledger.KindOrder, []string{"ORG-C"}},
		{ipledger.KindCancelOrder, []string{"ORG-C"}},
	}
	for i, body := range []string{
		`{"resource":"193.0.8.0/24","reserve":100,"min_increment":5,"end":1767229300}`,
		`{"listing":1,"amount":5000,"asn":64500}`,
		`{"listing":1}`,
		`{"resource":"193.0.9.0/24","buyer":"ORG-B","price":700,"asn":1}`,
		`{"sale":1}`,
		`{"resource":"193.2.1.0/24","min_price":3}`,
		`{"class":"ipv4-24-any-any-A","quantity":2,"limit":40,"expiry":1767232800,"asn":64500}`,
		`{"order":"0000000000000000000000000000000000000000000000000000000000000000"}`,
	} {
		f.Add(byte(i), []byte(body))
	}
	f.Add(byte(3), []byte(`{"resource":"193.0.0.0/16","buyer":"ORG-B","price":18446744073709551615}`))
	f.Add(byte(1), []byte(`{"listing":1,"amount":18446744073709551615}`))
	f.Add(byte(6), []byte(`{"class":"ipv6-32-RIPE-NCC-ZZ-C","quantity":4096,"limit":18446744073709551615,"expiry":1767232800}`))
	f.Fuzz(func(t *testing.T, k byte, body []byte) {
		c := table[int(k)%len(table)]
		v := kinds[c.kind].body()
		if ipledger.DecodeBody(body, v) != nil {
			return
		}
		e := marketEnv(t, nil)
		e.ok(ipledger.KindAllocate, alloc("193.1.0.0/16", "ORG-S", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
		e.list("193.0.4.0/24", 100, time.Hour)
		e.ok(ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 200}, "ORG-B")
		e.ok(ipledger.KindSwap, ipledger.SwapBody{Resource: mustRes("193.1.0.0/16"), Buyer: "ORG-C", Price: 10}, "ORG-S", "ORG-C")
		for _, blk := range []string{"193.2.0.0/24", "193.2.1.0/24"} {
			e.ok(ipledger.KindAllocate, alloc(blk, "ORG-S", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
		}
		e.ok(ipledger.KindAsk, ipledger.AskBody{Resource: mustRes("193.2.0.0/24"), MinPrice: 2}, "ORG-S")
		e.ok(ipledger.KindOrder, ipledger.OrderBody{Class: mustClass(class24), Quantity: 1, Limit: 1, Expiry: e.time.Unix() + 7200}, "ORG-C")
		r := e.do(c.kind, v, c.signers...)
		if r.Code == ipledger.CodeInternal {
			t.Fatalf("%s %s: internal error %s", c.kind, body, r.Log)
		}
		e.advance(73 * time.Hour)
		e.conserved()
	})
}
