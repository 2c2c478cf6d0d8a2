package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ipledger/ipledger/kvbuffer"
)

// maxWritesAlongside is the most state writes a block may have for Commit to apply them to
// memory while the store writes them. A block of 1,000 assignments and transfers has several
// thousand; the import's blocks have hundreds of thousands.
const maxWritesAlongside = 50_000

// Commit makes the finalized block durable: side data (log leaves, tree state, block
// record, indexes) and the state version together (store.CommitWith), whose root record,
// written last, is the point of no return (see package store).
func (a *App) Commit(context.Context, *abci.CommitRequest) (*abci.CommitResponse, error) {
	w := a.pending
	if w == nil {
		return nil, errors.New("commit without a finalized block")
	}
	a.pending = nil
	if a.rm.pipelined {
		return a.commitPipelined(w)
	}
	start := time.Now()
	h := uint64(w.record.Height)
	rec, err := json.Marshal(w.record)
	if err != nil {
		return nil, fmt.Errorf("commit: encode block record: %w", err)
	}
	if err := errors.Join(
		w.side.Set(u64key(sideTree, h), a.tree.Marshal()),
		w.side.Set(u64key(sideBlock, h), rec),
	); err != nil {
		w.side.Close()
		return nil, fmt.Errorf("commit: %w", err)
	}
	// The in-memory state takes the block while the store writes it: the two share
	// nothing, and the mempool, whose CheckTx reads the mirror, waits for Commit. A block
	// of very many writes (an import's) goes to memory after the store instead, so that
	// the two copies' allocations do not peak together.
	mirrored := make(chan error, 1)
	toMemory := func() {
		a.mirrorMu.Lock()
		defer a.mirrorMu.Unlock()
		a.mirrorHeight, a.mirrorTime = w.record.Height, w.record.Time
		mirrored <- a.buf.FlushTo(a.mirror)
	}
	alongside := a.buf.Len() <= maxWritesAlongside
	if alongside {
		go toMemory()
	}
	_, v, err := a.st.CommitWith(w.side)
	if !alongside {
		toMemory()
	}
	if merr := <-mirrored; merr != nil {
		return nil, fmt.Errorf("commit %d to memory: %w", h, merr)
	}
	if err != nil {
		return nil, fmt.Errorf("commit %d: %w", h, err)
	} else if v != w.record.Height {
		return nil, fmt.Errorf("commit: state version %d for block %d", v, h)
	}
	a.buf = kvbuffer.New(a.mirror)
	if err := a.publish(w.record); err != nil {
		return nil, err
	}
	a.checkMu.Lock()
	clear(a.mempoolSeq) // the recheck that follows rebuilds it in mempool order
	a.checkMu.Unlock()
	for _, hash := range w.hashes {
		a.verified.remove(hash)
	}
	for _, b := range w.txs {
		a.decoded.remove(b)
	}
	// Sign before anyone waiting hears of the commit, so a client that saw its
	// transaction commit finds it under the served checkpoint.
	if err := a.signCheckpoint(); err != nil && !errors.Is(err, a.logRefused) {
		return nil, fmt.Errorf("commit %d: %w", h, err)
	}
	a.m.commit.Observe(time.Since(start).Seconds())
	a.waitMu.Lock()
	for i, hash := range w.hashes {
		for _, ch := range a.waiters[hash] {
			ch <- w.results[i]
		}
		delete(a.waiters, hash)
	}
	a.waitMu.Unlock()
	if len(w.hashes) > 0 {
		a.log.Debug("committed", "height", h, "txs", len(w.hashes))
	}
	a.snapshotAfterCommit(w.record)
	if a.cadence != nil {
		a.cadence.blockDone(a.finalizeStart)
	}
	return &abci.CommitResponse{}, nil
}
