package stateproof

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

const testChain = "stateproof-test"

func testKey(name string) ipledger.PrivateKey {
	seed := sha256.Sum256([]byte("stateproof test " + name))
	k, err := ipledger.KeyFromSeed(seed[:])
	if err != nil {
		panic(err)
	}
	return k
}

// testState commits a small registry to a store and returns the view of that version:
// RIPE NCC's pools 193.0.0.0/8, 2001:600::/23 and AS1000-AS1999 (IANA has the rest), with
//
//	193.0.0.0/16       ORG-A  allocation   └ 193.0.4.0/24  ORG-C  assignment
//	193.1.0.0-193.1.0.99 ORG-B allocation (not CIDR-aligned)
//	2001:600::/32      ORG-A  allocation   └ 2001:600:0:100::/56 ORG-C assignment
//	AS1000-AS1009      ORG-A  allocation
func testState(t testing.TB) *store.View {
	t.Helper()
	st, err := store.Open(store.Options{Dir: filepath.Join(t.TempDir(), "db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	g := &ledger.Genesis{}
	for _, r := range ipledger.Registries {
		g.Registries = append(g.Registries, ledger.GenesisOrg{Handle: r, Name: r + " registry", Keys: []ipledger.PublicKey{testKey(r).Public()}})
	}
	for _, p := range []struct{ r, reg string }{
		{"0.0.0.0-192.255.255.255", ipledger.IANA}, {"193.0.0.0/8", ipledger.RIPENCC}, {"194.0.0.0-255.255.255.255", ipledger.IANA},
		{"::-2001:5ff:ffff:ffff:ffff:ffff:ffff:ffff", ipledger.IANA}, {"2001:600::/23", ipledger.RIPENCC},
		{"2001:800::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ipledger.IANA},
		{"AS0-AS999", ipledger.IANA}, {"AS1000-AS1999", ipledger.RIPENCC}, {"AS2000-AS4294967295", ipledger.IANA},
	} {
		status := ipledger.StatusIANAPool
		if p.reg != ipledger.IANA {
			status = ipledger.StatusRIRPool
		}
		g.Pools = append(g.Pools, ipledger.Pool{Resource: ipledger.MustParseResource(p.r), Registry: p.reg, Status: status, Registered: "1993-09-01"})
	}
	l := ledger.New(testChain)
	kv := st.Working()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := l.InitGenesis(kv, g, ipledger.Block{Time: now}); err != nil {
		t.Fatal(err)
	}
	seq := map[string]uint64{}
	apply := func(kind ipledger.Kind, body any, orgs ...string) {
		t.Helper()
		var ss []ipledger.Signer
		for _, o := range orgs {
			ss = append(ss, ipledger.Signer{Org: o, Key: testKey(o)})
		}
		b, err := ipledger.BuildTx(testChain, kind, seq[orgs[0]]+1, 0, body, ss...)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := ipledger.DecodeTx(b)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
		if res := l.Apply(kv, ipledger.Block{Height: 1, Time: now}, tx); res.Code != ipledger.CodeOK {
			t.Fatalf("%s by %v: %s", kind, orgs, res.Log)
		}
		seq[orgs[0]]++
	}
	var orgs []ipledger.NewOrg
	for _, h := range []string{"ORG-A", "ORG-B", "ORG-C"} {
		orgs = append(orgs, ipledger.NewOrg{Handle: h, Name: h + " Ltd", Keys: []ipledger.PublicKey{testKey(h).Public()}})
	}
	apply(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: orgs}, ipledger.RIPENCC)
	item := func(r, org, status string) ipledger.AllocateItem {
		return ipledger.AllocateItem{Resource: ipledger.MustParseResource(r), Org: org, Status: ipledger.Status(status)}
	}
	apply(ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		item("193.0.0.0/16", "ORG-A", "ALLOCATED PA"), item("193.1.0.0-193.1.0.99", "ORG-B", "ALLOCATED PA"),
		item("2001:600::/32", "ORG-A", "ALLOCATED PA"), item("AS1000-AS1009", "ORG-A", "ALLOCATED"),
	}}, ipledger.RIPENCC)
	apply(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{
		item("193.0.4.0/24", "ORG-C", "ASSIGNED PA"), item("2001:600:0:100::/56", "ORG-C", "ASSIGNED PA"),
	}}, "ORG-A")
	if st.WorkingHash() == nil {
		t.Fatal("working hash failed")
	}
	if _, _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	v, err := st.ReadAt(0)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// entriesProof wraps entries of v in a proof whose anchor is only the state root: the
// answer logic is tested here, the header checks against a real node in package httpapi.
func entriesProof(v *store.View, entries []Entry) *Proof {
	return &Proof{Anchor: Anchor{Height: v.Version(), StateRoot: v.Hash()}, Entries: entries}
}

func answer(t *testing.T, v *store.View, r ipledger.Resource) (*Proof, *ResourceAnswer) {
	t.Helper()
	entries, err := ResourceEntries(v, r)
	if err != nil {
		t.Fatal(err)
	}
	p := entriesProof(v, entries)
	if err := p.verifyEntries(); err != nil {
		t.Fatal(err)
	}
	ans, err := p.resourceAnswer(r)
	if err != nil {
		t.Fatal(err)
	}
	return p, ans
}

// TestResourceAnswers checks the chain, the holder, completeness and the number of
// absence proofs for holdings, addresses inside them, unheld space and a range across
// two pools, against what ledger.Lookup answers.
func TestResourceAnswers(t *testing.T) {
	v := testState(t)
	for _, c := range []struct {
		res      string
		depth    int // of the most specific holding; -1: none contains it all
		holder   string
		complete bool
		absent   int // non-membership entries
	}{
		{"193.0.4.0/24", 2, "ORG-C", true, 1},
		{"193.0.4.7", 2, "ORG-C", true, 8},
		{"193.0.0.0/16", 1, "ORG-A", true, 1},
		{"193.0.5.0/24", 1, "ORG-A", true, 1},            // just after the assignment
		{"193.0.200.0/24", 1, "ORG-A", false, 0},         // deep in a gap: not provable
		{"193.1.0.100/30", 0, ipledger.RIPENCC, true, 1}, // unheld: just after ORG-B's range
		{"193.1.0.50", 1, "ORG-B", true, 51},             // every start from 193.1.0.0
		{"193.200.0.0/16", 0, ipledger.RIPENCC, false, 0},
		{"2001:700::/32", 0, ipledger.RIPENCC, true, 1}, // unheld IPv6: prefixes only
		{"2001:600::/32", 1, "ORG-A", true, 1},
		{"2001:600:0:1::1", 1, "ORG-A", true, 3},
		{"2001:600:0:100::/64", 2, "ORG-C", true, 1},
		{"AS1005", 1, "ORG-A", true, 6},
		{"AS1500", 0, ipledger.RIPENCC, false, 0},
		{"AS1010", 0, ipledger.RIPENCC, true, 1},
		{"192.255.255.0-193.0.0.255", -1, "", true, 0}, // across two pools
	} {
		t.Run(c.res, func(t *testing.T) {
			r := ipledger.MustParseResource(c.res)
			p, ans := answer(t, v, r)
			want, err := ledger.Lookup(v, r)
			if err != nil {
				t.Fatal(err)
			}
			if len(ans.Chain) != len(want) || len(want) != c.depth+1 {
				t.Fatalf("chain of %d holdings, lookup %d, want %d", len(ans.Chain), len(want), c.depth+1)
			}
			for i := range want {
				if *ans.Chain[i] != *want[i] {
					t.Fatalf("chain[%d] = %+v, lookup %+v", i, ans.Chain[i], want[i])
				}
			}
			if c.depth >= 0 && (ans.Holder == nil || ans.Holder.Handle != c.holder || ans.Holding().Holder != c.holder) {
				t.Fatalf("holder %+v, want %s", ans.Holder, c.holder)
			}
			if ans.Complete != c.complete {
				t.Fatalf("complete %v, want %v", ans.Complete, c.complete)
			}
			absent := 0
			for _, e := range p.Entries {
				if !e.Present() {
					absent++
				}
			}
			if absent != c.absent {
				t.Fatalf("%d absence proofs, want %d", absent, c.absent)
			}
			if c.complete && absent > 0 {
				// Without the absence proofs the end of the chain is not proven.
				var kept []Entry
				for _, e := range p.Entries {
					if e.Present() {
						kept = append(kept, e)
					}
				}
				q := entriesProof(v, kept)
				if a, err := q.resourceAnswer(r); err != nil || a.Complete {
					t.Fatalf("without absence proofs: complete %v, err %v", a != nil && a.Complete, err)
				}
			}
		})
	}
}

// TestResourceAnswerRejects checks answers that contradict the state machine's
// invariants or the question.
func TestResourceAnswerRejects(t *testing.T) {
	v := testState(t)
	r := ipledger.MustParseResource("193.0.4.0/24")
	p, _ := answer(t, v, r)
	// Leave out the allocation: the assignment below it has no parent in the proof.
	alloc := ledger.HoldingKey(ipledger.MustParseResource("193.0.0.0/16"), 1)
	var kept []Entry
	for _, e := range p.Entries {
		if !bytes.Equal(e.Key, alloc) {
			kept = append(kept, e)
		}
	}
	if _, err := entriesProof(v, kept).resourceAnswer(r); !errors.Is(err, ErrRejected) {
		t.Fatalf("a chain with a gap: %v", err)
	}
	// The answer to another question proves the chain only as far as it goes.
	other := ipledger.MustParseResource("193.0.0.0/16")
	ans, err := p.resourceAnswer(other)
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.Chain) != 2 || ans.Complete {
		t.Fatalf("answer to %s from a proof for %s: %d holdings, complete %v", other, r, len(ans.Chain), ans.Complete)
	}
	// A value changed after proving no longer verifies.
	q, _ := answer(t, v, r)
	q.Entries[0].Value = append([]byte{}, q.Entries[0].Value...)
	q.Entries[0].Value[len(q.Entries[0].Value)-1] ^= 1
	if err := q.verifyEntries(); !errors.Is(err, ErrRejected) {
		t.Fatalf("tampered value: %v", err)
	}
	// An absence claimed for a key that is present does not verify.
	q, _ = answer(t, v, r)
	q.Entries[0].Value = nil
	if err := q.verifyEntries(); !errors.Is(err, ErrRejected) {
		t.Fatalf("absence of a present key: %v", err)
	}
}

// TestHoldingAndOrgAnswers proves a holding by id, an unknown id, an organisation and an
// unknown handle.
func TestHoldingAndOrgAnswers(t *testing.T) {
	v := testState(t)
	chain, err := ledger.Lookup(v, ipledger.MustParseResource("193.0.4.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	h := chain[2]
	for _, id := range []uint64{h.ID, 1 << 40} {
		entries, err := HoldingEntries(v, id)
		if err != nil {
			t.Fatal(err)
		}
		p := entriesProof(v, entries)
		if err := p.verifyEntries(); err != nil {
			t.Fatal(err)
		}
		ans, err := p.holdingAnswer(id)
		if err != nil {
			t.Fatal(err)
		}
		if id == h.ID && (ans.Holding == nil || *ans.Holding != *h || ans.Holder == nil || ans.Holder.Handle != "ORG-C") {
			t.Fatalf("holding %d: %+v", id, ans)
		}
		if id != h.ID && ans.Holding != nil {
			t.Fatalf("unknown holding %d: %+v", id, ans.Holding)
		}
		// Asked about another id, the same proof answers nothing.
		if _, err := p.holdingAnswer(id + 1); !errors.Is(err, ErrRejected) {
			t.Fatalf("holding %d from the proof of %d: %v", id+1, id, err)
		}
	}
	for _, handle := range []string{"ORG-B", "ORG-NONE"} {
		entries, err := OrgEntries(v, handle)
		if err != nil {
			t.Fatal(err)
		}
		p := entriesProof(v, entries)
		if err := p.verifyEntries(); err != nil {
			t.Fatal(err)
		}
		o, err := p.orgAnswer(handle)
		if err != nil {
			t.Fatal(err)
		}
		if (handle == "ORG-B") != (o != nil) || (o != nil && o.Name != "ORG-B Ltd") {
			t.Fatalf("org %s: %+v", handle, o)
		}
	}
}
