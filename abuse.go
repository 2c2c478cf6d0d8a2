package ipledger

import "net/netip"

// The abuse process (issue 18): a case about one block, opened by a report or by a DROP-class
// listing an observer posted, goes notice → cure window → response → decision → action →
// appeal, each step a transaction or a block-time event with its evidence hash. An action
// concerns the case's block only, never its holder's other space.

// Case states.
const (
	CaseNotice    = "notice"    // holder (and lessee) notified; the cure window runs
	CaseResponded = "responded" // a response came within the window; the panel decides
	CasePending   = "pending"   // the window ended with nothing mechanical to decide; the panel decides
	CaseUpheld    = "upheld"    // decided against the block; the action stands, appealable until AppealBy
	CaseAppealed  = "appealed"  // the decision is under appeal; the panel decides again
	CaseCured     = "cured"     // closed: the listing went (a delisting is a cure)
	CaseDismissed = "dismissed" // closed: decided for the block; the reporter's bond returned
	CaseBaseless  = "baseless"  // closed: the report was baseless; its bond went to the holder
	CaseReversed  = "reversed"  // closed: the appeal restored what the action changed
	CaseClosed    = "closed"    // closed: the upheld decision became final
)

// CaseOpen reports whether a case in state st may still change.
func CaseOpen(st string) bool {
	switch st {
	case CaseNotice, CaseResponded, CasePending, CaseUpheld, CaseAppealed:
		return true
	}
	return false
}

// Case steps (CaseStep.Step).
const (
	StepReport   = "report"   // opened by a report
	StepListed   = "listed"   // opened by an observed DROP-class listing
	StepNotice   = "notice"   // holder and lessee notified
	StepResponse = "response" // the holder or lessee answered
	StepDelisted = "delisted" // the listing went: a cure
	StepDecision = "decision" // decided (Auto: by the mechanical rule)
	StepAction   = "action"   // what the decision changed
	StepAppeal   = "appeal"   // the decision appealed
	StepRestored = "restored" // the appeal reversed it
	StepFinal    = "final"    // the appeal window ended
)

// CaseStep is one step of a case: who took it (empty for a block-time event), its
// evidence hash and when.
type CaseStep struct {
	Step     string `json:"step"`
	By       string `json:"by,omitempty"`
	Evidence string `json:"evidence,omitempty"`
	Outcome  string `json:"outcome,omitempty"` // a decision's: upheld, dismissed, baseless
	Auto     bool   `json:"auto,omitempty"`    // taken by the mechanical rule
	Note     string `json:"note,omitempty"`
	Height   int64  `json:"height"`
	Time     int64  `json:"time"`
}

// Case is an abuse case about one block: the part of a holding that a report or listing
// names. Holder, Lessee and Lease are who it concerns when it opened.
type Case struct {
	ID       uint64   `json:"id"`
	Resource Resource `json:"resource"`
	Category string   `json:"category"`
	State    string   `json:"state"`
	Reporter string   `json:"reporter"`          // the reporting organisation or the observer
	List     string   `json:"list,omitempty"`    // the observed list, for a case a listing opened
	ListID   string   `json:"list_id,omitempty"` // the list's own id of the entry
	// Listed is the listed prefix, for a case a listing opened: Resource itself, or the
	// part of it one holding holds when the listing spans several.
	Listed   netip.Prefix `json:"listed,omitzero"`
	Bond     uint64       `json:"bond,omitempty"`      // the reporter's bond, held until the case closes
	URL      string       `json:"url,omitempty"`       // where the evidence is, if the reporter says
	Holder   string       `json:"holder"`              // holder of the deepest non-lease holding containing the block
	Registry string       `json:"registry"`            // the block's registry (decides without a panel)
	Lessee   string       `json:"lessee,omitempty"`    // the lessee of a lease overlapping the block
	Lease    uint64       `json:"lease,omitempty"`     // that lease
	CureBy   int64        `json:"cure_by"`             // the cure window's end, block time
	AppealBy int64        `json:"appeal_by,omitempty"` // the appeal window's end after an upheld decision
	Against  string       `json:"against,omitempty"`   // who the upheld decision went against: holder or lessee
	Decided  int64        `json:"decided,omitempty"`   // block time of the last decision
	Steps    []CaseStep   `json:"steps"`
	// Action is what the upheld decision changed, so that an appeal restores exactly it.
	Action *CaseAction `json:"action,omitempty"`
	Opened int64       `json:"opened"`
	Height int64       `json:"height"`
}

// CaseAction is what an action changed on the ledger: the route authorisations it
// removed (as they were) and created (the complement of a split, AS0 over the block), the
// lease term it cut and the lessee bond it forfeited.
type CaseAction struct {
	Depth       int         `json:"depth"` // depth of the holding the action encumbered
	Removed     []RouteAuth `json:"removed,omitempty"`
	Created     []uint64    `json:"created,omitempty"`
	Lease       uint64      `json:"lease,omitempty"`
	Periods     int         `json:"periods,omitempty"` // the lease's term before the action
	Terminating bool        `json:"terminating,omitempty"`
	Cut         bool        `json:"cut,omitempty"`     // the term was cut to the paid periods
	Forfeit     uint64      `json:"forfeit,omitempty"` // the lessee bond forfeited
}

// ReportBody reports Resource (a prefix) to the abuse process (KindReport). Evidence is the
// hex SHA-256 of the evidence, required; URL is optional because evidence may carry
// personal data. The reporter's bond for the category is held until the case closes.
type ReportBody struct {
	Resource Resource `json:"resource"`
	Category string   `json:"category"`
	Evidence string   `json:"evidence"`
	URL      string   `json:"url,omitempty"`
}

// RespondBody answers case Case (KindRespond): counter-evidence, or a cure (Cure).
type RespondBody struct {
	Case     uint64 `json:"case"`
	Evidence string `json:"evidence"`
	Cure     bool   `json:"cure,omitempty"`
}

// Decision outcomes (DecideBody.Outcome).
const (
	OutcomeUpheld    = "upheld"
	OutcomeDismissed = "dismissed"
	OutcomeBaseless  = "baseless"
)

// DecideBody decides case Case (KindDecide): on an open case, upheld (the action follows),
// dismissed or baseless (a report's bond goes to the holder); on an appealed case, upheld
// confirms the decision and dismissed reverses it.
type DecideBody struct {
	Case     uint64 `json:"case"`
	Outcome  string `json:"outcome"`
	Evidence string `json:"evidence"`
}

// AppealBody appeals the upheld decision of case Case (KindAppeal), within the appeal window.
type AppealBody struct {
	Case     uint64 `json:"case"`
	Evidence string `json:"evidence"`
}

// CaseSummary is what a passport shows of a case: enough for the grade and a list, with
// its steps at /v1/abuse/cases/{id}.
type CaseSummary struct {
	ID       uint64   `json:"id"`
	Resource Resource `json:"resource"`
	Category string   `json:"category"`
	State    string   `json:"state"`
	Opened   int64    `json:"opened"`
	Decided  int64    `json:"decided,omitempty"`
}
