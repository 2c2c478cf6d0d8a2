package market

import (
	"testing"

	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ipledgertest/chaintest"
)

// BenchmarkRead reads the statistics' inputs of a chain with RIPE NCC's delegated
// statistics of 2014-06 imported: the walk of every holding for the units held is what
// costs (the API reads them once per height).
func BenchmarkRead(b *testing.B) {
	g, plan := chaintest.ImportPlan(b, ipledgertest.Data(b, "delegated/2014-06/delegated-ripencc-latest"))
	c := chaintest.NewChain(b, "market-bench", g)
	var txs [][]byte
	for _, st := range plan.Steps {
		txs = append(txs, c.Tx(st.Kind, st.Body, st.Signers...))
	}
	c.Block(txs...)
	kv := c.App().Committed().State
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d, err := Read(kv)
		if err != nil {
			b.Fatal(err)
		}
		d.Stats(Filter{})
	}
	b.ReportMetric(float64(plan.Stats.Holdings), "holdings")
}
