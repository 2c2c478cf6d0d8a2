package chaintest

import (
	"context"
	"testing"
	"time"

	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/ledger"
)

// InitHome makes dir the home of the single validator of chain id with genesis g, at
// genesis time now, unless it is one already. operator is the registry that operates the
// validator ("" for none: the ledger then records no validator set).
func InitHome(tb testing.TB, dir, id string, g *ledger.Genesis, operator string) {
	tb.Helper()
	pk, _, err := chain.InitHome(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if err := chain.WriteGenesisIfMissing(chain.GenesisPath(dir), id, time.Now(), g, []chain.ValidatorSpec{{Name: "v0", PubKey: pk, Power: 10, Operator: operator}}); err != nil {
		tb.Fatal(err)
	}
}

// StartNode starts the node of o.Home (made by InitHome), committing every 20 ms unless
// o.TimeoutCommit says otherwise, waits for its first block and stops it when tb ends,
// unless the test stopped it before.
func StartNode(tb testing.TB, o chain.NodeOptions) *chain.Node {
	tb.Helper()
	if o.TimeoutCommit == 0 {
		o.TimeoutCommit = 20 * time.Millisecond
	}
	n, err := chain.Start(context.Background(), o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := n.Stop(); err != nil {
			tb.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.WaitHeight(ctx, 1); err != nil {
		tb.Fatal(err)
	}
	return n
}
