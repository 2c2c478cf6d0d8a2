package web

import (
	"fmt"
	"net/http"
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
	kv := snap.State
	o, err := ledger.Org(kv, handle)
	if o, err = found(o, err, "organisation "+handle); err != nil {
		return nil, err
	}
	from, err := param(r, "held_from", count)
	if err != nil {
		return nil, err
	}
	after, err := param(r, "history_after", ipledger.ParseHistoryPos)
	if err != nil {
		return nil, err
	}
	d := &orgData{Org: o, Self: "/org/" + handle, HeldFrom: from}
	if d.Balance, err = ledger.Balance(kv, handle); err != nil {
		return nil, fmt.Errorf("balance of %s: %w", handle, err)
	}
	idx, err := h.idx.get(h.o.Reader, snap)
	if err != nil {
		return nil, err
	}
	d.Holdings, d.HeldTotal = idx.heldBy(handle, from, MaxRows)
	if from+MaxRows < d.HeldTotal {
		d.HeldNext = from + MaxRows
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
	if d.Offers, d.OffersMore, err = rows(kv, ledger.Offers, func(o *ipledger.Offer) bool { return o.Lessor == handle }); err != nil {
		return nil, fmt.Errorf("offers of %s: %w", handle, err)
	}
	if d.Routes, d.RoutesMore, err = rows(kv, ledger.RouteAuths, func(ra *ipledger.RouteAuth) bool { return ra.Holder == handle }); err != nil {
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

// rows walks the records of kv with each (ledger.Offers, ledger.Leases …) and returns the
// first MaxRows that keep accepts, and whether more follow.
func rows[T any](kv ipledger.KV, each func(ipledger.KV, func(*T) bool) error, keep func(*T) bool) (list []*T, more bool, err error) {
	err = each(kv, func(x *T) bool {
		return !keep(x) || appendRow(&list, x, &more)
	})
	return list, more, err
}
