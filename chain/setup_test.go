package chain

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"

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

// copyDir copies the closed store in dir to a new directory and returns it.
func copyDir(tb testing.TB, dir string) string {
	tb.Helper()
	cp := tb.TempDir()
	if err := os.CopyFS(cp, os.DirFS(dir)); err != nil {
		tb.Fatal(err)
	}
	return cp
}

// openCopy continues the replay store in dir in a copy of it; the test's cleanup closes it.
func openCopy(tb testing.TB, dir, chainID string) *Replayer {
	tb.Helper()
	r, err := OpenReplayer(copyDir(tb, dir), chainID)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// editedCopy copies the closed store in dir, lets edit change the copy's Pebble database
// as an insider could, and returns the copy's directory.
func editedCopy(tb testing.TB, dir string, edit func(*pebble.DB)) string {
	tb.Helper()
	cp := copyDir(tb, dir)
	db, err := pebble.Open(cp, &pebble.Options{Comparer: store.Comparer(), Logger: quietPebble{}})
	if err != nil {
		tb.Fatal(err)
	}
	edit(db)
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	return cp
}

// slogTo returns a logger writing text lines to w.
func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// quietPebble drops Pebble's informational messages when a test opens a database itself.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)              {}
func (quietPebble) Errorf(format string, args ...any) { fmt.Printf(format+"\n", args...) }
func (quietPebble) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// testLogKey returns a new log signer named name and its verifier key.
func testLogKey(tb testing.TB, name string) (note.Signer, string) {
	tb.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return signer, vkey
}

// gathered returns the value of the counter or gauge name in reg that has the label
// pairs labels (name, value, …), and whether reg has one; without labels, name must be a
// single series.
func gathered(tb testing.TB, reg *prometheus.Registry, name string, labels ...string) (float64, bool) {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || (len(labels) == 0 && len(mf.GetMetric()) != 1) {
			continue
		}
		for _, m := range mf.GetMetric() {
			matched := 0
			for _, l := range m.GetLabel() {
				for i := 0; i+1 < len(labels); i += 2 {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						matched++
					}
				}
			}
			if 2*matched == len(labels) {
				if m.Counter != nil {
					return m.GetCounter().GetValue(), true
				}
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// gauge returns the value of the single-series gauge name in reg.
func gauge(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	v, ok := gathered(tb, reg, name)
	if !ok {
		tb.Fatalf("no gauge %s", name)
	}
	return v
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
