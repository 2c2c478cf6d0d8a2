package ipledgertest

import (
	"maps"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// RegistryStart is the genesis time of a Registry.
var RegistryStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Registry drives a ledger state in a KV with signed transactions, as the tests of
// packages that read a state (whois, stateproof) build one: each Apply commits one
// transaction in the next block, an hour after the last, with its first signer's next
// sequence. A Registry is for one goroutine.
type Registry struct {
	tb     testing.TB
	kv     ipledger.KV
	ledger *ledger.Ledger
	block  ipledger.Block
	seq    map[string]uint64
}

// NewRegistry initialises chain id of genesis g in kv as block 1, at RegistryStart; an
// error fails tb.
func NewRegistry(tb testing.TB, kv ipledger.KV, id string, g *ledger.Genesis) *Registry {
	tb.Helper()
	r := &Registry{tb: tb, kv: kv, ledger: ledger.New(id), block: ipledger.Block{Height: 1, Time: RegistryStart}, seq: map[string]uint64{}}
	if err := r.ledger.InitGenesis(kv, g, r.block); err != nil {
		tb.Fatal(err)
	}
	return r
}

// Apply commits the transaction of kind and body signed by signers (organisation
// handles, each signing with Key) in the next block; a rejection fails the test.
func (r *Registry) Apply(kind ipledger.Kind, body any, signers ...string) {
	r.tb.Helper()
	r.seq[signers[0]]++
	r.block.Height++
	r.block.Time = r.block.Time.Add(time.Hour)
	Apply(r.tb, r.ledger, r.kv, r.block, kind, r.seq[signers[0]], body, Signers(signers...)...)
}

// KV returns the state the registry writes.
func (r *Registry) KV() ipledger.KV { return r.kv }

// Height returns the height of the last block.
func (r *Registry) Height() int64 { return r.block.Height }

// Fork copies r's state into kv and returns a registry over it, at r's height and
// sequences, whose transactions leave r's state as it is.
func (r *Registry) Fork(kv ipledger.KV) *Registry {
	r.tb.Helper()
	var setErr error
	if err := r.kv.Iterate(nil, nil, false, func(k, v []byte) bool { setErr = kv.Set(k, v); return setErr == nil }); err != nil || setErr != nil {
		r.tb.Fatalf("fork: %v %v", err, setErr)
	}
	f := *r
	f.kv, f.seq = kv, maps.Clone(r.seq)
	return &f
}
