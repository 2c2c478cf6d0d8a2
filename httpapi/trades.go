package httpapi

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/market"
)

// The market's public data in the JSON API (issue 16): every trade and the listings, as
// JSON or, with ?format=csv, as CSV for spreadsheets and scripts.

func (s *server) mountTrades() {
	s.handle("GET /v1/market/trades", s.trades)
	s.handle("GET /v1/market/listings", s.listings)
	s.mountStats()
}

// tradeColumns and listingColumns are the CSV header rows.
var (
	tradeColumns   = []string{"id", "time", "height", "venue", "ref", "resource", "family", "seller", "buyer", "price", "fee", "units", "price_per_unit", "subject_to_lease", "class"}
	listingColumns = []string{"id", "seller", "resource", "reserve", "min_increment", "end", "state", "bids", "high_bid", "high_bidder", "sale", "trade"}
)

// marketQuery reads what the market lists share: ?org= (a party to it) and ?format=
// ("json", the default, or "csv").
func marketQuery(r *http.Request) (org string, asCSV bool, err error) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
	case "csv":
		asCSV = true
	default:
		return "", false, invalid("format %.20q: json or csv", f)
	}
	org, err = orgFilter(r)
	return org, asCSV, err
}

// trades serves GET /v1/market/trades: ?org= (seller or buyer), ?venue= (listing, swap,
// auction, transfer; lease lists the lease starts instead, stats.go), ?after= (a trade id),
// ?limit= (at most MaxMarketList).
func (s *server) trades(w http.ResponseWriter, r *http.Request) error {
	org, asCSV, err := marketQuery(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	venue := q.Get("venue")
	after, limit := uint64(0), MaxMarketList
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			return invalid("after %.30q: want a trade id", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > MaxMarketList {
			return invalid("limit %.30q: want 1 to %d", v, MaxMarketList)
		}
	}
	if venue == market.VenueLease {
		return s.leaseStarts(w, r, org, after, limit, asCSV)
	}
	snap := s.app.Committed()
	out := apitypes.TradeList{Height: snap.Height, Trades: []ipledger.Trade{}}
	err = ledger.TradesAfter(snap.State, after, func(t *ipledger.Trade) bool {
		if (org == "" || t.Seller == org || t.Buyer == org) && (venue == "" || t.Venue == venue) {
			if !appendCapped(&out.Trades, *t, limit, &out.Truncated) {
				return false
			}
			out.Next = t.ID
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("list trades: %w", err)
	}
	if !out.Truncated {
		out.Next = 0
	}
	if !asCSV {
		return s.writeJSON(w, http.StatusOK, out)
	}
	rows := make([][]string, 0, len(out.Trades))
	for _, t := range out.Trades {
		rows = append(rows, []string{u(t.ID), strconv.FormatInt(t.Time, 10), strconv.FormatInt(t.Height, 10), t.Venue, t.Ref,
			t.Resource.String(), t.Family, t.Seller, t.Buyer, u(t.Price), u(t.Fee), u(t.Units), u(t.PricePerUnit), strconv.FormatBool(t.SubjectToLease), t.Class})
	}
	return s.writeCSV(w, tradeColumns, rows)
}

// listings serves GET /v1/market/listings: open and pending listings, ?all=true for closed
// ones too, ?org= (the seller or highest bidder).
func (s *server) listings(w http.ResponseWriter, r *http.Request) error {
	org, asCSV, err := marketQuery(r)
	if err != nil {
		return err
	}
	all := r.URL.Query().Get("all") == "true"
	snap := s.app.Committed()
	out := apitypes.ListingList{Height: snap.Height, Listings: []ipledger.Listing{}}
	err = ledger.Listings(snap.State, func(l *ipledger.Listing) bool {
		live := l.State == ipledger.ListingOpen || l.State == ipledger.ListingPending
		if (org == "" || l.Seller == org || l.HighBidder == org) && (all || live) {
			return appendCapped(&out.Listings, *l, MaxMarketList, &out.Truncated)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("list listings: %w", err)
	}
	if !asCSV {
		return s.writeJSON(w, http.StatusOK, out)
	}
	rows := make([][]string, 0, len(out.Listings))
	for _, l := range out.Listings {
		rows = append(rows, []string{u(l.ID), l.Seller, l.Resource.String(), u(l.Reserve), u(l.MinIncrement), strconv.FormatInt(l.End, 10),
			string(l.State), strconv.Itoa(l.Bids), u(l.HighBid), l.HighBidder, u(l.Sale), u(l.Trade)})
	}
	return s.writeCSV(w, listingColumns, rows)
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }

// writeCSV writes a header and rows as CSV (RFC 4180). Every field is a number, a resource,
// a handle or a word of the ledger's: nothing a spreadsheet reads as a formula.
func (s *server) writeCSV(w http.ResponseWriter, header []string, rows [][]string) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	cw := csv.NewWriter(w)
	cw.Write(header)
	cw.WriteAll(rows) // flushes
	if err := cw.Error(); err != nil {
		s.log.Error("write csv", "err", err)
	}
	return nil
}
