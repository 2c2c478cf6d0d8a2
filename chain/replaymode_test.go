package chain

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/ipledger/ipledger"
)

// TestReplayTuned replays the same blocks as a node does and with ReplayOptions (lean and
// pipelined), the latter with transactions decoded and verified ahead: app hashes, result codes, log sizes and roots, leaves and block records must
// be the same at every height, also across a close and reopen of the tuned store in the
// middle, and the lean store must lack the query indexes.
func TestReplayTuned(t *testing.T) {
	ctx := context.Background()
	blocks := detBlocks()
	plain := testReplayer(t, t.TempDir(), "det-chain")
	dir := t.TempDir()
	tuned := testReplayer(t, dir, "det-chain")
	opts := ReplayOptions{Lean: true, Pipelined: true}
	tuned.Tune(opts)
	defer func() { tuned.Close() }()

	for i, b := range blocks {
		if i == len(blocks)/2 {
			// Close while the last block's store write may be under way; reopen.
			if err := tuned.Close(); err != nil {
				t.Fatal(err)
			}
			var err error
			if tuned, err = OpenReplayer(dir, "det-chain"); err != nil {
				t.Fatal(err)
			}
			if got := tuned.App().Committed().Height; got != b.Height-1 {
				t.Fatalf("reopened at %d, want %d", got, b.Height-1)
			}
			tuned.Tune(opts)
		}
		wantHash, wantCodes, err := plain.Apply(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		// As the audit does: signatures checked and transactions decoded ahead.
		tb := b
		_, tb.Decoded = tuned.PreVerify(b.Txs)
		hash, codes, err := tuned.Apply(ctx, tb)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(hash, wantHash) || !slices.Equal(codes, wantCodes) {
			t.Fatalf("height %d: app hash %X codes %v, want %X %v", b.Height, hash, codes, wantHash, wantCodes)
		}
		size, root := tuned.LogSize()
		wantSize, wantRoot := plain.LogSize()
		if size != wantSize || !bytes.Equal(root, wantRoot) {
			t.Fatalf("height %d: log size %d root %x, want %d %x", b.Height, size, root, wantSize, wantRoot)
		}
		if i%7 == 0 {
			if err := tuned.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tuned.Wait(); err != nil {
		t.Fatal(err)
	}
	last := blocks[len(blocks)-1].Height
	if got := tuned.App().Committed().Height; got != last {
		t.Fatalf("committed %d after Wait, want %d", got, last)
	}
	for h := int64(1); h <= last; h++ {
		rec, err := tuned.App().Block(h)
		want, werr := plain.App().Block(h)
		if err != nil || werr != nil || rec == nil || want == nil {
			t.Fatalf("block %d: %v %v", h, err, werr)
		}
		if !bytes.Equal(rec.AppHash, want.AppHash) || rec.LogSize != want.LogSize || len(rec.Txs) != len(want.Txs) {
			t.Fatalf("block %d: record differs", h)
		}
	}
	size, _ := plain.LogSize()
	for i := range size {
		l, err := tuned.App().Leaf(i)
		want, werr := plain.App().Leaf(i)
		if err != nil || werr != nil || !bytes.Equal(l, want) {
			t.Fatalf("leaf %d differs: %v %v", i, err, werr)
		}
	}
	// What only a node's queries read is not kept.
	var tx *ipledger.TxRecord
	for h := int64(1); h <= last && tx == nil; h++ {
		rec, _ := plain.App().Block(h)
		for j := range rec.Txs {
			if len(rec.Txs[j].Touched) > 0 {
				tx = &rec.Txs[j]
				break
			}
		}
	}
	if tx == nil {
		t.Fatal("no transaction touched anything")
	}
	if _, _, ok, err := plain.App().TxPosition(tx.Hash); err != nil || !ok {
		t.Fatalf("the node's replay does not index %s: %v", tx.Hash, err)
	}
	if h, err := plain.App().history(tx.Touched[0], 10); err != nil || len(h) == 0 {
		t.Fatalf("the node's replay has no history of %s: %v", tx.Touched[0], err)
	}
	if _, _, ok, err := tuned.App().TxPosition(tx.Hash); err != nil || ok {
		t.Fatalf("the lean replay indexes %s: %v", tx.Hash, err)
	}
	if h, err := tuned.App().history(tx.Touched[0], 10); err != nil || len(h) != 0 {
		t.Fatalf("the lean replay keeps the history of %s: %v %v", tx.Touched[0], h, err)
	}
	if n, err := tuned.App().LogNode(0, 0); err != nil || n != nil {
		t.Fatalf("the lean replay keeps log subtree hashes: %x %v", n, err)
	}
	if n, err := plain.App().LogNode(0, 0); err != nil || n == nil {
		t.Fatalf("the node's replay has no log subtree hashes: %v", err)
	}
}
