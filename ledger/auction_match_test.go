package ledger

import (
	"math/rand/v2"
	"testing"

	"github.com/ipledger/ipledger"
)

func randomBook(rng *rand.Rand, nAsks, nBids int, spread uint64) ([]BookAsk, []BookBid) {
	asks := make([]BookAsk, nAsks)
	for i := range asks {
		asks[i].MinPrice = 1 + rng.Uint64N(spread)
		asks[i].ID[0], asks[i].ID[1], asks[i].ID[2] = byte(rng.Uint32()), byte(rng.Uint32()), byte(i)
	}
	bids := make([]BookBid, nBids)
	for i := range bids {
		bids[i] = BookBid{Limit: 1 + rng.Uint64N(spread), Quantity: rng.Uint64N(4)}
		bids[i].ID[0], bids[i].ID[1], bids[i].ID[2] = byte(rng.Uint32()), byte(rng.Uint32()), byte(i)
	}
	return asks, bids
}

// volumeAt is the blocks tradeable at price: the asks at or below it against the blocks
// bid at or above it (the slow reference).
func volumeAt(asks []BookAsk, bids []BookBid, price uint64) uint64 {
	var s, d uint64
	for _, a := range asks {
		if a.MinPrice <= price {
			s++
		}
	}
	for _, b := range bids {
		if b.Limit >= price {
			d += b.Quantity
		}
	}
	return min(s, d)
}

// TestClearBookProperties checks ClearBook against a slow reference on random books: the
// price maximises volume and is the midpoint (rounded down) of the prices that do; no bid is
// filled above its limit, no ask below its minimum, no bid beyond its quantity, no ask twice;
// no unfilled bid at or above the price is left with an unfilled ask at or below it; the
// result does not depend on the order of the input.
func TestClearBookProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 400 {
		asks, bids := randomBook(rng, rng.IntN(30), rng.IntN(30), 1+rng.Uint64N(60))
		price, fills := ClearBook(asks, bids)
		var best, lo, hi uint64
		for p := uint64(0); p <= 62; p++ {
			switch v := volumeAt(asks, bids, p); {
			case v > best:
				best, lo, hi = v, p, p
			case v == best && v > 0:
				hi = p
			}
		}
		if uint64(len(fills)) != best || best > 0 && price != lo+(hi-lo)/2 {
			t.Fatalf("run %d: price %d, %d fills; want %d fills at %d (range %d–%d)", run, price, len(fills), best, lo+(hi-lo)/2, lo, hi)
		}
		askUsed := map[int]bool{}
		bidUsed := map[int]uint64{}
		for _, f := range fills {
			if askUsed[f.Ask] {
				t.Fatalf("run %d: ask %d filled twice", run, f.Ask)
			}
			askUsed[f.Ask] = true
			bidUsed[f.Bid]++
			if asks[f.Ask].MinPrice > price || bids[f.Bid].Limit < price || bidUsed[f.Bid] > bids[f.Bid].Quantity {
				t.Fatalf("run %d: fill %+v at %d breaks a limit", run, f, price)
			}
		}
		unfilledAsk, unfilledBid := false, false
		for i, a := range asks {
			unfilledAsk = unfilledAsk || !askUsed[i] && a.MinPrice <= price
		}
		for i, b := range bids {
			unfilledBid = unfilledBid || bidUsed[i] < b.Quantity && b.Limit >= price
		}
		if best > 0 && unfilledAsk && unfilledBid {
			t.Fatalf("run %d: an unfilled bid at or above %d and an unfilled ask at or below it", run, price)
		}
		// Shuffled input: the same pairs of orders.
		pairs := func(asks []BookAsk, bids []BookBid, fills []BookFill) map[[2]ipledger.Hash]int {
			m := map[[2]ipledger.Hash]int{}
			for _, f := range fills {
				m[[2]ipledger.Hash{asks[f.Ask].ID, bids[f.Bid].ID}]++
			}
			return m
		}
		want := pairs(asks, bids, fills)
		rng.Shuffle(len(asks), func(i, j int) { asks[i], asks[j] = asks[j], asks[i] })
		rng.Shuffle(len(bids), func(i, j int) { bids[i], bids[j] = bids[j], bids[i] })
		p2, f2 := ClearBook(asks, bids)
		got := pairs(asks, bids, f2)
		if p2 != price || len(got) != len(want) {
			t.Fatalf("run %d: shuffled input clears differently", run)
		}
		for k, n := range want {
			if got[k] != n {
				t.Fatalf("run %d: shuffled input pairs differently", run)
			}
		}
	}
}

// BenchmarkClearBook clears a book of 10,000 asks and 10,000 bids (of 1 to 3 blocks).
func BenchmarkClearBook(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	asks, bids := randomBook(rng, 10_000, 10_000, 10_000)
	for i := range bids {
		bids[i].Quantity = 1 + bids[i].Quantity%3
	}
	b.ReportAllocs()
	for b.Loop() {
		ClearBook(asks, bids)
	}
}
