package ledger

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// auctionEnv is marketEnv with ORG-S also holding the whole /24s 193.1.0–3.0 (no
// registration country: class country ZZ) and ORG-B and ORG-C each 193.2.N.0/24.
func auctionEnv(t testing.TB) *tenv {
	e := marketEnv(t, nil)
	for i := range 4 {
		e.ok(ipledger.KindAllocate, alloc(fmt.Sprintf("193.1.%d.0/24", i), "ORG-S", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	}
	return e
}

func mustClass(s string) ipledger.AuctionClass {
	c, err := ipledger.ParseAuctionClass(s)
	if err != nil {
		panic(err)
	}
	return c
}

const class24 = "ipv4-24-RIPE-NCC-ZZ-A"

func TestAuctionClassString(t *testing.T) {
	for _, s := range []string{class24, "ipv4-22-any-any-A", "ipv6-32-ARIN-US-B", "ipv4-24-RIPE-NCC-any-C", "ipv6-48-any-NL-A"} {
		c, err := ipledger.ParseAuctionClass(s)
		if err != nil || c.String() != s {
			t.Errorf("%s: %v %v", s, c, err)
		}
	}
	for _, s := range []string{"", "ipv4-24-RIPE-NCC-NL", "asn-32-any-any-A", "ipv4-33-any-any-A", "ipv6-64-any-any-A", "ipv4-24-any-nl-A", "ipv4-24-any-any-D", "ipv4-024-any-any-A"} {
		if c, err := ipledger.ParseAuctionClass(s); err == nil {
			t.Errorf("%q parsed as %v", s, c)
		}
	}
}

func (e *tenv) ask(res string, min uint64) ipledger.Hash {
	e.t.Helper()
	e.ok(ipledger.KindAsk, ipledger.AskBody{Resource: mustRes(res), MinPrice: min}, "ORG-S")
	return e.last.Hash
}

func (e *tenv) order(by, class string, qty, limit uint64, asn uint32) ipledger.Hash {
	e.t.Helper()
	e.ok(ipledger.KindOrder, ipledger.OrderBody{Class: mustClass(class), Quantity: qty, Limit: limit, Expiry: e.time.Add(48 * time.Hour).Unix(), ASN: asn}, by)
	return e.last.Hash
}

// toClearing advances block time past the next clearing and returns the events.
func (e *tenv) toClearing() []ipledger.Event {
	e.t.Helper()
	p := must(ChainParams(e.kv))
	return e.advance(time.Duration(nextClearing(e.time.Unix(), p)-e.time.Unix()) * time.Second)
}

func TestClassAuction(t *testing.T) {
	e := auctionEnv(t)
	a1 := e.ask("193.1.0.0/24", 10)
	e.ask("193.1.1.0/24", 20)
	e.ask("193.1.2.0/24", 40)
	if a := must(AskByID(e.kv, a1)); a.Class.String() != class24 || a.State != ipledger.OrderOpen {
		t.Fatalf("ask %+v", a)
	}
	bb := e.order("ORG-B", "ipv4-24-any-any-A", 2, 30, 64500)
	e.order("ORG-C", class24, 1, 25, 0)
	if e.held("ORG-B") != 2*30*256 || e.held("ORG-C") != 25*256 {
		t.Fatalf("held %d %d", e.held("ORG-B"), e.held("ORG-C"))
	}
	e.fails(ipledger.CodeEncumbered, ipledger.KindList, ipledger.ListBody{Resource: mustRes("193.1.0.0/24"), Reserve: 1, End: e.time.Unix() + 60}, "ORG-S")
	evs := e.toClearing()
	kinds := map[string]int{}
	for _, ev := range evs {
		kinds[ev.Kind]++
	}
	if kinds["auction-cleared"] != 1 || kinds["fill-settled"] != 2 {
		t.Fatalf("events %v", evs)
	}
	// The concrete book clears first: the ask at 10 against ORG-C's 25, at (10+25)/2; then
	// the any-any book: the ask at 20 against ORG-B's 30 (its second block finds only the
	// ask at 40), at 25.
	trades := e.trades()
	if len(trades) != 2 || trades[0].Buyer != "ORG-C" || trades[0].PricePerUnit != 17 || trades[0].Resource != mustRes("193.1.0.0/24") ||
		trades[1].Buyer != "ORG-B" || trades[1].PricePerUnit != 25 || trades[1].Venue != "auction" || trades[1].Class != "ipv4-24-any-any-A" {
		t.Fatalf("trades %+v", trades)
	}
	if e.holder("193.1.0.0/24") != "ORG-C" || e.holder("193.1.1.0/24") != "ORG-B" || e.holder("193.1.2.0/24") != "ORG-S" {
		t.Fatal("holders")
	}
	if e.balance("ORG-C") != 1_000_000-17*256 || e.held("ORG-C") != 0 || e.balance("ORG-B") != 1_000_000-25*256 || e.held("ORG-B") != 30*256 {
		t.Fatalf("ORG-C %d/%d ORG-B %d/%d", e.balance("ORG-C"), e.held("ORG-C"), e.balance("ORG-B"), e.held("ORG-B"))
	}
	auths := must((state{e.kv}).authsWithin(mustRes("193.1.1.0/24")))
	if len(auths) != 1 || auths[0].ASN != 64500 || auths[0].Holder != "ORG-B" {
		t.Fatalf("authorisations %+v", auths)
	}
	if b := must(BidByID(e.kv, bb)); b.Matched != 1 || b.Filled != 1 || b.State != ipledger.OrderOpen || b.Held != 30*256 {
		t.Fatalf("bid %+v", b)
	}
	e.conserved()
	// The next clearing has nothing to trade; the bid's rest expires and is released.
	if evs := e.toClearing(); len(evs) != 1 || evs[0].Kind != "auction-idle" {
		t.Fatalf("events %v", evs)
	}
	evs = e.advance(48 * time.Hour)
	if e.held("ORG-B") != 0 || must(BidByID(e.kv, bb)).State != ipledger.OrderExpired {
		t.Fatalf("after expiry: held %d, events %v", e.held("ORG-B"), evs)
	}
	e.conserved()
}

func TestAuctionRules(t *testing.T) {
	e := auctionEnv(t)
	e.ok(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: mustRes("193.1.3.0/26"), Org: "ORG-C", Status: ipledger.StatusAssignedPA}}}, "ORG-S")
	ask := func(res string, min uint64) ipledger.AskBody {
		return ipledger.AskBody{Resource: mustRes(res), MinPrice: min}
	}
	order := func(class string, qty, limit uint64, d time.Duration) ipledger.OrderBody {
		return ipledger.OrderBody{Class: mustClass(class), Quantity: qty, Limit: limit, Expiry: e.time.Add(d).Unix()}
	}
	for _, c := range []struct {
		name string
		code ipledger.Code
		kind ipledger.Kind
		body any
		by   string
	}{
		{"part of a holding", ipledger.CodeInvalid, ipledger.KindAsk, ask("193.0.1.0/24", 1), "ORG-S"},
		{"with a sub-holding", ipledger.CodeHasChildren, ipledger.KindAsk, ask("193.1.3.0/24", 1), "ORG-S"},
		{"not the holder", ipledger.CodeUnauthorized, ipledger.KindAsk, ask("193.1.0.0/24", 1), "ORG-B"},
		{"no minimum", ipledger.CodeInvalid, ipledger.KindAsk, ask("193.1.0.0/24", 0), "ORG-S"},
		{"not a prefix", ipledger.CodeInvalid, ipledger.KindAsk, ask("193.1.0.0-193.1.0.9", 1), "ORG-S"},
		{"no blocks", ipledger.CodeInvalid, ipledger.KindOrder, order(class24, 0, 1, time.Hour), "ORG-B"},
		{"too many blocks", ipledger.CodeInvalid, ipledger.KindOrder, order(class24, MaxOrderBlocks+1, 1, time.Hour), "ORG-B"},
		{"no limit", ipledger.CodeInvalid, ipledger.KindOrder, order(class24, 1, 0, time.Hour), "ORG-B"},
		{"expired", ipledger.CodeInvalid, ipledger.KindOrder, order(class24, 1, 1, -time.Second), "ORG-B"},
		{"beyond the credits", ipledger.CodeNoFunds, ipledger.KindOrder, order(class24, 100, 1000, time.Hour), "ORG-B"},
		{"overflow", ipledger.CodeOverflow, ipledger.KindOrder, order(class24, 2, 1<<63, time.Hour), "ORG-B"},
		{"zero class", ipledger.CodeMalformed, ipledger.KindOrder, ipledger.OrderBody{Quantity: 1, Limit: 1, Expiry: e.time.Unix() + 60}, "ORG-B"},
		{"unknown order", ipledger.CodeNotFound, ipledger.KindCancelOrder, ipledger.CancelOrderBody{}, "ORG-S"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.fails(c.code, c.kind, c.body, c.by)
		})
	}
	e.t = t
	a := e.ask("193.1.0.0/24", 5)
	b := e.order("ORG-B", class24, 3, 7, 0)
	e.fails(ipledger.CodeUnauthorized, ipledger.KindCancelOrder, ipledger.CancelOrderBody{Order: a}, "ORG-B")
	e.fails(ipledger.CodeUnauthorized, ipledger.KindCancelOrder, ipledger.CancelOrderBody{Order: b}, "ORG-S")
	e.fails(ipledger.CodeEncumbered, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.1.0.0/24"), To: "ORG-B"}, "ORG-S", "ORG-B")
	e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.1.0.0/24"), MaxLength: 24, ASN: 1}, "ORG-S")
	e.ok(ipledger.KindCancelOrder, ipledger.CancelOrderBody{Order: a}, "ORG-S")
	e.ok(ipledger.KindCancelOrder, ipledger.CancelOrderBody{Order: b}, "ORG-B")
	e.fails(ipledger.CodeInvalid, ipledger.KindCancelOrder, ipledger.CancelOrderBody{Order: b}, "ORG-B")
	if e.held("ORG-B") != 0 {
		t.Fatalf("held %d", e.held("ORG-B"))
	}
	e.ok(ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.1.0.0/24"), To: "ORG-B"}, "ORG-S", "ORG-B")
	e.conserved()
}

// TestAuctionShuffle: the same orders, placed in a block in different transaction orders
// (each organisation's own in its sequence), clear to the same state: ties at one price go
// by the orders' hashes, never by arrival.
func TestAuctionShuffle(t *testing.T) {
	sellers := []string{"ORG-S1", "ORG-S2", "ORG-S3"}
	buyers := []string{"ORG-B1", "ORG-B2", "ORG-B3", "ORG-B4"}
	setup := func() (*tenv, map[string][]*ipledger.Tx) {
		e := newEnvWith(t, testGenesis())
		e.newOrg(ipledger.RIPENCC, append(append([]string{}, sellers...), buyers...)...)
		txs := map[string][]*ipledger.Tx{}
		for i, s := range sellers {
			for j := range 4 {
				res := fmt.Sprintf("193.%d.%d.0/24", i+1, j)
				e.ok(ipledger.KindAllocate, alloc(res, s, ipledger.StatusAllocatedPA), ipledger.RIPENCC)
				// Equal minimum prices: the ties go by hash.
				txs[s] = append(txs[s], e.build(ipledger.KindAsk, e.seq[s]+uint64(j)+1, ipledger.AskBody{Resource: mustRes(res), MinPrice: uint64(10 + j%2)}, s))
			}
		}
		for i, b := range buyers {
			e.ok(ipledger.KindMint, ipledger.MintBody{To: b, Amount: 1_000_000}, testAgent)
			class := class24
			if i%2 == 1 {
				class = "ipv4-24-any-any-A"
			}
			for j := range 2 {
				body := ipledger.OrderBody{Class: mustClass(class), Quantity: uint64(1 + j), Limit: uint64(11 + i%2), Expiry: e.time.Unix() + 7200}
				txs[b] = append(txs[b], e.build(ipledger.KindOrder, e.seq[b]+uint64(j)+1, body, b))
			}
		}
		return e, txs
	}
	var want [32]byte
	var wantTrades []ipledger.Trade
	rng := rand.New(rand.NewPCG(7, 16))
	for run := range 6 {
		e, txs := setup()
		block := ipledger.Block{Height: e.height + 1, Time: e.time.Add(time.Second)}
		for len(txs) > 0 {
			var who []string
			for o := range txs {
				who = append(who, o)
			}
			slices.Sort(who)
			o := who[rng.IntN(len(who))]
			if r, err := e.l.Apply(e.kv, block, txs[o][0]); err != nil || r.Code != ipledger.CodeOK {
				t.Fatalf("%s: %v %v", txs[o][0].Kind, r, err)
			}
			if txs[o] = txs[o][1:]; len(txs[o]) == 0 {
				delete(txs, o)
			}
		}
		e.height, e.time = block.Height, block.Time
		e.toClearing()
		e.advance(time.Second)
		got, trades := e.view().digest, e.trades()
		if len(trades) == 0 {
			t.Fatal("no trades")
		}
		if run == 0 {
			want, wantTrades = got, trades
			continue
		}
		if got != want {
			t.Fatalf("run %d: state differs; trades %+v, first run's %+v", run, trades, wantTrades)
		}
	}
	t.Logf("%d trades, e.g. %+v", len(wantTrades), wantTrades[0])
}
