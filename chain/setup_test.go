package chain

import (
	"context"
	"testing"
	"time"

	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/store"
)

// testStart is the genesis time of the test chains.
var testStart = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// testReplayer starts a replay of chain chainID from ipledgertest.Genesis() at testStart in
// the empty dir; the test's cleanup closes it (closing it earlier is fine).
func testReplayer(tb testing.TB, dir, chainID string) *Replayer {
	tb.Helper()
	return testReplayerOn(tb, replayStoreOptions(dir), chainID)
}

// testReplayerOn is testReplayer on a store opened with o.
func testReplayerOn(tb testing.TB, o store.Options, chainID string) *Replayer {
	tb.Helper()
	r, err := newReplayer(context.Background(), o, chainID, testStart, ipledgertest.Genesis())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// testBlock is the block at height h of a test chain, h seconds after testStart.
func testBlock(h int64, txs ...[]byte) ReplayBlock {
	return ReplayBlock{Height: h, Time: testStart.Add(time.Duration(h) * time.Second), Txs: txs}
}

// applyBlocks replays blocks into r and fails the test on an error.
func applyBlocks(tb testing.TB, r *Replayer, blocks []ReplayBlock) {
	tb.Helper()
	for _, b := range blocks {
		if _, _, err := r.Apply(context.Background(), b); err != nil {
			tb.Fatal(err)
		}
	}
}
