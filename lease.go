package ipledger

import (
	"net/netip"
	"time"
)

// Settlement credits, route authorisations, lease offers and leases: the objects of the
// leasing market, and the transaction bodies that change them. Amounts are integers of the
// network's settlement credit; there are no floats anywhere in money. Times are block
// times in Unix seconds.

// Limits of the leasing objects, enforced by the ledger.
const (
	MaxPeriodSeconds = 10 * 366 * 24 * 3600 // a lease period is at most ten years
	MaxPeriods       = 1200                 // a lease term is at most this many periods
	MaxGeoField      = 128                  // bytes of a geofeed region or city
)

// RouteAuth is a route origin authorisation (the ledger's ROA): the holder of a prefix lets
// ASN originate it and its more-specifics down to MaxLength. ASN 0 authorises nobody
// (RFC 6483 §4): the ledger places AS0 authorisations over a block whose lease ended, so the
// old route turns Invalid rather than NotFound.
type RouteAuth struct {
	ID        uint64       `json:"id"`
	Prefix    netip.Prefix `json:"prefix"`
	MaxLength int          `json:"max_length"`
	ASN       uint32       `json:"asn"`
	Holder    string       `json:"holder"`            // who created it (or whose lease did)
	Expires   int64        `json:"expires,omitempty"` // Unix seconds; 0 = no expiry
	Lease     uint64       `json:"lease,omitempty"`   // the lease that placed it (lessee's, or AS0 after it)
	Case      uint64       `json:"case,omitempty"`    // the abuse case whose action placed it (AS0); it goes with the case
	Created   time.Time    `json:"created"`
}

// Offer is a holder's standing offer to lease a block. While it stands the block is
// encumbered: it cannot be transferred, returned, assigned or offered again.
type Offer struct {
	ID         uint64   `json:"id"`
	Lessor     string   `json:"lessor"`
	Resource   Resource `json:"resource"`
	Depth      int      `json:"depth"`  // depth of the lessor's holding the block is in
	Price      uint64   `json:"price"`  // per address per period (IPv4), per block per period (IPv6)
	Period     int64    `json:"period"` // seconds
	MinPeriods int      `json:"min_periods"`
	MaxPeriods int      `json:"max_periods"`
	Renewable  bool     `json:"renewable,omitempty"`
	// BondPeriods is the lessee bond the offer requires, in periods of rent (issue 18).
	BondPeriods int       `json:"bond_periods,omitempty"`
	Created     time.Time `json:"created"`
}

// LeaseState is where a lease is in its life.
type LeaseState string

// Lease states. An ended lease stays on the ledger as a record.
const (
	LeaseActive LeaseState = "active" // paid up to its next boundary
	LeaseGrace  LeaseState = "grace"  // a payment failed; it ends at GraceUntil unless paid
	LeaseEnded  LeaseState = "ended"
)

// Lease is a running or past lease of a block from a lessor to a lessee. The period starting
// at Start+k·Period is paid at that boundary, by the first block at or after it; the first
// period is paid with the start. While the lease runs the block is a LEASED holding of the
// lessee, and the lessee's authorisation for ASN is the only one that covers it.
type Lease struct {
	ID             uint64     `json:"id"`
	Offer          uint64     `json:"offer"`
	Lessor         string     `json:"lessor"`
	Lessee         string     `json:"lessee"`
	Resource       Resource   `json:"resource"`
	Depth          int        `json:"depth"`   // depth of the lessor's holding; the LEASED one is one deeper
	Holding        uint64     `json:"holding"` // the LEASED holding while it runs
	ASN            uint32     `json:"asn"`
	PricePerPeriod uint64     `json:"price_per_period"` // for the whole block
	Period         int64      `json:"period"`
	Start          int64      `json:"start"`   // Unix seconds
	Periods        int        `json:"periods"` // agreed term; renewal extends it
	Paid           int        `json:"paid"`    // periods paid so far
	Renewable      bool       `json:"renewable,omitempty"`
	MinPeriods     int        `json:"min_periods"`
	MaxPeriods     int        `json:"max_periods"`
	Terminating    bool       `json:"terminating,omitempty"` // the lessee ends it at Periods
	Due            int64      `json:"due,omitempty"`         // when it is next settled; 0 once ended
	State          LeaseState `json:"state"`
	GraceUntil     int64      `json:"grace_until,omitempty"`
	Ended          int64      `json:"ended,omitempty"`
	EndReason      string     `json:"end_reason,omitempty"` // "expired", "terminated", "unpaid"
	// Bond is the lessee bond held from the lessee's credits; BondCase the abuse case that
	// forfeited it (it then stays held until that case closes).
	Bond     uint64 `json:"bond,omitempty"`
	BondCase uint64 `json:"bond_case,omitempty"`
}

// End returns the time the agreed term ends: Start + Periods·Period.
func (l *Lease) End() int64 { return l.Start + int64(l.Periods)*l.Period }

// Geo is a geolocation an organisation publishes for a block it holds (RFC 8805 fields).
type Geo struct {
	Resource Resource `json:"resource"`
	Holder   string   `json:"holder"`
	Country  string   `json:"country"`          // ISO 3166-1 alpha-2
	Region   string   `json:"region,omitempty"` // ISO 3166-2, e.g. "US-CA"
	City     string   `json:"city,omitempty"`
}

// MintBody credits Amount to To; signed by a settlement agent.
type MintBody struct {
	To     string `json:"to"`
	Amount uint64 `json:"amount"`
}

// BurnBody destroys Amount of the signing settlement agent's own balance (credits redeemed:
// a holder pays them to the agent first).
type BurnBody struct {
	Amount uint64 `json:"amount"`
}

// PayBody moves Amount from the signer to To.
type PayBody struct {
	To     string `json:"to"`
	Amount uint64 `json:"amount"`
}

// AuthoriseBody creates a route authorisation; Expires is Unix seconds, 0 for none.
type AuthoriseBody struct {
	Prefix    netip.Prefix `json:"prefix"`
	MaxLength int          `json:"max_length"`
	ASN       uint32       `json:"asn"`
	Expires   int64        `json:"expires,omitempty"`
}

// WithdrawAuthBody deletes route authorisation ID.
type WithdrawAuthBody struct {
	ID uint64 `json:"id"`
}

// OfferBody offers Resource, inside a holding of the signer, for lease.
type OfferBody struct {
	Resource   Resource `json:"resource"`
	Price      uint64   `json:"price"`
	Period     int64    `json:"period"`
	MinPeriods int      `json:"min_periods"`
	MaxPeriods int      `json:"max_periods"`
	Renewable  bool     `json:"renewable,omitempty"`
	// BondPeriods requires a lessee bond of that many periods of rent, held from the
	// lease's start and released at its end unless a decision went against the lessee.
	BondPeriods int `json:"bond_periods,omitempty"`
}

// WithdrawOfferBody withdraws an untaken offer.
type WithdrawOfferBody struct {
	Offer uint64 `json:"offer"`
}

// LeaseBody takes Offer for Periods periods, the lessee's ASN originating the block. The
// first period is paid from the signer's balance in the same transaction.
type LeaseBody struct {
	Offer   uint64 `json:"offer"`
	ASN     uint32 `json:"asn"`
	Periods int    `json:"periods"`
}

// RenewBody extends a renewable lease by Periods periods (the term stays within the
// offer's maximum).
type RenewBody struct {
	Lease   uint64 `json:"lease"`
	Periods int    `json:"periods"`
}

// TerminateBody ends a lease early, at the end of its last paid period (not before its
// minimum term).
type TerminateBody struct {
	Lease uint64 `json:"lease"`
}

// SetGeoBody publishes (or, with an empty Country, removes) the geolocation of Resource,
// which must lie in the deepest holding of the signer that contains it.
type SetGeoBody struct {
	Resource Resource `json:"resource"`
	Country  string   `json:"country,omitempty"`
	Region   string   `json:"region,omitempty"`
	City     string   `json:"city,omitempty"`
}
