package chain

import (
	"time"

	cfg "github.com/cometbft/cometbft/config"
)

// cadence anchors the pause between blocks (timeout_commit) to the moment a block's
// commit ends rather than the moment it was decided.
//
// CometBFT v1.0.1 starts the next height timeout_commit after it decides a block, before
// the application executes it. A registry's clients mostly post a transaction, wait to
// hear it committed and post the next, so they come back only when Commit ends. Once a
// block takes about as long to execute as the timeout, the next proposal starts at once,
// finds the mempool empty and carries nothing: without the cadence, a load of 1,000 such
// clients made full and empty blocks alternate (docs/BENCHMARKS.md, session 5). The
// empty blocks are the ones CometBFT must make after every block that changed the app
// hash.
//
// After each commit the cadence lengthens the next timeout by the time the application
// spent on the block, up to the configured timeout itself: the next proposal starts a
// timeout after the commit ended, and never more than two timeouts after the decision,
// so a heavy block (an import's) delays the next by at most one timeout. The timeout only
// decides when this node proposes; it changes no state and needs no agreement between
// validators.
type cadence struct {
	// consensus is the running node's configuration. CometBFT reads TimeoutCommit when it
	// moves to the next height, on the goroutine that calls the application's
	// FinalizeBlock and Commit (a synchronous local client); blockDone runs there too.
	consensus *cfg.ConsensusConfig
	base      time.Duration // the configured timeout_commit
}

// next returns the timeout that follows a block the application spent busy on.
func (c *cadence) next(busy time.Duration) time.Duration {
	return c.base + min(max(busy, 0), c.base)
}

// blockDone sets the timeout for the height after a block whose FinalizeBlock began at
// start and whose Commit ends now.
func (c *cadence) blockDone(start time.Time) {
	c.consensus.TimeoutCommit = c.next(time.Since(start))
}
