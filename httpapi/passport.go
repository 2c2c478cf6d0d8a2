package httpapi

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ledger"
)

// Reputation in the JSON API (issue 18): an observer's current set of a list, which the
// observe command diffs a list file against, and a block's passport with its grade.

func (s *server) mountReputation() {
	s.handle("GET /v1/observations", s.observations)
	s.handle("GET /v1/passport/{resource...}", s.passport)
}

// passportColumns is the CSV header of a passport: one row per transaction or observation.
var passportColumns = []string{"type", "height", "index", "time", "kind", "object", "hash", "code", "observer", "list", "event", "prefix", "list_id", "list_time"}

// pageLimit reads ?limit=, 1 to max (def when absent).
func pageLimit(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, invalid("limit %.30q: want 1 to %d", v, max)
	}
	return n, nil
}

// observations serves GET /v1/observations?observer=&list=&after=PREFIX&limit=.
func (s *server) observations(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	observer, err := orgHandle(q.Get("observer"))
	if err != nil {
		return err
	}
	list := q.Get("list")
	if !ledger.ValidListName(list) {
		return invalid("list %.70q: 1 to 64 of a-z, 0-9, '.', '-', '_'", list)
	}
	limit, err := pageLimit(r, apitypes.MaxObservationList, apitypes.MaxObservationList)
	if err != nil {
		return err
	}
	var after ipledger.Resource
	afterBits := 0
	if v := q.Get("after"); v != "" {
		p, err := netip.ParsePrefix(v)
		if err == nil {
			after, err = ipledger.PrefixResource(p)
		}
		if err != nil {
			return invalid("after %.60q: want a prefix", v)
		}
		afterBits = p.Bits()
	}
	snap := s.app.Committed()
	out := apitypes.ObservationList{Height: snap.Height, Observer: observer, List: list, Observations: []ipledger.Observation{}}
	if out.ListTime, err = ledger.ListTime(snap.State, observer, list); err != nil {
		return fmt.Errorf("observations: %w", err)
	}
	more := false
	err = ledger.Observations(snap.State, observer, list, after, afterBits, func(o *ipledger.Observation) bool {
		if len(out.Observations) == limit {
			more = true
			return false
		}
		out.Observations = append(out.Observations, *o)
		return true
	})
	if err != nil {
		return fmt.Errorf("observations: %w", err)
	}
	if more {
		out.Next = out.Observations[len(out.Observations)-1].Prefix.String()
	}
	return s.writeJSON(w, http.StatusOK, out)
}

// passport serves GET /v1/passport/{resource...}: ?after=HEIGHT.INDEX,
// ?observations_after=SEQ, ?cases_after=ID, ?limit= (at most MaxPassportPage), ?format=csv
// (the transactions and observations; the cases have their own CSV, /v1/abuse/cases).
func (s *server) passport(w http.ResponseWriter, r *http.Request) error {
	res, err := parseResourcePath(r.PathValue("resource"))
	if err != nil {
		return err
	}
	if res.Family() == ipledger.ASN {
		return invalid("a passport is of an address block, not of AS numbers")
	}
	q := r.URL.Query()
	_, asCSV, err := marketQuery(r)
	if err != nil {
		return err
	}
	limit, err := pageLimit(r, apitypes.DefaultPassportPage, apitypes.MaxPassportPage)
	if err != nil {
		return err
	}
	var after ipledger.HistoryPos
	if v := q.Get("after"); v != "" {
		if after, err = ipledger.ParseHistoryPos(v); err != nil {
			return invalid("after: %v", err)
		}
	}
	var obsAfter uint64
	if v := q.Get("observations_after"); v != "" {
		if obsAfter, err = strconv.ParseUint(v, 10, 64); err != nil {
			return invalid("observations_after %.30q: want a sequence number", v)
		}
	}
	snap := s.app.Committed()
	out := apitypes.Passport{Resource: res, Height: snap.Height, Time: snap.Block.Time.Unix()}
	objects, err := ledger.PassportObjects(r.Context(), snap.State, res)
	if err != nil {
		return fmt.Errorf("passport: %w", err)
	}
	if out.History, out.HistoryNext, err = s.historyPage(r.Context(), after, limit, objects...); err != nil {
		return err
	}
	var more bool
	out.Grade, out.Observations, more, err = ledger.PassportObservations(snap.State, res, out.Time, obsAfter, limit)
	if err != nil {
		return fmt.Errorf("passport observations: %w", err)
	}
	evs := out.Observations
	if more {
		out.ObservationsNext = evs[len(evs)-1].Seq
	}
	if out.Cases, out.CasesNext, err = casesPage(snap.State, res, q.Get("cases_after"), limit); err != nil {
		return err
	}
	if !asCSV {
		return s.writeJSON(w, http.StatusOK, out)
	}
	rows := make([][]string, 0, len(out.History)+len(out.Observations))
	for _, h := range out.History {
		rows = append(rows, []string{"tx", strconv.FormatInt(h.Height, 10), strconv.FormatUint(uint64(h.Index), 10), h.Time.UTC().Format(time.RFC3339),
			h.Kind, h.Object, h.Hash.String(), h.CodeName, "", "", "", "", "", ""})
	}
	for _, o := range out.Observations {
		rows = append(rows, []string{"observation", strconv.FormatInt(o.Height, 10), "", time.Unix(o.Time, 0).UTC().Format(time.RFC3339),
			"observe", "", "", "", o.Observer, o.List, o.Event, o.Prefix.String(), o.ID, strconv.FormatInt(o.ListTime, 10)})
	}
	return s.writeCSV(w, passportColumns, rows)
}
