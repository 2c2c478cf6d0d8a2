package audit

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/httpapi"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ipledgertest/chaintest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/market"
)

// Scenario sizes: twenty organisations trading over five weeks of block time, a block every
// two hours (every auction clearing falls in a block).
const (
	scenarioOrgs  = 20
	scenarioStep  = 2 * time.Hour
	scenarioWeeks = 5
	scenarioMint  = 1_000_000_000 // credits each: $10M
)

// scenario is the test's driver of a chain through a chain.Replayer with its own block
// times, keeping every block to replay again as the audit does.
type scenario struct {
	t      *testing.T
	id     string
	r      *chain.Replayer
	height int64
	now    time.Time
	seq    map[string]uint64
	blocks []chain.ReplayBlock
	codes  map[ipledger.Code]int
	kinds  map[string]int // committed with CodeOK, by kind
}

func (s *scenario) tx(kind ipledger.Kind, body any, signers ...string) []byte {
	s.t.Helper()
	s.seq[signers[0]]++
	b, err := ipledger.BuildTx(s.id, kind, s.seq[signers[0]], 0, body, ipledgertest.Signers(signers...)...)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

// block commits txs in the next block, step after the last, and returns their outcomes. A
// transaction the rules refuse is part of the scenario: its code is counted.
func (s *scenario) block(step time.Duration, txs ...[]byte) []ipledger.TxOutcome {
	s.t.Helper()
	s.height++
	s.now = s.now.Add(step)
	b := chain.ReplayBlock{Height: s.height, Time: s.now, Txs: txs}
	s.blocks = append(s.blocks, b)
	if _, _, err := s.r.Apply(context.Background(), b); err != nil {
		s.t.Fatal(err)
	}
	out := make([]ipledger.TxOutcome, len(txs))
	for i, tx := range txs {
		o, ok, err := s.r.App().Outcome(ipledger.HashTx(tx))
		if err != nil || !ok {
			s.t.Fatalf("block %d tx %d: no outcome: %v", s.height, i, err)
		}
		out[i] = o
		s.codes[o.Code]++
		if o.Code == ipledger.CodeOK {
			d, _ := ipledger.DecodeTx(tx)
			s.kinds[d.Kind.String()]++
		}
	}
	return out
}

func (s *scenario) state() ipledger.KV { return s.r.App().Committed().State }

// carve takes a /bits piece from the front of p and returns it and the prefixes of the
// rest, largest last.
func carve(p netip.Prefix, bits int) (netip.Prefix, []netip.Prefix) {
	var rest []netip.Prefix
	for p.Bits() < bits {
		lo := netip.PrefixFrom(p.Addr(), p.Bits()+1)
		hiAddr := lo.Addr()
		b := hiAddr.As4()
		n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		n += 1 << (32 - lo.Bits())
		hi := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), lo.Bits())
		rest = append(rest, hi)
		p = lo
	}
	return p, rest
}

func res(p netip.Prefix) ipledger.Resource {
	r, err := ipledger.PrefixResource(p)
	if err != nil {
		panic(err)
	}
	return r
}

// TestMarketScenario is issue 16's real-life scenario: on a chain with AFRINIC's real
// delegated statistics of 2014-06 imported, twenty of its holders (keys bound by AFRINIC,
// credits minted) list, bid, ask, order, swap, transfer and lease /24s to /16s over five weeks
// of block time, driven by a seeded generator. At the end the holdings, balances and the
// market data API agree with the test's own computation from the trades, and the audit's
// recomputation of the statistics, from a second replay of the same blocks, matches the
// API's.
func TestMarketScenario(t *testing.T) {
	started := time.Now()
	g, plan := chaintest.ImportPlan(t, ipledgertest.Data(t, "delegated/2014-06/delegated-afrinic-latest"))
	g.SettlementAgents = []ledger.GenesisOrg{{Handle: ipledgertest.Agent, Name: "Settlement agent", Keys: []ipledger.PublicKey{ipledgertest.Key(ipledgertest.Agent).Public()}}}
	s := &scenario{t: t, id: "market-scenario", seq: map[string]uint64{}, codes: map[ipledger.Code]int{}, kinds: map[string]int{}, now: chaintest.GenesisTime}
	var err error
	if s.r, err = chain.NewReplayer(context.Background(), t.TempDir(), s.id, chaintest.GenesisTime, g); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.r.Close() })
	s.block(time.Minute)
	var txs [][]byte
	for _, st := range plan.Steps {
		txs = append(txs, s.tx(st.Kind, st.Body, st.Signers...))
	}
	s.block(time.Minute, txs...)

	// Twenty holders of IPv4 prefixes from /16 to /22 without sub-holdings, in handle order.
	inv := map[string][]netip.Prefix{} // what each may still sell, as the generator sees it
	err = ledger.Holdings(s.state(), func(h *ipledger.Holding) bool {
		p, ok := h.Resource.Prefix()
		if h.Depth == 1 && ok && p.Addr().Is4() && p.Bits() >= 16 && p.Bits() <= 22 && h.Holder != ipledger.AFRINIC {
			inv[h.Holder] = append(inv[h.Holder], p)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	var orgs []string
	for h := range inv {
		orgs = append(orgs, h)
	}
	slices.Sort(orgs)
	// Those with the most space first, so that some sell /16s.
	slices.SortStableFunc(orgs, func(a, b string) int { return cmp.Compare(inv[a][0].Bits(), inv[b][0].Bits()) })
	if len(orgs) < scenarioOrgs {
		t.Fatalf("%d holders of /16–/22 prefixes in the import", len(orgs))
	}
	orgs = orgs[:scenarioOrgs]
	slices.Sort(orgs)

	txs = nil
	for _, o := range orgs {
		txs = append(txs, s.tx(ipledger.KindBindKey, ipledger.BindKeyBody{Org: o, Key: ipledgertest.Key(o).Public()}, ipledger.AFRINIC))
		txs = append(txs, s.tx(ipledger.KindMint, ipledger.MintBody{To: o, Amount: scenarioMint}, ipledgertest.Agent))
	}
	for i, o := range s.block(time.Minute, txs...) {
		if o.Code != ipledger.CodeOK {
			t.Fatalf("set-up tx %d: %s %s", i, o.Code, o.Log)
		}
	}
	startUnits := map[string]uint64{}
	for _, o := range orgs {
		startUnits[o] = ipv4Held(t, s.state(), o)
	}
	startHeight := s.height

	// The generator: each block, up to four actions by random organisations.
	rng := rand.New(rand.NewPCG(16, 2))
	ppu := func() uint64 { return 2800 + rng.Uint64N(1700) } // credits per address: $28–$45
	var listings, offers []uint64
	bought := map[string][]netip.Prefix{} // whole holdings received: what an ask may offer
	take := func(o string, bits int) (netip.Prefix, bool) {
		for i, p := range inv[o] {
			if p.Bits() <= bits {
				piece, rest := carve(p, bits)
				inv[o] = append(append(inv[o][:i:i], inv[o][i+1:]...), rest...)
				return piece, true
			}
		}
		return netip.Prefix{}, false
	}
	size := func() int {
		switch x := rng.IntN(100); {
		case x < 60:
			return 24
		case x < 80:
			return 23
		case x < 92:
			return 22
		case x < 98:
			return 20
		}
		return 16
	}
	type pending struct {
		kind ipledger.Kind
		org  string
	}
	// Two /16s change hands whole: swapped, and listed and bid on; both are large sales
	// that settle after their challenge window.
	whole := func(o string) netip.Prefix {
		p, ok := take(o, 16)
		if !ok || p.Bits() != 16 {
			t.Fatalf("%s holds no /16: %v", o, inv[o])
		}
		return p
	}
	outs := s.block(scenarioStep,
		s.tx(ipledger.KindSwap, ipledger.SwapBody{Resource: res(whole(orgs[0])), Buyer: orgs[1], Price: 3400 * 65536}, orgs[0], orgs[1]),
		s.tx(ipledger.KindList, ipledger.ListBody{Resource: res(whole(orgs[2])), Reserve: 3000 * 65536, MinIncrement: 65536, End: s.now.Add(48 * time.Hour).Unix()}, orgs[2]))
	if outs[0].Code != ipledger.CodeOK || outs[1].Code != ipledger.CodeOK {
		t.Fatalf("the /16s: %+v", outs)
	}
	listings = append(listings, touchedID(t, outs[1].Touched, "listing"))
	if outs := s.block(scenarioStep, s.tx(ipledger.KindBid, ipledger.BidBody{Listing: listings[0], Amount: 3100 * 65536}, orgs[3])); outs[0].Code != ipledger.CodeOK {
		t.Fatalf("the bid on the /16: %+v", outs)
	}
	seenTrades := uint64(0)
	end := s.now.Add(scenarioWeeks * 7 * 24 * time.Hour)
	for s.now.Before(end) {
		var txs [][]byte
		var what []pending
		for range rng.IntN(5) {
			o := orgs[rng.IntN(len(orgs))]
			p := orgs[rng.IntN(len(orgs))]
			if p == o {
				continue
			}
			switch x := rng.IntN(100); {
			case x < 25: // list
				blk, ok := take(o, size())
				if !ok {
					continue
				}
				u := ipledger.Units(res(blk))
				txs = append(txs, s.tx(ipledger.KindList, ipledger.ListBody{Resource: res(blk), Reserve: ppu() * u, MinIncrement: 10 * u,
					End: s.now.Add(time.Duration(24+rng.IntN(72)) * time.Hour).Unix()}, o))
				what = append(what, pending{ipledger.KindList, o})
			case x < 50: // bid on a listing someone else made
				if len(listings) == 0 {
					continue
				}
				l, err := ledger.ListingByID(s.state(), listings[rng.IntN(len(listings))])
				if err != nil {
					t.Fatal(err)
				}
				if l.State != ipledger.ListingOpen || l.Seller == p {
					continue
				}
				amount := max(l.Reserve, l.HighBid+l.MinIncrement) + rng.Uint64N(100)*ipledger.Units(l.Resource)
				txs = append(txs, s.tx(ipledger.KindBid, ipledger.BidBody{Listing: l.ID, Amount: amount, ASN: 64496 + uint32(rng.IntN(10))}, p))
				what = append(what, pending{ipledger.KindBid, p})
			case x < 65: // swap
				blk, ok := take(o, min(size(), 22+rng.IntN(3)))
				if !ok {
					continue
				}
				txs = append(txs, s.tx(ipledger.KindSwap, ipledger.SwapBody{Resource: res(blk), Buyer: p, Price: ppu() * ipledger.Units(res(blk))}, o, p))
				what = append(what, pending{ipledger.KindSwap, o})
			case x < 67: // offer a /24 for lease, $0.30–$0.50 an address a month
				blk, ok := take(o, 24)
				if !ok {
					continue
				}
				txs = append(txs, s.tx(ipledger.KindOffer, ipledger.OfferBody{Resource: res(blk), Price: 30 + rng.Uint64N(21), Period: 30 * 24 * 3600, MinPeriods: 1, MaxPeriods: 12}, o))
				what = append(what, pending{ipledger.KindOffer, o})
			case x < 70: // take an offer
				if len(offers) == 0 {
					continue
				}
				id := offers[0]
				offers = offers[1:]
				txs = append(txs, s.tx(ipledger.KindLease, ipledger.LeaseBody{Offer: id, ASN: 64510, Periods: 1 + rng.IntN(3)}, p))
				what = append(what, pending{ipledger.KindLease, p})
			case x < 72: // plain transfer: unpriced
				blk, ok := take(o, 24)
				if !ok {
					continue
				}
				txs = append(txs, s.tx(ipledger.KindTransfer, ipledger.TransferBody{Resource: res(blk), To: p}, o, p))
				what = append(what, pending{ipledger.KindTransfer, o})
			case x < 82: // ask a whole holding bought before in its class
				if len(bought[o]) == 0 {
					continue
				}
				i := rng.IntN(len(bought[o]))
				blk := bought[o][i]
				bought[o] = append(bought[o][:i:i], bought[o][i+1:]...)
				txs = append(txs, s.tx(ipledger.KindAsk, ipledger.AskBody{Resource: res(blk), MinPrice: ppu() - 300}, o))
				what = append(what, pending{ipledger.KindAsk, o})
			default: // order /24s (or /23s) of any registry and country
				bits := 24 - rng.IntN(2)
				c, err := ipledger.ParseAuctionClass(fmt.Sprintf("ipv4-%d-any-any-A", bits))
				if err != nil {
					t.Fatal(err)
				}
				txs = append(txs, s.tx(ipledger.KindOrder, ipledger.OrderBody{Class: c, Quantity: 1 + rng.Uint64N(2), Limit: ppu(),
					Expiry: s.now.Add(time.Duration(12+rng.IntN(96)) * time.Hour).Unix()}, p))
				what = append(what, pending{ipledger.KindOrder, p})
			}
		}
		outs := s.block(scenarioStep, txs...)
		for i, o := range outs {
			if what[i].kind == ipledger.KindList && o.Code == ipledger.CodeOK {
				listings = append(listings, touchedID(t, o.Touched, "listing"))
			}
			if what[i].kind == ipledger.KindOffer && o.Code == ipledger.CodeOK {
				offers = append(offers, touchedID(t, o.Touched, "offer"))
			}
		}
		// Blocks bought become whole holdings their buyers may ask.
		err := ledger.TradesAfter(s.state(), seenTrades, func(tr *ipledger.Trade) bool {
			seenTrades = tr.ID
			if p, ok := tr.Resource.Prefix(); ok && slices.Contains(orgs, tr.Buyer) {
				bought[tr.Buyer] = append(bought[tr.Buyer], p)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Three more days without orders: listings and sales in their windows settle.
	for range 36 {
		s.block(scenarioStep)
	}
	t.Logf("%d blocks to %s; committed OK by kind %v; result codes %v; %.1f s", s.height, s.now.Format(time.DateTime), s.kinds, s.codes, time.Since(started).Seconds())

	kv := s.state()
	var trades []ipledger.Trade
	if err := ledger.Trades(kv, func(tr *ipledger.Trade) bool { trades = append(trades, *tr); return true }); err != nil {
		t.Fatal(err)
	}
	venues, sizes := map[string]int{}, map[string]int{}
	for _, tr := range trades {
		venues[tr.Venue]++
		sizes[market.Class(tr.Resource)]++
	}
	t.Logf("%d trades by venue %v, by size %v", len(trades), venues, sizes)
	for _, v := range []string{"listing", "swap", "transfer", "auction"} {
		if venues[v] < 3 {
			t.Errorf("only %d trades in venue %s: the scenario does not exercise it", venues[v], v)
		}
	}
	if sizes["ipv4/16"] != 2 {
		t.Errorf("%d /16s sold, want the two large sales", sizes["ipv4/16"])
	}

	// Holdings and balances: the test's own books, from the trades alone.
	p, err := ledger.ChainParams(kv)
	if err != nil {
		t.Fatal(err)
	}
	units, bal := map[string]int64{}, map[string]int64{}
	var fees int64
	for _, o := range orgs {
		units[o], bal[o] = int64(startUnits[o]), scenarioMint
	}
	for _, tr := range trades {
		if tr.Height <= startHeight {
			continue
		}
		if want := tr.Price * p.FeeBasisPoints / 10000; tr.Fee != want {
			t.Errorf("trade %d: fee %d of %d, want %d", tr.ID, tr.Fee, tr.Price, want)
		}
		if want := ipledger.Units(tr.Resource); tr.Units != want || want > 0 && tr.PricePerUnit != tr.Price/want {
			t.Errorf("trade %d: %d units at %d, want %d at %d", tr.ID, tr.Units, tr.PricePerUnit, want, tr.Price/max(want, 1))
		}
		units[tr.Seller] -= int64(tr.Units)
		units[tr.Buyer] += int64(tr.Units)
		bal[tr.Seller] += int64(tr.Price - tr.Fee)
		bal[tr.Buyer] -= int64(tr.Price)
		fees += int64(tr.Fee)
	}
	// Lease payments: every period paid, lessee to lessor.
	if err := ledger.Leases(kv, func(l *ipledger.Lease) bool {
		bal[l.Lessee] -= int64(l.PricePerPeriod) * int64(l.Paid)
		bal[l.Lessor] += int64(l.PricePerPeriod) * int64(l.Paid)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	heldBy := map[string]uint64{}
	ledger.Listings(kv, func(l *ipledger.Listing) bool {
		if l.State == ipledger.ListingOpen && l.HighBidder != "" {
			heldBy[l.HighBidder] += l.HighBid
		}
		return true
	})
	ledger.Bids(kv, func(b *ipledger.Bid) bool { heldBy[b.Bidder] += b.Held; return true })
	ledger.Sales(kv, func(sl *ipledger.Sale) bool {
		if sl.State == "pending" {
			heldBy[sl.Buyer] += sl.Price
		}
		return true
	})
	for _, o := range orgs {
		if got := ipv4Held(t, kv, o); int64(got) != units[o] {
			t.Errorf("%s holds %d IPv4 addresses, the trades say %d", o, got, units[o])
		}
		b, err1 := ledger.Balance(kv, o)
		h, err2 := ledger.Held(kv, o)
		if err1 != nil || err2 != nil || int64(b) != bal[o] || h != heldBy[o] {
			t.Errorf("%s: balance %d held %d, the trades say %d, its bids %d (%v %v)", o, b, h, bal[o], heldBy[o], err1, err2)
		}
	}
	if b, _ := ledger.Balance(kv, p.FeeAccount); int64(b) != fees {
		t.Errorf("fee account %s holds %d, the trades' fees are %d", p.FeeAccount, b, fees)
	}
	// The last trade of a block names its holder, unless a later trade overlaps it.
	last := 0
	for i, tr := range trades {
		if slices.ContainsFunc(trades[i+1:], func(l ipledger.Trade) bool { return l.Resource.Overlaps(tr.Resource) }) {
			continue
		}
		chn, err := ledger.Lookup(kv, tr.Resource)
		if err != nil || len(chn) < 2 || chn[1].Holder != tr.Buyer || !chn[1].Resource.Contains(tr.Resource) {
			t.Errorf("trade %d of %s to %s: the ledger's chain %v (%v)", tr.ID, tr.Resource, tr.Buyer, chn, err)
		}
		last++
	}
	if last < 100 {
		t.Errorf("only %d trades' blocks checked against their holders", last)
	}

	// The market data API over HTTP.
	srv := httptest.NewServer(httpapi.New(httpapi.Options{Node: scenarioNode{s.r.App()}}))
	t.Cleanup(srv.Close)
	cl := &client.Client{Base: srv.URL}
	ctx := context.Background()
	var served []ipledger.Trade
	for after := uint64(0); ; {
		var page apitypes.TradeList
		if err := cl.Get(ctx, "/v1/market/trades", map[string][]string{"after": {strconv.FormatUint(after, 10)}, "limit": {"100"}}, &page); err != nil {
			t.Fatal(err)
		}
		served = append(served, page.Trades...)
		if !page.Truncated {
			break
		}
		after = page.Next
	}
	if len(served) != len(trades) {
		t.Fatalf("the API lists %d trades, the ledger %d", len(served), len(trades))
	}
	for i := range served {
		if served[i] != trades[i] {
			t.Fatalf("trade %d: API %+v, ledger %+v", i, served[i], trades[i])
		}
	}
	var ll apitypes.ListingList
	if err := cl.Get(ctx, "/v1/market/listings", nil, &ll); err != nil {
		t.Fatal(err)
	}
	stats, err := cl.MarketStats(ctx, client.StatsQuery{Family: "ipv4"})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Height != s.height {
		t.Fatalf("statistics at %d, want %d", stats.Height, s.height)
	}
	var leases []ipledger.Lease
	ledger.Leases(kv, func(l *ipledger.Lease) bool { leases = append(leases, *l); return true })
	want := independentStats(trades, leases)
	var openAsks uint64
	for _, l := range ll.Listings {
		if l.State == ipledger.ListingOpen {
			openAsks++
		}
	}
	ledger.Asks(kv, func(a *ipledger.Ask) bool {
		if a.State == ipledger.OrderOpen {
			openAsks++
		}
		return true
	})
	checked := 0
	for _, r := range stats.Rows {
		if r.Class != "" {
			continue
		}
		w, ok := want[r.Day]
		if !ok {
			t.Errorf("the API gives a day %q without trades", r.Day)
			continue
		}
		if r.Trades != w.trades || r.Units != w.units || r.VWAP != w.vwap || r.MedianPrice != w.median || r.Transfers != w.transfers ||
			r.Leases != w.leases || r.MedianLease != w.medianLease || r.LeaseYieldBP != w.yield {
			t.Errorf("day %q: API %+v; the test computes %+v", r.Day, r, w)
		}
		if r.Day == "" && r.OpenAsks != openAsks {
			t.Errorf("open asks %d, the listings and asks say %d", r.OpenAsks, openAsks)
		}
		checked++
	}
	if checked != len(want) || checked < 30 {
		t.Errorf("%d rows of all classes checked, the trades fall on %d days and overall", checked, len(want))
	}
	t.Logf("IPv4 over the scenario: %+v", stats.Rows[0])

	// The audit's recomputation: the same blocks replayed into a store of its own (as an
	// audit replays the log), statistics recomputed there and compared with the API's.
	r2, err := chain.NewReplayer(ctx, t.TempDir(), s.id, chaintest.GenesisTime, g)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	for _, b := range s.blocks {
		if _, _, err := r2.Apply(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := r2.App().Committed().Block.AppHash, s.r.App().Committed().Block.AppHash; string(a) != string(b) {
		t.Fatalf("the replay's app hash %x, the chain's %x", a, b)
	}
	mine, err := market.Compute(r2.App().Committed().State, market.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	all, err := cl.MarketStats(ctx, client.StatsQuery{Height: s.height})
	if err != nil {
		t.Fatal(err)
	}
	if d := diffStats(all.Rows, mine, s.height); d != nil {
		t.Fatalf("the audit's recomputation differs: %v", d)
	}
	t.Logf("the audit's recomputation matches %d rows; %.1f s in all", len(mine), time.Since(started).Seconds())
}

// dayStats is what the test computes of one UTC day's IPv4 trades (day "" for all).
type dayStats struct{ trades, units, vwap, median, transfers, leases, medianLease, yield uint64 }

// independentStats computes the IPv4 rows of every class from the trades and leases, the
// plain way.
func independentStats(trades []ipledger.Trade, leases []ipledger.Lease) map[string]dayStats {
	type sums struct {
		trades, transfers, units, volume, leases uint64
		ppu, monthly                             []uint64
	}
	median := func(xs []uint64) uint64 {
		if len(xs) == 0 {
			return 0
		}
		slices.Sort(xs)
		return xs[(len(xs)-1)/2]
	}
	by := map[string]*sums{}
	for _, tr := range trades {
		if tr.Family != "ipv4" {
			continue
		}
		for _, d := range []string{"", time.Unix(tr.Time, 0).UTC().Format(time.DateOnly)} {
			sm := by[d]
			if sm == nil {
				sm = &sums{}
				by[d] = sm
			}
			if tr.Venue == "transfer" {
				sm.transfers++
				continue
			}
			sm.trades++
			sm.units += tr.Units
			sm.volume += tr.Price
			sm.ppu = append(sm.ppu, tr.PricePerUnit)
		}
	}
	for _, l := range leases {
		for _, d := range []string{"", time.Unix(l.Start, 0).UTC().Format(time.DateOnly)} {
			sm := by[d]
			if sm == nil {
				sm = &sums{}
				by[d] = sm
			}
			sm.leases++
			// Small numbers: a /24's price a period times 30 days fits in 64 bits.
			sm.monthly = append(sm.monthly, l.PricePerPeriod*2592000/(uint64(l.Period)*ipledger.Units(l.Resource)))
		}
	}
	out := map[string]dayStats{}
	for d, sm := range by {
		ds := dayStats{trades: sm.trades, units: sm.units, transfers: sm.transfers, leases: sm.leases, median: median(sm.ppu), medianLease: median(sm.monthly)}
		if sm.units > 0 {
			ds.vwap = sm.volume / sm.units
		}
		if ds.median > 0 {
			ds.yield = 12 * ds.medianLease * 10000 / ds.median
		}
		out[d] = ds
	}
	return out
}

// ipv4Held returns the IPv4 addresses org holds at depth 1.
func ipv4Held(t *testing.T, kv ipledger.KV, org string) uint64 {
	t.Helper()
	var n uint64
	err := ledger.Holdings(kv, func(h *ipledger.Holding) bool {
		if h.Holder == org && h.Depth == 1 && h.Resource.Family() == ipledger.IPv4 {
			n += ipledger.Units(h.Resource)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func touchedID(t *testing.T, touched []string, kind string) uint64 {
	t.Helper()
	for _, o := range touched {
		if id, ok := strings.CutPrefix(o, kind+"/"); ok {
			n, err := strconv.ParseUint(id, 10, 64)
			if err == nil {
				return n
			}
		}
	}
	t.Fatalf("no %s among %v", kind, touched)
	return 0
}

// scenarioNode serves a replayed chain read-only.
type scenarioNode struct{ app *chain.App }

func (n scenarioNode) Submit(context.Context, []byte) (ipledger.Hash, error) {
	return ipledger.Hash{}, ipledger.Errorf(ipledger.CodeUnavailable, "read-only test node")
}
func (n scenarioNode) Status(context.Context) (ipledger.NodeStatus, error) {
	return ipledger.NodeStatus{}, nil
}
func (n scenarioNode) Reader() ipledger.Reader { return n.app }
