package audit

import (
	"bytes"
	"context"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
	tlogfmt "github.com/transparency-dev/formats/log"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/tlog"
)

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
					// The fetcher stops when ctx ends; a stop is then the caller's, not the fetcher's.
					if err := ctx.Err(); err != nil {
						return err
					}
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
