package chain

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// TestVerifierBatches submits good and badly signed transactions from many goroutines at
// once, so that they are checked in batches, and expects exactly the answer a lone
// check gives for each.
func TestVerifierBatches(t *testing.T) {
	v := newVerifier()
	const n = 400
	txs := make([]*ipledger.Tx, n)
	for i := range txs {
		h := fmt.Sprintf("ORG-V%d", i%7)
		raw, err := ipledger.BuildTx("verify-chain", ipledger.KindUpdateOrg, uint64(i+1), 0,
			ipledger.UpdateOrgBody{Name: fmt.Sprint("name ", i)}, ipledgertest.Signer(h))
		if err != nil {
			t.Fatal(err)
		}
		tx, err := ipledger.DecodeTx(raw)
		if err != nil {
			t.Fatal(err)
		}
		if i%13 == 5 {
			tx.Signatures[0].Sig[7] ^= 1 // no longer verifies
		}
		txs[i] = tx
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range txs {
		wg.Go(func() { errs[i] = v.verify(txs[i]) })
	}
	wg.Wait()
	bad := 0
	for i, tx := range txs {
		want := tx.VerifySignatures()
		if fmt.Sprint(errs[i]) != fmt.Sprint(want) {
			t.Errorf("tx %d: verifier says %v, a lone check %v", i, errs[i], want)
		}
		if want != nil {
			bad++
			if ipledger.ErrorCode(errs[i]) != ipledger.CodeBadSignature {
				t.Errorf("tx %d: code %v", i, ipledger.ErrorCode(errs[i]))
			}
		}
	}
	if bad == 0 {
		t.Fatal("no bad signature among the inputs")
	}
	if v.active != 0 || len(v.queue) != 0 {
		t.Fatalf("verifier left %d drainers and %d queued", v.active, len(v.queue))
	}
}
