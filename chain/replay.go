package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/types"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
	"github.com/ipledger/ipledger/tlog"
)

// ReplayBlock is a block as the application sees it: height, time and transactions.
type ReplayBlock struct {
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
	Txs    [][]byte  `json:"txs"`
	// Decoded optionally holds the transactions already decoded, as PreVerify returns
	// them: Decoded[i], if not nil, must be what ipledger.DecodeTx(Txs[i]) returns. The
	// others are decoded by Apply.
	Decoded []*ipledger.Tx `json:"-"`
}

// Replayer drives an App directly through InitChain, FinalizeBlock and Commit, without
// consensus: the determinism test runs it in separate processes on the same blocks, and
// it is how a block log can be re-executed independently.
type Replayer struct {
	app *App
	st  *store.Store
	// last is the log after the last applied block, whose store write may still be under
	// way in a pipelined replay.
	last struct {
		set  bool
		size uint64
		root []byte
	}
}

// ReplayOptions tune a Replayer for a caller that only verifies what it replays, such as
// an audit. Neither changes what a block computes (state, log leaves, result codes, app
// hash); the zero value replays exactly as a node runs.
type ReplayOptions struct {
	// Lean skips the side tables only a node's queries read: the transaction index, the
	// per-object history and the log's subtree hashes (tiles, proofs). Log leaves, log
	// tree states and block records are kept, so Leaf, Block and LogSize work, and so
	// does reopening the store.
	Lean bool
	// Pipelined lets Apply return once the block is in the in-memory state, and writes
	// it to the store on another goroutine while the next block executes. Committed
	// then lags behind the last Apply until Wait; LogSize does not.
	Pipelined bool
}

// Tune sets the options. Call it before the first Apply.
func (r *Replayer) Tune(o ReplayOptions) {
	r.app.rm.lean, r.app.rm.pipelined = o.Lean, o.Pipelined
}

// NewReplayer opens a fresh store in dir and initialises the chain from genesis.
func NewReplayer(ctx context.Context, dir, chainID string, genesisTime time.Time, g *ledger.Genesis) (*Replayer, error) {
	return newReplayer(ctx, replayStoreOptions(dir), chainID, genesisTime, g)
}

// newReplayer is NewReplayer on a store opened with o.
func newReplayer(ctx context.Context, o store.Options, chainID string, genesisTime time.Time, g *ledger.Genesis) (*Replayer, error) {
	st, err := store.Open(o)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if st.Version() != 0 {
		st.Close()
		return nil, fmt.Errorf("replay: %s is not empty", o.Dir)
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
	r.app.rm.decoded = b.Decoded
	res, err := r.app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: b.Height, Time: b.Time, Txs: b.Txs})
	r.app.rm.decoded = nil
	if err != nil {
		return nil, nil, err
	}
	rec := &r.app.pending.record
	r.last.set, r.last.size, r.last.root = true, rec.LogSize, rec.LogRoot
	if _, err := r.app.Commit(ctx, &abci.CommitRequest{}); err != nil {
		return nil, nil, err
	}
	codes := make([]uint32, len(res.TxResults))
	for i, t := range res.TxResults {
		codes[i] = t.Code
	}
	return res.AppHash, codes, nil
}

// LogSize returns the size and root of the log after the last applied block, or after the
// store's last block before the first Apply.
func (r *Replayer) LogSize() (uint64, []byte) {
	if r.last.set {
		return r.last.size, r.last.root
	}
	return r.app.LogSize()
}

// Wait waits until the store holds every applied block (Committed reports the last) and
// returns the error of a failed store write. It belongs to the goroutine that calls Apply.
func (r *Replayer) Wait() error { return r.app.settle() }

// Sync is Wait, then makes the store durable: a crash of the machine after Sync returns
// keeps every applied block. The store is written without fsync otherwise.
func (r *Replayer) Sync() error { return r.app.syncStore() }

// App returns the replayed application.
func (r *Replayer) App() *App { return r.app }

// Close waits for the store write under way and closes the store.
func (r *Replayer) Close() error { return errors.Join(r.app.settle(), r.st.Close()) }

// OpenReplayer opens a replay store that NewReplayer created and that has at least one
// replayed block: a replay continues from its last committed height (App().Committed()).
// A store without a committed block holds no genesis state (InitChain writes it into the
// working tree only), so it is refused: start again with NewReplayer in an empty dir.
func OpenReplayer(dir, chainID string) (*Replayer, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("open replay: %w", err)
	}
	st, err := store.Open(replayStoreOptions(dir))
	if err != nil {
		return nil, fmt.Errorf("open replay: %w", err)
	}
	if st.Version() == 0 {
		st.Close()
		return nil, fmt.Errorf("open replay: %s holds no replayed block", dir)
	}
	app, err := NewApp(st, Config{ChainID: chainID})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open replay: %w", err)
	}
	if err := app.waitReady(); err != nil {
		st.Close()
		return nil, fmt.Errorf("open replay: %w", err)
	}
	return &Replayer{app: app, st: st}, nil
}

// GenesisAppHash returns the app hash InitChain answered, which the chain's first header
// carries. It is meaningful only before the first Apply of a Replayer from NewReplayer.
func (r *Replayer) GenesisAppHash() []byte {
	return tlog.AppHash(r.st.WorkingHash(), tlog.New().Root())
}

// PreVerify batch-verifies the signatures of transactions the replay will apply later and
// remembers those that hold, so FinalizeBlock skips them: a caller can verify the next
// blocks on another core while the current one executes. Undecodable transactions and bad
// signatures are left for FinalizeBlock to judge. It returns, per transaction, the number
// of signatures it checked (0 for one undecodable or already verified) and the decoded
// transaction (nil if undecodable), which ReplayBlock.Decoded can pass on to Apply. It is
// safe for concurrent use with Apply.
func (r *Replayer) PreVerify(txs [][]byte) (checked []int, decoded []*ipledger.Tx) {
	bv := ipledger.NewBatchVerifier()
	checked = make([]int, len(txs))
	decoded = make([]*ipledger.Tx, len(txs))
	var queued []*ipledger.Tx
	for i, b := range txs {
		tx, err := ipledger.DecodeTx(b)
		if err != nil {
			continue
		}
		ledger.DecodeBodyAhead(tx)
		decoded[i] = tx
		if r.app.verified.has(tx.Hash) {
			continue
		}
		bv.Add(tx)
		queued = append(queued, tx)
		checked[i] = len(tx.Signatures)
	}
	if len(queued) == 0 {
		return checked, decoded
	}
	for i, ok := range bv.Verify(nil) {
		if ok {
			r.app.verified.add(queued[i].Hash)
		}
	}
	return checked, decoded
}

// NewReplayerFromGenesis is NewReplayer for a CometBFT genesis document: InitChain gets
// the document's validators and consensus parameters, as CometBFT sends them, so a
// genesis whose app state names validators replays too.
func NewReplayerFromGenesis(ctx context.Context, dir string, doc *types.GenesisDoc) (*Replayer, error) {
	st, err := store.Open(replayStoreOptions(dir))
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if st.Version() != 0 {
		st.Close()
		return nil, fmt.Errorf("replay: %s is not empty", dir)
	}
	app, err := NewApp(st, Config{ChainID: doc.ChainID})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("replay: %w", err)
	}
	vals := make([]*types.Validator, len(doc.Validators))
	for i, v := range doc.Validators {
		vals[i] = types.NewValidator(v.PubKey, v.Power)
	}
	params := doc.ConsensusParams.ToProto()
	req := &abci.InitChainRequest{ChainId: doc.ChainID, Time: doc.GenesisTime, InitialHeight: doc.InitialHeight,
		ConsensusParams: &params, Validators: types.TM2PB.ValidatorUpdates(types.NewValidatorSet(vals)), AppStateBytes: doc.AppState}
	if _, err := app.InitChain(ctx, req); err != nil {
		st.Close()
		return nil, fmt.Errorf("replay: %w", err)
	}
	return &Replayer{app: app, st: st}, nil
}

// replayStoreOptions are the options of a replay store: a scratch store, written without
// fsync (Sync makes it durable where it matters) and with 256 MiB memtables, which hold an
// audit's worth of blocks without flushes and compactions (an audit of 64,572 leaves:
// 11.2 CPU-s instead of 14, peak 860 MB instead of 680).
func replayStoreOptions(dir string) store.Options {
	return store.Options{Dir: dir, NoSync: true, MemTableSize: 256 << 20}
}
