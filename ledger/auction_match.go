package ledger

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/ipledger/ipledger"
)

// BookAsk is an ask as the matcher sees it: one block at MinPrice or more per unit.
type BookAsk struct {
	ID       ipledger.Hash
	MinPrice uint64
}

// BookBid is a bid as the matcher sees it: Quantity blocks at Limit or less per unit.
type BookBid struct {
	ID       ipledger.Hash
	Limit    uint64
	Quantity uint64
}

// BookFill pairs one ask with one block of a bid, by their indexes in ClearBook's input.
type BookFill struct {
	Ask, Bid int
}

// ClearBook clears one class's book at a uniform price per unit: the price that maximises
// the blocks traded (min of the asks at or below it and the blocks bid at or above it);
// where a range of prices does, its midpoint rounded down. The asks filled are the cheapest
// at or below the price and the bids filled the highest at or above it; ties at one price
// go to the lower order id (its transaction's hash), never to arrival, so the result does
// not depend on the order of the input. fills pairs the k-th ask so chosen with the k-th
// block so chosen. Without a trade, price is 0 and fills empty. The input is not changed.
func ClearBook(asks []BookAsk, bids []BookBid) (price uint64, fills []BookFill) {
	ai := make([]int, len(asks))
	for i := range ai {
		ai[i] = i
	}
	slices.SortFunc(ai, func(x, y int) int {
		if c := cmp.Compare(asks[x].MinPrice, asks[y].MinPrice); c != 0 {
			return c
		}
		return bytes.Compare(asks[x].ID[:], asks[y].ID[:])
	})
	bi := make([]int, 0, len(bids))
	var demand uint64 // blocks bid at or above the price swept; saturates
	for i, b := range bids {
		if b.Quantity > 0 {
			bi = append(bi, i)
			demand = satAdd(demand, b.Quantity)
		}
	}
	slices.SortFunc(bi, func(x, y int) int {
		if c := cmp.Compare(bids[y].Limit, bids[x].Limit); c != 0 {
			return c
		}
		return bytes.Compare(bids[x].ID[:], bids[y].ID[:])
	})
	// Sweep the candidate prices (every ask's minimum and bid's limit) upwards. Between two
	// candidates the volume is at most the lower one's, so the best volume is reached at
	// candidates; the prices reaching it form an interval whose ends are candidates.
	var best, lo, hi uint64
	na, nb := 0, len(bi)-1 // next ask to count; lowest bid still counted in demand
	for na < len(ai) || nb >= 0 {
		p := uint64(1<<64 - 1)
		if na < len(ai) {
			p = asks[ai[na]].MinPrice
		}
		if nb >= 0 {
			p = min(p, bids[bi[nb]].Limit)
		}
		for na < len(ai) && asks[ai[na]].MinPrice <= p {
			na++
		}
		v := min(uint64(na), demand)
		switch {
		case v > best:
			best, lo, hi = v, p, p
		case v == best && best > 0:
			hi = p
		}
		for nb >= 0 && bids[bi[nb]].Limit <= p {
			demand -= min(demand, bids[bi[nb]].Quantity)
			nb--
		}
	}
	if best == 0 {
		return 0, nil
	}
	price = lo + (hi-lo)/2
	fills = make([]BookFill, 0, best)
	k := 0
	for _, b := range bi {
		if bids[b].Limit < price {
			break
		}
		for q := uint64(0); q < bids[b].Quantity && uint64(len(fills)) < best; q++ {
			fills = append(fills, BookFill{Ask: ai[k], Bid: b})
			k++
		}
		if uint64(len(fills)) == best {
			break
		}
	}
	return price, fills
}

func satAdd(x, y uint64) uint64 {
	if s := x + y; s >= x {
		return s
	}
	return 1<<64 - 1
}
