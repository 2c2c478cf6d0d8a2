package chaintest

import (
	"testing"

	"github.com/ipledger/ipledger/iana"
	"github.com/ipledger/ipledger/importer"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// ImportPlan parses the delegated statistics file at path and plans its import with the
// real importer over IANA's default pools, as the golden tests of rdap and whois put real
// records on a chain: it returns the genesis of those pools and the plan, whose steps are
// the transactions to sign and apply in order. A file that does not parse or plan fails tb.
func ImportPlan(tb testing.TB, path string) (*ledger.Genesis, *importer.Plan) {
	tb.Helper()
	f, err := importer.ParseFile(path, false)
	if err != nil {
		tb.Fatal(err)
	}
	plan, err := importer.PlanImport([]*importer.File{f}, iana.DefaultPools(), importer.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return ipledgertest.GenesisOf(iana.DefaultPools()), plan
}
