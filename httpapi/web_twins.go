package httpapi

import (
	"net/http"
	"strconv"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ledger"
)

// JSON twins of explorer pages that had none: every page names its twin under /v1/.

func (s *server) mountWebTwins() {
	s.handle("GET /v1/market/listings/{id}", s.listing)
}

// listingInfo answers GET /v1/market/listings/{id}: one listing, open or closed, with the
// transactions and events that touched it (the explorer's /listing/ID).
type listingInfo struct {
	ipledger.Listing
	Height      int64                  `json:"height"`
	History     []apitypes.HistoryItem `json:"history"`
	HistoryNext string                 `json:"history_next,omitempty"`
}

func (s *server) listing(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return invalid("listing id %.30q: want a positive number", r.PathValue("id"))
	}
	snap := s.app.Committed()
	l, err := lookup(snap.State, ledger.ListingByID, id, "no listing %d", id)
	if err != nil {
		return err
	}
	after, err := historyAfter(r)
	if err != nil {
		return err
	}
	info := &listingInfo{Listing: *l, Height: snap.Height}
	if info.History, info.HistoryNext, err = s.history(r.Context(), after, "listing/"+strconv.FormatUint(id, 10)); err != nil {
		return err
	}
	return s.writeJSON(w, http.StatusOK, info)
}
