package httpapi

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/tlog"
)

// TestAppendInclusionJSON checks the hand-written encoding against encoding/json.
func TestAppendInclusionJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	hash := func() []byte {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i := range 50 {
		in := apitypes.InclusionInfo{Index: rng.Uint64(), Size: rng.Uint64(), LeafHash: hash()}
		if i%3 != 0 {
			in.Root = hash()
		}
		if i%5 != 0 {
			for range rng.IntN(40) {
				in.Proof = append(in.Proof, hash())
			}
			if in.Proof == nil {
				in.Proof = [][]byte{}
			}
		}
		want, err := json.Marshal(&in)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendInclusionJSON(nil, &in); string(got) != string(want)+"\n" {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	}
}

// TestInclusionByHashManyPerBlock serves inclusion proofs by hash for blocks of many
// transactions (where the leaf index comes from the block's span, cached) and checks
// each against the log root, and that the by-hash and by-index answers agree.
func TestInclusionByHashManyPerBlock(t *testing.T) {
	ctx := context.Background()
	rp, err := chain.NewReplayer(ctx, t.TempDir(), testChain, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ipledgertest.Genesis())
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	var hashes []ipledger.Hash
	for h := int64(1); h <= 5; h++ {
		var txs [][]byte
		for i := range 37 * int(h) {
			tx := []byte("not a transaction " + strconv.Itoa(int(h)) + "/" + strconv.Itoa(i))
			txs = append(txs, tx)
			hashes = append(hashes, ipledger.HashTx(tx))
		}
		if _, _, err := rp.Apply(ctx, chain.ReplayBlock{Height: h, Time: time.Date(2026, 1, 1, 0, 0, int(h), 0, time.UTC), Txs: txs}); err != nil {
			t.Fatal(err)
		}
	}
	app := rp.App()
	srv := httptest.NewServer(newServer(nil, app, Options{}))
	defer srv.Close()
	size, root := app.LogSize()
	for _, h := range hashes {
		var byHash, byIndex apitypes.InclusionInfo
		if st, b := fetch(t, srv.URL+"/v1/log/proof/inclusion?hash="+h.String()); st != 200 || json.Unmarshal(b, &byHash) != nil {
			t.Fatalf("%s: %d %s", h, st, b)
		}
		o, ok, err := app.Outcome(h)
		if err != nil || !ok {
			t.Fatalf("%s: %v", h, err)
		}
		want, err := app.LeafIndex(o)
		if err != nil {
			t.Fatal(err)
		}
		if byHash.Index != want || byHash.Size != size {
			t.Fatalf("%s: leaf %d of %d, want %d of %d", h, byHash.Index, byHash.Size, want, size)
		}
		if err := tlog.VerifyInclusion(byHash.Index, byHash.Size, byHash.LeafHash, byHash.Proof, root); err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		if st, b := fetch(t, srv.URL+"/v1/log/proof/inclusion?index="+strconv.FormatUint(want, 10)); st != 200 || json.Unmarshal(b, &byIndex) != nil {
			t.Fatalf("%d: %d %s", want, st, b)
		}
		if string(mustJSON(t, byIndex)) != string(mustJSON(t, byHash)) {
			t.Fatalf("by index %+v, by hash %+v", byIndex, byHash)
		}
	}
	if st, _ := fetch(t, srv.URL+"/v1/log/proof/inclusion?hash="+ipledger.HashTx([]byte("never sent")).String()); st != 404 {
		t.Fatalf("unknown hash: %d", st)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
