package ipledger

import "time"

// The market's objects and bodies: listings of one holding with open ascending bids,
// bilateral swaps, sales waiting out a challenge window, and the trade records every
// settlement writes. Prices are settlement credits for the whole block; per-unit prices
// are derived (Units): IPv4 per address, IPv6 per /48 contained, AS numbers per number.

// ListingState is where a listing is in its life.
type ListingState string

// Listing states. A closed listing stays on the ledger as a record.
const (
	ListingOpen      ListingState = "open"      // taking bids until End
	ListingPending   ListingState = "pending"   // sold, a large sale waiting out its challenge window (Sale)
	ListingSold      ListingState = "sold"      // settled; Trade names the trade
	ListingExpired   ListingState = "expired"   // ended without a bid
	ListingCancelled ListingState = "cancelled" // withdrawn by the seller before any bid, or its sale cancelled
)

// Listing offers one block for sale to the highest bid at or above Reserve by End (block
// time, Unix seconds); a bid in the soft-close window before End moves End on.
type Listing struct {
	ID           uint64       `json:"id"`
	Seller       string       `json:"seller"`
	Resource     Resource     `json:"resource"`
	Depth        int          `json:"depth"`         // depth of the seller's holding the block is in
	Reserve      uint64       `json:"reserve"`       // the lowest price it sells for
	MinIncrement uint64       `json:"min_increment"` // a bid beats the highest by at least this
	End          int64        `json:"end"`
	Created      time.Time    `json:"created"`
	Bids         int          `json:"bids"`
	HighBidder   string       `json:"high_bidder,omitempty"`
	HighBid      uint64       `json:"high_bid,omitempty"`
	HighASN      uint32       `json:"high_asn,omitempty"` // the AS number the highest bid authorises
	State        ListingState `json:"state"`
	Sale         uint64       `json:"sale,omitempty"`  // the pending sale of a large block
	Trade        uint64       `json:"trade,omitempty"` // the trade it settled in
}

// Sale is a large sale (at least the chain's large-sale size) that settles only after the
// challenge window, during which any key of the seller may cancel it (KindCancelSale). The
// buyer's credits are held and the block encumbered until then.
type Sale struct {
	ID       uint64    `json:"id"`
	Venue    string    `json:"venue"`           // "listing", "swap" or "auction"
	Class    string    `json:"class,omitempty"` // an auction's class
	Listing  uint64    `json:"listing,omitempty"`
	Seller   string    `json:"seller"`
	Buyer    string    `json:"buyer"`
	Resource Resource  `json:"resource"`
	Depth    int       `json:"depth"`
	Price    uint64    `json:"price"`
	ASN      uint32    `json:"asn,omitempty"`
	Created  time.Time `json:"created"`
	Settles  int64     `json:"settles"` // Unix seconds: the end of the challenge window
	State    string    `json:"state"`   // "pending", "settled", "cancelled", "failed"
	Trade    uint64    `json:"trade,omitempty"`
}

// Trade is the public record of one change of holder: a settled sale (venue "listing",
// "swap" or "auction") or a plain co-signed transfer (venue "transfer", unpriced: Price 0).
type Trade struct {
	ID             uint64   `json:"id"`
	Time           int64    `json:"time"` // block time, Unix seconds
	Height         int64    `json:"height"`
	Venue          string   `json:"venue"`
	Ref            string   `json:"ref,omitempty"`   // "listing/N", "sale/N", "fill/N"
	Class          string   `json:"class,omitempty"` // an auction's class (AuctionClass.String)
	Resource       Resource `json:"resource"`
	Family         string   `json:"family"` // "ipv4", "ipv6", "asn"
	Seller         string   `json:"seller"`
	Buyer          string   `json:"buyer"`
	Price          uint64   `json:"price"`
	Fee            uint64   `json:"fee"`
	Units          uint64   `json:"units"`          // addresses (IPv4), /48s (IPv6), numbers (AS)
	PricePerUnit   uint64   `json:"price_per_unit"` // Price ÷ Units, rounded down; 0 without units
	SubjectToLease bool     `json:"subject_to_lease,omitempty"`
}

// Units returns the market's quantity of r: IPv4 addresses, the /48s an IPv6 prefix
// contains (0 for one longer than /48 or a range that is not a prefix), AS numbers.
func Units(r Resource) uint64 {
	if r.Family() == IPv6 {
		p, ok := r.Prefix()
		if !ok || p.Bits() > 48 {
			return 0
		}
		return 1 << (48 - p.Bits())
	}
	n, _ := r.Size() // IPv4 and AS ranges hold at most 2^32 numbers
	return n
}

// ListBody lists Resource, inside a holding of the signer, until End (Unix seconds).
type ListBody struct {
	Resource     Resource `json:"resource"`
	Reserve      uint64   `json:"reserve"`
	MinIncrement uint64   `json:"min_increment,omitempty"`
	End          int64    `json:"end"`
}

// BidBody bids Amount on Listing, holding it from the signer's balance until outbid or
// settled; ASN, if not 0, is authorised to originate the block when the bid wins.
type BidBody struct {
	Listing uint64 `json:"listing"`
	Amount  uint64 `json:"amount"`
	ASN     uint32 `json:"asn,omitempty"`
}

// CancelListingBody withdraws a listing that has no bid.
type CancelListingBody struct {
	Listing uint64 `json:"listing"`
}

// SwapBody sells Resource from the first signer to Buyer, the second signer, for Price in
// one transaction; ASN, if not 0, is authorised for the buyer.
type SwapBody struct {
	Resource Resource `json:"resource"`
	Buyer    string   `json:"buyer"`
	Price    uint64   `json:"price"`
	ASN      uint32   `json:"asn,omitempty"`
}

// CancelSaleBody cancels a large sale in its challenge window; any key of the seller signs.
type CancelSaleBody struct {
	Sale uint64 `json:"sale"`
}
