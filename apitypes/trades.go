package apitypes

import "github.com/ipledger/ipledger"

// TradeList answers GET /v1/market/trades: trades in the order they settled, after the
// ?after= id, at most ?limit= (MaxMarketList) of them; Next is the id to ask after for
// more when Truncated.
type TradeList struct {
	Height    int64            `json:"height"`
	Trades    []ipledger.Trade `json:"trades"`
	Truncated bool             `json:"truncated,omitempty"`
	Next      uint64           `json:"next,omitempty"`
}

// ListingList answers GET /v1/market/listings: open and pending listings (?all=true: closed
// ones too), in id order.
type ListingList struct {
	Height    int64              `json:"height"`
	Listings  []ipledger.Listing `json:"listings"`
	Truncated bool               `json:"truncated,omitempty"`
}
