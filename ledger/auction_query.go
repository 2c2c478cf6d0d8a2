package ledger

import (
	"cmp"
	"slices"

	"github.com/ipledger/ipledger"
)

// Asks calls fn for every ask of class auctions, open or closed, in id order until fn
// returns false.
func Asks(kv ipledger.KV, fn func(*ipledger.Ask) bool) error { return eachJSON(kv, tagAsk, fn) }

// Bids calls fn for every bid of class auctions, open or closed, in id order until fn
// returns false.
func Bids(kv ipledger.KV, fn func(*ipledger.Bid) bool) error { return eachJSON(kv, tagOrderBid, fn) }

// Fills calls fn for every fill of class auctions in id order until fn returns false.
func Fills(kv ipledger.KV, fn func(*ipledger.Fill) bool) error { return eachJSON(kv, tagFill, fn) }

// AskByID returns the ask placed by transaction id, or nil.
func AskByID(kv ipledger.KV, id ipledger.Hash) (*ipledger.Ask, error) {
	return getJSON[ipledger.Ask](state{kv}, askKey(id), "ask")
}

// BidByID returns the bid placed by transaction id, or nil.
func BidByID(kv ipledger.KV, id ipledger.Hash) (*ipledger.Bid, error) {
	return getJSON[ipledger.Bid](state{kv}, bidKey(id), "bid")
}

// openOrders returns the open asks and bids.
func openOrders(kv ipledger.KV) (asks []*ipledger.Ask, bids []*ipledger.Bid, err error) {
	if err := Asks(kv, func(a *ipledger.Ask) bool {
		if a.State == ipledger.OrderOpen {
			asks = append(asks, a)
		}
		return true
	}); err != nil {
		return nil, nil, err
	}
	err = Bids(kv, func(b *ipledger.Bid) bool {
		if b.State == ipledger.OrderOpen {
			bids = append(bids, b)
		}
		return true
	})
	return asks, bids, err
}

// AuctionBooks returns the summary of every class with an open ask or bid, in class order.
func AuctionBooks(kv ipledger.KV) ([]ipledger.BookSummary, error) {
	asks, bids, err := openOrders(kv)
	if err != nil {
		return nil, err
	}
	keys := make([]ipledger.AuctionClass, 0, len(asks)+len(bids))
	for _, a := range asks {
		keys = append(keys, a.Class)
	}
	for _, b := range bids {
		keys = append(keys, b.Class)
	}
	slices.SortFunc(keys, func(x, y ipledger.AuctionClass) int { return cmp.Compare(x.String(), y.String()) })
	keys = slices.Compact(keys)
	out := make([]ipledger.BookSummary, 0, len(keys))
	for _, c := range keys {
		bk := bookOf(c, asks, bids)
		s := ipledger.BookSummary{Class: c.String()}
		for _, l := range bk.Asks {
			s.Asks += l.Orders
		}
		for _, l := range bk.Bids {
			s.Bids += l.Orders
			s.BlocksBid += l.Blocks
		}
		if len(bk.Asks) > 0 {
			s.BestAsk = bk.Asks[0].Price
		}
		if len(bk.Bids) > 0 {
			s.BestBid = bk.Bids[0].Price
		}
		out = append(out, s)
	}
	return out, nil
}

// AuctionBook returns class c's book: the open asks c matches and the open bids naming c,
// aggregated by price.
func AuctionBook(kv ipledger.KV, c ipledger.AuctionClass) (*ipledger.Book, error) {
	asks, bids, err := openOrders(kv)
	if err != nil {
		return nil, err
	}
	return bookOf(c, asks, bids), nil
}

func bookOf(c ipledger.AuctionClass, asks []*ipledger.Ask, bids []*ipledger.Bid) *ipledger.Book {
	bk := &ipledger.Book{Class: c.String(), Units: c.BlockUnits(), Asks: []ipledger.BookLevel{}, Bids: []ipledger.BookLevel{}}
	at := map[[2]uint64]int{} // (side, price) → index in its side's levels
	level := func(ls []ipledger.BookLevel, side, price, blocks uint64) []ipledger.BookLevel {
		if i, ok := at[[2]uint64{side, price}]; ok {
			ls[i].Orders++
			ls[i].Blocks += blocks
			return ls
		}
		at[[2]uint64{side, price}] = len(ls)
		return append(ls, ipledger.BookLevel{Price: price, Orders: 1, Blocks: blocks})
	}
	for _, a := range asks {
		if c.Matches(a.Class) {
			bk.Asks = level(bk.Asks, 0, a.MinPrice, 1)
		}
	}
	for _, b := range bids {
		if b.Class == c {
			bk.Bids = level(bk.Bids, 1, b.Limit, b.Quantity-b.Matched)
		}
	}
	slices.SortFunc(bk.Asks, func(x, y ipledger.BookLevel) int { return cmp.Compare(x.Price, y.Price) })
	slices.SortFunc(bk.Bids, func(x, y ipledger.BookLevel) int { return cmp.Compare(y.Price, x.Price) })
	return bk
}
