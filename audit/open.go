package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cometbft/cometbft/types"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/tlog"
)

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
