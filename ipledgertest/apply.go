package ipledgertest

import (
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// Apply builds the transaction of kind with nonce seq and body, signed by signers for l's
// chain, applies it to kv in block and returns its result; a transaction that does not
// build or decode, a storage error or a rejection (any code but CodeOK) fails the test.
func Apply(tb testing.TB, l *ledger.Ledger, kv ipledger.KV, block ipledger.Block, kind ipledger.Kind, seq uint64, body any, signers ...ipledger.Signer) ledger.Result {
	tb.Helper()
	b, err := ipledger.BuildTx(l.ChainID(), kind, seq, 0, body, signers...)
	if err != nil {
		tb.Fatalf("build %s: %v", kind, err)
	}
	tx, err := ipledger.DecodeTx(b)
	if err != nil {
		tb.Fatalf("decode %s: %v", kind, err)
	}
	r, err := l.Apply(kv, block, tx)
	if err != nil || r.Code != ipledger.CodeOK {
		tb.Fatalf("apply %s at height %d: %s %s %v", kind, block.Height, r.Code, r.Log, err)
	}
	return r
}
