package chain

import (
	"context"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// Through the app: a transaction committed with a rejection consumed its sequence, so the
// mempool refuses its bytes again; CheckTx checks the expiry time against the last
// committed block's time.
func TestCheckTxAfterRejection(t *testing.T) {
	ctx := context.Background()
	r := testReplayer(t, t.TempDir(), "det-chain")
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	build := func(seq uint64, exp ipledger.Expiry, res string) []byte {
		b, err := ipledger.BuildTxExpiring("det-chain", ipledger.KindAllocate, seq, exp, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
			{Resource: ipledger.MustParseResource(res), Org: ipledger.RIPENCC, Status: ipledger.StatusAllocatedPA}}}, ripe)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t2 := testStart.Add(time.Minute)
	overlap := build(2, ipledger.Expiry{}, "193.0.0.0/24")
	for i, b := range []ReplayBlock{
		{Height: 1, Time: testStart.Add(time.Second), Txs: [][]byte{build(1, ipledger.Expiry{}, "193.0.0.0/16")}},
		{Height: 2, Time: t2, Txs: [][]byte{overlap}},
	} {
		_, codes, err := r.Apply(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if want := []uint32{0, uint32(ipledger.CodeOverlap)}[i]; codes[0] != want {
			t.Fatalf("block %d: code %d, want %d", b.Height, codes[0], want)
		}
	}
	check := func(b []byte) ipledger.Code {
		res, err := r.App().CheckTx(ctx, &abci.CheckTxRequest{Tx: b, Type: abci.CHECK_TX_TYPE_CHECK})
		if err != nil {
			t.Fatal(err)
		}
		return ipledger.Code(res.Code)
	}
	if c := check(overlap); c != ipledger.CodeStaleSequence {
		t.Fatalf("the rejected transaction again: %s", c)
	}
	if c := check(build(3, ipledger.Expiry{Time: t2.Unix() - 1}, "193.1.0.0/16")); c != ipledger.CodeExpired {
		t.Fatalf("expired before the last block: %s", c)
	}
	if c := check(build(3, ipledger.Expiry{Time: t2.Unix()}, "193.1.0.0/16")); c != ipledger.CodeOK {
		t.Fatalf("expiring at the last block's time: %s", c)
	}
}
