package chain

import (
	"bytes"
	"context"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/store"
)

// TestStartupCheck replays the determinism blocks into a store, edits the closed database
// the way an insider could — a value record, the last log leaves, a log leaf's bytes — and
// restarts the application on it: each edit must be found at start, named in one log line,
// and stop checkpoint signing; a changed state also stops the state machine.
func TestStartupCheck(t *testing.T) {
	ctx := context.Background()
	blocks := detBlocks()
	base := t.TempDir()
	r := testReplayer(t, base, "det-chain")
	applyBlocks(t, r, blocks)
	size, _ := r.App().LogSize()
	height := r.App().Committed().Height
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	signer, vkey := testLogKey(t, "startup-check")
	// The records of ORG-D1's organisation, the newest first.
	orgPrefix := store.ValueRecordPrefix([]byte("oORG-D1"))
	leafKey := func(i uint64) []byte { return binary.BigEndian.AppendUint64([]byte{'s', 'L'}, i) }

	for _, c := range []struct {
		name  string
		edit  func(t *testing.T, db *pebble.DB)
		state string // in the state machine's error and the log line; "" if it runs
		log   string // in the log line about the log
	}{
		{"untouched", func(*testing.T, *pebble.DB) {}, "", ""},
		{"holder's name relabelled", func(t *testing.T, db *pebble.DB) {
			it, _ := db.NewIter(&pebble.IterOptions{LowerBound: orgPrefix, UpperBound: append(bytes.Clone(orgPrefix[:len(orgPrefix)-1]), 2)})
			defer it.Close()
			if !it.First() {
				t.Fatal("no record of ORG-D1")
			}
			v := bytes.Clone(it.Value())
			// 0x00 (set) ‖ format ‖ len ‖ "ORG-D1" ‖ len ‖ name "ORG-D1" …
			if !bytes.HasPrefix(v[10:], []byte("ORG-D1")) {
				t.Fatalf("record %q", v)
			}
			v[10+4] = 'X'
			if err := db.Set(bytes.Clone(it.Key()), v, pebble.Sync); err != nil {
				t.Fatal(err)
			}
		}, `key=oORG-D1 object="organisation ORG-D1" mismatches=1`, ""},
		{"log truncated", func(t *testing.T, db *pebble.DB) {
			if err := db.DeleteRange(leafKey(size-2), leafKey(size), pebble.Sync); err != nil {
				t.Fatal(err)
			}
		}, "", "leaf=" + itoa(size-2) + " err=\"log leaves " + itoa(size-2) + "–" + itoa(size-1) + " are missing"},
		{"log leaf rewritten", func(t *testing.T, db *pebble.DB) {
			v, closer, err := db.Get(leafKey(7))
			if err != nil {
				t.Fatal(err)
			}
			v = bytes.Clone(v)
			closer.Close()
			v[len(v)-1] ^= 1
			if err := db.Set(leafKey(7), v, pebble.Sync); err != nil {
				t.Fatal(err)
			}
		}, "", `leaf=7 err="log leaf 7 was rewritten`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := editedCopy(t, base, func(db *pebble.DB) { c.edit(t, db) })
			st, err := store.Open(store.Options{Dir: dir, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var logs ipledgertest.LockedBuffer
			reg := prometheus.NewRegistry()
			app, err := NewApp(st, Config{ChainID: "det-chain", LogSigner: signer, LogVerifierKey: vkey,
				Logger: slogTo(&logs), Metrics: NewMetrics(reg)})
			if err != nil {
				t.Fatal(err)
			}
			readyErr := app.WaitReady(ctx)
			errLines := strings.Count(logs.String(), "level=ERROR")
			refused := gauge(t, reg, "ipledger_log_checkpoint_refused")
			t.Logf("ready: %v\n%s", readyErr, logs.String())
			switch {
			case c.state == "" && c.log == "":
				if readyErr != nil || errLines != 0 || refused != 0 {
					t.Fatalf("untouched store: ready %v, refused %v, %d error lines", readyErr, refused, errLines)
				}
			case c.state != "":
				if readyErr == nil || !strings.Contains(readyErr.Error(), "does not match its committed state root") {
					t.Fatalf("ready: %v", readyErr)
				}
				if errLines != 1 || !strings.Contains(logs.String(), c.state) || !strings.Contains(logs.String(), "height="+itoa(uint64(height))) {
					t.Fatalf("want one error line with %q, height %d", c.state, height)
				}
			default:
				if readyErr != nil {
					t.Fatalf("a damaged log stopped the state machine: %v", readyErr)
				}
				if errLines != 1 || !strings.Contains(logs.String(), c.log) {
					t.Fatalf("want one error line with %q", c.log)
				}
			}
			if want := c.state != "" || c.log != ""; want != (refused == 1) {
				t.Fatalf("checkpoint refused metric %v", refused)
			}

			// The next block: executed and signed, executed and not signed, or refused.
			ct, _ := app.CheckTx(ctx, &abci.CheckTxRequest{Tx: blocks[1].Txs[0], Type: abci.CHECK_TX_TYPE_CHECK})
			_, ferr := app.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: height + 1, Time: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), Txs: [][]byte{[]byte("not a transaction")}})
			if c.state != "" {
				if ferr == nil || !strings.Contains(ct.Log, "does not match its committed state root") || ct.Code != uint32(ipledger.CodeInternal) {
					t.Fatalf("a forged state: FinalizeBlock %v, CheckTx %d %q", ferr, ct.Code, ct.Log)
				}
				return
			}
			if ferr != nil {
				t.Fatal(ferr)
			}
			if _, err := app.Commit(ctx, &abci.CommitRequest{}); err != nil {
				t.Fatal(err)
			}
			if signed := app.Checkpoint() != nil; signed != (c.log == "") {
				t.Fatalf("checkpoint signed: %v", signed)
			}
		})
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
