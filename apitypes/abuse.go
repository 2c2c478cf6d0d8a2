package apitypes

import "github.com/ipledger/ipledger"

// MaxCaseList bounds the cases of GET /v1/abuse/cases; DefaultCaseList is their number
// without ?limit=.
const (
	MaxCaseList     = 1000
	DefaultCaseList = 100
)

// CaseList answers GET /v1/abuse/cases: the abuse cases that pass the filters (?state=,
// ?resource= overlapping the case's block, ?org= its holder, lessee or reporter), in id
// order from after ?after=, at most ?limit=. Next is the id to ask after for the rest, 0
// at the end.
type CaseList struct {
	Height int64           `json:"height"`
	Cases  []ipledger.Case `json:"cases"`
	Next   uint64          `json:"next,omitempty"`
}

// CaseAnswer answers GET /v1/abuse/cases/{id}: the case as of the committed block.
type CaseAnswer struct {
	Height int64         `json:"height"`
	Case   ipledger.Case `json:"case"`
}
