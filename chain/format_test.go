package chain

import (
	"context"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ipledger/ipledger/store"
)

// A node refuses state without the state format (a home of an older ipledger), with one
// error naming the directory and saying to start a fresh chain.
func TestStateFormatRefused(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	r := testReplayer(t, base, "det-chain")
	applyBlocks(t, r, detBlocks()[:1])
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	open := func(dir string) error {
		st, err := store.Open(store.Options{Dir: dir, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		app, err := NewApp(st, Config{ChainID: "det-chain"})
		if err == nil {
			err = app.WaitReady(ctx)
		}
		return err
	}
	if err := open(base); err != nil {
		t.Fatalf("a current home: %v", err)
	}
	// Every value record of the state format: 'v' ‖ key ‖ 0x00 0x01 ‖ ^version
	// (store/values.go), as a home of format 1 has none.
	old := editedCopy(t, base, func(db *pebble.DB) {
		if err := db.DeleteRange(append([]byte("vmformat"), 0, 1), append([]byte("vmformat"), 0, 2), pebble.Sync); err != nil {
			t.Fatal(err)
		}
	})
	err := open(old)
	if err == nil {
		t.Fatal("a home of format 1 opened")
	}
	for _, want := range []string{old, "format 1", "start a fresh chain"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
}
