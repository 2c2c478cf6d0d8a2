package audit

import (
	"fmt"
	"time"
)

// Report says what a run verified. Counts are of this run.
type Report struct {
	ChainID string
	// Start is the first height this run processed; Height the last header verified.
	Start, Height int64
	// Verified is the last height whose replayed app hash matched the next header's;
	// Replayed the last height replayed (Verified+1 at the tip of the chain).
	Verified, Replayed int64
	Headers            int // headers verified
	CommitSigs         int // commit signatures verified
	Txs                int // transactions replayed
	TxSigs             int // transaction signatures verified
	LogSize            uint64
	LogRoot            []byte
	Fetched            uint64 // log leaves fetched
	Compared           uint64 // log leaves compared with the replay
	Rechecked          uint64 // leaves compared in earlier runs fetched and compared again
	Holdings, Orgs     int    // node answers compared with the replayed state
	Skipped            int    // answers not compared: the object changed after Replayed
	// StatsRows is the rows of the market's statistics recomputed from the replay that
	// matched the node's; StatsSkipped says the node no longer kept the height compared.
	StatsRows    int
	StatsSkipped bool
	// Uncovered, if not 0, is the first height with transactions that the node's signed
	// log checkpoint did not reach: the replay stopped before it (a later run continues).
	Uncovered    int64
	LogKey       string
	LogKeyPinned string // where the key was fetched from and pinned, this run
	Duration     time.Duration
	// Where the time went: replaying blocks, waiting for log entries and for verified
	// headers (the fetchers run ahead concurrently; waits are time they fell behind), and
	// comparing the node's answers.
	Replay, WaitLog, WaitHeaders, Compare time.Duration
}

// Signatures returns the signatures verified: commit and transaction signatures.
func (r *Report) Signatures() int { return r.CommitSigs + r.TxSigs }

// String is the one-line verdict of a successful run.
func (r *Report) String() string {
	s := r.Duration.Seconds()
	if s <= 0 {
		s = 1e-9
	}
	headers := fmt.Sprintf("headers %d–%d verified", r.Start, r.Height)
	if r.Headers == 0 {
		headers = fmt.Sprintf("no new headers after %d", r.Height)
	}
	return fmt.Sprintf("audit OK: chain %s, %s, state replayed to %d (app hash verified to %d), log size %d root %x; "+
		"%d leaves, %d transactions, %d signatures (%d transaction, %d commit) in %.1f s (%.0f leaves/s, %.0f signatures/s); "+
		"node answers match for %d holdings and %d organisations (%d skipped, changed since)",
		r.ChainID, headers, r.Replayed, r.Verified, r.LogSize, r.LogRoot,
		r.Compared, r.Txs, r.Signatures(), r.TxSigs, r.CommitSigs, s, float64(r.Compared)/s, float64(r.Signatures())/s,
		r.Holdings, r.Orgs, r.Skipped) + r.stats() + r.uncovered()
}

func (r *Report) stats() string {
	switch {
	case r.StatsSkipped:
		return "; market statistics not compared (the node keeps no state of that height)"
	case r.StatsRows > 0:
		return fmt.Sprintf("; market statistics recomputed, %d rows match", r.StatsRows)
	}
	return ""
}

func (r *Report) uncovered() string {
	if r.Uncovered == 0 {
		return ""
	}
	return fmt.Sprintf("; the node's signed log does not reach height %d yet: the replay stopped before it", r.Uncovered)
}
