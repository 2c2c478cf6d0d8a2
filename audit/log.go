package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	tlogfmt "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/tlog"
)

// openCheckpoint verifies a signed checkpoint note with the log's verifier and parses it:
// the signature must be the log key's and the origin the chain's.
func openCheckpoint(raw []byte, origin string, v note.Verifier) (*tlogfmt.Checkpoint, error) {
	cp, _, _, err := tlogfmt.ParseCheckpoint(raw, origin, v)
	if err != nil {
		return nil, fmt.Errorf("checkpoint does not verify with log key %s: %w", v.Name(), err)
	}
	if cp.Size > 0 && len(cp.Hash) != 32 {
		return nil, fmt.Errorf("checkpoint of size %d has a root of %d bytes", cp.Size, len(cp.Hash))
	}
	return cp, nil
}

// describeCheckpoint names a checkpoint in messages: size and root.
func describeCheckpoint(cp *tlogfmt.Checkpoint) string {
	return fmt.Sprintf("size %d root %x", cp.Size, cp.Hash)
}

// checkAgainstSeen compares the node's checkpoint with the last one this audit saw. It
// returns whether a consistency proof from seen to cp is needed (cp is larger), or a
// Divergence naming both when the node shows a history that cannot extend the one seen:
// the same size with another root, or fewer leaves.
func checkAgainstSeen(seen, cp *tlogfmt.Checkpoint) (needProof bool, err error) {
	switch {
	case seen == nil:
		return false, nil
	case cp.Size == seen.Size:
		if !bytes.Equal(cp.Hash, seen.Hash) {
			return false, &Divergence{Object: "log checkpoint", Leaf: -1, Detail: fmt.Sprintf(
				"the node signs %s, but this audit saw %s before: two histories of one size (a split view or a rewritten log)",
				describeCheckpoint(cp), describeCheckpoint(seen))}
		}
		return false, nil
	case cp.Size < seen.Size:
		return false, &Divergence{Object: "log checkpoint", Leaf: -1, Detail: fmt.Sprintf(
			"the node signs %s, smaller than %s this audit saw before: the log was truncated or forked",
			describeCheckpoint(cp), describeCheckpoint(seen))}
	}
	return true, nil
}

// verifyConsistency fetches the node's proof that seen is a prefix of cp and checks it.
func (a *Auditor) verifyConsistency(ctx context.Context, seen, cp *tlogfmt.Checkpoint) error {
	ci, err := a.client.ConsistencyProof(ctx, seen.Size, cp.Size)
	if err != nil {
		return fmt.Errorf("consistency proof %d→%d: %w", seen.Size, cp.Size, err)
	}
	if err := tlog.VerifyConsistency(seen.Size, cp.Size, ci.Proof, seen.Hash, cp.Hash); err != nil {
		// err dumps both roots as byte lists; the message names them already.
		return &Divergence{Object: "log checkpoint", Leaf: -1, Detail: fmt.Sprintf(
			"the node signs %s, which is not an extension of %s this audit saw before (its consistency proof fails): the log was rewritten or forked",
			describeCheckpoint(cp), describeCheckpoint(seen))}
	}
	return nil
}

// leafBatch is a run of consecutive log leaves from one entry bundle, or the end of the
// stream with err set when fetching or the final root check failed.
type leafBatch struct {
	first  uint64
	leaves [][]byte
	hashes [][]byte
	sigs   []int          // signatures pre-verified per leaf
	txs    []*ipledger.Tx // the transaction of each transaction leaf, decoded; nil if not
	err    error
}

// leafStream reads the leaves a fetchLeaves goroutine sends, in order.
type leafStream struct {
	ch     <-chan leafBatch
	cur    leafBatch
	pos    int
	ended  bool
	err    error
	waited time.Duration // blocked waiting for the fetcher
}

// leafItem is one leaf of the stream.
type leafItem struct {
	index uint64
	data  []byte
	hash  []byte
	sigs  int
	tx    *ipledger.Tx
}

// peek returns the next leaf without consuming it. ok is false at the end of the stream,
// and then s.err tells whether it ended in failure.
func (s *leafStream) peek(ctx context.Context) (leafItem, bool) {
	for !s.ended && s.pos >= len(s.cur.leaves) {
		start := time.Now()
		select {
		case b, open := <-s.ch:
			switch {
			case !open:
				// The fetcher closes the stream when ctx ends too: that end is a stop, not
				// the end of the log.
				s.ended, s.err = true, ctx.Err()
			case b.err != nil:
				s.ended, s.err = true, b.err
			default:
				s.cur, s.pos = b, 0
			}
		case <-ctx.Done():
			s.ended, s.err = true, ctx.Err()
		}
		s.waited += time.Since(start)
	}
	if s.ended {
		return leafItem{}, false
	}
	i := s.pos
	return leafItem{index: s.cur.first + uint64(i), data: s.cur.leaves[i], hash: s.cur.hashes[i], sigs: s.cur.sigs[i], tx: s.cur.txs[i]}, true
}

// next consumes the leaf peek returned.
func (s *leafStream) next(ctx context.Context) (leafItem, bool) {
	it, ok := s.peek(ctx)
	if ok {
		s.pos++
	}
	return it, ok
}

// fetchWindow is how many entry bundles are fetched at once, and headerWindow how many
// headers: enough to keep the replay fed over a network, few enough to bound memory.
const (
	fetchWindow  = 4
	headerWindow = 16
)

// logFetch describes what fetchLeaves fetches and checks.
type logFetch struct {
	from       uint64     // first leaf to send
	tree       *tlog.Tree // the tree of leaves [0, from)
	cp         *tlogfmt.Checkpoint
	seen       *tlogfmt.Checkpoint // the checkpoint seen before, checked on the way if from ≤ its size
	preverify  uint64              // pre-verify the signatures of transactions from this leaf on
	preverifyF func([][]byte) ([]int, []*ipledger.Tx)
}

// fetchLeaves fetches the entry bundles holding leaves [f.from, f.cp.Size) a few at a
// time, sends their leaves in order, and rebuilds the tree on the way: when it passes the
// size of the checkpoint seen before its root must be that one's, and at the end the
// checkpoint's. It closes out when done; a failure is sent as the last batch.
func (a *Auditor) fetchLeaves(ctx context.Context, f logFetch, out chan<- leafBatch) {
	defer close(out)
	send := func(b leafBatch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	size := f.cp.Size
	tree := f.tree
	bundles := (size + tlog.TileWidth - 1) / tlog.TileWidth
	fetch := func(k uint64) leafBatch { return a.fetchBundle(ctx, k, size, f) }
	all := fetchInOrder(ctx, fetchWindow, f.from/tlog.TileWidth, bundles, fetch, func(b leafBatch) bool {
		if b.err != nil {
			send(b)
			return false
		}
		if skip := int(f.from - min(f.from, b.first)); skip > 0 {
			b.first += uint64(skip)
			b.leaves, b.hashes, b.sigs, b.txs = b.leaves[skip:], b.hashes[skip:], b.sigs[skip:], b.txs[skip:]
		}
		for _, h := range b.hashes {
			if err := tree.Append(h, nil); err != nil {
				send(leafBatch{err: fmt.Errorf("rebuild log tree: %w", err)})
				return false
			}
			if f.seen != nil && tree.Size() == f.seen.Size && !bytes.Equal(tree.Root(), f.seen.Hash) {
				send(leafBatch{err: &Divergence{Object: "log", Leaf: -1, Detail: fmt.Sprintf(
					"the first %d leaves the node serves rebuild to root %x, not %x of the checkpoint of that size this audit saw before",
					f.seen.Size, tree.Root(), f.seen.Hash)}})
				return false
			}
		}
		return send(b)
	})
	if !all || ctx.Err() != nil {
		return
	}
	if tree.Size() != size || !bytes.Equal(tree.Root(), f.cp.Hash) {
		send(leafBatch{err: &Divergence{Object: "log", Leaf: -1, Detail: fmt.Sprintf(
			"the %d leaves the node serves rebuild to root %x, not %x of its signed checkpoint",
			tree.Size(), tree.Root(), f.cp.Hash)}})
	}
}

// fetchInOrder calls fetch for each key from first up to end (not included), in goroutines
// up to window keys ahead of use, and gives use the results in key order. It reports
// whether use took them all: false when use returns false or ctx ends first.
func fetchInOrder[K int64 | uint64, T any](ctx context.Context, window int, first, end K, fetch func(K) T, use func(T) bool) bool {
	futures := make(chan chan T, window)
	go func() {
		defer close(futures)
		for k := first; k < end; k++ {
			fut := make(chan T, 1)
			select {
			case futures <- fut:
			case <-ctx.Done():
				return
			}
			go func() { fut <- fetch(k) }()
		}
	}()
	for fut := range futures {
		var v T
		select {
		case v = <-fut:
		case <-ctx.Done():
			return false
		}
		if !use(v) {
			return false
		}
	}
	return true
}

// fetchBundle fetches entry bundle k of the log of the given size (a partial one at the
// right edge), hashes its leaves and pre-verifies the signatures of its transactions.
func (a *Auditor) fetchBundle(ctx context.Context, k, size uint64, f logFetch) leafBatch {
	first := k * tlog.TileWidth
	width := int(min(size-first, tlog.TileWidth))
	t := tlog.Tile{Level: -1, Index: k, Width: width}
	b, status, err := a.get(ctx, "/v1/log/"+t.Path())
	if err != nil {
		return leafBatch{err: fmt.Errorf("log entries %s: %w", t.Path(), err)}
	}
	if status != 200 {
		return leafBatch{err: a.missingLeaf(ctx, k, width, status, b)}
	}
	leaves, err := tlog.SplitBundle(b)
	if err == nil && len(leaves) != width {
		err = fmt.Errorf("%d entries, want %d", len(leaves), width)
	}
	if err != nil {
		return leafBatch{err: &Divergence{Leaf: int64(first), Object: "log", Detail: fmt.Sprintf("entry bundle %s for leaves %d–%d is malformed: %v", t.Path(), first, first+uint64(width)-1, err)}}
	}
	out := leafBatch{first: first, leaves: leaves, hashes: make([][]byte, width), sigs: make([]int, width), txs: make([]*ipledger.Tx, width)}
	var txs [][]byte
	var txAt []int
	for i, l := range leaves {
		out.hashes[i] = tlog.HashLeaf(l)
		if idx := first + uint64(i); idx >= f.preverify && idx >= f.from && len(l) >= 25 && l[0] == tlog.LeafTx {
			txs = append(txs, l[25:])
			txAt = append(txAt, i)
		}
	}
	if len(txs) > 0 && f.preverifyF != nil {
		checked, decoded := f.preverifyF(txs)
		for j, n := range checked {
			out.sigs[txAt[j]], out.txs[txAt[j]] = n, decoded[j]
		}
	}
	return out
}

// missingLeaf explains why the node did not serve entry bundle k of width: it asks for
// ever narrower partial bundles (which the node serves at any width its log covers) to
// find the first leaf it cannot serve, though its checkpoint includes it.
func (a *Auditor) missingLeaf(ctx context.Context, k uint64, width, status int, body []byte) error {
	lo, hi := 0, width // the node serves width lo (0: nothing yet known); it fails at hi
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		_, st, err := a.get(ctx, "/v1/log/"+tlog.Tile{Level: -1, Index: k, Width: mid}.Path())
		if err != nil {
			break
		}
		if st == 200 {
			lo = mid
		} else {
			hi = mid
		}
	}
	leaf := k*tlog.TileWidth + uint64(hi) - 1
	return &Divergence{Leaf: int64(leaf), Object: "log", Detail: fmt.Sprintf(
		"the node cannot serve this leaf, though its signed checkpoint includes it (HTTP %d: %s)", status, client.ErrorMessage(body))}
}

// leafHeight returns the height a leaf records, or -1 if it is too short to say.
func leafHeight(b []byte) int64 {
	if len(b) < 9 {
		return -1
	}
	return int64(binary.BigEndian.Uint64(b[1:9]))
}

// recheckBundles is how many entry bundles of the log compared in earlier runs a run
// fetches again and compares with the replay store: a node whose stored history is
// rewritten after it was audited serves leaves that contradict its own checkpoints, and a
// resumed audit finds out without fetching everything again.
const recheckBundles = 4

// recheck fetches up to recheckBundles random entry bundles of leaves [0, upto) and
// compares them with the replay's leaves.
func (r *run) recheck(ctx context.Context, upto uint64) error {
	if upto == 0 {
		return nil
	}
	n := (upto + tlog.TileWidth - 1) / tlog.TileWidth
	picks := rand.Perm(int(min(n, 1<<20)))
	picks = picks[:min(len(picks), recheckBundles)]
	slices.Sort(picks)
	for _, p := range picks {
		k := uint64(p)
		first := k * tlog.TileWidth
		width := int(min(upto-first, tlog.TileWidth))
		t := tlog.Tile{Level: -1, Index: k, Width: width}
		b, status, err := r.a.get(ctx, "/v1/log/"+t.Path())
		if err != nil {
			return fmt.Errorf("audit: recheck log entries %s: %w", t.Path(), err)
		}
		if status != 200 {
			return r.a.missingLeaf(ctx, k, width, status, b)
		}
		leaves, err := tlog.SplitBundle(b)
		if err == nil && len(leaves) != width {
			err = fmt.Errorf("%d entries, want %d", len(leaves), width)
		}
		if err != nil {
			return &Divergence{Leaf: int64(first), Object: "log", Detail: fmt.Sprintf("entry bundle %s is malformed: %v", t.Path(), err)}
		}
		for j, l := range leaves {
			i := first + uint64(j)
			mine, err := r.replay.App().Leaf(i)
			if err != nil {
				return fmt.Errorf("audit: replay store: leaf %d: %w", i, err)
			}
			if !bytes.Equal(l, mine) {
				return &Divergence{Height: leafHeight(mine), Leaf: int64(i), Object: "log leaf", Detail: "the node now serves a leaf an earlier audit verified differently (its history was rewritten): " + describeLeafDiff(l, mine)}
			}
		}
		r.rep.Rechecked += uint64(width)
	}
	return nil
}

func mustVerifier(key string) note.Verifier {
	v, err := note.NewVerifier(key)
	if err != nil {
		panic(err) // ParseState and pinKey checked it
	}
	return v
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
		return fmt.Errorf("audit: fetch checkpoint: HTTP %d: %s", status, client.ErrorMessage(raw))
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

// maxLogFile bounds a log file the audit fetches: an entry bundle is at most 256 entries
// of 64 KiB.
const maxLogFile = 17 << 20

// get fetches path from the node's API and returns the body and status.
func (a *Auditor) get(ctx context.Context, path string) ([]byte, int, error) {
	return a.client.Fetch(ctx, path, nil, maxLogFile)
}

// getOK is get that wants status 200.
func (a *Auditor) getOK(ctx context.Context, path string) ([]byte, error) {
	b, st, err := a.get(ctx, path)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", path, st, client.ErrorMessage(b))
	}
	return b, nil
}
