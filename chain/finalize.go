package chain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
	"github.com/ipledger/ipledger/tlog"
)

type blockWork struct {
	record  ipledger.BlockRecord
	side    *store.SideBatch
	txs     [][]byte // the block's transactions as proposed
	hashes  []ipledger.Hash
	results []ipledger.TxOutcome
}

// FinalizeBlock applies the block's transactions in order, then the block's time-driven
// events, appends every transaction and an end-of-block leaf to the log, and returns the
// app hash H(state root ‖ log root). Nothing is durable until Commit.
func (a *App) FinalizeBlock(_ context.Context, req *abci.FinalizeBlockRequest) (*abci.FinalizeBlockResponse, error) {
	if err := a.waitReady(); err != nil {
		return nil, err
	}
	start := time.Now()
	a.finalizeStart = start
	block := ipledger.Block{Height: req.Height, Time: req.Time.UTC()}
	if prev := a.Committed().Block.Time; !prev.IsZero() {
		a.m.interval.Observe(block.Time.Sub(prev).Seconds())
	}
	a.m.round.Set(float64(req.DecidedLastCommit.Round))
	kv := a.buf
	txs := make([]*ipledger.Tx, len(req.Txs))
	decodeErr := make([]error, len(req.Txs))
	for i, b := range req.Txs {
		txs[i], decodeErr[i] = a.decodeTx(i, b)
	}
	sigOK := a.verifyAll(txs)
	w := &blockWork{side: a.st.NewSideBatch(), txs: req.Txs}
	w.record = ipledger.BlockRecord{Height: req.Height, Time: block.Time}
	results := make([]*abci.ExecTxResult, len(req.Txs))
	var valUpdates []abci.ValidatorUpdate
	for i, b := range req.Txs {
		var res ledger.Result
		var hash ipledger.Hash
		kind := ""
		switch {
		case decodeErr[i] != nil:
			res = ledger.Result{Code: ipledger.ErrorCode(decodeErr[i]), Log: ipledger.ErrorMessage(decodeErr[i])}
			hash = ipledger.HashTx(b)
		case !sigOK[i]:
			res = ledger.Result{Code: ipledger.CodeBadSignature, Log: "a signature does not verify"}
			hash = txs[i].Hash
		default:
			hash, kind = txs[i].Hash, txs[i].Kind.String()
			var err error
			if res, err = a.ledger.Apply(kv, block, txs[i]); err != nil {
				w.side.Close()
				return nil, fmt.Errorf("finalize block %d tx %d: %w", req.Height, i, err)
			}
		}
		results[i] = &abci.ExecTxResult{Code: uint32(res.Code), Log: res.Log, Codespace: "ipledger"}
		for _, v := range res.Validators {
			valUpdates = append(valUpdates, abci.ValidatorUpdate{Power: v.Power, PubKeyType: "ed25519", PubKeyBytes: bytes.Clone(v.PubKey[:])})
		}
		a.m.txs.WithLabelValues(res.Code.String()).Inc()
		if err := a.appendLeaf(w, tlog.TxLeaf{Height: req.Height, Time: block.Time, Index: uint32(i), Code: uint32(res.Code), Tx: b}.Encode()); err != nil {
			return nil, err
		}
		w.record.Txs = append(w.record.Txs, ipledger.TxRecord{Hash: hash, Kind: kind, Code: res.Code, Log: res.Log, Index: uint32(i), Touched: res.Touched})
		w.hashes = append(w.hashes, hash)
		w.results = append(w.results, ipledger.TxOutcome{Height: req.Height, Index: uint32(i), Code: res.Code, Log: res.Log, Touched: res.Touched})
		if a.rm.lean {
			continue
		}
		pos := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, uint64(req.Height)), uint32(i))
		if err := w.side.Set(append([]byte{sideTxIndex}, hash[:]...), pos); err != nil {
			return nil, fmt.Errorf("finalize block: %w", err)
		}
		for _, obj := range res.Touched {
			k := append(append([]byte{sideHistory}, obj...), 0)
			if err := w.side.Set(append(k, pos...), hash[:]); err != nil {
				return nil, fmt.Errorf("finalize block: %w", err)
			}
		}
	}
	events, err := a.ledger.EndBlock(kv, block)
	if err != nil {
		return nil, fmt.Errorf("finalize block %d: end block: %w", req.Height, err)
	}
	// A block with neither transactions nor events changes nothing and gets no leaf, so its
	// app hash stays the same and CometBFT does not need another block to prove it: with
	// empty blocks every 30 s the chain idles instead of producing blocks back to back.
	if len(req.Txs) > 0 || len(events) > 0 {
		// The leaf records what happened; the objects touched are the replay's to find.
		logged := make([]ipledger.Event, len(events))
		for i, ev := range events {
			logged[i] = ipledger.Event{Kind: ev.Kind, Ref: ev.Ref}
		}
		evJSON, _ := json.Marshal(logged)
		leaf := tlog.EndBlockLeaf{Height: req.Height, Time: block.Time, TxCount: uint32(len(req.Txs)), Events: evJSON}.Encode()
		if err := a.appendLeaf(w, leaf); err != nil {
			return nil, err
		}
		// The objects the events touched get a history entry at the end-of-block position
		// (index = number of transactions), keyed to the leaf's hash.
		pos := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, uint64(req.Height)), uint32(len(req.Txs)))
		leafHash := sha256.Sum256(leaf)
		for _, ev := range events {
			if a.rm.lean {
				break
			}
			for _, obj := range ev.Touched {
				k := append(append([]byte{sideHistory}, obj...), 0)
				if err := w.side.Set(append(k, pos...), leafHash[:]); err != nil {
					return nil, fmt.Errorf("finalize block: %w", err)
				}
			}
		}
	}
	w.record.Events = events
	if err := a.settle(); err != nil {
		return nil, fmt.Errorf("finalize block %d: %w", req.Height, err)
	}
	if err := a.buf.FlushTo(a.st.Working()); err != nil {
		return nil, fmt.Errorf("finalize block %d: %w", req.Height, err)
	}
	w.record.StateRoot = a.st.WorkingHash()
	if w.record.StateRoot == nil {
		// The tree could not be read: answering with an app hash would be a lie.
		return nil, fmt.Errorf("finalize block %d: the state tree could not be hashed (the store's error follows at commit)", req.Height)
	}
	w.record.LogRoot = a.tree.Root()
	w.record.LogSize = a.tree.Size()
	w.record.AppHash = tlog.AppHash(w.record.StateRoot, w.record.LogRoot)
	a.pending = w
	a.m.finalize.Observe(time.Since(start).Seconds())
	a.m.blockTxs.Observe(float64(len(req.Txs)))
	return &abci.FinalizeBlockResponse{TxResults: results, AppHash: w.record.AppHash, ValidatorUpdates: valUpdates}, nil
}

func (a *App) appendLeaf(w *blockWork, leaf []byte) error {
	idx := a.tree.Size()
	if len(leaf) > tlog.MaxEntry {
		return fmt.Errorf("finalize block: log leaf %d is %d bytes, over the %d an entry bundle carries", idx, len(leaf), tlog.MaxEntry)
	}
	var serr error
	keep := func(level uint, index uint64, hash []byte) {
		serr = errors.Join(serr, w.side.Set(logNodeKey(level, index), hash))
	}
	if a.rm.lean {
		keep = nil
	}
	if err := a.tree.Append(tlog.HashLeaf(leaf), keep); err != nil || serr != nil {
		return fmt.Errorf("finalize block: %w", errors.Join(err, serr))
	}
	if err := w.side.Set(u64key(sideLeaf, idx), leaf); err != nil {
		return fmt.Errorf("finalize block: %w", err)
	}
	return nil
}
