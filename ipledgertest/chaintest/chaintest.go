// Package chaintest runs a chain for a test: a Chain committed block by block through the
// real application without consensus (NewChain), and a single-validator node with
// CometBFT (StartNode). It imports chain, so chain's own tests, which cannot, use the
// parent package ipledgertest directly.
package chaintest

import (
	"context"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// GenesisTime is the genesis time of every Chain; its block h is h minutes later.
var GenesisTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Chain is a chain driven through the real application (a chain.Replayer) without
// consensus: each Block is finalized and committed at once. Its signers sign with
// ipledgertest.Key. A Chain is for one goroutine.
type Chain struct {
	tb     testing.TB
	id     string
	r      *chain.Replayer
	height int64
	seq    map[string]uint64
}

// NewChain starts chain id of genesis g (ipledgertest.Genesis() when nil) in a directory
// of tb's, commits block 1 as a node does, and closes it when tb ends.
func NewChain(tb testing.TB, id string, g *ledger.Genesis) *Chain {
	tb.Helper()
	if g == nil {
		g = ipledgertest.Genesis()
	}
	r, err := chain.NewReplayer(context.Background(), tb.TempDir(), id, GenesisTime, g)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	c := &Chain{tb: tb, id: id, r: r, seq: map[string]uint64{}}
	c.Block()
	return c
}

// Tx builds a transaction of kind and body signed by signers (organisation handles),
// with the first one's next sequence.
func (c *Chain) Tx(kind ipledger.Kind, body any, signers ...string) []byte {
	c.tb.Helper()
	c.seq[signers[0]]++
	b, err := ipledger.BuildTx(c.id, kind, c.seq[signers[0]], 0, body, ipledgertest.Signers(signers...)...)
	if err != nil {
		c.tb.Fatal(err)
	}
	return b
}

// Block commits the next block with txs and fails the test unless every one applied.
func (c *Chain) Block(txs ...[]byte) {
	c.tb.Helper()
	c.height++
	_, codes, err := c.r.Apply(context.Background(), chain.ReplayBlock{Height: c.height, Time: GenesisTime.Add(time.Duration(c.height) * time.Minute), Txs: txs})
	if err != nil {
		c.tb.Fatal(err)
	}
	for i, code := range codes {
		if code != 0 {
			out, _, _ := c.r.App().Outcome(ipledger.HashTx(txs[i]))
			c.tb.Fatalf("block %d tx %d: %s: %s", c.height, i, ipledger.Code(code), out.Log)
		}
	}
}

// Height returns the height of the last block committed.
func (c *Chain) Height() int64 { return c.height }

// App returns the application, to read from as a node's front ends do.
func (c *Chain) App() *chain.App { return c.r.App() }
