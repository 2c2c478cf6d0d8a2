package chain

import (
	"context"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// historyChain commits blocks in which ORG-H updates itself several times, with a
// replayed (rejected) transaction in some: object "org/ORG-H" gets a long history spread
// over many blocks, at positions that are not simply 0..n.
func historyChain(t *testing.T) *Replayer {
	t.Helper()
	r := testReplayer(t, t.TempDir(), "history-chain")
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	org := ipledgertest.Signer("ORG-H")
	reg, err := ipledger.BuildTx("history-chain", ipledger.KindRegisterOrg, 1, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-H", Name: "H", Keys: []ipledger.PublicKey{org.Key.Public()}}}}, ripe)
	if err != nil {
		t.Fatal(err)
	}
	blocks := []ReplayBlock{{Height: 1, Time: testStart, Txs: [][]byte{reg}}}
	seq := uint64(0)
	for h := int64(2); h <= 30; h++ {
		var txs [][]byte
		for i := 0; i < 1+int(h%4); i++ {
			seq++
			b, err := ipledger.BuildTx("history-chain", ipledger.KindUpdateOrg, seq, 0, ipledger.UpdateOrgBody{Org: "ORG-H", Name: "H" + time.Duration(seq).String()}, org)
			if err != nil {
				t.Fatal(err)
			}
			txs = append(txs, b)
		}
		if h%5 == 0 {
			txs = append(txs, txs[0]) // a replay: committed with its code
		}
		blocks = append(blocks, testBlock(h, txs...))
	}
	applyBlocks(t, r, blocks)
	if err := r.Wait(); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestHistoryPage pages through an object's history with a small limit: every entry of
// history comes exactly once and in order, and each entry's details from the log match its
// block record.
func TestHistoryPage(t *testing.T) {
	a := historyChain(t).App()
	ctx := context.Background()
	all, err := a.history("org/ORG-H", 1<<20)
	if err != nil || len(all) < 50 {
		t.Fatalf("history: %d entries, %v", len(all), err)
	}
	var got []ipledger.HistoryEntry
	var after ipledger.HistoryPos
	for pages := 0; ; pages++ {
		if pages > len(all) {
			t.Fatal("paging does not end")
		}
		page, more, err := a.HistoryPage(ctx, "org/ORG-H", after, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 7 || more && len(page) != 7 {
			t.Fatalf("page of %d, more %v", len(page), more)
		}
		got = append(got, page...)
		if !more {
			break
		}
		// The cursor goes through its text form, as a client sends it back.
		if after, err = ipledger.ParseHistoryPos(page[len(page)-1].Pos().String()); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(all) {
		t.Fatalf("paged %d entries, history has %d", len(got), len(all))
	}
	for i := range all {
		if got[i] != all[i] {
			t.Fatalf("entry %d: paged %+v, history %+v", i, got[i], all[i])
		}
		d, ok, err := a.HistoryDetailOf(all[i])
		if err != nil || !ok {
			t.Fatalf("detail of %+v: ok %v err %v", all[i], ok, err)
		}
		rec, err := a.Block(all[i].Height)
		if err != nil {
			t.Fatal(err)
		}
		tr := rec.Txs[all[i].Index]
		if d.Time != rec.Time || d.Kind != tr.Kind || d.Code != tr.Code || d.EndBlock {
			t.Fatalf("detail of %+v: %+v, block record says %v %q %v", all[i], d, rec.Time, tr.Kind, tr.Code)
		}
	}
	// A wrong hash is not its entry.
	bad := all[0]
	bad.Hash[0] ^= 1
	if _, ok, _ := a.HistoryDetailOf(bad); ok {
		t.Fatal("detail of an entry with another hash")
	}
	if _, err := ipledger.ParseHistoryPos("12"); err == nil {
		t.Fatal("ParseHistoryPos took 12")
	}
}

// TestHistoryPageCancelled stops at once with an ended context.
func TestHistoryPageCancelled(t *testing.T) {
	a := historyChain(t).App()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if page, _, err := a.HistoryPage(ctx, "org/ORG-H", ipledger.HistoryPos{}, 1000); err == nil || len(page) != 0 {
		t.Fatalf("cancelled: %d entries, err %v", len(page), err)
	}
}
