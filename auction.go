package ipledger

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Class auctions: asks of whole CIDR-aligned holdings and bids for a quantity of blocks of a
// class, cleared every batch interval at one uniform price per unit (IPv4 per address, IPv6
// per /48 contained).

// AuctionClass is a class of interchangeable blocks: family, prefix length, registry,
// registration country and reputation grade. An ask's class is concrete; a bid's Registry
// and Country may be empty for "any". The zero AuctionClass is not valid.
type AuctionClass struct {
	Family   Family
	Bits     int
	Registry string // the registry whose pool the block is in; "" for any (bids only)
	Country  string // the holding's registration country, "ZZ" when it has none; "" for any (bids only)
	Grade    string // "A", "B" or "C" (the passport's grade)
}

// AnyClassField is the string form of a class field a bid leaves open.
const AnyClassField = "any"

// NoCountry is the registration country of a class whose holding records none.
const NoCountry = "ZZ"

// String returns the class as family-bits-registry-country-grade, e.g. "ipv4-24-RIPE-NCC-NL-A"
// or "ipv4-22-any-any-A"; ParseAuctionClass reads it back.
func (c AuctionClass) String() string {
	reg, cc := c.Registry, c.Country
	if reg == "" {
		reg = AnyClassField
	}
	if cc == "" {
		cc = AnyClassField
	}
	return c.Family.String() + "-" + strconv.Itoa(c.Bits) + "-" + reg + "-" + cc + "-" + c.Grade
}

// Concrete reports whether c names its registry and country (an ask's class).
func (c AuctionClass) Concrete() bool { return c.Registry != "" && c.Country != "" }

// Matches reports whether a block of the concrete class ask is in c.
func (c AuctionClass) Matches(ask AuctionClass) bool {
	return c.Family == ask.Family && c.Bits == ask.Bits && c.Grade == ask.Grade &&
		(c.Registry == "" || c.Registry == ask.Registry) && (c.Country == "" || c.Country == ask.Country)
}

// BlockUnits returns the units of one block of the class: 2^(32−bits) IPv4 addresses or
// 2^(48−bits) IPv6 /48s; 0 for a class auctions do not trade (AS numbers, IPv6 longer
// than /48).
func (c AuctionClass) BlockUnits() uint64 {
	switch {
	case c.Family == IPv4 && c.Bits >= 0 && c.Bits <= 32:
		return 1 << (32 - c.Bits)
	case c.Family == IPv6 && c.Bits >= 0 && c.Bits <= 48:
		return 1 << (48 - c.Bits)
	}
	return 0
}

// ParseAuctionClass parses a class's string form (String). The registry may contain
// hyphens: it is what lies between the prefix length and the last two fields.
func ParseAuctionClass(s string) (AuctionClass, error) {
	f := strings.Split(s, "-")
	if len(f) < 5 {
		return AuctionClass{}, fmt.Errorf("class %q: want family-bits-registry-country-grade", s)
	}
	var c AuctionClass
	switch f[0] {
	case "ipv4":
		c.Family = IPv4
	case "ipv6":
		c.Family = IPv6
	default:
		return AuctionClass{}, fmt.Errorf("class %q: family %q is not ipv4 or ipv6", s, f[0])
	}
	bits, err := strconv.Atoi(f[1])
	if err != nil || f[1] != strconv.Itoa(bits) {
		return AuctionClass{}, fmt.Errorf("class %q: bad prefix length %q", s, f[1])
	}
	c.Bits = bits
	if c.BlockUnits() == 0 {
		return AuctionClass{}, fmt.Errorf("class %q: /%d is not an auctioned prefix length of %s", s, bits, c.Family)
	}
	for _, x := range f {
		if x == "" {
			return AuctionClass{}, fmt.Errorf("class %q: an empty field", s)
		}
	}
	if reg := strings.Join(f[2:len(f)-2], "-"); reg != AnyClassField {
		if !ValidHandle(reg) {
			return AuctionClass{}, fmt.Errorf("class %q: bad registry %q", s, reg)
		}
		c.Registry = reg
	}
	if cc := f[len(f)-2]; cc != AnyClassField {
		if !ValidCountry(cc) && cc != NoCountry {
			return AuctionClass{}, fmt.Errorf("class %q: bad country %q", s, cc)
		}
		c.Country = cc
	}
	switch g := f[len(f)-1]; g {
	case "A", "B", "C":
		c.Grade = g
	default:
		return AuctionClass{}, fmt.Errorf("class %q: grade %q is not A, B or C", s, g)
	}
	return c, nil
}

// MarshalText implements encoding.TextMarshaler (String).
func (c AuctionClass) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (ParseAuctionClass).
func (c *AuctionClass) UnmarshalText(b []byte) error { return setParsed(c, ParseAuctionClass, b) }

// Order states of asks and bids in class auctions.
const (
	OrderOpen      = "open"      // in its book
	OrderMatched   = "matched"   // an ask matched at a clearing, its fill not yet settled
	OrderFilled    = "filled"    // every block of it filled (an ask: sold)
	OrderCancelled = "cancelled" // withdrawn by its owner
	OrderExpired   = "expired"   // a bid past its expiry
	OrderFailed    = "failed"    // an ask whose settlement the rules refused
	OrderRegraded  = "regraded"  // an ask whose block's grade changed: it left the book
)

// Ask offers one whole holding in its class at MinPrice or more per unit. Its ID is the
// hash of the transaction that placed it.
type Ask struct {
	ID       Hash         `json:"id"`
	Seller   string       `json:"seller"`
	Class    AuctionClass `json:"class"`
	Resource Resource     `json:"resource"`
	Depth    int          `json:"depth"`
	MinPrice uint64       `json:"min_price"` // credits per unit
	Created  time.Time    `json:"created"`
	State    string       `json:"state"`
	Fill     uint64       `json:"fill,omitempty"` // the fill that took it
}

// Bid asks for Quantity blocks of a class at Limit or less per unit until Expiry (block
// time, Unix seconds). Its ID is the hash of the transaction that placed it. Held is what
// of the bidder's credits it holds now: Limit × units × the blocks neither matched nor
// given up, plus the blocks matched and not yet settled.
type Bid struct {
	ID       Hash         `json:"id"`
	Bidder   string       `json:"bidder"`
	Class    AuctionClass `json:"class"`
	Quantity uint64       `json:"quantity"`
	Limit    uint64       `json:"limit"` // credits per unit
	Expiry   int64        `json:"expiry"`
	ASN      uint32       `json:"asn,omitempty"`
	Created  time.Time    `json:"created"`
	Matched  uint64       `json:"matched"` // blocks matched at clearings
	Filled   uint64       `json:"filled"`  // blocks settled
	Held     uint64       `json:"held"`
	State    string       `json:"state"`
}

// Fill is one block matched at a clearing: the ask's block to the bid's bidder at the
// clearing price, settled through the due-queue (State "pending", then "settled" with its
// Trade or, for a block of the large-sale size, its pending Sale; or "failed").
type Fill struct {
	ID           uint64       `json:"id"`
	Time         int64        `json:"time"` // the clearing's block time
	Class        AuctionClass `json:"class"`
	Ask          Hash         `json:"ask"`
	Bid          Hash         `json:"bid"`
	Seller       string       `json:"seller"`
	Buyer        string       `json:"buyer"`
	Resource     Resource     `json:"resource"`
	PricePerUnit uint64       `json:"price_per_unit"`
	State        string       `json:"state"`
	Trade        uint64       `json:"trade,omitempty"` // the trade it settled in
	Sale         uint64       `json:"sale,omitempty"`  // the pending sale of a large block
}

// AskBody asks Resource, a whole CIDR-aligned holding of the signer without sub-holdings,
// in its class at MinPrice or more per unit.
type AskBody struct {
	Resource Resource `json:"resource"`
	MinPrice uint64   `json:"min_price"`
}

// OrderBody bids for Quantity blocks of Class at Limit or less per unit until Expiry
// (Unix seconds); ASN, if not 0, is authorised on every block it buys.
type OrderBody struct {
	Class    AuctionClass `json:"class"`
	Quantity uint64       `json:"quantity"`
	Limit    uint64       `json:"limit"`
	Expiry   int64        `json:"expiry"`
	ASN      uint32       `json:"asn,omitempty"`
}

// CancelOrderBody withdraws an open ask or the open remainder of a bid, by its id.
type CancelOrderBody struct {
	Order Hash `json:"order"`
}

// BookSummary is one class's book in brief: the open asks the class matches (for a class
// naming "any", the asks of every class it matches), the open bids naming the class, the
// blocks they still ask for, and the best prices per unit (0 when there is none).
type BookSummary struct {
	Class     string `json:"class"`
	Asks      int    `json:"asks"`
	Bids      int    `json:"bids"`
	BlocksBid uint64 `json:"blocks_bid"`
	BestAsk   uint64 `json:"best_ask,omitempty"` // the lowest minimum price
	BestBid   uint64 `json:"best_bid,omitempty"` // the highest limit
}

// BookLevel is the open orders of a book at one price per unit.
type BookLevel struct {
	Price  uint64 `json:"price"`
	Orders int    `json:"orders"`
	Blocks uint64 `json:"blocks"`
}

// Book is a class's book aggregated by price: asks from the lowest price up, bids from the
// highest down, with the units of one block of the class.
type Book struct {
	Class string      `json:"class"`
	Units uint64      `json:"units"`
	Asks  []BookLevel `json:"asks"`
	Bids  []BookLevel `json:"bids"`
}

// MustParseAuctionClass is ParseAuctionClass that panics on an error; for tests and
// constants.
func MustParseAuctionClass(s string) AuctionClass {
	c, err := ParseAuctionClass(s)
	if err != nil {
		panic(err)
	}
	return c
}
