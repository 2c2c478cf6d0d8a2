package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
)

// TestKillDuringCommits SIGKILLs a node while a stream of transactions is being committed,
// restarts it, and checks that every transaction seen committed is still there at the same
// place with the same result, that the app hash of every block up to the kill is unchanged,
// and that the node resumed from its store instead of replaying.
func TestKillDuringCommits(t *testing.T) {
	home := initHome(t, "e2e-kill")
	p := startNode(t, "node", home)
	cl := p.cl
	ripe := signer(t, home, ipledger.RIPENCC)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var hashes []ipledger.Hash
	arin := signer(t, home, ipledger.ARIN)
	go func() {
		for i, seq := 0, uint64(1); ctx.Err() == nil; i++ {
			var tx []byte
			if i%3 == 2 {
				// ARIN re-registers a handle RIPE NCC already has: committed with a rejection
				// code, which consumes no sequence, so ARIN always signs sequence 1.
				body := ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-K1", Name: fmt.Sprint("again ", i)}}}
				tx, _ = ipledger.BuildTx("e2e-kill", ipledger.KindRegisterOrg, 1, 0, body, arin)
			} else {
				body := ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: fmt.Sprintf("ORG-K%d", seq), Name: "Kill test"}}}
				tx, _ = ipledger.BuildTx("e2e-kill", ipledger.KindRegisterOrg, seq, 0, body, ripe)
			}
			res, err := cl.Submit(ctx, tx, false)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				time.Sleep(5 * time.Millisecond)
				continue
			}
			if i%3 != 2 {
				seq++
			}
			mu.Lock()
			hashes = append(hashes, res.Hash)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	time.Sleep(3 * time.Second)
	// Record what is committed, then kill at once while submissions continue.
	mu.Lock()
	submitted := append([]ipledger.Hash{}, hashes...)
	mu.Unlock()
	committed := map[ipledger.Hash]*apitypes.TxInfo{}
	for _, h := range submitted {
		info, err := cl.Tx(context.Background(), h.String())
		if err == nil && info.Height > 0 {
			committed[h] = info
		}
	}
	st, err := cl.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	appHashes := map[int64]string{}
	for h := int64(1); h <= st.Height; h++ {
		b, err := cl.Block(context.Background(), h)
		if err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
		appHashes[h] = fmt.Sprintf("%X", []byte(b.AppHash))
	}
	p.kill()
	cancel()
	if len(committed) < 20 {
		t.Fatalf("only %d transactions committed before the kill; the load is too light to show anything", len(committed))
	}
	failures := 0
	for _, info := range committed {
		if info.Code != 0 {
			failures++
		}
	}
	if failures == 0 {
		t.Fatal("no failing transaction among the committed ones")
	}

	start := time.Now()
	p2 := startNode(t, "node", home)
	t.Logf("restarted in %v; %d committed transactions (%d rejected) up to height %d", time.Since(start), len(committed), failures, st.Height)
	cl2 := p2.cl
	for h, before := range committed {
		after, err := cl2.Tx(context.Background(), h.String())
		if err != nil {
			t.Fatalf("tx %s committed at %d before the kill is gone: %v", h, before.Height, err)
		}
		if after.Height != before.Height || after.Index != before.Index || after.Code != before.Code {
			t.Fatalf("tx %s moved: %d/%d code %d before, %d/%d code %d after", h, before.Height, before.Index, before.Code, after.Height, after.Index, after.Code)
		}
	}
	for h, want := range appHashes {
		b, err := cl2.Block(context.Background(), h)
		if err != nil {
			t.Fatalf("block %d after restart: %v", h, err)
		}
		if got := fmt.Sprintf("%X", []byte(b.AppHash)); got != want {
			t.Fatalf("app hash of block %d changed: %s → %s", h, want, got)
		}
	}
	// It resumed from its own store: the startup line names a height at or above the last
	// one seen, so CometBFT had nothing of ours to replay.
	var resumed int64 = -1
	for _, line := range strings.Split(p2.out.String(), "\n") {
		if strings.Contains(line, `msg="node started"`) {
			fmt.Sscanf(line[strings.Index(line, "height=")+len("height="):], "%d", &resumed)
		}
	}
	if resumed < st.Height {
		t.Fatalf("node started at height %d, below the %d committed before the kill\n%s", resumed, st.Height, p2.out.String())
	}
}
