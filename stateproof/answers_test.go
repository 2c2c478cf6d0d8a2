package stateproof

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

const testChain = "stateproof-test"

// testState commits a small registry to a store and returns the view of that version:
// RIPE NCC's pools 193.0.0.0/8, 2001:600::/23 and AS1000-AS1999 (IANA has the rest), with
//
//	193.0.0.0/16       ORG-A  allocation   └ 193.0.4.0/24  ORG-C  assignment
//	193.1.0.0-193.1.0.99 ORG-B allocation (not CIDR-aligned)
//	2001:600::/32      ORG-A  allocation   └ 2001:600:0:100::/56 ORG-C assignment
//	AS1000-AS1009      ORG-A  allocation
func testState(t testing.TB) *store.View { return testStateWith(t, defaultPools, nil) }

// defaultPools are testState's registry pools: every number space covered.
var defaultPools = []ipledgertest.Pool{
	{Range: "0.0.0.0-192.255.255.255", Registry: ipledger.IANA}, {Range: "193.0.0.0/8", Registry: ipledger.RIPENCC}, {Range: "194.0.0.0-255.255.255.255", Registry: ipledger.IANA},
	{Range: "::-2001:5ff:ffff:ffff:ffff:ffff:ffff:ffff", Registry: ipledger.IANA}, {Range: "2001:600::/23", Registry: ipledger.RIPENCC},
	{Range: "2001:800::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Registry: ipledger.IANA},
	{Range: "AS0-AS999", Registry: ipledger.IANA}, {Range: "AS1000-AS1999", Registry: ipledger.RIPENCC}, {Range: "AS2000-AS4294967295", Registry: ipledger.IANA},
}

// testStateWith is testState with other genesis pools (RIPE NCC's must be among them),
// and forge, if not nil, writing into the state behind the ledger's back before the
// commit: a state the validators should never have signed.
func testStateWith(t testing.TB, pools []ipledgertest.Pool, forge func(ipledger.KV)) *store.View {
	t.Helper()
	st, err := store.Open(store.Options{Dir: filepath.Join(t.TempDir(), "db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kv := st.Working()
	r := ipledgertest.NewRegistry(t, kv, testChain, ipledgertest.GenesisWith(pools...))
	var orgs []ipledger.NewOrg
	for _, h := range []string{"ORG-A", "ORG-B", "ORG-C"} {
		orgs = append(orgs, ipledger.NewOrg{Handle: h, Name: h + " Ltd", Keys: []ipledger.PublicKey{ipledgertest.Key(h).Public()}})
	}
	r.Apply(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: orgs}, ipledger.RIPENCC)
	item := func(res, org, status string) ipledger.AllocateItem {
		return ipledger.AllocateItem{Resource: ipledger.MustParseResource(res), Org: org, Status: ipledger.Status(status)}
	}
	r.Apply(ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		item("193.0.0.0/16", "ORG-A", "ALLOCATED PA"), item("193.1.0.0-193.1.0.99", "ORG-B", "ALLOCATED PA"),
		item("2001:600::/32", "ORG-A", "ALLOCATED PA"), item("AS1000-AS1009", "ORG-A", "ALLOCATED"),
	}}, ipledger.RIPENCC)
	r.Apply(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{
		item("193.0.4.0/24", "ORG-C", "ASSIGNED PA"), item("2001:600:0:100::/56", "ORG-C", "ASSIGNED PA"),
	}}, "ORG-A")
	if forge != nil {
		forge(kv)
	}
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

// verified is entriesProof whose entries must verify against the root; else t fails.
func verified(t testing.TB, v *store.View, entries []Entry) *Proof {
	t.Helper()
	p := entriesProof(v, entries)
	if err := p.verifyEntries(); err != nil {
		t.Fatalf("entries do not verify: %v", err)
	}
	return p
}

// prove is verified over the entries that entriesOf (ResourceEntries, HoldingEntries,
// OrgEntries or KeyEntries) gives for key in v; an error fails t.
func prove[K any](t testing.TB, v *store.View, entriesOf func(Prover, K) ([]Entry, error), key K) *Proof {
	t.Helper()
	entries, err := entriesOf(v, key)
	if err != nil {
		t.Fatalf("entries of %v: %v", key, err)
	}
	return verified(t, v, entries)
}

func answer(t *testing.T, v *store.View, r ipledger.Resource) (*Proof, *ResourceAnswer) {
	t.Helper()
	p := prove(t, v, ResourceEntries, r)
	ans, err := p.resourceAnswer(r)
	if err != nil {
		t.Fatal(err)
	}
	return p, ans
}

// keyCounts counts the entries of p by kind: absent holding keys (possible starts ruled
// out) and cover entries.
func keyCounts(p *Proof) (starts, covers int) {
	for _, e := range p.Entries {
		switch {
		case len(e.Key) > 0 && e.Key[0] == coverTag:
			covers++
		case !e.Present() && len(e.Key) > 0 && e.Key[0] == holdingTag:
			starts++
		}
	}
	return starts, covers
}

// TestResourceAnswers checks the chain, the holder and the entries that rule out a more
// specific holding (absent start keys, or cover entries) for holdings, addresses inside
// them, unheld space deep inside gaps and a range across two pools, against what
// ledger.Lookup answers. Every answer is complete.
func TestResourceAnswers(t *testing.T) {
	v := testState(t)
	for _, c := range []struct {
		res    string
		depth  int // of the most specific holding; -1: none contains it all
		holder string
		starts int // absent holding keys
		covers int // cover entries
	}{
		{"193.0.4.0/24", 2, "ORG-C", 1, 0},
		{"193.0.4.7", 2, "ORG-C", 8, 0},
		{"193.0.0.0/16", 1, "ORG-A", 1, 0},
		{"193.0.5.0/24", 1, "ORG-A", 1, 0},            // just after the assignment
		{"193.0.200.0/24", 1, "ORG-A", 0, 9},          // deep in a gap (incomplete before the cover index)
		{"193.0.255.255", 1, "ORG-A", 0, 17},          // the last address of the allocation
		{"193.1.0.100/30", 0, ipledger.RIPENCC, 1, 0}, // unheld: just after ORG-B's range
		{"193.1.0.50", 1, "ORG-B", 0, 8},              // /25 (ORG-B's block) … /32
		{"193.1.0.127", 0, ipledger.RIPENCC, 0, 25},   // in ORG-B's block, after its range
		{"193.200.0.0/16", 0, ipledger.RIPENCC, 0, 9}, // deep in a gap of the pool
		{"2001:700::/32", 0, ipledger.RIPENCC, 1, 0},  // unheld IPv6: prefixes only
		{"2001:600::/32", 1, "ORG-A", 1, 0},
		{"2001:600:0:1::1", 1, "ORG-A", 3, 0},
		{"2001:600:0:100::/64", 2, "ORG-C", 1, 0},
		{"2001:7ff:ffff:ff00::/56", 0, ipledger.RIPENCC, 33, 0},       // deep in the pool: one start per 1 bit
		{"2001:600:ffff:ffff:ffff:ffff:ffff:ffff", 1, "ORG-A", 96, 0}, // the last address of the allocation
		{"AS1005", 1, "ORG-A", 6, 0},
		{"AS1500", 0, ipledger.RIPENCC, 0, 12}, // deep in a gap (incomplete before the cover index)
		{"AS1010", 0, ipledger.RIPENCC, 1, 0},
		{"AS1023", 0, ipledger.RIPENCC, 0, 12}, // in ORG-A's block AS992-AS1023, after its range
		{"AS4294967295", 0, ipledger.IANA, 0, 33},
		{"192.255.255.0-193.0.0.255", -1, "", 0, 0}, // across two pools
	} {
		t.Run(c.res, func(t *testing.T) {
			r := ipledger.MustParseResource(c.res)
			p, ans := answer(t, v, r)
			checkAnswer(t, v, r, ans)
			if len(want(t, v, r)) != c.depth+1 {
				t.Fatalf("chain of %d holdings, want %d", len(ans.Chain), c.depth+1)
			}
			if c.depth >= 0 && (ans.Holder == nil || ans.Holder.Handle != c.holder || ans.Holding().Holder != c.holder) {
				t.Fatalf("holder %+v, want %s", ans.Holder, c.holder)
			}
			if starts, covers := keyCounts(p); starts != c.starts || covers != c.covers {
				t.Fatalf("%d absent start keys and %d cover entries, want %d and %d", starts, covers, c.starts, c.covers)
			}
			// Without the entries that rule out a more specific holding, the proof
			// answers nothing.
			if c.starts+c.covers > 0 {
				var kept []Entry
				for _, e := range p.Entries {
					if e.Present() && e.Key[0] != coverTag {
						kept = append(kept, e)
					}
				}
				if a, err := entriesProof(v, kept).resourceAnswer(r); !errors.Is(err, ErrRejected) {
					t.Fatalf("without absent keys and cover entries: %+v, %v", a, err)
				}
			}
		})
	}
}

func want(t *testing.T, v *store.View, r ipledger.Resource) []*ipledger.Holding {
	t.Helper()
	chain, err := ledger.Lookup(v, r)
	if err != nil {
		t.Fatal(err)
	}
	return chain
}

// checkAnswer checks ans against ledger.Lookup.
func checkAnswer(t *testing.T, v *store.View, r ipledger.Resource, ans *ResourceAnswer) {
	t.Helper()
	chain := want(t, v, r)
	if len(ans.Chain) != len(chain) {
		t.Fatalf("%s: chain of %d holdings, lookup %d", r, len(ans.Chain), len(chain))
	}
	for i := range chain {
		if *ans.Chain[i] != *chain[i] {
			t.Fatalf("%s: chain[%d] = %+v, lookup %+v", r, i, ans.Chain[i], chain[i])
		}
	}
	if !ans.Complete {
		t.Fatalf("%s: answer not complete", r)
	}
}

// TestResourceAnswersEverywhere asks about random ranges, prefixes and single numbers in
// every family: each answer verifies, matches ledger.Lookup and stays within
// MaxResourceEntries. With pools that leave space unheld, the answer for that space is
// that nothing holds it, proven by cover entries at the pools' depth.
func TestResourceAnswersEverywhere(t *testing.T) {
	holes := []ipledgertest.Pool{
		{Range: "193.0.0.0/8", Registry: ipledger.RIPENCC}, {Range: "2001:600::/23", Registry: ipledger.RIPENCC}, {Range: "AS1000-AS1999", Registry: ipledger.RIPENCC},
		{Range: "10.0.0.0-10.0.0.99", Registry: ipledger.IANA}, {Range: "2001:400::/23", Registry: ipledger.IANA}, {Range: "AS3000-AS3999", Registry: ipledger.IANA},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for name, v := range map[string]*store.View{"covered": testState(t), "holes": testStateWith(t, holes, nil)} {
		most := 0
		n := 1000
		if testing.Short() {
			n = 100
		}
		for i := 0; i < n; i++ {
			r := randomResource(rng)
			p := prove(t, v, ResourceEntries, r)
			most = max(most, len(p.Entries))
			if len(p.Entries) > MaxResourceEntries {
				t.Fatalf("%s %s: %d entries", name, r, len(p.Entries))
			}
			ans, err := p.resourceAnswer(r)
			if err != nil {
				t.Fatalf("%s %s: %v", name, r, err)
			}
			checkAnswer(t, v, r, ans)
		}
		t.Logf("%s: at most %d entries", name, most)
	}
	v := testStateWith(t, holes, nil)
	for _, res := range []string{"9.0.0.0/8", "10.0.0.100", "11.0.0.0-11.0.0.9", "3000::/16", "2001::/22", "AS2500", "AS0-AS999", "AS2000-AS3999"} {
		r := ipledger.MustParseResource(res)
		p, ans := answer(t, v, r)
		if len(ans.Chain) != 0 {
			t.Fatalf("%s: chain of %d holdings in unheld space", res, len(ans.Chain))
		}
		if _, covers := keyCounts(p); covers == 0 {
			t.Fatalf("%s: no cover entries", res)
		}
	}
}

// randomResource returns a random range, prefix or single number of a random family,
// mostly near the test state's holdings.
func randomResource(rng *rand.Rand) ipledger.Resource {
	switch rng.IntN(3) {
	case 0:
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], rng.Uint32())
		if rng.IntN(4) > 0 {
			a[0], a[1] = 193, byte(rng.IntN(3))
		}
		first := netip.AddrFrom4(a)
		if rng.IntN(2) == 0 {
			r, _ := ipledger.PrefixResource(netip.PrefixFrom(first, 8+rng.IntN(25)).Masked())
			return r
		}
		r, err := ipledger.AddrCount(first, 1+uint64(rng.IntN(1<<uint(rng.IntN(20)))))
		if err != nil {
			return ipledger.MustParseResource(first.String())
		}
		return r
	case 1:
		var a [16]byte
		binary.BigEndian.PutUint64(a[:8], rng.Uint64())
		binary.BigEndian.PutUint64(a[8:], rng.Uint64())
		if rng.IntN(4) > 0 {
			a[0], a[1], a[2] = 0x20, 0x01, byte(4+rng.IntN(5))
		}
		r, _ := ipledger.PrefixResource(netip.PrefixFrom(netip.AddrFrom16(a), 16+rng.IntN(113)).Masked())
		return r
	}
	first := rng.Uint32()
	if rng.IntN(4) > 0 {
		first = 900 + uint32(rng.IntN(3200))
	}
	last := first + uint32(rng.IntN(1<<uint(rng.IntN(12))))
	if last < first {
		last = first
	}
	r, _ := ipledger.ASRange(first, last)
	return r
}

// TestResourceAnswerRejects checks answers that contradict the state machine's
// invariants or the question, and tampered cover entries.
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
	// The answer to another question does not rule out a more specific holding.
	other := ipledger.MustParseResource("193.0.0.0/16")
	if ans, err := p.resourceAnswer(other); !errors.Is(err, ErrRejected) {
		t.Fatalf("answer to %s from a proof for %s: %+v, %v", other, r, ans, err)
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
	// More entries than any answer needs.
	q, _ = answer(t, v, r)
	for len(q.Entries) <= MaxResourceEntries {
		q.Entries = append(q.Entries, q.Entries[len(q.Entries)-1])
	}
	if _, err := q.resourceAnswer(r); !errors.Is(err, ErrRejected) {
		t.Fatalf("%d entries: %v", len(q.Entries), err)
	}
}

// TestCoverTampering alters the cover entries of answers for ranges deep inside gaps,
// each with one cover entry present (ORG-B's 193.1.0.0-193.1.0.99 has the block
// 193.1.0.0/25, ORG-A's AS1000-AS1009 AS992-AS1023), in the proof and in the state.
func TestCoverTampering(t *testing.T) {
	v := testState(t)
	orgA := ledger.HoldingKey(ipledger.MustParseResource("193.0.0.0/16"), 1)
	for _, c := range []struct{ res, block string }{
		{"193.1.0.127", "193.1.0.0-193.1.0.99"},
		{"AS1023", "AS1000-AS1009"},
	} {
		r := ipledger.MustParseResource(c.res)
		block := ipledger.MustParseResource(c.block)
		present := ledger.CoverKey(block, 1, block.CommonBits())
		named := ledger.HoldingKey(block, 1)
		p, _ := answer(t, v, r)
		if e := p.Lookup(present); e == nil || !bytes.Equal(e.Value, named) {
			t.Fatalf("%s: the cover entry of %s is not in the proof", c.res, c.block)
		}
		without := func(key []byte) *Proof {
			var kept []Entry
			for _, e := range p.Entries {
				if !bytes.Equal(e.Key, key) {
					kept = append(kept, e)
				}
			}
			return entriesProof(v, kept)
		}
		_, covers := keyCounts(p)
		var absent []byte
		for _, e := range p.Entries {
			if e.Key[0] == coverTag && !e.Present() {
				absent = e.Key
			}
		}
		for _, tc := range []struct {
			name string
			q    *Proof
			want string
		}{
			{"present cover entry removed", without(present), "does not rule out"},
			{"absent cover entry removed", without(absent), "does not rule out"},
			{"named holding removed", without(named), "which the proof does not show present"},
		} {
			if err := tc.q.verifyEntries(); err != nil {
				t.Fatal(err)
			}
			ans, err := tc.q.resourceAnswer(r)
			if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s, %s (of %d cover entries): %+v, %v", c.res, tc.name, covers, ans, err)
			}
		}
		// The cover entry names another holding, proven too: the entries no longer
		// verify, and the answer logic alone rejects it as well.
		q, _ := answer(t, v, r)
		extra, err := KeyEntries(v, orgA)
		if err != nil {
			t.Fatal(err)
		}
		q.Entries = append(q.Entries, extra...)
		q.Lookup(present).Value = orgA
		if err := q.verifyEntries(); !errors.Is(err, ErrRejected) {
			t.Fatalf("%s: a cover entry naming another holding verifies: %v", c.res, err)
		}
		if _, err := q.resourceAnswer(r); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "whose cover entry it is not") {
			t.Fatalf("%s: a cover entry naming another holding: %v", c.res, err)
		}
		// The same in a state the validators signed: the entries verify, the answer
		// does not.
		forged := testStateWith(t, defaultPools, func(kv ipledger.KV) {
			if err := kv.Set(present, orgA); err != nil {
				t.Fatal(err)
			}
		})
		fp := prove(t, forged, ResourceEntries, r)
		if ans, err := fp.resourceAnswer(r); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "whose cover entry it is not") {
			t.Fatalf("%s: a signed cover entry naming another holding: %+v, %v", c.res, ans, err)
		}
		// A signed cover entry naming a key where nothing is stored.
		gone := ledger.HoldingKey(ipledger.MustParseResource("193.3.0.0/16"), 1)
		forged = testStateWith(t, defaultPools, func(kv ipledger.KV) {
			if err := kv.Set(present, gone); err != nil {
				t.Fatal(err)
			}
		})
		if _, err := ResourceEntries(forged, r); err == nil {
			t.Fatalf("%s: entries built over a cover entry naming nothing", c.res)
		}
		entries := append(must(KeyEntries(forged, present)), must(KeyEntries(forged, gone))...)
		for _, e := range must(ResourceEntries(v, r)) {
			if !bytes.Equal(e.Key, present) && !bytes.Equal(e.Key, named) {
				entries = append(entries, must(KeyEntries(forged, e.Key))...)
			}
		}
		fp = verified(t, forged, entries)
		if ans, err := fp.resourceAnswer(r); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "which the proof does not show present") {
			t.Fatalf("%s: a signed cover entry naming nothing: %+v, %v", c.res, ans, err)
		}
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
		p := prove(t, v, HoldingEntries, id)
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
		p := prove(t, v, OrgEntries, handle)
		o, err := p.orgAnswer(handle)
		if err != nil {
			t.Fatal(err)
		}
		if (handle == "ORG-B") != (o != nil) || (o != nil && o.Name != "ORG-B Ltd") {
			t.Fatalf("org %s: %+v", handle, o)
		}
	}
}
