package chain

import (
	"context"
	"errors"
	"fmt"

	cmtjson "github.com/cometbft/cometbft/libs/json"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/store"
)

// App is the read side's ipledger.Reader: the front ends read the committed chain through
// that interface and never import this package.
var _ ipledger.Reader = (*App)(nil)

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
