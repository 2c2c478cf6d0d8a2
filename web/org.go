package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// orgData is the organisation page's model.
type orgData struct {
	Org         *ipledger.Organisation
	Self        string
	Balance     uint64
	Holdings    []heldEntry
	HeldFrom    int // position of the first holding shown
	HeldNext    int // position to page on from; 0 when none follow
	HeldTotal   int
	Lessor      []*ipledger.Lease
	Lessee      []*ipledger.Lease
	LeasesMore  bool
	Offers      []*ipledger.Offer
	OffersMore  bool
	Routes      []*ipledger.RouteAuth
	RoutesMore  bool
	History     []historyRow
	HistoryNext string
	Proof       proofPanel
}

func (h *handler) org(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	arg := r.PathValue("handle")
	handle := strings.ToUpper(arg)
	if !ipledger.ValidHandle(handle) {
		return nil, invalid("%.70q is not an organisation handle", arg)
	}
	if snap.State == nil {
		return nil, notFound("the chain has no state yet")
	}
	kv := snap.State
	o, err := ledger.Org(kv, handle)
	if err != nil {
		return nil, fmt.Errorf("org %s: %w", handle, err)
	}
	if o == nil {
		return nil, notFound("no organisation %s", handle)
	}
	from := 0
	if v := r.URL.Query().Get("held_from"); v != "" {
		if from, err = strconv.Atoi(v); err != nil || from < 0 {
			return nil, invalid("held_from=%.20q: want a position from 0", v)
		}
	}
	after, err := historyCursor(r)
	if err != nil {
		return nil, err
	}
	d := &orgData{Org: o, Self: "/org/" + handle, HeldFrom: from}
	if d.Balance, err = ledger.Balance(kv, handle); err != nil {
		return nil, fmt.Errorf("balance of %s: %w", handle, err)
	}
	idx, err := h.idx.get(snap)
	if err != nil {
		return nil, err
	}
	held := idx.held[handle]
	d.HeldTotal = len(held)
	if from < len(held) {
		d.Holdings = held[from:min(len(held), from+MaxRows)]
		if from+MaxRows < len(held) {
			d.HeldNext = from + MaxRows
		}
	}
	if err := ledger.Leases(kv, func(l *ipledger.Lease) bool {
		if len(d.Lessor)+len(d.Lessee) == MaxRows {
			d.LeasesMore = true
			return false
		}
		switch handle {
		case l.Lessor:
			d.Lessor = append(d.Lessor, l)
		case l.Lessee:
			d.Lessee = append(d.Lessee, l)
		}
		return true
	}); err != nil {
		return nil, fmt.Errorf("leases of %s: %w", handle, err)
	}
	if err := ledger.Offers(kv, func(of *ipledger.Offer) bool {
		if of.Lessor == handle {
			return appendRow(&d.Offers, of, &d.OffersMore)
		}
		return true
	}); err != nil {
		return nil, fmt.Errorf("offers of %s: %w", handle, err)
	}
	if err := ledger.RouteAuths(kv, func(ra *ipledger.RouteAuth) bool {
		if ra.Holder == handle {
			return appendRow(&d.Routes, ra, &d.RoutesMore)
		}
		return true
	}); err != nil {
		return nil, fmt.Errorf("routes of %s: %w", handle, err)
	}
	if d.History, d.HistoryNext, err = h.history(r.Context(), after, "org/"+handle); err != nil {
		return nil, err
	}
	d.Proof = proofPanel{Height: snap.Height, URL: "/v1/proof/orgs/" + handle,
		Command: "ipledger query org " + handle + " --prove --node " + nodeURL(r)}
	return &Page{Title: o.Name + " (" + handle + ")", JSON: "/v1/orgs/" + handle, name: "org", Data: d}, nil
}

// appendRow appends v to a page's list unless it holds MaxRows already: then it sets
// *more and stops the walk.
func appendRow[T any](list *[]T, v T, more *bool) bool {
	if len(*list) == MaxRows {
		*more = true
		return false
	}
	*list = append(*list, v)
	return true
}
