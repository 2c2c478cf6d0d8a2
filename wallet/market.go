package wallet

import (
	"fmt"
	"strings"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/web"
)

// The market's actions: list a block for sale, bid on a listing, cancel a listing without
// bids, and sell a block by swap (the buyer co-signs the exported file). Each proves what
// it touches before its confirm page, as the leasing actions do.

func init() {
	actions = append(actions, marketActions...)
}

var fListing = web.Field{Name: "listing", Label: "Listing number", Type: "number"}

var marketActions = []*action{
	{name: "list", label: "List the block for sale", kind: ipledger.KindList,
		fields: []web.Field{fResource,
			{Name: "reserve", Label: "Reserve (the lowest price for the whole block), in credits", Type: "number"},
			{Name: "min_increment", Label: "Least raise over the highest bid, in credits", Type: "number", Value: "1"},
			{Name: "hours", Label: "Runs for (hours of block time)", Type: "number", Value: "72"}},
		parse: func(f *form) any {
			return ipledger.ListBody{Resource: f.resource("resource"), Reserve: f.uint("reserve"), MinIncrement: f.uint("min_increment"),
				End: f.now.Add(time.Duration(f.uint("hours")) * time.Hour).Unix()}
		},
		prove: func(pv *prover, as string, body any) (string, []string, error) {
			b := body.(ipledger.ListBody)
			h, err := pv.heldBy(b.Resource, as)
			if err != nil {
				return "", nil, err
			}
			return fmt.Sprintf("none now; the block sells to the highest bid of at least %d credits when the listing ends at %s (block time)", b.Reserve, unixUTC(b.End)),
				[]string{heldFact(b.Resource, h)}, nil
		}},
	{name: "bid", label: "Bid", kind: ipledger.KindBid,
		fields: []web.Field{fListing, {Name: "amount", Label: "Bid for the whole block, in credits", Type: "number"},
			{Name: "asn", Label: "Origin AS to authorise if the bid wins (optional)", Type: "text"}},
		parse: func(f *form) any {
			b := ipledger.BidBody{Listing: f.uint("listing"), Amount: f.uint("amount")}
			if f.str("asn") != "" {
				b.ASN = f.asn("asn")
			}
			return b
		},
		prove: func(pv *prover, as string, body any) (string, []string, error) {
			b := body.(ipledger.BidBody)
			l, err := ledger.ListingByID(pv, b.Listing)
			if err != nil {
				return "", nil, err
			}
			if l == nil || l.State != ipledger.ListingOpen {
				return "", nil, fmt.Errorf("no open listing %d (proved at height %d)", b.Listing, pv.height)
			}
			if l.Seller == as {
				return "", nil, fmt.Errorf("listing %d is %s's own", l.ID, as)
			}
			fact := fmt.Sprintf("listing %d: %s from %s, reserve %d credits, %d bids, ends %s (block time)", l.ID, l.Resource, l.Seller, l.Reserve, l.Bids, unixUTC(l.End))
			if l.HighBid > 0 {
				fact += fmt.Sprintf("; the highest bid is %d by %s, to beat by at least %d", l.HighBid, l.HighBidder, l.MinIncrement)
			}
			bal, err := free(pv, as, b.Amount)
			return fmt.Sprintf("holds %d credits of your balance until you are outbid (then they are free again) or the listing settles (then they pay for the block)", b.Amount),
				[]string{fact, bal}, err
		}},
	{name: "cancel-listing", label: "Cancel the listing", kind: ipledger.KindCancelListing, fields: []web.Field{fListing},
		parse: func(f *form) any { return ipledger.CancelListingBody{Listing: f.uint("listing")} },
		prove: func(pv *prover, as string, body any) (string, []string, error) {
			id := body.(ipledger.CancelListingBody).Listing
			l, err := proveOwned(pv, id, ledger.ListingByID, func(l *ipledger.Listing) string { return l.Seller }, as, "a listing")
			if err != nil {
				return "", nil, err
			}
			if l.State != ipledger.ListingOpen || l.Bids > 0 {
				return "", nil, fmt.Errorf("listing %d is %s with %d bids: only an open listing without bids can be cancelled", l.ID, l.State, l.Bids)
			}
			return "none", []string{fmt.Sprintf("listing %d of %s is open, without bids", l.ID, l.Resource)}, nil
		}},
	{name: "swap", label: "Sell the block by swap (the buyer co-signs)", kind: ipledger.KindSwap,
		fields: []web.Field{fResource, {Name: "buyer", Label: "Buyer (organisation handle)", Type: "text"},
			{Name: "price", Label: "Price for the whole block, in credits", Type: "number"},
			{Name: "asn", Label: "Origin AS to authorise for the buyer (optional)", Type: "text"}},
		parse: func(f *form) any {
			b := ipledger.SwapBody{Resource: f.resource("resource"), Buyer: strings.ToUpper(f.str("buyer")), Price: f.uint("price")}
			if f.str("asn") != "" {
				b.ASN = f.asn("asn")
			}
			return b
		},
		prove: func(pv *prover, as string, body any) (string, []string, error) {
			return swapFacts(pv, as, body.(ipledger.SwapBody), false)
		}},
}

// swapFacts proves what a swap touches: the block held by the seller, the buyer on the
// chain and, for the buyer's signature, the credits it pays.
func swapFacts(pv *prover, seller string, b ipledger.SwapBody, buyerSigns bool) (string, []string, error) {
	h, err := pv.heldBy(b.Resource, seller)
	if err != nil {
		return "", nil, err
	}
	buyer, err := pv.org(b.Buyer)
	if err != nil {
		return "", nil, err
	}
	facts := []string{heldFact(b.Resource, h), fmt.Sprintf("the buyer %s is %s", buyer.Handle, buyer.Name)}
	if !buyerSigns {
		return fmt.Sprintf("%s pays %d credits to %s for the block once it co-signs", b.Buyer, b.Price, seller), facts, nil
	}
	bal, err := free(pv, b.Buyer, b.Price)
	return fmt.Sprintf("pays %d credits to %s for %s", b.Price, seller, b.Resource), append(facts, bal), err
}

// free proves the balance of org and what its bids hold: its fact, or an error when what
// is free falls short of amount.
func free(pv *prover, org string, amount uint64) (string, error) {
	bal, err := ledger.Balance(pv, org)
	if err != nil {
		return "", err
	}
	held, err := ledger.Held(pv, org)
	if err != nil {
		return "", err
	}
	fact := fmt.Sprintf("%s's balance is %d credits, %d of them held by its bids and purchases", org, bal, held)
	if held > bal || amount > bal-held {
		return fact, fmt.Errorf("it needs %d credits free and %s", amount, fact)
	}
	return fact, nil
}

func unixUTC(s int64) string { return time.Unix(s, 0).UTC().Format("2006-01-02 15:04 UTC") }
