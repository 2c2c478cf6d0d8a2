package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ledger"
)

// The abuse process in the JSON API (issue 18): its cases, filtered and paged, in JSON or
// CSV, and one case with its steps.

func (s *server) mountAbuse() {
	s.handle("GET /v1/abuse/cases", s.cases)
	s.handle("GET /v1/abuse/cases/{id}", s.abuseCase)
}

// caseColumns is the CSV header of the case list: one row per case. The evidence URL is
// left out: it is the reporter's text, which a spreadsheet could read as a formula.
var caseColumns = []string{"id", "resource", "category", "state", "reporter", "list", "list_id", "holder", "lessee", "lease",
	"registry", "bond", "opened", "height", "cure_by", "decided", "appeal_by", "against", "steps"}

// caseStates are the states ?state= accepts.
var caseStates = []string{ipledger.CaseNotice, ipledger.CaseResponded, ipledger.CasePending, ipledger.CaseUpheld,
	ipledger.CaseAppealed, ipledger.CaseCured, ipledger.CaseDismissed, ipledger.CaseBaseless, ipledger.CaseReversed, ipledger.CaseClosed}

// afterID reads a cursor parameter: an id, 0 when absent.
func afterID(name, v string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, invalid("%s %.30q: want an id", name, v)
	}
	return n, nil
}

// casesPage is the passport's page of cases on blocks overlapping res.
func casesPage(kv ipledger.KV, res ipledger.Resource, after string, limit int) ([]ipledger.CaseSummary, uint64, error) {
	from, err := afterID("cases_after", after)
	if err != nil {
		return nil, 0, err
	}
	out, more, err := ledger.CaseSummariesPage(kv, res, from, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("passport cases: %w", err)
	}
	var next uint64
	if more {
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// cases serves GET /v1/abuse/cases: ?state=, ?resource= (a block the case's overlaps),
// ?org= (holder, lessee or reporter), ?after= (an id), ?limit= (at most MaxCaseList),
// ?format=csv.
func (s *server) cases(w http.ResponseWriter, r *http.Request) error {
	org, asCSV, err := marketQuery(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	st := q.Get("state")
	if st != "" && !slices.Contains(caseStates, st) {
		return invalid("state %.20q: one of %s", st, strings.Join(caseStates, ", "))
	}
	after, err := afterID("after", q.Get("after"))
	if err != nil {
		return err
	}
	limit, err := pageLimit(r, apitypes.DefaultCaseList, apitypes.MaxCaseList)
	if err != nil {
		return err
	}
	keep := func(c *ipledger.Case) bool {
		return (st == "" || c.State == st) && (org == "" || c.Holder == org || c.Lessee == org || c.Reporter == org)
	}
	snap := s.app.Committed()
	out := apitypes.CaseList{Height: snap.Height, Cases: []ipledger.Case{}}
	more := false
	add := func(c *ipledger.Case) bool {
		if !keep(c) {
			return true
		}
		if len(out.Cases) == limit {
			more = true
			return false
		}
		out.Cases = append(out.Cases, *c)
		return true
	}
	if v := q.Get("resource"); v != "" {
		res, err := parseResourcePath(v)
		if err != nil {
			return err
		}
		cs, err := ledger.CasesOverlapping(snap.State, res)
		if err != nil {
			return fmt.Errorf("cases: %w", err)
		}
		for _, c := range cs {
			if c.ID > after && !add(c) {
				break
			}
		}
	} else if err := ledger.Cases(snap.State, after, add); err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	if more {
		out.Next = out.Cases[len(out.Cases)-1].ID
	}
	if !asCSV {
		return s.writeJSON(w, http.StatusOK, out)
	}
	rows := make([][]string, 0, len(out.Cases))
	for _, c := range out.Cases {
		rows = append(rows, []string{u(c.ID), c.Resource.String(), c.Category, c.State, c.Reporter, c.List, c.ListID, c.Holder, c.Lessee, u(c.Lease),
			c.Registry, u(c.Bond), strconv.FormatInt(c.Opened, 10), strconv.FormatInt(c.Height, 10), strconv.FormatInt(c.CureBy, 10),
			strconv.FormatInt(c.Decided, 10), strconv.FormatInt(c.AppealBy, 10), c.Against, strconv.Itoa(len(c.Steps))})
	}
	return s.writeCSV(w, caseColumns, rows)
}

// abuseCase serves GET /v1/abuse/cases/{id}.
func (s *server) abuseCase(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return invalid("case %.30q: want an id", r.PathValue("id"))
	}
	snap := s.app.Committed()
	c, err := ledger.CaseByID(snap.State, id)
	if err != nil {
		return fmt.Errorf("case %d: %w", id, err)
	}
	if c == nil {
		return notFound("no case %d", id)
	}
	return s.writeJSON(w, http.StatusOK, apitypes.CaseAnswer{Height: snap.Height, Case: *c})
}
