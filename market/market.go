// Package market computes the market's public statistics from a committed state: per
// family (IPv4 per address, IPv6 per /48 contained, AS numbers per number), per class and
// UTC day and overall, the VWAP, trades, units traded, turnover, open asks and bids and the
// lease yield of issue 16. It reads the state through ledger's pure queries only (the read
// seam: no node, store or CometBFT), so the node's API and the audit's replay compute the
// same figures from the same state. Integers throughout, rounding down.
package market

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ledger"
)

// Month is the block-time length lease prices are normalised to: 30 days.
const Month = 30 * 24 * 3600

// VenueLease is the venue of a lease start where trades are listed.
const VenueLease = "lease"

// dayLayout is a UTC day as the statistics name it.
const dayLayout = "2006-01-02"

// Class returns the statistics' class of a block: its family and prefix length
// ("ipv4/24", "ipv6/32"), "ipv4/range" or "ipv6/range" for a range that is not one
// prefix, and "asn" for AS numbers. A class auction's finer classes (registry, country,
// grade: ipledger.AuctionClass) count in the class of their prefix length; a trade's
// record names its auction class.
func Class(r ipledger.Resource) string {
	f := r.Family()
	if f == ipledger.ASN {
		return f.String()
	}
	if p, ok := r.Prefix(); ok {
		return f.String() + "/" + strconv.Itoa(p.Bits())
	}
	return f.String() + "/range"
}

// Day returns the UTC day of a block time in Unix seconds, as YYYY-MM-DD.
func Day(unix int64) string { return time.Unix(unix, 0).UTC().Format(dayLayout) }

// Filter selects the statistics' rows. The zero Filter selects every row.
type Filter struct {
	Family string // "ipv4", "ipv6", "asn"; empty: every family
	Class  string // as Class returns; empty: every class, and the rows of all classes
	From   string // first UTC day counted, YYYY-MM-DD; empty: from the start
	To     string // last UTC day counted; empty: to the end
}

// Check reports a filter the statistics cannot answer: an unknown family, a day not in
// YYYY-MM-DD form, a class longer than 32 bytes.
func (f Filter) Check() error {
	switch f.Family {
	case "", "ipv4", "ipv6", "asn":
	default:
		return fmt.Errorf("family %.20q: ipv4, ipv6 or asn", f.Family)
	}
	if len(f.Class) > 32 {
		return errors.New("class: at most 32 bytes")
	}
	for _, d := range []string{f.From, f.To} {
		if _, err := time.Parse(dayLayout, d); d != "" && err != nil {
			return fmt.Errorf("day %.20q: want YYYY-MM-DD", d)
		}
	}
	return nil
}

// Data is what the statistics are computed from, read from one state by Read. It is not
// modified by Stats, so one Data may answer many filters concurrently.
type Data struct {
	Trades []ipledger.Trade
	Leases []apitypes.LeaseStart
	Open   []Open
	// Held is the units held by organisations per family ("ipv4"): the depth-1 holdings
	// (a registry's allocations and assignments, which never overlap) except a registry's
	// own pool space marked available or reserved.
	Held map[string]uint64
}

// Open is one open order: a listing taking bids (an ask; Bid when a bid stands on it), a
// class auction's open ask, or its open bid (Bid and NoAsk).
type Open struct {
	Family, Class string
	Bid           bool
	NoAsk         bool
}

// Read reads the trades, lease starts, open listings and units held of a state.
func Read(kv ipledger.KV) (*Data, error) {
	d := &Data{Held: map[string]uint64{}}
	if err := ledger.Trades(kv, func(t *ipledger.Trade) bool { d.Trades = append(d.Trades, *t); return true }); err != nil {
		return nil, fmt.Errorf("market statistics: trades: %w", err)
	}
	if err := ledger.Leases(kv, func(l *ipledger.Lease) bool { d.Leases = append(d.Leases, LeaseStartOf(l)); return true }); err != nil {
		return nil, fmt.Errorf("market statistics: leases: %w", err)
	}
	err := ledger.Listings(kv, func(l *ipledger.Listing) bool {
		if l.State == ipledger.ListingOpen {
			d.Open = append(d.Open, Open{Family: l.Resource.Family().String(), Class: Class(l.Resource), Bid: l.Bids > 0 && l.HighBid > 0})
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("market statistics: listings: %w", err)
	}
	err = ledger.Asks(kv, func(a *ipledger.Ask) bool {
		if a.State == ipledger.OrderOpen {
			d.Open = append(d.Open, Open{Family: a.Resource.Family().String(), Class: Class(a.Resource)})
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("market statistics: asks: %w", err)
	}
	err = ledger.Bids(kv, func(b *ipledger.Bid) bool {
		if b.State == ipledger.OrderOpen {
			d.Open = append(d.Open, Open{Family: b.Class.Family.String(), Class: b.Class.Family.String() + "/" + strconv.Itoa(b.Class.Bits), Bid: true, NoAsk: true})
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("market statistics: class bids: %w", err)
	}
	err = ledger.Holdings(kv, func(h *ipledger.Holding) bool {
		if h.Depth == 1 && h.Status != ipledger.StatusAvailable && h.Status != ipledger.StatusReserved {
			f := h.Resource.Family().String()
			d.Held[f] = satAdd(d.Held[f], ipledger.Units(h.Resource))
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("market statistics: holdings: %w", err)
	}
	return d, nil
}

// LeaseStartOf returns the public record of l's start (without its height, which the
// lease does not keep).
func LeaseStartOf(l *ipledger.Lease) apitypes.LeaseStart {
	s := apitypes.LeaseStart{ID: l.ID, Time: l.Start, Venue: VenueLease, Resource: l.Resource, Family: l.Resource.Family().String(),
		Class: Class(l.Resource), Lessor: l.Lessor, Lessee: l.Lessee, Units: ipledger.Units(l.Resource)}
	s.PricePerUnitMonth = MonthlyPerUnit(l.PricePerPeriod, l.Period, s.Units)
	return s
}

// MonthlyPerUnit returns a price per period for units, normalised to a Month and one
// unit: price × Month ÷ (period × units), rounded down (saturating); 0 without units or
// period.
func MonthlyPerUnit(price uint64, period int64, units uint64) uint64 {
	if units == 0 || period <= 0 {
		return 0
	}
	n := new(big.Int).Mul(new(big.Int).SetUint64(price), big.NewInt(Month))
	n.Quo(n, new(big.Int).Mul(big.NewInt(period), new(big.Int).SetUint64(units)))
	if !n.IsUint64() {
		return math.MaxUint64
	}
	return n.Uint64()
}

// Compute reads kv and returns the rows f selects.
func Compute(kv ipledger.KV, f Filter) ([]apitypes.StatsRow, error) {
	d, err := Read(kv)
	if err != nil {
		return nil, err
	}
	return d.Stats(f), nil
}

type key struct{ family, class, day string }

// acc accumulates one row.
type acc struct {
	row          apitypes.StatsRow
	volHi, volLo uint64 // Σ price of the sales with units, 128 bits
	prices       []uint64
	leasePrices  []uint64
}

// Stats returns the rows f selects, in family, class and day order (the row over every
// class and day first): for each family, class and day with a trade or lease start, the
// rows of all days and of all classes too; a family with units held has its overall row
// even without trades (unless f names a class).
func (d *Data) Stats(f Filter) []apitypes.StatsRow {
	rows := map[key]*acc{}
	get := func(k key) *acc {
		a := rows[k]
		if a == nil {
			a = &acc{row: apitypes.StatsRow{Family: k.family, Class: k.class, Day: k.day}}
			rows[k] = a
		}
		return a
	}
	// each calls fn on the rows an event of family, class and day counts in.
	each := func(family, class, day string, fn func(*acc)) {
		if f.Family != "" && family != f.Family || f.Class != "" && class != f.Class ||
			day != "" && (f.From != "" && day < f.From || f.To != "" && day > f.To) {
			return
		}
		for _, c := range []string{"", class} {
			if f.Class != "" && c == "" {
				continue
			}
			fn(get(key{family, c, ""}))
			if day != "" {
				fn(get(key{family, c, day}))
			}
		}
	}
	for i := range d.Trades {
		t := &d.Trades[i]
		each(t.Family, Class(t.Resource), Day(t.Time), func(a *acc) {
			if t.Venue == "transfer" {
				a.row.Transfers++
				a.row.TransferUnits = satAdd(a.row.TransferUnits, t.Units)
				return
			}
			a.row.Trades++
			if t.Units == 0 {
				return
			}
			a.row.Units = satAdd(a.row.Units, t.Units)
			var c uint64
			a.volLo, c = bits.Add64(a.volLo, t.Price, 0)
			a.volHi += c
			a.prices = append(a.prices, t.PricePerUnit)
		})
	}
	for i := range d.Leases {
		l := &d.Leases[i]
		each(l.Family, l.Class, Day(l.Time), func(a *acc) {
			a.row.Leases++
			if l.Units > 0 {
				a.row.LeaseUnits = satAdd(a.row.LeaseUnits, l.Units)
				a.leasePrices = append(a.leasePrices, l.PricePerUnitMonth)
			}
		})
	}
	for _, o := range d.Open {
		each(o.Family, o.Class, "", func(a *acc) {
			if !o.NoAsk {
				a.row.OpenAsks++
			}
			if o.Bid {
				a.row.OpenBids++
			}
		})
	}
	if f.Class == "" {
		for fam, n := range d.Held {
			if n > 0 && (f.Family == "" || f.Family == fam) {
				get(key{fam, "", ""})
			}
		}
	}
	out := make([]apitypes.StatsRow, 0, len(rows))
	for _, a := range rows {
		r := &a.row
		r.Volume = math.MaxUint64
		if a.volHi == 0 {
			r.Volume = a.volLo
		}
		if r.Units > 0 {
			r.VWAP = div128(a.volHi, a.volLo, r.Units)
		}
		r.MedianPrice = Median(a.prices)
		r.MedianLease = Median(a.leasePrices)
		if r.MedianPrice > 0 {
			r.LeaseYieldBP = mulDiv(12*10000, r.MedianLease, r.MedianPrice)
		}
		r.UnitsHeld = d.Held[r.Family]
		if r.UnitsHeld > 0 {
			r.TurnoverBP = mulDiv(r.Units, 10000, r.UnitsHeld)
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b apitypes.StatsRow) int {
		return cmp.Or(cmp.Compare(a.Family, b.Family), cmp.Compare(a.Class, b.Class), cmp.Compare(a.Day, b.Day))
	})
	return out
}

// Median returns the median of xs, the lower middle of an even count, 0 for none. It
// sorts xs.
func Median(xs []uint64) uint64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[(len(xs)-1)/2]
}

// mulDiv returns a × b ÷ c rounded down, saturating; c > 0.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return div128(hi, lo, c)
}

// div128 returns (hi, lo) ÷ c rounded down, saturating; c > 0.
func div128(hi, lo, c uint64) uint64 {
	if hi >= c {
		return math.MaxUint64
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}

func satAdd(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return math.MaxUint64
	}
	return s
}
