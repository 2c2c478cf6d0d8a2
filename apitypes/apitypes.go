// Package apitypes holds the wire types of the node's JSON API (package httpapi serves
// them, package client reads them): the request and response bodies and the API's list
// limits. It imports the root and the standard library only, so a client of the API links
// no server, chain, store or CometBFT code; a state proof travels in its JSON form
// (json.RawMessage) for package stateproof to decode and check.
package apitypes

import (
	"encoding/json"
	"time"

	"github.com/ipledger/ipledger"
)

// Limits of the API.
const (
	// MaxChildren bounds the children listed for a holding per answer
	// (ResourceInfo.ChildrenTruncated, ChildrenNext).
	MaxChildren = 1000
	// MaxHistory bounds the history entries listed per answer (HistoryTruncated,
	// HistoryNext).
	MaxHistory = 1000
	// MaxOrgList bounds the limit of GET /v1/orgs; 100 is the default.
	MaxOrgList = 1000
	// MaxGeo bounds the geolocations listed with a resource (ResourceInfo.GeoTruncated).
	MaxGeo = 100
)

// MaxMarketList bounds the items of a market listing (Truncated says when more exist).
const MaxMarketList = 1000

// BalanceInfo answers GET /v1/balances/{org}.
type BalanceInfo struct {
	Org     string `json:"org"`
	Balance uint64 `json:"balance"`
	// Held is the part of Balance the organisation's open bids and pending purchases hold:
	// it cannot be paid until they are released.
	Held   uint64 `json:"held,omitempty"`
	Height int64  `json:"height"`
}

// LeaseInfo answers GET /v1/leases/{id}: the lease and the history of its object.
type LeaseInfo struct {
	ipledger.Lease
	End              int64         `json:"end"` // Start + Periods·Period
	Height           int64         `json:"height"`
	History          []HistoryItem `json:"history"`
	HistoryTruncated bool          `json:"history_truncated,omitempty"`
	// HistoryNext, when HistoryTruncated, is the ?history_after= that asks for the rest.
	HistoryNext string `json:"history_next,omitempty"`
}

// LeaseList answers GET /v1/leases and GET /v1/offers.
type LeaseList struct {
	Height    int64             `json:"height"`
	Leases    []*ipledger.Lease `json:"leases,omitempty"`
	Offers    []*ipledger.Offer `json:"offers,omitempty"`
	Truncated bool              `json:"truncated,omitempty"`
}

// RouteList answers GET /v1/routes: route authorisations, each marked whether it is in
// force at the committed block's time (not expired, not suppressed by a lease).
type RouteList struct {
	Height    int64       `json:"height"`
	Routes    []RouteInfo `json:"routes"`
	Truncated bool        `json:"truncated,omitempty"`
}

// RouteInfo is one route authorisation in a RouteList.
type RouteInfo struct {
	ipledger.RouteAuth
	InForce bool `json:"in_force"`
}

// ErrorBody is the body of every error response: code is ipledger.Code.String() (e.g.
// "not_found"), and the HTTP status is the code's HTTPStatus.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// SubmitRequest is the JSON form of POST /v1/tx (Content-Type application/json); the
// transaction is standard base64 in JSON.
type SubmitRequest struct {
	Tx []byte `json:"tx"`
}

// SubmitResult answers POST /v1/tx. Outcome is nil when the transaction was admitted to
// the mempool but not (yet) seen committed: always without ?wait=commit, and with it when
// the wait ran out.
type SubmitResult struct {
	Hash ipledger.Hash `json:"hash"`
	*Outcome
}

// Committed reports whether r carries a commit outcome.
func (r SubmitResult) Committed() bool { return r.Outcome != nil }

// Outcome is where and how a transaction was committed. A non-zero Code is a transaction
// the state machine rejected: it is committed (and logged) and changed nothing but its first
// signer's sequence, which it used up (if it passed authentication), so it never applies later.
type Outcome struct {
	Height   int64         `json:"height"`
	Index    uint32        `json:"index"`
	Code     ipledger.Code `json:"code"`
	CodeName string        `json:"code_name"`
	Log      string        `json:"log,omitempty"`
	// Touched names the objects the transaction changed ("holding/42", "offer/3"): how a
	// client learns the id of what it created.
	Touched []string `json:"touched,omitempty"`
}

// TxInfo answers GET /v1/tx/{hash}: the outcome and the decoded transaction. Body is the
// signed JSON body exactly as signed; BodyRaw carries it instead in the odd case that it
// is not valid JSON (a malformed transaction committed with its result code).
type TxInfo struct {
	Hash ipledger.Hash `json:"hash"`
	Outcome
	Time     time.Time       `json:"time"`
	Kind     string          `json:"kind"`
	ChainID  string          `json:"chain_id,omitempty"`
	Sequence uint64          `json:"sequence,omitempty"`
	Expiry   int64           `json:"expiry,omitempty"`
	Signers  []TxSigner      `json:"signers,omitempty"`
	Body     json.RawMessage `json:"body,omitempty"`
	BodyRaw  []byte          `json:"body_raw,omitempty"`
	Size     int             `json:"size"`
}

// TxSigner is one signature's organisation and key.
type TxSigner struct {
	Org string             `json:"org"`
	Key ipledger.PublicKey `json:"key"`
}

// HoldingInfo is a holding as the API shows it, with its handle and its holder's name.
type HoldingInfo struct {
	Handle     string            `json:"handle"`
	ID         uint64            `json:"id"`
	Resource   ipledger.Resource `json:"resource"`
	Depth      int               `json:"depth"`
	Holder     string            `json:"holder"`
	HolderName string            `json:"holder_name,omitempty"`
	Status     ipledger.Status   `json:"status"`
	Country    string            `json:"country,omitempty"`
	Registered string            `json:"registered,omitempty"`
	Changed    time.Time         `json:"changed"`
	Origin     uint64            `json:"origin,omitempty"`
}

// HistoryItem is one committed transaction that touched an object ("holding/42",
// "org/ORG-X"), with its kind and result code from the block record.
type HistoryItem struct {
	Height   int64         `json:"height"`
	Index    uint32        `json:"index"`
	Hash     ipledger.Hash `json:"hash"`
	Time     time.Time     `json:"time"`
	Kind     string        `json:"kind,omitempty"`
	Code     ipledger.Code `json:"code"`
	CodeName string        `json:"code_name"`
	Object   string        `json:"object"`
}

// ResourceInfo answers GET /v1/resources/{resource} and GET /v1/holdings/{id}. Chain runs
// from the registry pool (depth 0) down to Holding, the most specific holding that contains
// all of Resource. History lists the transactions that touched Holding and the holding it
// was split from (if any), oldest first, at most MaxHistory. Children are the holdings
// directly below Holding in address order, at most MaxChildren. A truncated list names the
// cursor of the rest: ask again with ?history_after=HistoryNext or
// ?children_after=ChildrenNext (both may be given).
type ResourceInfo struct {
	Resource          ipledger.Resource `json:"resource"`
	Height            int64             `json:"height"`
	Holding           HoldingInfo       `json:"holding"`
	Chain             []HoldingInfo     `json:"chain"`
	History           []HistoryItem     `json:"history"`
	HistoryTruncated  bool              `json:"history_truncated,omitempty"`
	HistoryNext       string            `json:"history_next,omitempty"`
	Children          []HoldingInfo     `json:"children"`
	ChildrenTruncated bool              `json:"children_truncated,omitempty"`
	ChildrenNext      string            `json:"children_next,omitempty"`
	// Geo lists the geolocations published with set-geo (RFC 8805, as /geofeed.csv serves
	// them) that overlap Resource, in address order, at most MaxGeo; GeoTruncated says more
	// exist. A holding's Country is its registration's country, which set-geo leaves alone.
	Geo          []*ipledger.Geo `json:"geo,omitempty"`
	GeoTruncated bool            `json:"geo_truncated,omitempty"`
	// Proof, with ?prove=true, is the JSON of a stateproof.Proof that proves the answer at
	// Height: for a resource who holds it (stateproof.Proof.VerifyResource), for a holding
	// the holding by id (VerifyHolding). History and Children are not part of what it
	// proves. It stays encoded here so that this package links no CometBFT code.
	Proof json.RawMessage `json:"proof,omitempty"`
}

// OrgInfo answers GET /v1/orgs/{handle}: the organisation and the transactions that touched
// it, oldest first, at most MaxHistory; when truncated, ?history_after=HistoryNext asks for
// the rest.
type OrgInfo struct {
	ipledger.Organisation
	Height           int64         `json:"height"`
	History          []HistoryItem `json:"history"`
	HistoryTruncated bool          `json:"history_truncated,omitempty"`
	HistoryNext      string        `json:"history_next,omitempty"`
	// Proof, with ?prove=true, is the JSON of a stateproof.Proof that proves the
	// organisation record at Height (stateproof.Proof.VerifyOrg); History is not part of it.
	Proof json.RawMessage `json:"proof,omitempty"`
}

// OrgList answers GET /v1/orgs: organisation handles in order. Truncated means more match;
// ask again with after set to the last handle.
type OrgList struct {
	Height    int64    `json:"height"`
	Handles   []string `json:"handles"`
	Truncated bool     `json:"truncated,omitempty"`
}

// InclusionInfo answers GET /v1/log/proof/inclusion: leaf Index is in the tree of Size
// with Root; Proof is the RFC 9162 audit path, leaf to root.
type InclusionInfo struct {
	Index    uint64   `json:"index"`
	Size     uint64   `json:"size"`
	Root     []byte   `json:"root"`
	LeafHash []byte   `json:"leaf_hash"`
	Proof    [][]byte `json:"proof"`
}

// ConsistencyInfo answers GET /v1/log/proof/consistency: the tree of Old is a prefix of
// the tree of New.
type ConsistencyInfo struct {
	Old   uint64   `json:"old"`
	New   uint64   `json:"new"`
	Proof [][]byte `json:"proof"`
}
