package chain

import (
	"testing"
	"time"

	cfg "github.com/cometbft/cometbft/config"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

func TestCadenceNext(t *testing.T) {
	c := cadence{consensus: cfg.DefaultConsensusConfig(), base: 100 * time.Millisecond}
	for _, tc := range []struct{ busy, want time.Duration }{
		{0, 100 * time.Millisecond},
		{-time.Second, 100 * time.Millisecond}, // a clock step backwards
		{30 * time.Millisecond, 130 * time.Millisecond},
		{100 * time.Millisecond, 200 * time.Millisecond},
		{2 * time.Second, 200 * time.Millisecond}, // a heavy block delays the next by one timeout at most
	} {
		if got := c.next(tc.busy); got != tc.want {
			t.Errorf("next(%v) = %v, want %v", tc.busy, got, tc.want)
		}
	}
	c.blockDone(time.Now().Add(-40 * time.Millisecond))
	if got := c.consensus.TimeoutCommit; got < 140*time.Millisecond || got > 200*time.Millisecond {
		t.Errorf("after a block that took 40 ms the timeout is %v", got)
	}
}

// TestNodeCadence checks the running node's consensus reads the timeout the cadence sets.
func TestNodeCadence(t *testing.T) {
	n := startTestNode(t, t.TempDir())
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	tx, _ := ipledger.BuildTx("chain-test", ipledger.KindRegisterOrg, 1, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-C", Name: "C"}}}, ripe)
	if out := submitWait(t, n, tx); out.Code != 0 {
		t.Fatalf("register: %s %s", out.Code, out.Log)
	}
	if err := n.Stop(); err != nil { // the consensus goroutine has ended: its writes are visible
		t.Fatal(err)
	}
	if n.app.cadence == nil || n.node.Config().Consensus != n.app.cadence.consensus {
		t.Fatal("the cadence sets another configuration than the node's consensus reads")
	}
	base := 20 * time.Millisecond // startTestNode's
	if got := n.node.Config().Consensus.TimeoutCommit; got <= base || got > 2*base {
		t.Fatalf("timeout after a committed block %v, want in (%v, %v]", got, base, 2*base)
	}
}
