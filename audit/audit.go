// Package audit independently verifies an ipledger network from its genesis: it checks
// every block header and commit the way a CometBFT light client does, fetches the node's
// transparency log (signed checkpoints, entry bundles) and checks it against the
// checkpoints seen before, replays the log through the same state machine, checks the
// replay against the app hashes and data hashes the validators signed, and compares the
// node's answers for holdings and organisations with the replayed state.
//
// It trusts the genesis file and the log key it is given (or pins on first use), nothing
// else the node says: an Auditor talks to the node's JSON API and CometBFT RPC over HTTP
// and keeps its own replay store and state (audit.json) in a directory, so a later run
// continues where the last one stopped.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
	tlogfmt "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/httpapi"
	"github.com/ipledger/ipledger/tlog"
)

// DefaultSample is the number of holdings compared with the node when Options.Sample is 0.
const DefaultSample = 200

// requestTimeout bounds one request to the node's API or RPC.
const requestTimeout = 2 * time.Minute

// Options configure an Auditor. Node, RPC, Genesis and Dir are required.
type Options struct {
	// Node is the node's HTTP API base URL ("http://127.0.0.1:8080").
	Node string
	// RPC is the CometBFT RPC URL ("http://127.0.0.1:26657").
	RPC string
	// Genesis is the path of the chain's CometBFT genesis file: the audit's root of trust.
	Genesis string
	// Dir holds the audit's state (audit.json) and replay store; created if missing.
	Dir string
	// LogKey is the note verifier key of the node's log. Empty uses the key pinned in
	// Dir, or on the first run fetches the node's /v1/log/key and pins it.
	LogKey string
	// Sample is the number of random holdings whose node answers are compared with the
	// replayed state, with a quarter as many of their holders; 0 means DefaultSample,
	// negative none.
	Sample int
	// Full compares every holding and organisation instead of a sample.
	Full bool
	// HTTP is the client for the node's API; nil means one made for the audit.
	HTTP *http.Client
	// Logger receives progress notes at info level; nil discards.
	Logger *slog.Logger
	// Progress, if set, is called after each height.
	Progress func(Progress)
}

// Progress is how far a run is.
type Progress struct {
	Height int64 // last height processed
	Start  int64 // first height of this run
	Latest int64 // the chain's height when the run started
}

// Auditor audits one network into one directory. Run it once per audit.
type Auditor struct {
	o      Options
	log    *slog.Logger
	http   *http.Client
	client *httpapi.Client
}

// New checks the options and returns an Auditor.
func New(o Options) (*Auditor, error) {
	if o.Node == "" || o.RPC == "" || o.Genesis == "" || o.Dir == "" {
		return nil, errors.New("audit: node URL, RPC URL, genesis file and directory are required")
	}
	if o.Sample == 0 {
		o.Sample = DefaultSample
	}
	a := &Auditor{o: o, log: o.Logger, http: o.HTTP}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.http == nil {
		a.http = &http.Client{Timeout: requestTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	}
	o.Node = strings.TrimSuffix(o.Node, "/")
	a.o.Node = o.Node
	a.client = &httpapi.Client{Base: o.Node, HTTP: a.http}
	return a, nil
}

// Divergence is an audit failure: something the node serves contradicts what the
// validators signed, a checkpoint its log signed before, or what replaying its log
// produces. Run returns it (test with errors.As) naming the first one found. Height and
// Leaf locate it when they apply (0 and -1 otherwise); Object names what differs.
type Divergence struct {
	Height int64
	Leaf   int64
	Object string
	Detail string
}

func (d *Divergence) Error() string {
	var parts []string
	if d.Height > 0 {
		parts = append(parts, fmt.Sprintf("height %d", d.Height))
	}
	if d.Leaf >= 0 {
		parts = append(parts, fmt.Sprintf("leaf %d", d.Leaf))
	}
	if d.Object != "" {
		parts = append(parts, d.Object)
	}
	return strings.Join(parts, ", ") + ": " + d.Detail
}

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
		r.Holdings, r.Orgs, r.Skipped) + r.uncovered()
}

func (r *Report) uncovered() string {
	if r.Uncovered == 0 {
		return ""
	}
	return fmt.Sprintf("; the node's signed log does not reach height %d yet: the replay stopped before it", r.Uncovered)
}

// run is the state of one Run.
type run struct {
	a       *Auditor
	st      *State
	doc     *types.GenesisDoc
	rep     *Report
	replay  *chain.Replayer
	origin  string
	cp      *tlogfmt.Checkpoint
	cpRaw   []byte
	leaves  *leafStream
	saved   time.Time
	appHash []byte   // app hash after the last replayed height
	codes   []uint32 // its result codes
}

// Run audits the network from where the directory's last run stopped (from genesis on the
// first) to the chain's current height. A *Divergence error names the first divergence
// found; other errors mean the audit could not complete. Progress is saved either way.
func (a *Auditor) Run(ctx context.Context) (rep *Report, err error) {
	start := time.Now()
	r := &run{a: a, rep: &Report{}}
	defer func() {
		r.rep.Duration = time.Since(start)
		if r.leaves != nil {
			r.rep.WaitLog = r.leaves.waited
		}
		a.log.Debug("audit timings", "seconds", r.rep.Duration.Seconds(), "replay", r.rep.Replay.Seconds(),
			"wait_log", r.rep.WaitLog.Seconds(), "wait_headers", r.rep.WaitHeaders.Seconds(), "compare", r.rep.Compare.Seconds())
		if r.replay != nil {
			if serr := r.save(true); serr != nil && err == nil {
				err = serr
			}
			if cerr := r.replay.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("audit: close replay store: %w", cerr)
			}
		}
	}()
	if err := r.open(ctx); err != nil {
		return r.rep, err
	}
	if err := r.verify(ctx); err != nil {
		return r.rep, err
	}
	compared := time.Now()
	err = r.compareState(ctx)
	r.rep.Compare = time.Since(compared)
	if err != nil {
		return r.rep, err
	}
	return r.rep, nil
}

// open loads the genesis and the directory's state, pins the log key, and opens the
// replay store.
func (r *run) open(ctx context.Context) error {
	o := r.a.o
	raw, err := os.ReadFile(o.Genesis)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if r.doc, err = types.GenesisDocFromJSON(raw); err != nil {
		return fmt.Errorf("audit: genesis %s: %w", o.Genesis, err)
	}
	if r.doc.InitialHeight != 1 {
		return fmt.Errorf("audit: genesis initial height %d: only chains starting at 1 are supported", r.doc.InitialHeight)
	}
	sum := sha256.Sum256(raw)
	gHash := hex.EncodeToString(sum[:])
	r.rep.ChainID, r.origin = r.doc.ChainID, chain.LogOrigin(r.doc.ChainID)
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if r.st, err = LoadState(o.Dir); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if r.st == nil {
		r.st = &State{ChainID: r.doc.ChainID, Genesis: gHash}
		if _, err := ParseState(mustEncode(r.st)); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		r.st.tree = tlog.New()
	}
	if r.st.ChainID != r.doc.ChainID || r.st.Genesis != gHash {
		return fmt.Errorf("audit: %s audits chain %s (genesis sha256 %s), not this genesis (%s, %s); use another directory",
			o.Dir, r.st.ChainID, r.st.Genesis, r.doc.ChainID, gHash)
	}
	if err := r.pinKey(ctx); err != nil {
		return err
	}
	r.rep.LogKey = r.st.LogKey
	return r.openReplay(ctx)
}

// mustEncode encodes a fresh state; it cannot fail.
func mustEncode(s *State) []byte {
	b, err := s.encode()
	if err != nil {
		panic(err)
	}
	return b
}

// pinKey settles the log verifier key: the flag, the one pinned before (they must agree),
// or the node's, fetched and pinned on first use.
func (r *run) pinKey(ctx context.Context) error {
	o := r.a.o
	switch {
	case o.LogKey != "" && r.st.LogKey != "" && o.LogKey != r.st.LogKey:
		return fmt.Errorf("audit: --log-key %s differs from the key %s pinned in %s; audit with another key in another directory",
			o.LogKey, r.st.LogKey, filepath.Join(o.Dir, StateFile))
	case o.LogKey != "":
		if _, err := note.NewVerifier(o.LogKey); err != nil {
			return fmt.Errorf("audit: log key: %w", err)
		}
		if r.st.LogKey == "" {
			r.st.LogKey, r.st.LogKeySource = o.LogKey, "given"
		}
	case r.st.LogKey == "":
		u := "/v1/log/key"
		b, err := r.a.getOK(ctx, u)
		if err != nil {
			return fmt.Errorf("audit: fetch the node's log key: %w", err)
		}
		key := strings.TrimSpace(string(b))
		if _, err := note.NewVerifier(key); err != nil {
			return fmt.Errorf("audit: the node's log key %.100q: %w", key, err)
		}
		r.st.LogKey, r.st.LogKeySource = key, "fetched from "+r.a.o.Node+u+" (trust on first use)"
		r.rep.LogKeyPinned = r.a.o.Node + u
		r.a.log.Debug("pinned the node's log key on first use", "key", key, "from", r.a.o.Node+u, "state", filepath.Join(o.Dir, StateFile))
	}
	return nil
}

// openReplay opens the replay store at the state's height, or starts a fresh one from
// genesis when the state has replayed nothing.
func (r *run) openReplay(ctx context.Context) error {
	dir := filepath.Join(r.a.o.Dir, ReplayDir)
	if r.st.Height == 0 {
		// Nothing replayed: whatever the directory holds is from a run that stopped early.
		r.st.tree = tlog.New()
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		rp, err := chain.NewReplayerFromGenesis(ctx, dir, r.doc)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		rp.Tune(replayOptions)
		r.replay, r.appHash = rp, rp.GenesisAppHash()
		return nil
	}
	rp, err := chain.OpenReplayer(dir, r.doc.ChainID)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if v := rp.App().Committed().Height; v < r.st.Height {
		rp.Close()
		return fmt.Errorf("audit: the replay store in %s is at height %d, behind the %d in %s (lost writes?); remove the directory to audit again from genesis",
			dir, v, r.st.Height, StateFile)
	}
	rec, err := rp.App().Block(r.st.Height)
	if err != nil || rec == nil {
		rp.Close()
		return fmt.Errorf("audit: replay store: block %d: %v", r.st.Height, err)
	}
	// From here on, progress is saved when the run ends.
	rp.Tune(replayOptions)
	r.replay, r.appHash, r.codes = rp, rec.AppHash, recordCodes(rec)
	return nil
}

// replayOptions is how the audit replays: it reads the replay store's leaves, block
// records and state, never a node's query indexes, and the store's write of one block
// overlaps the execution of the next. save syncs the store before audit.json records a
// height, so the store is never behind it.
var replayOptions = chain.ReplayOptions{Lean: true, Pipelined: true}

func recordCodes(rec *ipledger.BlockRecord) []uint32 {
	out := make([]uint32, len(rec.Txs))
	for i, t := range rec.Txs {
		out[i] = uint32(t.Code)
	}
	return out
}

// saveInterval is how often a run records its progress. Each save first syncs the replay
// store, which holds up the replay for a tenth of a second or so.
const saveInterval = 10 * time.Second

// save writes the state: how far the replay got, the last verified header and the leaves
// compared so far, at most every saveInterval unless final.
func (r *run) save(final bool) error {
	if !final && time.Since(r.saved) < saveInterval {
		return nil
	}
	r.saved = time.Now()
	// audit.json must not claim a height the replay store could lose in a crash of the
	// machine: the store is written without fsync, so it is synced first.
	if err := r.replay.Sync(); err != nil {
		return fmt.Errorf("audit: replay store: %w", err)
	}
	// The replay store may be ahead of the headers verified in this run (it replayed
	// blocks in a run that stopped before recording them): the state never claims a
	// height beyond the trusted header, and the next run checks the rest again.
	r.st.Height = r.replay.App().Committed().Height
	if r.st.trusted != nil {
		r.st.Height = min(r.st.Height, r.st.trusted.Height)
	}
	r.st.Updated = time.Now().UTC()
	return r.st.save(r.a.o.Dir, final)
}

// verify checks the log's checkpoint, then walks the chain from the last audited height to
// the current one, replaying and comparing.
func (r *run) verify(ctx context.Context) error {
	a := r.a
	rpc, err := rpchttp.NewWithTimeout(a.o.RPC, uint(requestTimeout/time.Second))
	if err != nil {
		return fmt.Errorf("audit: rpc %s: %w", a.o.RPC, err)
	}
	status, err := rpc.Status(ctx)
	if err != nil {
		return fmt.Errorf("audit: rpc status: %w", err)
	}
	if status.NodeInfo.Network != r.doc.ChainID {
		return fmt.Errorf("audit: the RPC node is on chain %q, the genesis is for %q", status.NodeInfo.Network, r.doc.ChainID)
	}
	latest := status.SyncInfo.LatestBlockHeight
	if err := r.checkpoint(ctx); err != nil {
		return err
	}
	if err := r.recheck(ctx, r.st.Compared); err != nil {
		return err
	}
	replayed := r.replay.App().Committed().Height
	if r.st.trusted != nil && latest < r.st.trusted.Height {
		return fmt.Errorf("audit: the RPC node is at height %d, below the %d this audit verified", latest, r.st.trusted.Height)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The log: leaves from the first not yet compared to the checkpoint's size.
	var seen *tlogfmt.Checkpoint
	if r.st.Checkpoint != "" {
		seen, _ = openCheckpoint([]byte(r.st.Checkpoint), r.origin, mustVerifier(r.st.LogKey))
	}
	replayedSize, _ := r.replay.App().LogSize()
	lf := logFetch{from: r.st.Compared, tree: r.st.tree.Clone(), cp: r.cp, preverify: replayedSize, preverifyF: r.replay.PreVerify}
	if seen != nil && seen.Size >= r.st.Compared {
		lf.seen = seen
	}
	batches := make(chan leafBatch, fetchWindow)
	go a.fetchLeaves(ctx, lf, batches)
	r.leaves = &leafStream{ch: batches}

	// Leaves replayed before but not yet compared with the node's log come first.
	if err := r.compareReplayed(ctx, replayedSize); err != nil {
		return err
	}

	// Headers from the one after the last verified.
	genesisVals := types.NewValidatorSet(genesisValidators(r.doc))
	next := int64(1)
	if r.st.trusted != nil {
		next = r.st.trusted.Height + 1
	}
	hf := newHeaderFetcher(rpc, r.doc.ChainID, genesisVals)
	headers := make(chan signedHeader, headerWindow)
	go hf.run(ctx, next, latest, headers)

	r.rep.Start = r.st.Height + 1
	r.rep.Replayed, r.rep.Verified = r.st.Height, max(0, r.st.Height-1)
	if r.st.trusted != nil {
		r.rep.Height = r.st.trusted.Height
	}
	for h := r.st.Height + 1; h <= latest; h++ {
		var sh *types.SignedHeader
		if r.st.trusted != nil && h == r.st.trusted.Height {
			sh = r.st.trusted // verified by an earlier run
		} else {
			var got signedHeader
			wait := time.Now()
			select {
			case g, ok := <-headers:
				if !ok {
					return fmt.Errorf("audit: header fetcher stopped at %d", h)
				}
				got = g
			case <-ctx.Done():
				return ctx.Err()
			}
			r.rep.WaitHeaders += time.Since(wait)
			if got.err != nil {
				return got.err
			}
			if err := linkHeader(r.st.trusted, genesisVals.Hash(), got.sh, time.Now()); err != nil {
				return err
			}
			r.st.trusted, sh = got.sh, got.sh
			r.rep.Headers++
			r.rep.CommitSigs += got.sigs
			r.rep.Height = h
		}
		if err := r.checkAppHash(sh); err != nil {
			return err
		}
		r.rep.Verified = h - 1
		covered, err := r.block(ctx, sh, replayed)
		if err != nil {
			return err
		}
		if !covered {
			a.log.Info("the node's log checkpoint does not cover this height yet; stopping here", "height", h, "log_size", r.cp.Size)
			r.rep.Uncovered = h
			break
		}
		r.rep.Replayed = h
		if a.o.Progress != nil {
			a.o.Progress(Progress{Height: h, Start: r.rep.Start, Latest: latest})
		}
		if err := r.save(false); err != nil {
			return err
		}
	}
	if err := r.replay.Wait(); err != nil {
		return fmt.Errorf("audit: replay store: %w", err)
	}
	// The rest of the log (heights not replayed yet) still has to rebuild the checkpoint.
	for {
		if _, ok := r.leaves.next(ctx); !ok {
			break
		}
		r.rep.Fetched++
	}
	if r.leaves.err != nil {
		return r.leaves.err
	}
	if r.cpRaw != nil {
		r.st.Checkpoint = string(r.cpRaw)
	}
	r.rep.LogSize, r.rep.LogRoot = r.cp.Size, r.cp.Hash
	return nil
}

func mustVerifier(key string) note.Verifier {
	v, err := note.NewVerifier(key)
	if err != nil {
		panic(err) // ParseState and pinKey checked it
	}
	return v
}

// genesisValidators returns the genesis validator set as CometBFT builds it.
func genesisValidators(doc *types.GenesisDoc) []*types.Validator {
	out := make([]*types.Validator, len(doc.Validators))
	for i, v := range doc.Validators {
		out[i] = types.NewValidator(v.PubKey, v.Power)
	}
	return out
}

// checkpoint fetches the node's signed checkpoint, verifies it with the log key and
// checks it against the last one this audit saw.
func (r *run) checkpoint(ctx context.Context) error {
	raw, status, err := r.a.get(ctx, "/v1/log/checkpoint")
	if err != nil {
		return fmt.Errorf("audit: fetch checkpoint: %w", err)
	}
	if status == http.StatusNotFound && r.st.Checkpoint == "" {
		// No transaction yet, so no checkpoint: an empty log, which covers no block
		// with transactions.
		r.cp = &tlogfmt.Checkpoint{Origin: r.origin, Hash: tlog.New().Root()}
		return nil
	}
	if status != http.StatusOK {
		return fmt.Errorf("audit: fetch checkpoint: HTTP %d: %s", status, errorMessage(raw))
	}
	v := mustVerifier(r.st.LogKey)
	cp, err := openCheckpoint(raw, r.origin, v)
	if err != nil {
		return &Divergence{Leaf: -1, Object: "log checkpoint", Detail: err.Error()}
	}
	r.cp, r.cpRaw = cp, raw
	if r.st.Checkpoint == "" {
		return nil
	}
	seen, err := openCheckpoint([]byte(r.st.Checkpoint), r.origin, v)
	if err != nil {
		return fmt.Errorf("audit: the checkpoint kept in %s: %w", StateFile, err)
	}
	need, err := checkAgainstSeen(seen, cp)
	if err != nil || !need {
		return err
	}
	return r.a.verifyConsistency(ctx, seen, cp)
}

// compareReplayed compares the node's leaves up to size (what the replay store holds)
// with the replay's, before new heights are replayed.
func (r *run) compareReplayed(ctx context.Context, size uint64) error {
	for r.st.tree.Size() < size {
		it, ok := r.leaves.next(ctx)
		if !ok {
			return r.leaves.err
		}
		if err := r.compareLeaf(it); err != nil {
			return err
		}
	}
	return nil
}

// compareLeaf checks that the node's leaf it is the replay's leaf of that index, and adds
// it to the tree of compared leaves.
func (r *run) compareLeaf(it leafItem) error {
	r.rep.Fetched++
	if it.index != r.st.tree.Size() {
		return fmt.Errorf("audit: leaf %d out of order (want %d)", it.index, r.st.tree.Size())
	}
	mine, err := r.replay.App().Leaf(it.index)
	if err != nil {
		return fmt.Errorf("audit: replay store: leaf %d: %w", it.index, err)
	}
	if !bytes.Equal(mine, it.data) {
		return &Divergence{Height: leafHeight(mine), Leaf: int64(it.index), Object: "log leaf", Detail: describeLeafDiff(it.data, mine)}
	}
	if err := r.st.tree.Append(it.hash, nil); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	r.rep.Compared++
	return nil
}

// compareLeaves checks that the node's leaves items, which follow the leaves compared so
// far, are the replay's, whose log then has root replayRoot. Equal roots mean equal leaves
// (the node's leaves were hashed here), so the replay's leaves are read back only to name
// the first that differs.
func (r *run) compareLeaves(items []leafItem, replayRoot []byte) error {
	t := r.st.tree.Clone()
	for _, it := range items {
		if it.index != t.Size() {
			break // compareLeaf names the gap
		}
		if err := t.Append(it.hash, nil); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	if t.Size() == r.st.tree.Size()+uint64(len(items)) && bytes.Equal(t.Root(), replayRoot) {
		r.st.tree = t
		r.rep.Fetched += uint64(len(items))
		r.rep.Compared += uint64(len(items))
		return nil
	}
	// The replay's leaves are read back from its store.
	if err := r.replay.Wait(); err != nil {
		return fmt.Errorf("audit: replay store: %w", err)
	}
	for _, it := range items {
		if err := r.compareLeaf(it); err != nil {
			return err
		}
	}
	return fmt.Errorf("audit: the replay's log root %x after leaf %d is not the root of the leaves it stored", replayRoot, r.st.tree.Size())
}

// checkAppHash checks the app hash and results hash header sh carries against the replay
// of the height before it.
func (r *run) checkAppHash(sh *types.SignedHeader) error {
	h := sh.Height
	if !bytes.Equal(sh.AppHash, r.appHash) {
		what := "genesis"
		if h > 1 {
			what = fmt.Sprintf("height %d", h-1)
		}
		return &Divergence{Height: h - 1, Leaf: -1, Object: "app hash", Detail: fmt.Sprintf(
			"replaying the log gives app hash %X after %s, but the validators signed %X in header %d", r.appHash, what, sh.AppHash, h)}
	}
	if h > 1 {
		res := make([]*abci.ExecTxResult, len(r.codes))
		for i, c := range r.codes {
			res[i] = &abci.ExecTxResult{Code: c}
		}
		if got := types.NewResults(res).Hash(); !bytes.Equal(got, sh.LastResultsHash) {
			return &Divergence{Height: h - 1, Leaf: -1, Object: "results", Detail: fmt.Sprintf(
				"the replay's result codes %v hash to %X, but the validators signed %X in header %d", r.codes, got, sh.LastResultsHash, h)}
		}
	}
	return nil
}

// block replays height sh.Height with the transactions of its log leaves, or, if an
// earlier run replayed it already (replayed is the store's height at the start of this
// run), checks what it stored. It reports false, changing nothing, when the node's log
// checkpoint does not reach the block's transactions yet.
func (r *run) block(ctx context.Context, sh *types.SignedHeader, replayed int64) (bool, error) {
	h := sh.Height
	if h <= replayed {
		return true, r.storedBlock(sh)
	}
	// The block's transactions are the transaction leaves of h at the head of the stream.
	var got []leafItem
	for {
		it, ok := r.leaves.peek(ctx)
		if !ok {
			if r.leaves.err != nil {
				return false, r.leaves.err
			}
			break
		}
		if len(it.data) < 25 || it.data[0] != tlog.LeafTx || leafHeight(it.data) != h {
			break
		}
		r.leaves.next(ctx)
		got = append(got, it)
	}
	txs := make([][]byte, len(got))
	decoded := make([]*ipledger.Tx, len(got))
	for i, it := range got {
		txs[i], decoded[i] = it.data[25:], it.tx
	}
	if len(got) == 0 && !bytes.Equal(sh.DataHash, emptyTxsHash) {
		if _, more := r.leaves.peek(ctx); !more && r.leaves.err == nil {
			return false, nil // the checkpoint ends before this block
		}
	}
	if !bytes.Equal(types.ToTxs(txs).Hash(), sh.DataHash) {
		return false, r.dataHashDiff(ctx, sh, got)
	}
	before, _ := r.replay.LogSize()
	start := time.Now()
	appHash, codes, err := r.replay.Apply(ctx, chain.ReplayBlock{Height: h, Time: sh.Time, Txs: txs, Decoded: decoded})
	r.rep.Replay += time.Since(start)
	if err != nil {
		return false, fmt.Errorf("audit: replay height %d: %w", h, err)
	}
	r.appHash, r.codes = appHash, codes
	r.rep.Txs += len(txs)
	for _, it := range got {
		r.rep.TxSigs += it.sigs
	}
	after, replayRoot := r.replay.LogSize()
	// The replay's leaves against the node's: the transaction leaves taken above, then the
	// rest (the end-of-block leaf) from the stream.
	items := got
	for i := before + uint64(len(got)); i < after; i++ {
		it, ok := r.leaves.next(ctx)
		if !ok {
			if r.leaves.err != nil {
				return false, r.leaves.err
			}
			if len(got) > 0 {
				return false, &Divergence{Height: h, Leaf: int64(i), Object: "log", Detail: fmt.Sprintf(
					"the node's signed checkpoint of size %d ends inside this block", r.cp.Size)}
			}
			// Leaves of a block without transactions beyond the checkpoint: the next run
			// compares them.
			return true, nil
		}
		items = append(items, it)
	}
	if err := r.compareLeaves(items[:after-before], replayRoot); err != nil {
		return false, err
	}
	if it, ok := r.leaves.peek(ctx); ok && leafHeight(it.data) <= h {
		return false, &Divergence{Height: leafHeight(it.data), Leaf: int64(it.index), Object: "log leaf", Detail: fmt.Sprintf(
			"the node's log has a leaf for height %d that replaying height %d does not produce: %s", leafHeight(it.data), h, describeLeaf(it.data))}
	}
	return true, nil
}

// emptyTxsHash is the data hash of a block without transactions.
var emptyTxsHash = types.Txs{}.Hash()

// storedBlock checks a height an earlier run replayed but did not record as done (it was
// stopped between the two): its stored transactions against the header's data hash. Its
// leaves were compared with the node's before (compareReplayed).
func (r *run) storedBlock(sh *types.SignedHeader) error {
	h := sh.Height
	app := r.replay.App()
	rec, err := app.Block(h)
	if err != nil || rec == nil {
		return fmt.Errorf("audit: replay store: block %d: %v", h, err)
	}
	var from uint64
	if h > 1 {
		prev, err := app.Block(h - 1)
		if err != nil || prev == nil {
			return fmt.Errorf("audit: replay store: block %d: %v", h-1, err)
		}
		from = prev.LogSize
	}
	var txs [][]byte
	for i := from; i < rec.LogSize; i++ {
		l, err := app.Leaf(i)
		if err != nil {
			return fmt.Errorf("audit: replay store: leaf %d: %w", i, err)
		}
		if len(l) >= 25 && l[0] == tlog.LeafTx {
			txs = append(txs, l[25:])
		}
	}
	if !bytes.Equal(types.ToTxs(txs).Hash(), sh.DataHash) {
		return fmt.Errorf("audit: the replay store's transactions of height %d do not match the signed header; remove %s to audit again",
			h, r.a.o.Dir)
	}
	r.appHash, r.codes = rec.AppHash, recordCodes(rec)
	return nil
}

// dataHashDiff explains a block whose log transactions do not hash to the signed data
// hash: it fetches the block from the RPC, checks it is the signed one, and names the
// first transaction leaf that differs.
func (r *run) dataHashDiff(ctx context.Context, sh *types.SignedHeader, got []leafItem) error {
	h := sh.Height
	first := int64(r.st.tree.Size()) // the block's first leaf
	if len(got) > 0 {
		first = int64(got[0].index)
	}
	d := &Divergence{Height: h, Leaf: first, Object: "log", Detail: fmt.Sprintf(
		"the log's %d transactions of this height do not hash to the data hash %X the validators signed", len(got), sh.DataHash)}
	rpc, err := rpchttp.NewWithTimeout(r.a.o.RPC, uint(requestTimeout/time.Second))
	if err != nil {
		return d
	}
	rb, err := rpc.Block(ctx, &h)
	if err != nil || rb.Block == nil || !bytes.Equal(rb.Block.Hash(), sh.Hash()) || !bytes.Equal(rb.Block.Data.Txs.Hash(), sh.DataHash) {
		return d
	}
	signed := rb.Block.Data.Txs
	for i := 0; i < max(len(signed), len(got)); i++ {
		switch {
		case i >= len(got):
			d.Leaf = first + int64(i)
			d.Detail = fmt.Sprintf("the log lacks transaction %d of this height (%s): the block has %d, the log %d",
				i, ipledger.HashTx(signed[i]), len(signed), len(got))
			return d
		case i >= len(signed):
			d.Leaf = int64(got[i].index)
			d.Detail = fmt.Sprintf("the log has a transaction %d (%s) the block does not: the block has %d, the log %d",
				i, ipledger.HashTx(got[i].data[25:]), len(signed), len(got))
			return d
		case !bytes.Equal(signed[i], got[i].data[25:]):
			d.Leaf = int64(got[i].index)
			d.Detail = fmt.Sprintf("the log's transaction %d is %s, but the validators signed %s", i, ipledger.HashTx(got[i].data[25:]), ipledger.HashTx(signed[i]))
			return d
		}
	}
	return d
}

// describeLeaf summarises a leaf for messages.
func describeLeaf(b []byte) string {
	v, err := tlog.DecodeLeaf(b)
	if err != nil {
		return fmt.Sprintf("undecodable (%v)", err)
	}
	switch l := v.(type) {
	case tlog.TxLeaf:
		return fmt.Sprintf("transaction %d of height %d (%s, result %s)", l.Index, l.Height, ipledger.HashTx(l.Tx), ipledger.Code(l.Code))
	case tlog.EndBlockLeaf:
		return fmt.Sprintf("end of height %d (%d transactions, events %s)", l.Height, l.TxCount, l.Events)
	}
	return "unknown"
}

// describeLeafDiff says how the node's leaf differs from the replay's.
func describeLeafDiff(node, mine []byte) string {
	nv, nerr := tlog.DecodeLeaf(node)
	mv, merr := tlog.DecodeLeaf(mine)
	if nerr != nil || merr != nil {
		return fmt.Sprintf("the node's log has %s, the replay %s", describeLeaf(node), describeLeaf(mine))
	}
	switch m := mv.(type) {
	case tlog.TxLeaf:
		n, ok := nv.(tlog.TxLeaf)
		switch {
		case !ok:
			return fmt.Sprintf("the node's log has %s, the replay %s", describeLeaf(node), describeLeaf(mine))
		case !bytes.Equal(n.Tx, m.Tx):
			return fmt.Sprintf("the node's log has transaction %s, the replay %s", ipledger.HashTx(n.Tx), ipledger.HashTx(m.Tx))
		case n.Code != m.Code:
			return fmt.Sprintf("transaction %d of height %d (%s): the node's log says result %s, the replay gives %s",
				m.Index, m.Height, ipledger.HashTx(m.Tx), ipledger.Code(n.Code), ipledger.Code(m.Code))
		}
	case tlog.EndBlockLeaf:
		n, ok := nv.(tlog.EndBlockLeaf)
		switch {
		case !ok:
			return fmt.Sprintf("the node's log has %s, the replay %s", describeLeaf(node), describeLeaf(mine))
		case !bytes.Equal(n.Events, m.Events):
			return fmt.Sprintf("end of height %d: the node's log records events %s, the replay %s", m.Height, n.Events, m.Events)
		}
	}
	return fmt.Sprintf("the node's log has %s, the replay %s", describeLeaf(node), describeLeaf(mine))
}

// get fetches path from the node's API and returns the body and status.
func (a *Auditor) get(ctx context.Context, path string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.o.Node+path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	// An entry bundle is at most 256 entries of 64 KiB.
	b, err := io.ReadAll(io.LimitReader(resp.Body, 17<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: %w", path, err)
	}
	return b, resp.StatusCode, nil
}

// getOK is get that wants status 200.
func (a *Auditor) getOK(ctx context.Context, path string) ([]byte, error) {
	b, st, err := a.get(ctx, path)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", path, st, errorMessage(b))
	}
	return b, nil
}
