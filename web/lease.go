package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// leaseData is the lease page's model.
type leaseData struct {
	Lease       *ipledger.Lease
	Self        string
	Schedule    []payment
	SchedNext   int // first period of the next page of the schedule; 0 when none follow
	History     []historyRow
	HistoryNext string
}

// payment is one period of a lease's schedule.
type payment struct {
	Period int // from 1
	Due    time.Time
	Amount uint64
	Paid   bool
	Next   bool // the next one to settle
}

func (h *handler) lease(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	arg := r.PathValue("id")
	id, err := strconv.ParseUint(arg, 10, 64)
	if err != nil || id == 0 {
		return nil, invalid("lease %.30q: want a positive number", arg)
	}
	l, err := ledger.LeaseByID(snap.State, id)
	if l, err = found(l, err, "lease "+arg); err != nil {
		return nil, err
	}
	from, err := param(r, "from", count)
	if err != nil {
		return nil, err
	}
	from = max(from, 1)
	after, err := param(r, "history_after", ipledger.ParseHistoryPos)
	if err != nil {
		return nil, err
	}
	d := &leaseData{Lease: l, Self: "/lease/" + strconv.FormatUint(id, 10)}
	for k := from; k <= l.Periods && len(d.Schedule) < MaxRows; k++ {
		d.Schedule = append(d.Schedule, payment{Period: k, Due: time.Unix(l.Start+int64(k-1)*l.Period, 0).UTC(), Amount: l.PricePerPeriod,
			Paid: k <= l.Paid, Next: k == l.Paid+1 && l.State != ipledger.LeaseEnded})
	}
	if last := from + len(d.Schedule); last <= l.Periods {
		d.SchedNext = last
	}
	if d.History, d.HistoryNext, err = h.history(r.Context(), after, "lease/"+strconv.FormatUint(id, 10)); err != nil {
		return nil, err
	}
	return &Page{Title: "Lease " + strconv.FormatUint(id, 10) + ": " + l.Resource.String(), JSON: "/v1/leases/" + strconv.FormatUint(id, 10), name: "lease", Data: d}, nil
}
