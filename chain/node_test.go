package chain

import (
	"context"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// startTestNode creates a single-validator home in dir (if new) and starts it.
func startTestNode(t *testing.T, dir string) *Node {
	t.Helper()
	initTestHome(t, dir)
	return startNode(t, NodeOptions{Home: dir})
}

// startNode starts the node of o.Home, committing every 20 ms unless o says otherwise,
// waits for its first block and stops it when the test ends (Stop again is harmless).
func startNode(t *testing.T, o NodeOptions) *Node {
	t.Helper()
	if o.TimeoutCommit == 0 {
		o.TimeoutCommit = 20 * time.Millisecond
	}
	n, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.WaitHeight(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return n
}

func submitWait(t *testing.T, n *Node, tx []byte) ipledger.TxOutcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	hash, err := n.Submit(ctx, tx)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	out, err := n.App().WaitCommit(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNodeCommitsAndResumes(t *testing.T) {
	dir := t.TempDir()
	n := startTestNode(t, dir)
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	tx, _ := ipledger.BuildTx("chain-test", ipledger.KindRegisterOrg, 1, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-X", Name: "X", Keys: []ipledger.PublicKey{ipledgertest.Key("x").Public()}}}}, ripe)
	if out := submitWait(t, n, tx); out.Code != 0 {
		t.Fatalf("register: %s %s", out.Code, out.Log)
	}
	tx, _ = ipledger.BuildTx("chain-test", ipledger.KindAllocate, 2, 0, ipledger.AllocateBody{Items: []ipledger.AllocateItem{{Resource: ipledger.MustParseResource("193.0.0.0/16"), Org: "ORG-X", Status: ipledger.StatusAllocatedPA}}}, ripe)
	out := submitWait(t, n, tx)
	if out.Code != 0 {
		t.Fatalf("allocate: %s %s", out.Code, out.Log)
	}
	// A replay is refused at the mempool.
	if _, err := n.Submit(context.Background(), tx); err == nil {
		t.Fatal("replayed transaction admitted")
	}
	// A failing transaction is committed with its code.
	bad, _ := ipledger.BuildTx("chain-test", ipledger.KindAllocate, 3, 0, ipledger.AllocateBody{Items: []ipledger.AllocateItem{{Resource: ipledger.MustParseResource("193.0.0.0/24"), Org: "ORG-X", Status: ipledger.StatusAllocatedPA}}}, ripe)
	if out := submitWait(t, n, bad); out.Code != ipledger.CodeOverlap {
		t.Fatalf("overlap: %s", out.Code)
	}
	// What the app keeps of pending transactions is gone once they commit or are refused.
	if d, v := n.App().decoded.len(), n.App().verified.len(); d != 0 || v != 0 {
		t.Fatalf("after the commits %d decoded and %d verified transactions are still kept", d, v)
	}
	snap := n.App().Committed()
	chain, err := ledger.Lookup(snap.State, ipledger.MustParseResource("193.0.5.5"))
	if err != nil || len(chain) != 2 || chain[1].Holder != "ORG-X" {
		t.Fatalf("lookup: %v %+v", err, chain)
	}
	hist, err := n.App().history("org/ORG-X", 10)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history: %v %+v", err, hist)
	}
	height, appHash := snap.Height, snap.Block.AppHash
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	n = startTestNode(t, dir)
	defer n.Stop()
	snap = n.App().Committed()
	if snap.Height < height || (snap.Height == height && string(snap.Block.AppHash) != string(appHash)) {
		t.Fatalf("after restart height %d (was %d)", snap.Height, height)
	}
	rec, err := n.App().Block(height)
	if err != nil || string(rec.AppHash) != string(appHash) {
		t.Fatalf("block %d after restart: %v", height, err)
	}
	chain, _ = ledger.Lookup(snap.State, ipledger.MustParseResource("193.0.5.5"))
	if len(chain) != 2 || chain[1].Holder != "ORG-X" {
		t.Fatalf("lookup after restart: %+v", chain)
	}
}
