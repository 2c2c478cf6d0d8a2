package ipledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The read model: what a front end (RDAP, WHOIS, the JSON API, and those to come) reads of
// the committed chain, in root types, so that it imports this package and ledger's pure
// query functions and never the node (package chain), its store or CometBFT.

// Reader is the committed chain as the read side sees it. Package chain's App implements
// it; every method is safe for concurrent use.
type Reader interface {
	// Committed returns the last committed snapshot. It is nil, or at height 0, while the
	// node starts: lookups then find nothing.
	Committed() *Snapshot
	// SnapshotAt returns the snapshot of a committed height (0: the last). A height above
	// the last committed one, or one whose state is no longer retained, gives an error
	// matching ErrNotRetained.
	SnapshotAt(height int64) (*Snapshot, error)
	// Block returns the record of a committed block, or nil for a height not committed.
	// The record may be shared: it must not be modified.
	Block(height int64) (*BlockRecord, error)
	// HistoryPage lists at most limit committed transactions that touched object
	// ("holding/ID", "org/HANDLE", "lease/ID"), oldest first, from just after position
	// after (the zero HistoryPos: from the start), and whether more follow. It stops with
	// ctx's error once ctx is done.
	HistoryPage(ctx context.Context, object string, after HistoryPos, limit int) ([]HistoryEntry, bool, error)
	// HistoryDetailOf returns the time, kind and result code of the transaction at e
	// without decoding its block's record; ok is false when the node cannot say that way
	// (its log starts later, after a state sync): read Block instead.
	HistoryDetailOf(e HistoryEntry) (d HistoryDetail, ok bool, err error)
	// Outcome returns where and how a committed transaction ended, or ok false.
	Outcome(hash Hash) (TxOutcome, bool, error)
	// WaitCommit blocks until the transaction with hash is committed, and returns its
	// outcome, or ctx's error once ctx ends.
	WaitCommit(ctx context.Context, hash Hash) (TxOutcome, error)
	// Leaf returns the transparency log's leaf i as the node encoded it (package tlog
	// decodes it), or nil if the log has no such leaf.
	Leaf(i uint64) ([]byte, error)
}

// ErrNoHeader means the node has no signed header at the height asked: the block is not
// committed yet, or it was pruned. Check with errors.Is.
var ErrNoHeader = errors.New("no signed header at that height")

// ErrNotRetained means the state of the height asked is not available: not committed yet,
// or pruned. Check with errors.Is.
var ErrNotRetained = errors.New("state not retained")

// Snapshot is a consistent view of one committed block: the state after it and its record.
// The zero Snapshot is the empty chain before its first block.
type Snapshot struct {
	// State is the committed state, read-only: the ledger's query functions read it.
	State KV
	// Block is the record of the block at Height: its time, app hash, state root and log.
	Block  BlockRecord
	Height int64
}

// BlockRecord is what the node keeps about each committed block.
type BlockRecord struct {
	Height    int64      `json:"height"`
	Time      time.Time  `json:"time"`
	AppHash   []byte     `json:"app_hash"`
	StateRoot []byte     `json:"state_root"`
	LogRoot   []byte     `json:"log_root"`
	LogSize   uint64     `json:"log_size"`
	Txs       []TxRecord `json:"txs"`
	Events    []Event    `json:"events,omitempty"`
}

// TxRecord is the outcome of one transaction in a block.
type TxRecord struct {
	Hash  Hash   `json:"hash"`
	Kind  string `json:"kind,omitempty"`
	Code  Code   `json:"code"`
	Log   string `json:"log,omitempty"`
	Index uint32 `json:"index"`
	// Touched names the objects the transaction changed ("holding/42", "lease/7").
	Touched []string `json:"touched,omitempty"`
}

// Event is something the state machine did on its own at the end of a block because block
// time passed: a lease paid, in grace or ended, a route authorisation expired.
type Event struct {
	// lease-paid, lease-grace, lease-ended, route-expired; the market's listing-sold,
	// listing-unsold, listing-failed, sale-pending, sale-settled, sale-failed, period-ended;
	// the abuse process's case-upheld, case-pending, case-closed, case-window; class
	// auctions' auction-cleared, auction-idle, fill-settled, fill-pending, fill-failed,
	// bid-expired
	Kind    string   `json:"kind"`
	Ref     string   `json:"ref"` // "lease/ID", "route/ID", "listing/ID", "sale/ID", "period/ID", "case/ID", "clear/TIME", "fill/ID", "bid/HEX16"
	Touched []string `json:"touched,omitempty"`
}

// TxOutcome is where and how a transaction was committed.
type TxOutcome struct {
	Height  int64    `json:"height"`
	Index   uint32   `json:"index"`
	Code    Code     `json:"code"`
	Log     string   `json:"log,omitempty"`
	Touched []string `json:"touched,omitempty"` // objects it changed, e.g. the new "lease/7"
}

// HistoryEntry is one transaction that touched an object.
type HistoryEntry struct {
	Height int64  `json:"height"`
	Index  uint32 `json:"index"`
	Hash   Hash   `json:"hash"`
}

// Pos returns e's position.
func (e HistoryEntry) Pos() HistoryPos { return HistoryPos{Height: e.Height, Index: e.Index} }

// HistoryPos is a position in the chain: a block height and a transaction index in it (the
// number of transactions for the block's time-driven events). The zero HistoryPos is
// before every entry.
type HistoryPos struct {
	Height int64
	Index  uint32
}

// String formats p as "height.index", the form ParseHistoryPos reads.
func (p HistoryPos) String() string {
	return strconv.FormatInt(p.Height, 10) + "." + strconv.FormatUint(uint64(p.Index), 10)
}

// ParseHistoryPos reads "height.index" as String writes it.
func ParseHistoryPos(s string) (HistoryPos, error) {
	hs, is, ok := strings.Cut(s, ".")
	h, err1 := strconv.ParseInt(hs, 10, 64)
	i, err2 := strconv.ParseUint(is, 10, 32)
	if !ok || err1 != nil || err2 != nil || h < 0 {
		return HistoryPos{}, fmt.Errorf("history position %.30q: want height.index, e.g. 1234.0", s)
	}
	return HistoryPos{Height: h, Index: uint32(i)}, nil
}

// HistoryDetail is what the log says of one history entry.
type HistoryDetail struct {
	Time time.Time
	// Kind is the transaction's kind; empty for a transaction that did not decode or whose
	// signatures did not verify (as in its block record).
	Kind string
	Code Code
	// EndBlock means the entry is the block's time-driven events, whose kinds the caller
	// reads from the block record (the leaf does not say which events touched what).
	EndBlock bool
}
