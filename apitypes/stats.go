package apitypes

import "github.com/ipledger/ipledger"

// MarketStats answers GET /v1/market/stats: the market's statistics at Height (package
// market computes them from the committed trades, leases, listings and holdings).
type MarketStats struct {
	Height int64      `json:"height"`
	Rows   []StatsRow `json:"rows"`
}

// StatsRow is the statistics of one family (IPv4 per address, IPv6 per /48 contained, AS
// numbers per number), over one class or all of them (Class empty) and one UTC day or every
// day (Day empty). Prices are settlement credits per unit, integers rounded down.
type StatsRow struct {
	Family string `json:"family"`
	Class  string `json:"class,omitempty"` // "ipv4/24", "ipv6/32", "asn", "ipv4/range"; empty: all
	Day    string `json:"day,omitempty"`   // YYYY-MM-DD (UTC, block time); empty: every day

	// Priced sales (venues listing, swap and the class auctions).
	Trades uint64 `json:"trades"`
	Units  uint64 `json:"units"`  // units sold
	Volume uint64 `json:"volume"` // Σ price of the sales with units, credits (saturates)
	// VWAP is Σ price ÷ Σ units over the sales with units: each sale's price is for its
	// whole block, so this is Σ(price per unit × units) ÷ Σ units without per-sale rounding.
	VWAP uint64 `json:"vwap"`
	// MedianPrice is the median price per unit of the sales with units (the lower middle
	// of an even count).
	MedianPrice uint64 `json:"median_price"`

	// Plain co-signed transfers: unpriced, counted here and in no price.
	Transfers     uint64 `json:"transfers"`
	TransferUnits uint64 `json:"transfer_units"`

	// UnitsHeld is the family's units held by organisations (allocations and assignments
	// from a registry, each unit once) at the answer's height, for every row of the family.
	// Turnover is the rational Units ÷ UnitsHeld; TurnoverBP is it in basis points,
	// rounded down.
	UnitsHeld  uint64 `json:"units_held"`
	TurnoverBP uint64 `json:"turnover_bp"`

	// Lease starts (venue "lease") and their prices per unit per 30 days (2,592,000 s).
	Leases      uint64 `json:"leases"`
	LeaseUnits  uint64 `json:"lease_units"`
	MedianLease uint64 `json:"median_lease"`
	// LeaseYieldBP is 12 × MedianLease ÷ MedianPrice in basis points, rounded down; 0
	// when either median is missing.
	LeaseYieldBP uint64 `json:"lease_yield_bp"`

	// Open asks and bids at the answer's height: open listings and class auctions' open
	// asks; listings with a standing bid and class auctions' open bids (one each,
	// whatever its quantity). Given on the rows of every day (Day empty) only.
	OpenAsks uint64 `json:"open_asks"`
	OpenBids uint64 `json:"open_bids"`
}

// LeaseStartList answers GET /v1/market/trades?venue=lease: every lease start, public like
// a trade, in lease id order after ?after=, at most ?limit=; Next as TradeList's.
type LeaseStartList struct {
	Height    int64        `json:"height"`
	Leases    []LeaseStart `json:"leases"`
	Truncated bool         `json:"truncated,omitempty"`
	Next      uint64       `json:"next,omitempty"`
}

// LeaseStart is the public record of a lease's start.
type LeaseStart struct {
	ID       uint64            `json:"id"`   // the lease
	Time     int64             `json:"time"` // block time, Unix seconds
	Height   int64             `json:"height,omitempty"`
	Venue    string            `json:"venue"` // "lease"
	Resource ipledger.Resource `json:"resource"`
	Family   string            `json:"family"`
	Class    string            `json:"class"`
	Lessor   string            `json:"lessor"`
	Lessee   string            `json:"lessee"`
	Units    uint64            `json:"units"`
	// PricePerUnitMonth is the lease's price per unit per 30 days, rounded down; 0
	// without units.
	PricePerUnitMonth uint64 `json:"price_per_unit_month"`
}
