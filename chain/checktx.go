package chain

import (
	"context"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// CheckTx admits a transaction to the mempool: it decodes, checks signatures (once; the
// recheck after a block skips them), chain id, signers, keys and the sequence against the
// committed state plus what the signer already has pending, and the per-signer quota.
func (a *App) CheckTx(_ context.Context, req *abci.CheckTxRequest) (*abci.CheckTxResponse, error) {
	return a.checkTxResponse(a.checkTx(req.Tx, req.Type == abci.CHECK_TX_TYPE_RECHECK)), nil
}

// checkTxResponse counts CheckTx's verdict err and returns it as CometBFT's response.
func (a *App) checkTxResponse(err error) *abci.CheckTxResponse {
	a.m.checkTx.WithLabelValues(ipledger.ErrorCode(err).String()).Inc()
	if err != nil {
		return &abci.CheckTxResponse{Code: uint32(ipledger.ErrorCode(err)), Log: ipledger.ErrorMessage(err), Codespace: "ipledger"}
	}
	return &abci.CheckTxResponse{Code: 0, GasWanted: 1}
}

func (a *App) checkTx(b []byte, recheck bool) (err error) {
	if err := a.waitReady(); err != nil {
		return err
	}
	tx, err := a.decode(b)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			a.decoded.remove(b) // refused or evicted: it leaves the mempool
		}
	}()
	if !recheck && !a.verified.has(tx.Hash) {
		if err := tx.VerifySignatures(); err != nil {
			return err
		}
		a.verified.add(tx.Hash)
	}
	first := tx.Signatures[0].Org
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	// The committed state, from memory.
	a.mirrorMu.RLock()
	defer a.mirrorMu.RUnlock()
	var pending uint64
	if o, err := ledger.Org(a.mirror, first); err != nil {
		return fmt.Errorf("check tx: %w", err)
	} else if o != nil && a.mempoolSeq[first] > o.Sequence {
		pending = a.mempoolSeq[first] - o.Sequence
	}
	if pending >= a.cfg.SignerQuota {
		return ipledger.Errorf(ipledger.CodeMempoolFull, "%s already has %d transactions waiting; retry after the next block", first, pending)
	}
	// The next block's time is not known yet; it is at least the last one's.
	if err := a.ledger.Authenticate(a.mirror, tx, ipledger.Block{Height: a.mirrorHeight + 1, Time: a.mirrorTime}, pending); err != nil {
		return err
	}
	a.mempoolSeq[first] = tx.Sequence
	return nil
}

// preVerify checks the signatures of an encoded transaction ahead of CheckTx, on the
// caller's goroutine, so that CheckTx, which the mempool runs one at a time, skips them.
// It returns the decoded transaction, body included, which it keeps for CheckTx, the
// proposal and FinalizeBlock (see decode), or the decoding or signature error; the caller
// must forget it if the mempool refuses it before CheckTx.
func (a *App) preVerify(b []byte) (*ipledger.Tx, error) {
	tx := a.decoded.get(b)
	if tx == nil {
		var err error
		if tx, err = ipledger.DecodeTx(b); err != nil {
			return nil, err
		}
		// The body too, here on the submitter's goroutine rather than in FinalizeBlock.
		ledger.DecodeBodyAhead(tx)
	}
	if !a.verified.has(tx.Hash) {
		if err := a.sigs.verify(tx); err != nil {
			return nil, err
		}
		a.verified.add(tx.Hash)
	}
	a.decoded.put(b, tx)
	return tx, nil
}

// decode returns the transaction b encodes: the one decoded at submission while it is
// pending, else freshly decoded. The result is shared and must not be modified.
func (a *App) decode(b []byte) (*ipledger.Tx, error) {
	if tx := a.decoded.get(b); tx != nil {
		return tx, nil
	}
	return ipledger.DecodeTx(b)
}

// forget drops what the app keeps of a pending transaction the mempool did not take.
func (a *App) forget(b []byte, hash ipledger.Hash) {
	a.verified.remove(hash)
	a.decoded.remove(b)
}
