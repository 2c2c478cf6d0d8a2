package apitypes

import "github.com/ipledger/ipledger"

// MaxObservationList bounds the entries of GET /v1/observations (Next says where to go on).
const MaxObservationList = 5000

// ObservationList answers GET /v1/observations?observer=&list=: the observer's current set
// of the list in prefix order from ?after= (a prefix), at most ?limit=, and the list's
// last timestamp posted. Next is the prefix to ask after for the rest, empty at the end.
type ObservationList struct {
	Height       int64                  `json:"height"`
	Observer     string                 `json:"observer"`
	List         string                 `json:"list"`
	ListTime     int64                  `json:"list_time"`
	Observations []ipledger.Observation `json:"observations"`
	Next         string                 `json:"next,omitempty"`
}

// MaxPassportPage bounds each of a passport's two lists; DefaultPassportPage is their
// length without ?limit=.
const (
	MaxPassportPage     = 500
	DefaultPassportPage = 100
)

// Passport answers GET /v1/passport/{resource}: the block's grade at the committed block's
// time, the transactions that touched the holdings and route authorisations overlapping it
// (History, oldest first, from ?after=HEIGHT.INDEX) and the blocklist observations on
// overlapping prefixes (Observations, in chain order, from ?observations_after=SEQ), each
// at most ?limit=. HistoryNext and ObservationsNext are the cursors of the rest, empty at
// the end. Its grade weighs the cases too (ledger.GradeOf).
type Passport struct {
	Resource         ipledger.Resource           `json:"resource"`
	Height           int64                       `json:"height"`
	Time             int64                       `json:"time"`
	Grade            string                      `json:"grade"`
	History          []HistoryItem               `json:"history"`
	HistoryNext      string                      `json:"history_next,omitempty"`
	Observations     []ipledger.ObservationEvent `json:"observations"`
	ObservationsNext uint64                      `json:"observations_next,omitempty"`
	// Cases are the abuse cases on blocks overlapping it, in id order from after
	// ?cases_after=ID, at most ?limit=, summarised (their steps are at
	// /v1/abuse/cases/{id}); CasesNext is the cursor of the rest.
	Cases     []ipledger.CaseSummary `json:"cases"`
	CasesNext uint64                 `json:"cases_next,omitempty"`
}
