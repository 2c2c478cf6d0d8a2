package ipledger

import "net/netip"

// Blocklist observations (issue 18): an observer, an organisation admitted to do so, posts
// the changes of a public blocklist (Spamhaus DROP, a FireHOL netset) as it read them:
// which prefixes the list added and removed, with the list's own id and timestamp. Only
// these facts go on the ledger, never the list file.

// Observation events.
const (
	ObservationListed   = "listed"
	ObservationDelisted = "delisted"
)

// ObserveBody is a batch of changes to one list as one observer saw them (KindObserve).
// ListTime is the list's own timestamp (Unix seconds), recorded as data: it may equal the
// last one the observer posted for the list (a list too long for one transaction) but not
// be older.
type ObserveBody struct {
	List     string              `json:"list"`
	ListTime int64               `json:"list_time"`
	Changes  []ObservationChange `json:"changes"`
}

// ObservationChange is one entry of a list that appeared (ObservationListed) or went
// (ObservationDelisted). Prefix is canonical (no host bits); ID is the list's own id of the
// entry (a Spamhaus SBL id), empty if the list has none.
type ObservationChange struct {
	Event  string       `json:"event"`
	Prefix netip.Prefix `json:"prefix"`
	ID     string       `json:"id,omitempty"`
}

// Observation is an entry of an observer's current set of a list: what is listed now, and
// since when (the block that recorded the listing).
type Observation struct {
	Observer string       `json:"observer"`
	List     string       `json:"list"`
	Prefix   netip.Prefix `json:"prefix"`
	ID       string       `json:"id,omitempty"`
	Height   int64        `json:"height"`
	Time     int64        `json:"time"`      // block time, Unix seconds
	ListTime int64        `json:"list_time"` // the list's timestamp when it was listed
}

// ObservationEvent is one recorded listing or delisting, kept for ever: the passport's
// observations and the grade are computed from these. Seq numbers them in chain order.
type ObservationEvent struct {
	Seq      uint64       `json:"seq"`
	Observer string       `json:"observer"`
	List     string       `json:"list"`
	Event    string       `json:"event"`
	Prefix   netip.Prefix `json:"prefix"`
	ID       string       `json:"id,omitempty"`
	Height   int64        `json:"height"`
	Time     int64        `json:"time"`
	ListTime int64        `json:"list_time"`
}
