package chain

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/store"
)

// benchSetup registers n organisations with keys, each allocated a /20 in 193/8 (n ≤ 4096),
// and returns a replayer at the next height.
func benchSetup(b *testing.B, n int) (*Replayer, []ipledger.Signer, int64) {
	return benchSetupStore(b, n, replayStoreOptions)
}

// benchSetupStore is benchSetup on a store opened with opts(dir).
func benchSetupStore(b *testing.B, n int, opts func(dir string) store.Options) (*Replayer, []ipledger.Signer, int64) {
	b.Helper()
	ctx := context.Background()
	r := testReplayerOn(b, opts(b.TempDir()), "bench-chain")
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	var orgs []ipledger.NewOrg
	var items []ipledger.AllocateItem
	signers := make([]ipledger.Signer, n)
	for i := 0; i < n; i++ {
		h := fmt.Sprintf("ORG-B%d", i)
		signers[i] = ipledgertest.Signer(h)
		orgs = append(orgs, ipledger.NewOrg{Handle: h, Name: h, Keys: []ipledger.PublicKey{signers[i].Key.Public()}})
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{193, byte(i >> 4), byte(i&15) << 4, 0}), 20)
		res, _ := ipledger.PrefixResource(p)
		items = append(items, ipledger.AllocateItem{Resource: res, Org: h, Status: ipledger.StatusAllocatedPA})
	}
	// The set-up goes in transactions of at most 200 organisations or blocks each, well under
	// the 64 KiB transaction limit.
	var txs [][]byte
	batches := func(kind ipledger.Kind, body func(i, j int) any) {
		for i := 0; i < n; i += 200 {
			t, err := ipledger.BuildTx("bench-chain", kind, uint64(len(txs)+1), 0, body(i, min(i+200, n)), ripe)
			if err != nil {
				b.Fatal(err)
			}
			txs = append(txs, t)
		}
	}
	batches(ipledger.KindRegisterOrg, func(i, j int) any { return ipledger.RegisterOrgBody{Orgs: orgs[i:j]} })
	batches(ipledger.KindAllocate, func(i, j int) any { return ipledger.AllocateBody{Items: items[i:j]} })
	_, codes, err := r.Apply(ctx, ReplayBlock{Height: 1, Time: testStart, Txs: txs})
	if err != nil {
		b.Fatalf("setup: %v", err)
	}
	for i, c := range codes {
		if c != 0 {
			b.Fatalf("setup transaction %d: code %d", i, c)
		}
	}
	return r, signers, 1
}

// benchTxs builds n transactions over signers from benchSetup, each signer's in sequence:
// organisation o assigns successive /28s of its /20 to the next organisation, and, with
// transfers, every fourth transaction is instead a two-signer transfer of a /28 from the
// top of the /20 to the next organisation (16 per organisation at most).
func benchTxs(b *testing.B, signers []ipledger.Signer, n int, transfers bool) [][]byte {
	b.Helper()
	if n > 256*len(signers) {
		b.Fatalf("at most %d transactions: each organisation assigns the /28s of its /20", 256*len(signers))
	}
	seq := make([]uint64, len(signers))
	txs := make([][]byte, n)
	for i := range txs {
		o := i % len(signers)
		k := i / len(signers)
		seq[o]++
		sub := netip.PrefixFrom(netip.AddrFrom4([4]byte{193, byte(o >> 4), byte(o&15)<<4 | byte(k>>4&15), byte(k&15) << 4}), 28)
		res, _ := ipledger.PrefixResource(sub)
		next := signers[(o+1)%len(signers)]
		var err error
		if transfers && i%4 == 3 && k < 16 {
			res2, _ := ipledger.PrefixResource(netip.PrefixFrom(netip.AddrFrom4([4]byte{193, byte(o >> 4), byte(o&15)<<4 | 15, 240 - byte(k&15)<<4}), 28))
			txs[i], err = ipledger.BuildTx("bench-chain", ipledger.KindTransfer, seq[o], 0, ipledger.TransferBody{Resource: res2, To: next.Org}, signers[o], next)
		} else {
			txs[i], err = ipledger.BuildTx("bench-chain", ipledger.KindAssign, seq[o], 0, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: res, Org: next.Org, Status: ipledger.StatusAssignedPA}}}, signers[o])
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	return txs
}

// BenchmarkFinalizeBlock measures the state machine alone on the node's real store: blocks
// of signed assignments and two-signer transfers through FinalizeBlock and Commit, every
// signature checked (batched per block, as when a block arrives by block sync), state and
// log committed to Pebble. Reports transactions per second.
func BenchmarkFinalizeBlock(b *testing.B) {
	const perBlock = 1000
	r, signers, height := benchSetup(b, perBlock)
	ctx := context.Background()
	txs := benchTxs(b, signers, b.N, true)
	b.ResetTimer()
	failed := 0
	for i := 0; i < len(txs); i += perBlock {
		end := min(i+perBlock, len(txs))
		height++
		_, codes, err := r.Apply(ctx, testBlock(height, txs[i:end]...))
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range codes {
			if c != 0 {
				failed++
			}
		}
	}
	b.StopTimer()
	if failed > 0 {
		b.Fatalf("%d of %d transactions failed", failed, len(txs))
	}
	b.ReportMetric(float64(len(txs))/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkNodeBlock measures a validator's block path under load: blocks of 1,000
// assignments and transfers whose signatures were checked at submission, through
// FinalizeBlock and Commit on a store opened as a node opens it (fsync on). The block path
// is what the next block waits for (chain/cadence.go). Reports milliseconds per block in
// each call.
func BenchmarkNodeBlock(b *testing.B) {
	const perBlock = 1000
	r, signers, height := benchSetupStore(b, perBlock, func(dir string) store.Options { return store.Options{Dir: dir} })
	ctx := context.Background()
	txs := benchTxs(b, signers, b.N*perBlock, true)
	// As at submission: decoded (body too) and verified by concurrent submitters.
	var wg sync.WaitGroup
	for w := range 64 {
		wg.Go(func() {
			for i := w; i < len(txs); i += 64 {
				if _, err := r.app.preVerify(txs[i]); err != nil {
					b.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var fin, com time.Duration
	b.ResetTimer()
	for i := range b.N {
		height++
		t0 := time.Now()
		res, err := r.app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: height, Time: testBlock(height).Time, Txs: txs[i*perBlock : (i+1)*perBlock]})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := r.app.Commit(ctx, &abci.CommitRequest{}); err != nil {
			b.Fatal(err)
		}
		fin, com = fin+t1.Sub(t0), com+time.Since(t1)
		for j, t := range res.TxResults {
			if t.Code != 0 {
				b.Fatalf("block %d transaction %d: %s", height, j, t.Log)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(fin.Microseconds())/1000/float64(b.N), "finalize-ms/block")
	b.ReportMetric(float64(com.Microseconds())/1000/float64(b.N), "commit-ms/block")
	b.ReportMetric(float64(b.N*perBlock)/b.Elapsed().Seconds(), "tx/s")
}
