package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// resourceData is the resource page's model.
type resourceData struct {
	Resource     ipledger.Resource
	Self         string // the page's path, for paging links
	Chain        []holdingRow
	Children     []holdingRow
	ChildrenNext string // ?children_after= of the next page, or ""
	History      []historyRow
	HistoryNext  string // ?history_after= of the next page, or ""
	Lease        *ipledger.Lease
	Routes       []routeRow
	RoutesMore   bool
	Geo          []*ipledger.Geo
	GeoMore      bool
	Listings     []listingRow    // open and pending listings of blocks overlapping it
	LastTrade    *ipledger.Trade // the latest trade of the holding's block
	Proof        proofPanel
}

// holdingRow is a holding with its holder's name.
type holdingRow struct {
	*ipledger.Holding
	HolderName string
}

// historyRow is one transaction (or a block's time-driven events) in a timeline.
type historyRow struct {
	ipledger.HistoryEntry
	Time     time.Time
	Kind     string
	Code     ipledger.Code
	EndBlock bool
}

// routeRow is a route authorisation and whether it is in force at the page's block time.
type routeRow struct {
	*ipledger.RouteAuth
	InForce bool
}

// proofPanel tells how to get and check a state proof of the page's object.
type proofPanel struct {
	Height  int64
	URL     string // the JSON proof endpoint
	Command string // the ipledger command that fetches and checks it
}

func (h *handler) resource(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	arg := r.PathValue("res")
	if arg == "" {
		return nil, invalid("no address or prefix in the path; try /ip/192.0.2.1 or /ip/192.0.2.0/24")
	}
	res, err := ipledger.ParseResource(arg)
	if err != nil || res.Family() == ipledger.ASN {
		return nil, invalid("%.80q is not an address, prefix or range", arg)
	}
	name := res.String()
	if a, err := netip.ParseAddr(arg); err == nil {
		name = a.String() // an address is shown as one, not as a /32
	}
	return h.resourcePage(r, snap, res, name)
}

func (h *handler) autnum(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	arg := r.PathValue("res")
	s := strings.TrimPrefix(strings.ToUpper(arg), "AS")
	if a, b, ok := strings.Cut(s, "-"); ok {
		s = a + "-AS" + strings.TrimPrefix(b, "AS")
	}
	res, err := ipledger.ParseResource("AS" + s)
	if err != nil || res.Family() != ipledger.ASN {
		return nil, invalid("%.80q is not an AS number or range", arg)
	}
	return h.resourcePage(r, snap, res, res.String())
}

// resourcePage is the page of res, called name (as the reader asked: an address, a
// prefix, AS numbers).
func (h *handler) resourcePage(r *http.Request, snap *ipledger.Snapshot, res ipledger.Resource, name string) (*Page, error) {
	ctx := r.Context()
	childrenAfter, err := param(r, "children_after", ipledger.ParseResource)
	if err != nil {
		return nil, err
	}
	historyAfter, err := param(r, "history_after", ipledger.ParseHistoryPos)
	if err != nil {
		return nil, err
	}
	kv := snap.State
	chn, err := ledger.Lookup(kv, res)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", res, err)
	}
	if len(chn) == 0 {
		return nil, notFound("no single holding contains all of %s", res)
	}
	d := &resourceData{Resource: res, Self: r.URL.Path}
	names := map[string]string{}
	for _, hd := range chn {
		row, err := holdingOf(kv, names, hd)
		if err != nil {
			return nil, err
		}
		d.Chain = append(d.Chain, row)
	}
	last := chn[len(chn)-1]
	kids, more, err := ledger.ChildrenPage(ctx, kv, last, childrenAfter, MaxRows)
	if err != nil {
		return nil, fmt.Errorf("children of holding %d: %w", last.ID, err)
	}
	for _, k := range kids {
		row, err := holdingOf(kv, names, k)
		if err != nil {
			return nil, err
		}
		d.Children = append(d.Children, row)
	}
	if more {
		d.ChildrenNext = kids[len(kids)-1].Resource.String()
	}
	objects := []string{"holding/" + strconv.FormatUint(last.ID, 10)}
	if last.Origin != 0 {
		objects = append(objects, "holding/"+strconv.FormatUint(last.Origin, 10))
	}
	if d.History, d.HistoryNext, err = h.history(ctx, historyAfter, objects...); err != nil {
		return nil, err
	}
	if d.Lease, err = runningLease(kv, res); err != nil {
		return nil, err
	}
	if d.Routes, d.RoutesMore, err = routesOver(kv, snap.Block.Time.Unix(), res); err != nil {
		return nil, err
	}
	if d.Geo, d.GeoMore, err = ledger.GeosOverlapping(kv, res, MaxRows); err != nil {
		return nil, fmt.Errorf("geolocations of %s: %w", res, err)
	}
	if res.Family() != ipledger.ASN {
		idx, err := h.idx.get(h.o.Reader, snap)
		if err != nil {
			return nil, err
		}
		for _, l := range idx.listingsOver(res) {
			d.Listings = append(d.Listings, newListingRow(l, snap.Block.Time))
		}
		t, ok, err := h.trades.lastTrade(snap, last.Resource)
		if err != nil {
			return nil, err
		}
		if ok {
			d.LastTrade = &t
		}
	}
	d.Proof = proofPanel{Height: snap.Height, URL: "/v1/proof/resources/" + res.String(),
		Command: "ipledger query resource " + res.String() + " --prove --node " + nodeURL(r)}
	return &Page{Title: name, JSON: "/v1/resources/" + res.String(), name: "resource", Data: d}, nil
}

// nodeURL is this node's base URL as the request reached it.
func nodeURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func holdingOf(kv ipledger.KV, names map[string]string, hd *ipledger.Holding) (holdingRow, error) {
	name, ok := names[hd.Holder]
	if !ok {
		o, err := ledger.Org(kv, hd.Holder)
		if err != nil {
			return holdingRow{}, fmt.Errorf("holder of holding %d: %w", hd.ID, err)
		}
		if o != nil {
			name = o.Name
		}
		names[hd.Holder] = name
	}
	return holdingRow{Holding: hd, HolderName: name}, nil
}

// param reads the query parameter name of r with parse; an absent one is T's zero value,
// one that does not parse CodeInvalid.
func param[T any](r *http.Request, name string, parse func(string) (T, error)) (T, error) {
	var x T
	v := r.URL.Query().Get(name)
	if v == "" {
		return x, nil
	}
	x, err := parse(v)
	if err != nil {
		return x, invalid("%s=%.60q: %v", name, v, err)
	}
	return x, nil
}

// count parses a whole number for a page position.
func count(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errors.New("want a whole number")
	}
	return n, nil
}

// history is the timeline of objects after a position: at most MaxRows entries, oldest
// first, with their time, kind and result, and the cursor of the rest ("" if none).
func (h *handler) history(ctx context.Context, after ipledger.HistoryPos, objects ...string) ([]historyRow, string, error) {
	var rows []historyRow
	more := false
	for _, obj := range objects {
		es, m, err := h.o.Reader.HistoryPage(ctx, obj, after, MaxRows)
		if err != nil {
			return nil, "", fmt.Errorf("history of %s: %w", obj, err)
		}
		more = more || m
		for _, e := range es {
			if !slices.ContainsFunc(rows, func(x historyRow) bool { return x.Pos() == e.Pos() }) {
				rows = append(rows, historyRow{HistoryEntry: e})
			}
		}
	}
	slices.SortFunc(rows, func(a, b historyRow) int {
		return cmp.Or(cmp.Compare(a.Height, b.Height), cmp.Compare(a.Index, b.Index))
	})
	if len(rows) > MaxRows {
		rows, more = rows[:MaxRows], true
	}
	for i := range rows {
		if err := h.detail(&rows[i]); err != nil {
			return nil, "", err
		}
	}
	next := ""
	if more && len(rows) > 0 {
		next = rows[len(rows)-1].Pos().String()
	}
	return rows, next, nil
}

// detail fills a history row's time, kind and result from the log, or from its block's
// record where the log cannot say.
func (h *handler) detail(row *historyRow) error {
	if r, ok := h.details.get(row.Pos()); ok && r.Hash == row.Hash {
		*row = r
		return nil
	}
	if err := h.readDetail(row); err != nil {
		return err
	}
	h.details.put(*row)
	return nil
}

func (h *handler) readDetail(row *historyRow) error {
	d, ok, err := h.o.Reader.HistoryDetailOf(row.HistoryEntry)
	if err != nil {
		return fmt.Errorf("history detail at %s: %w", row.Pos(), err)
	}
	if ok && !d.EndBlock {
		row.Time, row.Kind, row.Code = d.Time, d.Kind, d.Code
		return nil
	}
	rec, err := h.o.Reader.Block(row.Height)
	if err != nil {
		return fmt.Errorf("block %d of a history entry: %w", row.Height, err)
	}
	if rec == nil {
		return fmt.Errorf("history entry at %s: no record of block %d", row.Pos(), row.Height)
	}
	row.Time = rec.Time
	if int(row.Index) >= len(rec.Txs) {
		row.EndBlock, row.Kind = true, "block events"
		for _, ev := range rec.Events {
			if !strings.Contains(row.Kind, ev.Kind) {
				row.Kind += " " + ev.Kind
			}
		}
		return nil
	}
	t := rec.Txs[row.Index]
	row.Kind, row.Code = t.Kind, t.Code
	return nil
}

// runningLease returns the running lease whose block overlaps res, or nil.
func runningLease(kv ipledger.KV, res ipledger.Resource) (*ipledger.Lease, error) {
	if res.Family() == ipledger.ASN {
		return nil, nil
	}
	running, err := ledger.RunningLeases(kv)
	if err != nil {
		return nil, fmt.Errorf("running leases: %w", err)
	}
	for _, rl := range running {
		if rl.Resource.Overlaps(res) {
			l, err := ledger.LeaseByID(kv, rl.Lease)
			if err != nil {
				return nil, fmt.Errorf("lease %d: %w", rl.Lease, err)
			}
			return l, nil
		}
	}
	return nil, nil
}

// routesOver lists the route authorisations whose prefix overlaps res (or, for AS
// numbers, whose origin is in res), at most MaxRows, with whether each is in force at
// Unix time at.
func routesOver(kv ipledger.KV, at int64, res ipledger.Resource) ([]routeRow, bool, error) {
	inForce := map[uint64]bool{}
	if err := ledger.InForce(kv, at, func(ra *ipledger.RouteAuth) bool {
		inForce[ra.ID] = true
		return true
	}); err != nil {
		return nil, false, fmt.Errorf("routes in force: %w", err)
	}
	var rows []routeRow
	more := false
	err := ledger.RouteAuths(kv, func(ra *ipledger.RouteAuth) bool {
		match := false
		if res.Family() == ipledger.ASN {
			match = res.FirstAS() <= ra.ASN && ra.ASN <= res.LastAS()
		} else if p, err := ipledger.PrefixResource(ra.Prefix); err == nil {
			match = p.Overlaps(res)
		}
		if !match {
			return true
		}
		if len(rows) == MaxRows {
			more = true
			return false
		}
		rows = append(rows, routeRow{RouteAuth: ra, InForce: inForce[ra.ID]})
		return true
	})
	if err != nil {
		return nil, false, fmt.Errorf("routes: %w", err)
	}
	return rows, more, nil
}
