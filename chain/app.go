// Package chain runs ipledger on CometBFT: the ABCI application that feeds blocks through
// the ledger state machine, keeps the transparency log and commits state, log and height
// together, and takes and restores the snapshots of CometBFT's state sync
// (snapshot.go); and the in-process node that wires it to CometBFT's consensus, mempool,
// peer-to-peer and state-sync layers.
package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/kvbuffer"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
	"github.com/ipledger/ipledger/tlog"
)

// Config tunes the application.
type Config struct {
	ChainID string
	// SignerQuota bounds the transactions of one first signer waiting in the mempool; it
	// stands in for fees (DESIGN.md).
	SignerQuota uint64
	Logger      *slog.Logger
	Metrics     *Metrics
	// LogSigner signs the log's checkpoints (a note key); nil signs none.
	LogSigner note.Signer
	// LogVerifierKey is the note verifier key of LogSigner, published for auditors.
	LogVerifierKey string
	// SnapshotDir holds the state-sync snapshots the node takes and serves (snapshot.go);
	// "" serves none. SnapshotInterval is the number of blocks between snapshots (0 takes
	// none) and SnapshotKeep how many are kept (0 means DefaultSnapshotKeep).
	SnapshotDir      string
	SnapshotInterval int64
	SnapshotKeep     int
}

// App is the ABCI application. CheckTx runs on the mempool connection concurrently with
// the consensus connection (proxy.NewConnSyncLocalClientCreator), so it only reads the
// last committed snapshot.
type App struct {
	abci.BaseApplication
	cfg    Config
	ledger *ledger.Ledger
	st     *store.Store
	log    *slog.Logger
	m      *Metrics

	// Consensus connection state.
	tree    *tlog.Tree
	pending *blockWork
	// mirror is the committed state in memory, loaded at start and updated at each commit;
	// buf holds the writes since the last commit over it. The state machine reads and seeks
	// only there; the authenticated tree receives each block's writes once, in key order,
	// and serves commitments, proofs and the concurrent readers (Committed).
	mirror *store.MemKV
	buf    *kvbuffer.Buffer
	// mirrorMu lets CheckTx read the mirror while the consensus connection runs: Commit
	// holds it to apply a block; FinalizeBlock only reads the mirror, on the one goroutine
	// that writes it.
	mirrorMu     sync.RWMutex
	mirrorHeight int64
	mirrorTime   time.Time     // the time of the block at mirrorHeight, for CheckTx's expiry
	ready        chan struct{} // closed when mirror is loaded (loadErr set on failure)
	loadErr      error

	committed atomic.Pointer[ipledger.Snapshot]

	checkpoint  atomic.Pointer[[]byte] // the last signed checkpoint note
	logVerifier note.Verifier          // verifies LogSigner's notes
	logRefused  error                  // set once signing stopped (consensus goroutine only)
	witnesses   *witnessPool           // nil without witnesses; set before CometBFT starts

	checkMu    sync.Mutex
	mempoolSeq map[string]uint64 // highest sequence accepted into the mempool, per first signer

	verified sigCache
	decoded  txCache    // decoded transactions between submission and commit
	blocks   blockCache // decoded records of recent blocks
	sigs     *verifier  // batches the signature checks of concurrent submissions

	waitMu  sync.Mutex
	waiters map[ipledger.Hash][]chan ipledger.TxOutcome

	snap snapshots // state-sync snapshots taken, served and restored (snapshot.go)

	rm replayMode // how a Replayer runs the app (replaymode.go); zero for a node

	// cadence anchors the next block's timeout to the end of Commit (cadence.go); nil in
	// an app no CometBFT node runs. finalizeStart is when the pending block's
	// FinalizeBlock began.
	cadence       *cadence
	finalizeStart time.Time
}

// NewApp opens the application over an open store. It restores the log tree of the last
// committed block, so a restart does not replay anything.
func NewApp(st *store.Store, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SignerQuota == 0 {
		cfg.SignerQuota = 5000
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	a := &App{
		cfg: cfg, ledger: ledger.New(cfg.ChainID), st: st, log: cfg.Logger, m: cfg.Metrics,
		mempoolSeq: map[string]uint64{}, waiters: map[ipledger.Hash][]chan ipledger.TxOutcome{},
	}
	a.verified.init(200_000)
	a.decoded.init(200_000)
	a.sigs = newVerifier()
	if cfg.LogSigner != nil {
		v, err := note.NewVerifier(cfg.LogVerifierKey)
		if err != nil || v.KeyHash() != cfg.LogSigner.KeyHash() || v.Name() != cfg.LogSigner.Name() {
			return nil, fmt.Errorf("log verifier key does not match the log signer: %v", err)
		}
		a.logVerifier = v
	}
	if err := a.restore(); err != nil {
		return nil, err
	}
	if err := a.loadCheckpoint(); err != nil {
		return nil, err
	}
	if err := a.openSnapshots(); err != nil {
		return nil, err
	}
	return a, nil
}

// restore loads the log tree and block record of the store's committed version.
func (a *App) restore() error {
	v := a.st.Version()
	a.tree = tlog.New()
	rec := ipledger.BlockRecord{}
	if v > 0 {
		b, err := a.st.SideGet(u64key(sideTree, uint64(v)))
		if err != nil {
			return fmt.Errorf("load log tree at %d: %w", v, err)
		}
		if b == nil {
			return fmt.Errorf("load log tree at %d: missing", v)
		}
		if a.tree, err = tlog.Unmarshal(b); err != nil {
			return fmt.Errorf("load log tree at %d: %w", v, err)
		}
		rb, err := a.st.SideGet(u64key(sideBlock, uint64(v)))
		if err != nil {
			return fmt.Errorf("load block record %d: %w", v, err)
		}
		if rb == nil {
			return fmt.Errorf("load block record %d: missing", v)
		}
		if err := json.Unmarshal(rb, &rec); err != nil {
			return fmt.Errorf("load block record %d: %w", v, err)
		}
	}
	if err := a.publish(rec); err != nil {
		return err
	}
	// State of another format follows other rules (ledger.StateFormat): refuse it before
	// anything runs on it.
	if v > 0 {
		if err := ledger.CheckStateFormat(a.Committed().State); err != nil {
			return fmt.Errorf("%s holds %w: start a fresh chain (a new node home and genesis); this version cannot continue it", a.st.Dir(), err)
		}
	}
	// Readers use the committed snapshot at once; the state machine needs the in-memory
	// copy, which loads in the background so a restarted node answers queries meanwhile.
	a.ready = make(chan struct{})
	go a.loadMirror()
	return nil
}

// loadMirror copies the committed state into memory and opens the state machine, unless
// the start-up integrity check (verify.go) finds the state does not match its root.
func (a *App) loadMirror() {
	defer close(a.ready)
	start := time.Now()
	snap := a.Committed()
	m := store.NewMemKV()
	check := a.startCheck(snap)
	var serr error
	if err := snap.State.Iterate(nil, nil, false, func(k, v []byte) bool {
		check.add(k, v)
		serr = m.Set(k, v)
		return serr == nil
	}); err != nil || serr != nil {
		check.finish(false)
		a.loadErr = fmt.Errorf("load state into memory: %w", errors.Join(err, serr))
		a.log.Error("loading state", "err", a.loadErr)
		return
	}
	if a.loadErr = check.finish(true); a.loadErr != nil {
		return
	}
	a.mirror, a.mirrorHeight, a.mirrorTime = m, snap.Height, snap.Block.Time
	a.buf = kvbuffer.New(m)
	a.log.Info("state loaded", "height", snap.Height, "keys", m.Len(), "seconds", time.Since(start).Seconds())
}

// WaitReady blocks until the state machine's in-memory state is loaded, or ctx ends.
func (a *App) WaitReady(ctx context.Context) error {
	select {
	case <-a.ready:
		return a.loadErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitReady blocks until the in-memory state is loaded.
func (a *App) waitReady() error {
	<-a.ready
	return a.loadErr
}

// publish makes the committed version visible to readers.
func (a *App) publish(rec ipledger.BlockRecord) error {
	view, err := a.st.ReadAt(a.st.Version())
	if err != nil {
		return fmt.Errorf("read committed state: %w", err)
	}
	a.committed.Store(&ipledger.Snapshot{State: view, Block: rec, Height: a.st.Version()})
	a.m.height.Set(float64(rec.Height))
	return nil
}

// Store returns the application's store, for side-table reads (history, blocks, log).
func (a *App) Store() *store.Store { return a.st }

// chainID returns the chain this application serves.
func (a *App) chainID() string { return a.cfg.ChainID }

// Info reports the last committed height and app hash: CometBFT replays nothing the store
// already holds.
func (a *App) Info(context.Context, *abci.InfoRequest) (*abci.InfoResponse, error) {
	s := a.Committed()
	res := &abci.InfoResponse{Data: "ipledger", Version: Version, AppVersion: AppVersion, LastBlockHeight: s.Height}
	if s.Height > 0 {
		res.LastBlockAppHash = s.Block.AppHash
	}
	return res, nil
}

// InitChain writes the genesis registry state into the working tree; it becomes part of
// the first committed version.
func (a *App) InitChain(_ context.Context, req *abci.InitChainRequest) (*abci.InitChainResponse, error) {
	if req.ChainId != a.cfg.ChainID {
		return nil, fmt.Errorf("init chain: genesis is for %q, app for %q", req.ChainId, a.cfg.ChainID)
	}
	if err := a.waitReady(); err != nil {
		return nil, err
	}
	var g ledger.Genesis
	if err := json.Unmarshal(req.AppStateBytes, &g); err != nil {
		return nil, fmt.Errorf("init chain: decode app state: %w", err)
	}
	if len(g.Validators) > 0 {
		var cons []ledger.ValidatorUpdate
		for _, v := range req.Validators {
			var k ledger.HexKey
			if v.PubKeyType != "ed25519" || len(v.PubKeyBytes) != len(k) {
				return nil, fmt.Errorf("init chain: validator key of type %s; ipledger validators use ed25519", v.PubKeyType)
			}
			copy(k[:], v.PubKeyBytes)
			cons = append(cons, ledger.ValidatorUpdate{PubKey: k, Power: v.Power})
		}
		set := slices.Clone(g.Validators)
		slices.SortFunc(set, func(x, y ledger.Validator) int { return bytes.Compare(x.PubKey[:], y.PubKey[:]) })
		if !ledger.SameValidators(set, cons) {
			return nil, fmt.Errorf("init chain: the app state's validators differ from the consensus genesis validators")
		}
	}
	a.st.Rollback()
	a.buf.Reset()
	if err := a.ledger.InitGenesis(a.buf, &g, ipledger.Block{Height: 0, Time: req.Time}); err != nil {
		return nil, fmt.Errorf("init chain: %w", err)
	}
	if err := a.buf.FlushTo(a.st.Working()); err != nil {
		return nil, fmt.Errorf("init chain: %w", err)
	}
	a.tree = tlog.New()
	root := a.st.WorkingHash()
	if root == nil {
		return nil, fmt.Errorf("init chain: the state tree could not be hashed")
	}
	a.log.Info("genesis", "chain", req.ChainId, "registries", len(g.Registries), "pools", len(g.Pools))
	return &abci.InitChainResponse{AppHash: tlog.AppHash(root, a.tree.Root())}, nil
}
