package stateproof

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/tlog"
)

// FuzzDecodeProof feeds arbitrary bytes to the proof decoder (JSON, CometBFT's JSON of
// the header and validators, each entry's proof) and the verifiers. Whatever decodes must
// encode and decode to the same proof, and verifying it must answer or reject, never
// panic. Seeds are real proofs: a resource, a holding and an organisation, with headers
// signed by real keys; one rules out a more specific holding by cover entries.
func FuzzDecodeProof(f *testing.F) {
	v := testState(f)
	logRoot := tlog.New().Root()
	_, a, trust := trustedAnchor(f, "fuzz", v, logRoot)
	res := ipledger.MustParseResource("193.0.4.7")
	chain, err := ledger.Lookup(v, res)
	if err != nil || len(chain) != 3 {
		f.Fatalf("lookup: %v", err)
	}
	id := chain[2].ID
	deep := ipledger.MustParseResource("193.1.0.127") // cover entries, one present
	for _, entries := range [][]Entry{
		must(ResourceEntries(v, res)),
		must(ResourceEntries(v, deep)),
		must(ResourceEntries(v, ipledger.MustParseResource("AS1500"))),
		must(ResourceEntries(v, ipledger.MustParseResource("2001:700::/32"))),
		must(HoldingEntries(v, id)),
		must(OrgEntries(v, "ORG-B")),
	} {
		b, err := json.Marshal(New(a, entries))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"height":1,"entries":[{"key":"aA==","value":null,"proof":"AAAA"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Proof
		if err := json.Unmarshal(b, &p); err != nil {
			return
		}
		again, err := json.Marshal(&p)
		if err != nil {
			t.Fatalf("encode a decoded proof: %v", err)
		}
		var q Proof
		if err := json.Unmarshal(again, &q); err != nil {
			t.Fatalf("decode an encoded proof: %v\n%s", err, again)
		}
		if q.Height != p.Height || !bytes.Equal(q.StateRoot, p.StateRoot) || len(q.Entries) != len(p.Entries) {
			t.Fatalf("round trip changed the proof")
		}
		for i := range p.Entries {
			if !bytes.Equal(p.Entries[i].Key, q.Entries[i].Key) || !bytes.Equal(p.Entries[i].Value, q.Entries[i].Value) ||
				p.Entries[i].Present() != q.Entries[i].Present() || !bytes.Equal(p.Entries[i].Proof, q.Entries[i].Proof) {
				t.Fatalf("round trip changed entry %d", i)
			}
		}
		p.VerifyResource(res, trust)
		p.VerifyResource(deep, trust)
		p.VerifyHolding(id, trust)
		p.VerifyOrg("ORG-B", trust)
		// The answer logic alone, as if the header had verified.
		if p.verifyEntries() == nil {
			p.resourceAnswer(res)
			p.resourceAnswer(deep)
			p.holdingAnswer(id)
			p.orgAnswer("ORG-B")
		}
	})
}

func must(e []Entry, err error) []Entry {
	if err != nil {
		panic(err)
	}
	return e
}
