package chain

import (
	"context"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ipledger/ipledger"
)

// honest decodes a proposed transaction and reports why no honest node could have proposed
// it: undecodable, oversized, or for another chain. Signatures are checked by the caller.
func (a *App) honest(b []byte) (*ipledger.Tx, error) {
	tx, err := a.decode(b)
	if err != nil {
		return nil, err
	}
	if tx.ChainID != a.cfg.ChainID {
		return nil, ipledger.Errorf(ipledger.CodeWrongChain, "transaction for chain %q", tx.ChainID)
	}
	return tx, nil
}

// verifyAll checks the signatures of txs not verified before, as one batch, and returns
// per transaction whether they hold.
func (a *App) verifyAll(txs []*ipledger.Tx) []bool {
	ok := make([]bool, len(txs))
	bv := ipledger.NewBatchVerifier()
	var idx []int
	for i, tx := range txs {
		if tx == nil {
			continue
		}
		if a.verified.has(tx.Hash) {
			ok[i] = true
			continue
		}
		bv.Add(tx)
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return ok
	}
	for j, good := range bv.Verify(nil) {
		ok[idx[j]] = good
		if good {
			a.verified.add(txs[idx[j]].Hash)
		}
	}
	return ok
}

// PrepareProposal drops only what no honest node may propose; transactions that will fail
// against state stay in and are committed with their result code.
func (a *App) PrepareProposal(_ context.Context, req *abci.PrepareProposalRequest) (*abci.PrepareProposalResponse, error) {
	txs := make([]*ipledger.Tx, len(req.Txs))
	for i, b := range req.Txs {
		txs[i], _ = a.honest(b)
	}
	ok := a.verifyAll(txs)
	var out [][]byte
	var size int64
	for i, b := range req.Txs {
		if !ok[i] || size+int64(len(b)) > req.MaxTxBytes {
			continue
		}
		size += int64(len(b))
		out = append(out, b)
	}
	return &abci.PrepareProposalResponse{Txs: tamper(a.cfg.ChainID, out)}, nil
}

// ProcessProposal rejects a block holding an undecodable, oversized, wrong-chain or badly
// signed transaction; anything else is for FinalizeBlock to judge.
func (a *App) ProcessProposal(_ context.Context, req *abci.ProcessProposalRequest) (*abci.ProcessProposalResponse, error) {
	txs := make([]*ipledger.Tx, len(req.Txs))
	for i, b := range req.Txs {
		tx, err := a.honest(b)
		if err != nil {
			a.log.Warn("rejected proposal", "height", req.Height, "tx", i, "reason", err)
			return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_REJECT}, nil
		}
		txs[i] = tx
	}
	for i, good := range a.verifyAll(txs) {
		if !good {
			a.log.Warn("rejected proposal", "height", req.Height, "tx", i, "reason", "bad signature")
			return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_REJECT}, nil
		}
	}
	return &abci.ProcessProposalResponse{Status: abci.PROCESS_PROPOSAL_STATUS_ACCEPT}, nil
}
