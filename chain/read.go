package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	cmtjson "github.com/cometbft/cometbft/libs/json"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/store"
)

// App is the read side's ipledger.Reader: the front ends read the committed chain through
// that interface and never import this package.
var _ ipledger.Reader = (*App)(nil)

// Committed returns the last committed snapshot. It is safe for concurrent use.
func (a *App) Committed() *ipledger.Snapshot { return a.committed.Load() }

// SnapshotAt returns the snapshot of a committed height (0: the last committed one, as
// Committed). A height above the last committed one, or one whose state the store no
// longer retains, gives an error matching ipledger.ErrNotRetained (and, when the store
// pruned it, store.ErrVersionNotFound).
func (a *App) SnapshotAt(height int64) (*ipledger.Snapshot, error) {
	last := a.Committed()
	if last == nil {
		return nil, fmt.Errorf("state at height %d: nothing committed: %w", height, ipledger.ErrNotRetained)
	}
	if height == 0 || height == last.Height {
		return last, nil
	}
	if height < 0 || height > last.Height {
		return nil, fmt.Errorf("state at height %d (last committed %d): %w", height, last.Height, ipledger.ErrNotRetained)
	}
	v, err := a.st.ReadAt(height)
	if errors.Is(err, store.ErrVersionNotFound) {
		return nil, fmt.Errorf("state at height %d: %w (%w)", height, ipledger.ErrNotRetained, err)
	}
	if err != nil {
		return nil, fmt.Errorf("state at height %d: %w", height, err)
	}
	rec, err := a.Block(height)
	if err != nil {
		return nil, fmt.Errorf("state at height %d: %w", height, err)
	}
	if rec == nil {
		return nil, fmt.Errorf("state at height %d: no block record: %w", height, ipledger.ErrNotRetained)
	}
	return &ipledger.Snapshot{State: v, Block: *rec, Height: height}, nil
}

// Block returns the record of a committed block, or nil. The record may be shared with
// other callers: it must not be modified.
func (a *App) Block(height int64) (*ipledger.BlockRecord, error) {
	if height < 1 || height > a.Committed().Height {
		return nil, nil
	}
	if rec := a.blocks.get(height); rec != nil {
		return rec, nil
	}
	b, err := a.st.SideGet(u64key(sideBlock, uint64(height)))
	if err != nil || b == nil {
		return nil, err
	}
	var rec ipledger.BlockRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("decode block %d: %w", height, err)
	}
	a.blocks.put(height, &rec)
	return &rec, nil
}

// Outcome returns where and how a committed transaction ended, or ok false.
func (a *App) Outcome(hash ipledger.Hash) (ipledger.TxOutcome, bool, error) {
	height, idx, ok, err := a.TxPosition(hash)
	if err != nil || !ok {
		return ipledger.TxOutcome{}, false, err
	}
	rec, err := a.Block(height)
	if err != nil || rec == nil || int(idx) >= len(rec.Txs) {
		return ipledger.TxOutcome{}, false, err
	}
	t := rec.Txs[idx]
	return ipledger.TxOutcome{Height: height, Index: idx, Code: t.Code, Log: t.Log, Touched: t.Touched}, true, nil
}

// WaitCommit blocks until the transaction with hash is committed or ctx ends.
func (a *App) WaitCommit(ctx context.Context, hash ipledger.Hash) (ipledger.TxOutcome, error) {
	// Register first, then look: a commit between the two still reaches the channel, and
	// the lookup (a database read) happens outside the lock every waiter shares.
	ch := make(chan ipledger.TxOutcome, 1)
	a.waitMu.Lock()
	a.waiters[hash] = append(a.waiters[hash], ch)
	a.waitMu.Unlock()
	// A transaction still in the signature cache is not committed yet: Commit drops the
	// hashes of a block's transactions from the cache before it tells the waiters, so
	// the database read is needed only when the hash is not there.
	if !a.verified.has(hash) {
		if out, ok, err := a.Outcome(hash); err != nil || ok {
			a.unwait(hash, ch)
			return out, err
		}
	}
	select {
	case out := <-ch:
		return out, nil
	case <-ctx.Done():
		a.unwait(hash, ch)
		return ipledger.TxOutcome{}, fmt.Errorf("wait for commit: %w", ctx.Err())
	}
}

// unwait removes a waiter that no longer listens.
func (a *App) unwait(hash ipledger.Hash, ch chan ipledger.TxOutcome) {
	a.waitMu.Lock()
	defer a.waitMu.Unlock()
	list := a.waiters[hash]
	for i, c := range list {
		if c == ch {
			a.waiters[hash] = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(a.waiters[hash]) == 0 {
		delete(a.waiters, hash)
	}
}

// history lists the committed transactions that touched object ("org/HANDLE",
// "holding/ID"), oldest first, at most limit: HistoryPage's first page.
func (a *App) history(object string, limit int) ([]ipledger.HistoryEntry, error) {
	out, _, err := a.HistoryPage(context.Background(), object, ipledger.HistoryPos{}, limit)
	return out, err
}

// Leaf returns log leaf i.
func (a *App) Leaf(i uint64) ([]byte, error) {
	return a.st.SideGet(u64key(sideLeaf, i))
}

// Reader returns the node's application as the read side sees it.
func (n *Node) Reader() ipledger.Reader { return n.app }

// SignedHeader returns, in CometBFT's JSON, the signed header of height h (as its RPC's
// /commit serves signed_header) and the validator set that signed it (as /validators
// lists them): LightBlock encoded, for the JSON API's state proofs, which take it as bytes
// (stateproof.NewAnchorJSON) so that no front end handles CometBFT's types. A height
// without a header in the block store gives an error matching ipledger.ErrNoHeader.
func (n *Node) SignedHeader(ctx context.Context, h int64) (header, validators []byte, err error) {
	lb, err := n.LightBlock(ctx, h)
	if err != nil {
		return nil, nil, err
	}
	if header, err = cmtjson.Marshal(lb.SignedHeader); err != nil {
		return nil, nil, fmt.Errorf("signed header %d: %w", h, err)
	}
	if validators, err = cmtjson.Marshal(lb.ValidatorSet.Validators); err != nil {
		return nil, nil, fmt.Errorf("validators of %d: %w", h, err)
	}
	return header, validators, nil
}
