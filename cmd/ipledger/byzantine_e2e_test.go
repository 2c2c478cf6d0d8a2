package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// TestByzantineProposer runs four validators, one of them a binary built with the
// byzantine tag, whose proposals carry a badly signed transaction. The honest validators
// reject those proposals (ProcessProposal), the rounds move on to honest proposers, the
// network keeps committing the load, and no committed block holds the forged transaction.
func TestByzantineProposer(t *testing.T) {
	byz := filepath.Join(t.TempDir(), "ipledger-byzantine")
	if err := goBuild(byz, "byzantine"); err != nil {
		t.Fatalf("build the byzantine binary: %v", err)
	}
	tn := writeTestnet(t, t.TempDir(), "e2e-byzantine", 4)
	procs := startTestnetProcs(t, tn, byz) // the byzantine operator runs the other binary
	ld := startRegistryLoad(t, tn, procs, 1, tn.Nodes[1].Registries[:1])
	time.Sleep(8 * time.Second)
	committed := ld.stop()
	if len(committed) < 5 {
		t.Fatalf("only %d transactions committed with a byzantine proposer among four", len(committed))
	}
	top := procs[1].height()
	for h := int64(1); h <= top; h++ {
		blk, err := procs[1].cl.Block(context.Background(), h)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range blk.Txs {
			if tx.Code == ipledger.CodeBadSignature {
				t.Fatalf("block %d holds a badly signed transaction %s", h, tx.Hash)
			}
		}
	}
	// The honest validators saw and rejected the forged proposals.
	rejected := 0
	for _, p := range procs[1:] {
		logs := p.logs.String()
		rejected += strings.Count(logs, `"rejected proposal"`) + strings.Count(logs, `msg="rejected proposal"`)
	}
	if rejected == 0 {
		t.Fatalf("no honest validator logged a rejected proposal; was the byzantine node ever the proposer?\n%s", procs[1].logs.String())
	}
	t.Logf("%d transactions committed over %d heights with a byzantine proposer; %d rejections logged", len(committed), top, rejected)
}
