package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/market"
)

// The market's statistics (issue 16) and its lease starts, public like its trades.

// statsColumns is the CSV header row of GET /v1/market/stats.
var statsColumns = []string{"family", "class", "day", "trades", "units", "volume", "vwap", "median_price", "transfers", "transfer_units",
	"units_held", "turnover_bp", "leases", "lease_units", "median_lease", "lease_yield_bp", "open_asks", "open_bids"}

// leaseStartColumns is the CSV header row of GET /v1/market/trades?venue=lease.
var leaseStartColumns = []string{"id", "time", "height", "venue", "resource", "family", "class", "lessor", "lessee", "units", "price_per_unit_month"}

// statsCache keeps what the statistics were last read from, for the height read: the
// holdings' units are a scan of every holding, which a chain of real imports makes the
// dearest part, and many answers at one height share it.
type statsCache struct {
	mu     sync.Mutex
	height int64
	data   *market.Data
}

// get returns the statistics' inputs of snap, read once per height.
func (c *statsCache) get(snap *ipledger.Snapshot) (*market.Data, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.data != nil && c.height == snap.Height {
		return c.data, nil
	}
	d, err := market.Read(snap.State)
	if err != nil {
		return nil, err
	}
	c.height, c.data = snap.Height, d
	return d, nil
}

func (s *server) mountStats() {
	c := &statsCache{}
	s.handle("GET /v1/market/stats", func(w http.ResponseWriter, r *http.Request) error { return s.stats(w, r, c) })
}

// stats serves GET /v1/market/stats: ?family=, ?class=, ?from= and ?to= (UTC days,
// YYYY-MM-DD, both counted), ?height= (a retained height; the last committed by default),
// ?format=csv.
func (s *server) stats(w http.ResponseWriter, r *http.Request, c *statsCache) error {
	_, asCSV, err := marketQuery(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := market.Filter{Family: q.Get("family"), Class: q.Get("class"), From: q.Get("from"), To: q.Get("to")}
	if err := f.Check(); err != nil {
		return invalid("%s", err.Error())
	}
	snap := s.app.Committed()
	if v := q.Get("height"); v != "" {
		h, err := strconv.ParseInt(v, 10, 64)
		if err != nil || h < 1 {
			return invalid("height %.30q: want a committed height", v)
		}
		if snap, err = s.snapshotAt(h); err != nil {
			return err
		}
	}
	d, err := c.get(snap)
	if err != nil {
		return fmt.Errorf("market statistics at %d: %w", snap.Height, err)
	}
	out := apitypes.MarketStats{Height: snap.Height, Rows: d.Stats(f)}
	if !asCSV {
		return s.writeJSON(w, http.StatusOK, out)
	}
	rows := make([][]string, 0, len(out.Rows))
	for _, x := range out.Rows {
		rows = append(rows, []string{x.Family, x.Class, x.Day, u(x.Trades), u(x.Units), u(x.Volume), u(x.VWAP), u(x.MedianPrice), u(x.Transfers), u(x.TransferUnits),
			u(x.UnitsHeld), u(x.TurnoverBP), u(x.Leases), u(x.LeaseUnits), u(x.MedianLease), u(x.LeaseYieldBP), u(x.OpenAsks), u(x.OpenBids)})
	}
	return s.writeCSV(w, statsColumns, rows)
}

// snapshotAt returns the retained state of height h, or a not-found error.
func (s *server) snapshotAt(h int64) (*ipledger.Snapshot, error) {
	ss, ok := s.app.(stateSource)
	if !ok {
		return nil, notFound("this node keeps no past states")
	}
	snap, err := ss.SnapshotAt(h)
	if errors.Is(err, ipledger.ErrNotRetained) {
		return nil, notFound("the state of height %d is not retained", h)
	}
	if err != nil {
		return nil, fmt.Errorf("state at %d: %w", h, err)
	}
	return snap, nil
}

// leaseStarts serves GET /v1/market/trades?venue=lease: every lease start in lease id
// order, ?org= (lessor or lessee), ?after= (a lease id), ?limit=. The height of each is
// the block of the first entry in the lease's history.
func (s *server) leaseStarts(w http.ResponseWriter, r *http.Request, org string, after uint64, limit int, asCSV bool) error {
	snap := s.app.Committed()
	out := apitypes.LeaseStartList{Height: snap.Height, Leases: []apitypes.LeaseStart{}}
	err := ledger.Leases(snap.State, func(l *ipledger.Lease) bool {
		if l.ID > after && (org == "" || l.Lessor == org || l.Lessee == org) {
			if !appendCapped(&out.Leases, market.LeaseStartOf(l), limit, &out.Truncated) {
				return false
			}
			out.Next = l.ID
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("list lease starts: %w", err)
	}
	if !out.Truncated {
		out.Next = 0
	}
	for i := range out.Leases {
		l := &out.Leases[i]
		hist, _, err := s.app.HistoryPage(r.Context(), "lease/"+u(l.ID), ipledger.HistoryPos{}, 1)
		if err != nil {
			return fmt.Errorf("history of lease %d: %w", l.ID, err)
		}
		if len(hist) > 0 {
			l.Height = hist[0].Height
		}
	}
	if !asCSV {
		return s.writeJSON(w, http.StatusOK, out)
	}
	rows := make([][]string, 0, len(out.Leases))
	for _, l := range out.Leases {
		rows = append(rows, []string{u(l.ID), strconv.FormatInt(l.Time, 10), strconv.FormatInt(l.Height, 10), l.Venue, l.Resource.String(),
			l.Family, l.Class, l.Lessor, l.Lessee, u(l.Units), u(l.PricePerUnitMonth)})
	}
	return s.writeCSV(w, leaseStartColumns, rows)
}
