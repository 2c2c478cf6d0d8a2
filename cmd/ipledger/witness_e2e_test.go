package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	tlogfmt "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// TestWitnessEndToEnd runs `ipledger witness` and `ipledger dev --witness` as separate
// processes: the dev node's checkpoint at GET /v1/log/checkpoint comes to carry the
// witness's cosignature (verified with transparency-dev/formats) for its whole log. The
// witness then stops while the log grows and is restarted on its directory: it still
// holds the size it cosigned (a fresh add-checkpoint from 0 gets 409 with that size), and
// the node brings it to the new checkpoint.
func TestWitnessEndToEnd(t *testing.T) {
	wdir := filepath.Join(t.TempDir(), "witness")
	wkey := strings.TrimSpace(run(t, "witness", "--dir", wdir, "--name", "witness.e2e/w1", "--show-key"))
	if !strings.HasPrefix(wkey, "witness.e2e/w1+") {
		t.Fatalf("witness key %q", wkey)
	}
	wv, err := fnote.NewVerifierForCosignatureV1(wkey)
	if err != nil {
		t.Fatalf("witness key %q: %v", wkey, err)
	}

	// The node starts first, pointing at the witness's address: it retries until the
	// witness is up, which needs the node's log key.
	waddr := ipledgertest.FreeAddr(t)
	dev := launchNode(t, "dev", newHome(t), "--witness", "http://"+waddr+"="+wkey, "--demo=false") // RIPE NCC's sequences from 1
	home, addr, cl := dev.home, dev.addr, dev.cl
	waitFor(t, 60*time.Second, "the dev node", dev.out.String, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := cl.Status(ctx)
		return err == nil && st.Height >= 1
	})
	_, keyBody := ipledgertest.Fetch("http://" + addr + "/v1/log/key")
	logKey := strings.TrimSpace(string(keyBody))
	logV, err := note.NewVerifier(logKey)
	if err != nil {
		t.Fatalf("log key %q: %v", keyBody, err)
	}
	origin := "ipledger/ipledger-dev"

	startWitness := func() *proc {
		return startProc(t, binary(t), "witness", "--listen", waddr, "--dir", wdir, "--log", origin+"="+logKey)
	}
	w := startWitness()

	ripe := signer(t, home, ipledger.RIPENCC)
	seq := uint64(1)
	submit := func(count int) {
		t.Helper()
		for range count {
			body := ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: fmt.Sprintf("ORG-WIT%d", seq), Name: "Witnessed"}}}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			commit(t, ctx, cl, "ipledger-dev", ipledger.KindRegisterOrg, seq, body, ripe)
			cancel()
			seq++
		}
	}
	// cosigned waits until the served checkpoint covers the whole log and carries a valid
	// cosignature from the witness, and returns its size.
	cosigned := func() uint64 {
		t.Helper()
		var size uint64
		waitFor(t, 60*time.Second, "a cosigned checkpoint", dev.out.String, func() bool {
			st, err := cl.Status(context.Background())
			if err != nil {
				return false
			}
			code, b := ipledgertest.Fetch("http://" + addr + "/v1/log/checkpoint")
			if code != 200 {
				return false
			}
			cp, _, n, err := tlogfmt.ParseCheckpoint(b, origin, logV, wv)
			if err != nil || cp.Size != st.LogSize || len(n.Sigs) != 2 || n.Sigs[1].Name != "witness.e2e/w1" {
				return false
			}
			if ts, err := fnote.CoSigV1Timestamp(n.Sigs[1]); err != nil || time.Since(ts) > time.Minute {
				t.Fatalf("cosignature time %v %v", ts, err)
			}
			size = cp.Size
			return true
		})
		return size
	}

	submit(3)
	size1 := cosigned()
	submit(2)
	size2 := cosigned()
	if size2 <= size1 {
		t.Fatalf("cosigned size went from %d to %d", size1, size2)
	}

	// Stop the witness; the log grows meanwhile; restart it on the same directory.
	if w.stop(syscall.SIGTERM); w.err != nil {
		t.Fatalf("witness exit: %v\n%s", w.err, w.out.String())
	}
	submit(3)
	w = startWitness()
	// Its record survived: a client that knows nothing gets 409 with a size at least the
	// one cosigned before the stop (the node may have been quicker than this request).
	_, signed := ipledgertest.Fetch("http://" + addr + "/v1/log/checkpoint")
	var code int
	var body []byte
	waitFor(t, 30*time.Second, "the restarted witness", w.out.String, func() bool {
		resp, err := http.Post("http://"+waddr+"/add-checkpoint", "text/plain", bytes.NewReader(append([]byte("old 0\n\n"), signed...)))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		code = resp.StatusCode
		body, _ = io.ReadAll(resp.Body)
		return true
	})
	var known uint64
	if _, err := fmt.Sscanf(string(body), "%d\n", &known); code != http.StatusConflict || err != nil || known < size2 {
		t.Fatalf("old 0 after restart: %d %q (cosigned %d before)\n%s", code, body, size2, w.out.String())
	}
	size3 := cosigned()
	if size3 <= size2 {
		t.Fatalf("after the restart, cosigned size %d (was %d)", size3, size2)
	}
	submit(1)
	if size4 := cosigned(); size4 <= size3 {
		t.Fatalf("cosigned size %d after %d", size4, size3)
	}
}
