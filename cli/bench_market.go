package cli

import (
	"context"
	"sync"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
)

// marketPair starts one pair of bench load's market workload on wg: the seller lists /28s
// of its /18 (a reserve of 100 credits, ending an hour on) and swaps other /28s to the
// buyer for 1,600 credits in transactions both sign; the buyer bids the reserve on each
// listing as it is committed. Listings, bids and swaps come one in three each. The
// listings end after any window bench load runs (a bid's soft close moves the end on), so
// no settlement falls inside it.
func marketPair(ctx context.Context, wg *sync.WaitGroup, chainID string, seller, buyer int, signers []ipledger.Signer,
	block func(i, sub int) ipledger.Resource, post func(int, []byte) *apitypes.SubmitResult, created func(*apitypes.SubmitResult, string) uint64) {
	listings := make(chan uint64)
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(listings)
		me, to, seq := signers[seller], signers[buyer], uint64(0)
		for k := 0; k < 256 && ctx.Err() == nil; k++ {
			seq++
			tx, _ := ipledger.BuildTx(chainID, ipledger.KindList, seq, 0, ipledger.ListBody{Resource: block(seller, k), Reserve: 100, End: time.Now().Add(time.Hour).Unix()}, me)
			res := post(seller, tx)
			if res == nil {
				return
			}
			select {
			case listings <- created(res, "listing"):
			case <-ctx.Done():
				return
			}
			seq++
			tx, _ = ipledger.BuildTx(chainID, ipledger.KindSwap, seq, 0, ipledger.SwapBody{Resource: block(seller, 512+k), Buyer: to.Org, Price: 1600}, me, to)
			if post(seller, tx) == nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		me, seq := signers[buyer], uint64(0)
		for id := range listings {
			seq++
			tx, _ := ipledger.BuildTx(chainID, ipledger.KindBid, seq, 0, ipledger.BidBody{Listing: id, Amount: 100}, me)
			if post(buyer, tx) == nil {
				return
			}
		}
	}()
}
