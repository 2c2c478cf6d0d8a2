package chain

import (
	"errors"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

// TestSnapshotAt reads an organisation's name at every height of a chain whose store keeps
// the last 3 versions: each retained height answers as it stood then, a pruned height and
// one above the last give ErrNotRetained, and 0 is the committed snapshot itself.
func TestSnapshotAt(t *testing.T) {
	o := replayStoreOptions(t.TempDir())
	o.KeepRecent = 3
	r := testReplayerOn(t, o, "snapshot-at")
	org := ipledgertest.Signer("ORG-S")
	reg, err := ipledger.BuildTx("snapshot-at", ipledger.KindRegisterOrg, 1, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-S", Name: "S1", Keys: []ipledger.PublicKey{org.Key.Public()}}}}, ipledgertest.Signer(ipledger.RIPENCC))
	if err != nil {
		t.Fatal(err)
	}
	const top = 8
	for h := int64(1); h <= top; h++ {
		txs := [][]byte{reg}
		if h > 1 {
			b, err := ipledger.BuildTx("snapshot-at", ipledger.KindUpdateOrg, uint64(h-1), 0, ipledger.UpdateOrgBody{Org: "ORG-S", Name: "S" + itoa(uint64(h))}, org)
			if err != nil {
				t.Fatal(err)
			}
			txs = [][]byte{b}
		}
		applyBlocks(t, r, []ReplayBlock{testBlock(h, txs...)})
	}
	if err := r.Wait(); err != nil {
		t.Fatal(err)
	}
	var rd ipledger.Reader = r.App()
	for h := int64(1); h <= top; h++ {
		s, err := rd.SnapshotAt(h)
		if h <= top-3 {
			if !errors.Is(err, ipledger.ErrNotRetained) || !errors.Is(err, store.ErrVersionNotFound) {
				t.Errorf("height %d, pruned: %v", h, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		o, err := ledger.Org(s.State, "ORG-S")
		if err != nil || o == nil || o.Name != "S"+itoa(uint64(h)) || s.Height != h || s.Block.Height != h {
			t.Errorf("height %d: snapshot at %d (record %d), org %+v, %v", h, s.Height, s.Block.Height, o, err)
		}
	}
	if s, err := rd.SnapshotAt(0); err != nil || s != rd.Committed() {
		t.Errorf("SnapshotAt(0) = %p, %v; Committed %p", s, err, rd.Committed())
	}
	for _, h := range []int64{top + 1, -1} {
		if _, err := rd.SnapshotAt(h); !errors.Is(err, ipledger.ErrNotRetained) {
			t.Errorf("height %d: %v", h, err)
		}
	}
}
