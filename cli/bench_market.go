package cli

import (
	"context"
	"sync"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
)

// marketPair starts one pair of bench load's market workload on wg. The seller lists a /28
// of its /18 (a reserve of 100 credits, ending an hour on), swaps another /28 to the buyer
// for 1,600 credits in a transaction both sign, and orders one /28 of any registry and
// country in the class auctions at 100 a unit; the buyer bids the reserve on the listing
// and asks the /28 it was swapped (a whole holding now) in its class at 200 a unit. Five
// kinds, one in five each. Orders and asks do not cross, and the listings end after any
// window bench load runs (a bid's soft close moves the end on), so no settlement falls
// inside it: the workload measures the market's transactions themselves.
func marketPair(ctx context.Context, wg *sync.WaitGroup, chainID string, seller, buyer int, signers []ipledger.Signer,
	block func(i, sub int) ipledger.Resource, post func(int, []byte) *apitypes.SubmitResult, created func(*apitypes.SubmitResult, string) uint64) {
	type round struct {
		listing uint64
		swapped ipledger.Resource
	}
	rounds := make(chan round)
	class := ipledger.AuctionClass{Family: ipledger.IPv4, Bits: 28, Grade: "A"}
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(rounds)
		me, to, seq := signers[seller], signers[buyer], uint64(0)
		for k := 0; k < 256 && ctx.Err() == nil; k++ {
			seq++
			tx, _ := ipledger.BuildTx(chainID, ipledger.KindList, seq, 0, ipledger.ListBody{Resource: block(seller, k), Reserve: 100, End: time.Now().Add(time.Hour).Unix()}, me)
			res := post(seller, tx)
			if res == nil {
				return
			}
			rd := round{listing: created(res, "listing"), swapped: block(seller, 512+k)}
			seq++
			tx, _ = ipledger.BuildTx(chainID, ipledger.KindSwap, seq, 0, ipledger.SwapBody{Resource: rd.swapped, Buyer: to.Org, Price: 1600}, me, to)
			if post(seller, tx) == nil {
				return
			}
			select {
			case rounds <- rd:
			case <-ctx.Done():
				return
			}
			seq++
			tx, _ = ipledger.BuildTx(chainID, ipledger.KindOrder, seq, 0, ipledger.OrderBody{Class: class, Quantity: 1, Limit: 100, Expiry: time.Now().Add(time.Hour).Unix()}, me)
			if post(seller, tx) == nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		me, seq := signers[buyer], uint64(0)
		for rd := range rounds {
			seq++
			tx, _ := ipledger.BuildTx(chainID, ipledger.KindBid, seq, 0, ipledger.BidBody{Listing: rd.listing, Amount: 100}, me)
			if post(buyer, tx) == nil {
				return
			}
			seq++
			tx, _ = ipledger.BuildTx(chainID, ipledger.KindAsk, seq, 0, ipledger.AskBody{Resource: rd.swapped, MinPrice: 200}, me)
			if post(buyer, tx) == nil {
				return
			}
		}
	}()
}
