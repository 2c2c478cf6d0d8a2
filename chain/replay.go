package chain

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

// ReplayBlock is a block as the application sees it: height, time and transactions.
type ReplayBlock struct {
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
	Txs    [][]byte  `json:"txs"`
}

// Replayer drives an App directly through InitChain, FinalizeBlock and Commit, without
// consensus: the determinism test runs it in separate processes on the same blocks, and
// it is how a block log can be re-executed independently.
type Replayer struct {
	app *App
	st  *store.Store
}

// NewReplayer opens a fresh store in dir and initialises the chain from genesis.
func NewReplayer(ctx context.Context, dir, chainID string, genesisTime time.Time, g *ledger.Genesis) (*Replayer, error) {
	st, err := store.Open(store.Options{Dir: dir, NoSync: true})
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if st.Version() != 0 {
		st.Close()
		return nil, fmt.Errorf("replay: %s is not empty", dir)
	}
	app, err := NewApp(st, Config{ChainID: chainID})
	if err != nil {
		st.Close()
		return nil, err
	}
	state, err := json.Marshal(g)
	if err != nil {
		st.Close()
		return nil, err
	}
	if _, err := app.InitChain(ctx, &abci.InitChainRequest{ChainId: chainID, Time: genesisTime, AppStateBytes: state, InitialHeight: 1}); err != nil {
		st.Close()
		return nil, err
	}
	return &Replayer{app: app, st: st}, nil
}

// Apply runs one block and returns its app hash and result codes.
func (r *Replayer) Apply(ctx context.Context, b ReplayBlock) ([]byte, []uint32, error) {
	res, err := r.app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: b.Height, Time: b.Time, Txs: b.Txs})
	if err != nil {
		return nil, nil, err
	}
	if _, err := r.app.Commit(ctx, &abci.CommitRequest{}); err != nil {
		return nil, nil, err
	}
	codes := make([]uint32, len(res.TxResults))
	for i, t := range res.TxResults {
		codes[i] = t.Code
	}
	return res.AppHash, codes, nil
}

// App returns the replayed application.
func (r *Replayer) App() *App { return r.app }

// Close closes the store.
func (r *Replayer) Close() error { return r.st.Close() }
