package ledger

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// BenchmarkApply measures the state machine alone on one core: signed assignments and
// two-signer transfers, signatures batch-verified per block of 1000 as a node does for a
// block it did not pre-verify, then applied to in-memory state. Reports transactions per
// second.
func BenchmarkApply(b *testing.B) {
	const n = 1000
	e := newEnv(b)
	var orgs []ipledger.NewOrg
	var items []ipledger.AllocateItem
	signers := make([]ipledger.Signer, n)
	for i := 0; i < n; i++ {
		h := fmt.Sprintf("ORG-B%d", i)
		signers[i] = ipledger.Signer{Org: h, Key: keyFor(h)}
		orgs = append(orgs, ipledger.NewOrg{Handle: h, Name: h, Keys: []ipledger.PublicKey{signers[i].Key.Public()}})
		res, _ := ipledger.PrefixResource(netip.PrefixFrom(netip.AddrFrom4([4]byte{193, byte(i >> 4), byte(i&15) << 4, 0}), 20))
		items = append(items, ipledger.AllocateItem{Resource: res, Org: h, Status: ipledger.StatusAllocatedPA})
	}
	// In transactions of 200 organisations or blocks, under the transaction size limit.
	for i := 0; i < n; i += 200 {
		e.ok(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: orgs[i:min(i+200, n)]}, ipledger.RIPENCC)
	}
	for i := 0; i < n; i += 200 {
		e.ok(ipledger.KindAllocate, ipledger.AllocateBody{Items: items[i:min(i+200, n)]}, ipledger.RIPENCC)
	}
	txs := make([]*ipledger.Tx, b.N)
	seq := make([]uint64, n)
	for i := range txs {
		o, k := i%n, i/n
		seq[o]++
		next := signers[(o+1)%n]
		var raw []byte
		var err error
		if i%4 == 3 && k < 16 { // 16 /28s at the top of each /20 to transfer
			res, _ := ipledger.PrefixResource(netip.PrefixFrom(netip.AddrFrom4([4]byte{193, byte(o >> 4), byte(o&15)<<4 | 15, 240 - byte(k&15)<<4}), 28))
			raw, err = ipledger.BuildTx(testChain, ipledger.KindTransfer, seq[o], 0, ipledger.TransferBody{Resource: res, To: next.Org}, signers[o], next)
		} else {
			res, _ := ipledger.PrefixResource(netip.PrefixFrom(netip.AddrFrom4([4]byte{193, byte(o >> 4), byte(o&15)<<4 | byte(k>>4&15), byte(k&15) << 4}), 28))
			raw, err = ipledger.BuildTx(testChain, ipledger.KindAssign, seq[o], 0, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: res, Org: next.Org, Status: ipledger.StatusAssignedPA}}}, signers[o])
		}
		if err != nil {
			b.Fatal(err)
		}
		txs[i] = &ipledger.Tx{}
		if txs[i], err = ipledger.DecodeTx(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	failed := 0
	for i := 0; i < len(txs); i += n {
		end := min(i+n, len(txs))
		bv := ipledger.NewBatchVerifier()
		for _, tx := range txs[i:end] {
			bv.Add(tx)
		}
		for _, ok := range bv.Verify(nil) {
			if !ok {
				b.Fatal("signature failed")
			}
		}
		blk := ipledger.Block{Height: int64(10 + i/n), Time: time.Date(2026, 2, 1, 0, 0, i/n, 0, time.UTC)}
		for _, tx := range txs[i:end] {
			if r, err := e.l.Apply(e.kv, blk, tx); err != nil || r.Code != ipledger.CodeOK {
				failed++
			}
		}
	}
	b.StopTimer()
	if failed > 0 {
		b.Fatalf("%d of %d failed", failed, len(txs))
	}
	b.ReportMetric(float64(len(txs))/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkSettleListings measures settlement alone: one EndBlock that settles 1,000
// listings of /26s ending at once, each to its one bid with an AS number, under the
// seller's covering /16 authorisation (split at every sale). Reports settlements per second;
// an op is the block of 1,000.
func BenchmarkSettleListings(b *testing.B) {
	const n = 1000
	for range b.N {
		b.StopTimer()
		e := marketEnv(b, nil)
		e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.0.0/16"), MaxLength: 26, ASN: 3333}, "ORG-S")
		end := e.time.Add(time.Hour).Unix()
		for i := range n {
			res, _ := ipledger.PrefixResource(netip.PrefixFrom(netip.AddrFrom4([4]byte{193, 0, byte(i >> 2), byte(i&3) << 6}), 26))
			e.ok(ipledger.KindList, ipledger.ListBody{Resource: res, Reserve: 100, End: end}, "ORG-S")
			e.ok(ipledger.KindBid, ipledger.BidBody{Listing: uint64(i + 1), Amount: 100, ASN: 64500}, "ORG-B")
		}
		e.height++
		blk := ipledger.Block{Height: e.height, Time: time.Unix(end, 0)}
		b.StartTimer()
		evs, err := e.l.EndBlock(e.kv, blk)
		b.StopTimer()
		if err != nil || len(evs) != n {
			b.Fatalf("%d events, %v", len(evs), err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "settlements/s")
}

// BenchmarkSwap measures the state machine applying swaps of /26s (two signatures, checked
// before), each splitting the seller's covering authorisation: run it with -benchtime=1000x
// (one seller's /16 holds 1024 /26s). Reports swaps per second.
func BenchmarkSwap(b *testing.B) {
	if b.N > 1024 {
		b.Skip("a /16 sells as at most 1024 /26s: -benchtime=1000x")
	}
	e := marketEnv(b, nil)
	e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.0.0/16"), MaxLength: 26, ASN: 3333}, "ORG-S")
	txs := make([]*ipledger.Tx, b.N)
	for i := range txs {
		res, _ := ipledger.PrefixResource(netip.PrefixFrom(netip.AddrFrom4([4]byte{193, 0, byte(i >> 2), byte(i&3) << 6}), 26))
		txs[i] = e.build(ipledger.KindSwap, e.seq["ORG-S"]+uint64(i)+1, ipledger.SwapBody{Resource: res, Buyer: "ORG-B", Price: 10, ASN: 64500}, "ORG-S", "ORG-B")
	}
	blk := ipledger.Block{Height: e.height + 1, Time: e.time.Add(time.Second)}
	b.ResetTimer()
	for _, tx := range txs {
		if r, err := e.l.Apply(e.kv, blk, tx); err != nil || r.Code != ipledger.CodeOK {
			b.Fatalf("%s %v", r.Log, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "swaps/s")
}

// BenchmarkSettleFills measures a class auction's clearing of 1,000 /26s (each ask a whole
// holding) against one bid for 1,000 blocks naming an AS, and the settlement of the 1,000
// fills: the clearing and 999 fills in the EndBlock of the clearing's block (the bound of
// max_settlements), the last fill in the next. Reports fills settled per second.
func BenchmarkSettleFills(b *testing.B) {
	const n = 1000
	for range b.N {
		b.StopTimer()
		e := marketEnv(b, nil)
		e.ok(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.0.0/16"), MaxLength: 26, ASN: 3333}, "ORG-S")
		for i := range n {
			res, _ := ipledger.PrefixResource(netip.PrefixFrom(netip.AddrFrom4([4]byte{193, 0, byte(i >> 2), byte(i&3) << 6}), 26))
			e.ok(ipledger.KindSwap, ipledger.SwapBody{Resource: res, Buyer: "ORG-C"}, "ORG-S", "ORG-C")
			e.ok(ipledger.KindAsk, ipledger.AskBody{Resource: res, MinPrice: 5}, "ORG-C")
		}
		e.ok(ipledger.KindOrder, ipledger.OrderBody{Class: ipledger.MustParseAuctionClass("ipv4-26-any-any-A"), Quantity: n, Limit: 10, Expiry: e.time.Unix() + 7200, ASN: 64500}, "ORG-B")
		at := nextClearing(e.time.Unix(), must(ChainParams(e.kv)))
		b.StartTimer()
		evs, err := e.l.EndBlock(e.kv, ipledger.Block{Height: e.height + 1, Time: time.Unix(at, 0)})
		if err == nil {
			var more []ipledger.Event
			more, err = e.l.EndBlock(e.kv, ipledger.Block{Height: e.height + 2, Time: time.Unix(at+1, 0)})
			evs = append(evs, more...)
		}
		b.StopTimer()
		if err != nil || len(evs) != n+1 || evs[n].Kind != "fill-settled" {
			b.Fatalf("%d events, %v", len(evs), err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "fills/s")
}
