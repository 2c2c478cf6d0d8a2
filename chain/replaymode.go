package chain

import (
	"encoding/json"
	"errors"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/kvbuffer"
)

// replayMode is how an App driven by a Replayer for verification runs. The zero value is
// a node's behaviour; a Replayer turns it on with ReplayOptions. Neither setting changes
// what FinalizeBlock computes: state, log leaves, results and app hash are the node's.
type replayMode struct {
	// lean skips the side tables only a node's queries read: the transaction index
	// ('H'), the per-object history ('X') and the log's subtree hashes ('N', which serve
	// tiles and proofs). Log leaves, tree states and block records are kept.
	lean bool
	// pipelined makes Commit apply the block to the in-memory state at once and write it
	// to the store (side data and state version, then publish) on a goroutine of its
	// own, so the next block executes meanwhile; the next FinalizeBlock waits for that
	// write (settle) before it touches the store.
	pipelined bool
	done      chan error // the write under way; nil if none
	err       error      // the first failed write: the store is unusable from then on

	// decoded holds the transactions of the block FinalizeBlock runs, decoded before
	// (ReplayBlock.Decoded); nil entries are decoded there.
	decoded []*ipledger.Tx
}

// decodeTx decodes transaction i of the block being finalized, unless a Replayer handed
// it over decoded.
func (a *App) decodeTx(i int, b []byte) (*ipledger.Tx, error) {
	if i < len(a.rm.decoded) && a.rm.decoded[i] != nil {
		return a.rm.decoded[i], nil
	}
	return a.decode(b)
}

// settle waits for the block write under way, if any, and returns its error, or that of
// an earlier write that failed.
func (a *App) settle() error {
	if a.rm.done != nil {
		err := <-a.rm.done
		a.rm.done = nil
		if err != nil && a.rm.err == nil {
			a.rm.err = err
		}
	}
	return a.rm.err
}

// commitPipelined is Commit for a pipelined replay: w's changes go into the in-memory
// state the next block reads, and the store write runs on another goroutine. A replay
// has no mempool, commit waiters, checkpoint signer or snapshots to serve.
func (a *App) commitPipelined(w *blockWork) (*abci.CommitResponse, error) {
	if err := a.settle(); err != nil {
		w.side.Close()
		return nil, err
	}
	h := w.record.Height
	tree := a.tree.Marshal() // the next block appends to a.tree
	a.mirrorMu.Lock()
	err := a.buf.FlushTo(a.mirror)
	a.mirrorHeight = h
	a.mirrorMu.Unlock()
	if err != nil {
		w.side.Close()
		return nil, fmt.Errorf("commit %d to memory: %w", h, err)
	}
	a.buf = kvbuffer.New(a.mirror)
	done := make(chan error, 1)
	a.rm.done = done
	go func() { done <- a.writeBlock(w, tree) }()
	return &abci.CommitResponse{}, nil
}

// writeBlock makes a block durable as Commit does (side data with the state version,
// store.CommitWith) and publishes it. It runs while the next block executes, which reads only the
// in-memory state and touches the store after settle.
func (a *App) writeBlock(w *blockWork, tree []byte) error {
	h := uint64(w.record.Height)
	rec, err := json.Marshal(w.record)
	if err != nil {
		w.side.Close()
		return fmt.Errorf("commit: encode block record: %w", err)
	}
	if err := errors.Join(
		w.side.Set(u64key(sideTree, h), tree),
		w.side.Set(u64key(sideBlock, h), rec),
	); err != nil {
		w.side.Close()
		return fmt.Errorf("commit: %w", err)
	}
	if _, v, err := a.st.CommitWith(w.side); err != nil {
		return fmt.Errorf("commit %d: %w", h, err)
	} else if v != w.record.Height {
		return fmt.Errorf("commit: state version %d for block %d", v, h)
	}
	if err := a.publish(w.record); err != nil {
		return err
	}
	for _, hash := range w.hashes {
		a.verified.remove(hash)
	}
	return nil
}

// syncStore makes every block written so far durable: it rewrites the log tree state of
// the last committed block, unchanged, in a synced batch. Pebble logs writes in order,
// so the sync covers the unsynced writes before it.
func (a *App) syncStore() error {
	if err := a.settle(); err != nil {
		return err
	}
	v := a.st.Version()
	if v == 0 {
		return nil
	}
	k := u64key(sideTree, uint64(v))
	tree, err := a.st.SideGet(k)
	if err != nil {
		return fmt.Errorf("sync store: %w", err)
	}
	if tree == nil {
		return fmt.Errorf("sync store: log tree state of %d missing", v)
	}
	b := a.st.NewSideBatch()
	if err := b.Set(k, tree); err != nil {
		b.Close()
		return fmt.Errorf("sync store: %w", err)
	}
	if err := b.Commit(true); err != nil {
		return fmt.Errorf("sync store: %w", err)
	}
	return nil
}
