package ledger

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	memstore "github.com/ipledger/ipledger/store"
)

// memKV is an in-memory KV for tests.
func memKV() ipledger.KV { return memstore.NewMemKV() }

const testChain = "ipledger-test"

type tenv struct {
	t      testing.TB
	l      *Ledger
	kv     ipledger.KV
	keys   map[string]ipledger.PrivateKey
	seq    map[string]uint64
	height int64
	time   time.Time
	last   *ipledger.Tx // the transaction applied last
}

func keyFor(name string) ipledger.PrivateKey {
	seed := sha256.Sum256([]byte("ipledger test key " + name))
	k, err := ipledger.KeyFromSeed(seed[:])
	if err != nil {
		panic(err)
	}
	return k
}

func mustRes(s string) ipledger.Resource { return ipledger.MustParseResource(s) }

// testGenesis: IANA holds everything except a few RIR pools and special-purpose space.
func testGenesis() *Genesis {
	g := &Genesis{}
	for _, r := range ipledger.Registries {
		g.Registries = append(g.Registries, GenesisOrg{Handle: r, Name: r + " registry", Keys: []ipledger.PublicKey{keyFor(r).Public()}})
	}
	add := func(res string, reg string, st ipledger.Status) {
		g.Pools = append(g.Pools, ipledger.Pool{Resource: mustRes(res), Registry: reg, Status: st, Registered: "2000-01-01"})
	}
	add("0.0.0.0-9.255.255.255", ipledger.IANA, ipledger.StatusIANAPool)
	add("10.0.0.0/8", ipledger.IANA, ipledger.StatusReserved)
	add("11.0.0.0-40.255.255.255", ipledger.IANA, ipledger.StatusIANAPool)
	add("41.0.0.0/8", ipledger.AFRINIC, ipledger.StatusRIRPool)
	add("42.0.0.0-192.255.255.255", ipledger.IANA, ipledger.StatusIANAPool)
	add("193.0.0.0/8", ipledger.RIPENCC, ipledger.StatusRIRPool)
	add("194.0.0.0/8", ipledger.ARIN, ipledger.StatusRIRPool)
	add("195.0.0.0-255.255.255.255", ipledger.IANA, ipledger.StatusIANAPool)
	add("::-2001:5ff:ffff:ffff:ffff:ffff:ffff:ffff", ipledger.IANA, ipledger.StatusIANAPool)
	add("2001:600::/23", ipledger.RIPENCC, ipledger.StatusRIRPool)
	add("2001:800::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ipledger.IANA, ipledger.StatusIANAPool)
	add("AS0-AS999", ipledger.IANA, ipledger.StatusIANAPool)
	add("AS1000-AS1999", ipledger.RIPENCC, ipledger.StatusRIRPool)
	add("AS2000-AS4294967295", ipledger.IANA, ipledger.StatusIANAPool)
	g.SettlementAgents = []GenesisOrg{{Handle: testAgent, Name: "Settlement agent", Keys: []ipledger.PublicKey{keyFor(testAgent).Public()}}}
	return g
}

// testAgent is the settlement agent of testGenesis.
const testAgent = "AGENT"

func newEnv(t testing.TB) *tenv { return newEnvWith(t, testGenesis()) }

// newEnvWith is newEnv from genesis g.
func newEnvWith(t testing.TB, g *Genesis) *tenv {
	e := &tenv{t: t, l: New(testChain), kv: memKV(), keys: map[string]ipledger.PrivateKey{}, seq: map[string]uint64{},
		height: 1, time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, r := range ipledger.Registries {
		e.keys[r] = keyFor(r)
	}
	e.keys[testAgent] = keyFor(testAgent)
	if err := e.l.InitGenesis(e.kv, g, ipledger.Block{Time: e.time}); err != nil {
		t.Fatal(err)
	}
	return e
}

// build signs a transaction; signers are org handles whose keys the env knows.
func (e *tenv) build(kind ipledger.Kind, seq uint64, body any, signers ...string) *ipledger.Tx {
	e.t.Helper()
	var ss []ipledger.Signer
	for _, s := range signers {
		k, ok := e.keys[s]
		if !ok {
			k = keyFor(s)
		}
		ss = append(ss, ipledger.Signer{Org: s, Key: k})
	}
	b, err := ipledger.BuildTx(testChain, kind, seq, 0, body, ss...)
	if err != nil {
		e.t.Fatal(err)
	}
	tx, err := ipledger.DecodeTx(b)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := tx.VerifySignatures(); err != nil {
		e.t.Fatal(err)
	}
	return tx
}

// do builds, signs and applies with the first signer's next sequence.
func (e *tenv) do(kind ipledger.Kind, body any, signers ...string) Result {
	e.t.Helper()
	tx := e.build(kind, e.seq[signers[0]]+1, body, signers...)
	return e.applyTx(tx)
}

func (e *tenv) applyTx(tx *ipledger.Tx) Result {
	e.last = tx
	e.height++
	e.time = e.time.Add(time.Second)
	if e.height%2 == 0 {
		// Every other transaction has its body decoded ahead, as a node's submissions do:
		// every test of the state machine runs both ways.
		DecodeBodyAhead(tx)
	}
	r, err := e.l.Apply(e.kv, ipledger.Block{Height: e.height, Time: e.time}, tx)
	if err != nil {
		e.t.Fatal(err)
	}
	// The next sequence as the state has it (a transaction that passed authentication
	// consumed its sequence, whatever its result).
	if o, err := Org(e.kv, tx.Signatures[0].Org); err != nil {
		e.t.Fatal(err)
	} else if o != nil {
		e.seq[o.Handle] = o.Sequence
	}
	return r
}

// consumes reports whether a transaction applied with result code c consumed its first
// signer's sequence: all but the rejections of authentication (and a store fault).
func consumes(c ipledger.Code) bool {
	switch c {
	case ipledger.CodeWrongChain, ipledger.CodeExpired, ipledger.CodeUnknownSigner, ipledger.CodeUnknownKey,
		ipledger.CodeStaleSequence, ipledger.CodeFutureSequence, ipledger.CodeInternal:
		return false
	}
	return true
}

// stateView is the state with every organisation's sequence taken out, and the sequences.
type stateView struct {
	digest [32]byte
	seqs   map[string]uint64
}

// view returns the current stateView, to show what a rejection changed.
func (e *tenv) view() stateView {
	e.t.Helper()
	h := sha256.New()
	v := stateView{seqs: map[string]uint64{}}
	if err := e.kv.Iterate(nil, nil, false, func(k, b []byte) bool {
		if k[0] == tagOrg {
			o, err := decodeOrg(b)
			if err != nil {
				e.t.Fatal(err)
			}
			v.seqs[o.Handle] = o.Sequence
			o.Sequence = 0
			b = encodeOrg(o)
		}
		fmt.Fprintf(h, "%x=%x;", k, b)
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	copy(v.digest[:], h.Sum(nil))
	return v
}

// checkRejected fails unless the rejected tx, applied with result r, changed nothing but,
// if it passed authentication, its first signer's sequence to its own (and said so in
// Touched); before is the view from before it was applied.
func (e *tenv) checkRejected(before stateView, tx *ipledger.Tx, r Result) {
	e.t.Helper()
	after := e.view()
	if after.digest != before.digest {
		e.t.Fatalf("%s rejected with %s but state changed", tx.Kind, r.Code)
	}
	first := tx.Signatures[0].Org
	for org, seq := range after.seqs {
		want := before.seqs[org]
		if org == first && consumes(r.Code) {
			want = tx.Sequence
		}
		if seq != want {
			e.t.Fatalf("%s rejected with %s: sequence of %s %d, want %d", tx.Kind, r.Code, org, seq, want)
		}
	}
	if consumes(r.Code) && !slices.Equal(r.Touched, []string{"org/" + first}) {
		e.t.Fatalf("%s rejected with %s touched %q, want only org/%s", tx.Kind, r.Code, r.Touched, first)
	}
	if !consumes(r.Code) && len(r.Touched) != 0 {
		e.t.Fatalf("%s rejected with %s touched %q", tx.Kind, r.Code, r.Touched)
	}
}

func (e *tenv) ok(kind ipledger.Kind, body any, signers ...string) {
	e.t.Helper()
	if r := e.do(kind, body, signers...); r.Code != ipledger.CodeOK {
		e.t.Fatalf("%s by %v: %s: %s", kind, signers, r.Code, r.Log)
	}
}

// digest hashes every key and value, to show a rejection changed nothing.
func (e *tenv) digest() [32]byte {
	h := sha256.New()
	if err := e.kv.Iterate(nil, nil, false, func(k, v []byte) bool {
		fmt.Fprintf(h, "%x=%x;", k, v)
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// fails applies a transaction that must be rejected with code, changing nothing but the
// first signer's sequence when it passes authentication.
func (e *tenv) fails(code ipledger.Code, kind ipledger.Kind, body any, signers ...string) {
	e.t.Helper()
	before := e.view()
	tx := e.build(kind, e.seq[signers[0]]+1, body, signers...)
	r := e.applyTx(tx)
	if r.Code != code {
		e.t.Fatalf("%s by %v: got %s (%s), want %s", kind, signers, r.Code, r.Log, code)
	}
	e.checkRejected(before, tx, r)
}

// newOrg registers each handle under registry with a key, one register-org and one bind-key
// transaction each, and returns nothing; the env knows the keys.
func (e *tenv) newOrg(registry string, handles ...string) {
	e.t.Helper()
	for _, handle := range handles {
		e.keys[handle] = keyFor(handle)
		e.ok(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: handle, Name: handle + " Ltd", Country: "NL"}}}, registry)
		e.ok(ipledger.KindBindKey, ipledger.BindKeyBody{Org: handle, Key: keyFor(handle).Public()}, registry)
	}
}

func (e *tenv) holder(res string) string {
	e.t.Helper()
	chain, err := Lookup(e.kv, mustRes(res))
	if err != nil {
		e.t.Fatal(err)
	}
	if len(chain) == 0 {
		return ""
	}
	return chain[len(chain)-1].Holder
}

func alloc(res, org string, st ipledger.Status) ipledger.AllocateBody {
	return ipledger.AllocateBody{Items: []ipledger.AllocateItem{{Resource: mustRes(res), Org: org, Status: st, Registered: "2010-05-01"}}}
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A", "ORG-B", "ORG-C")

	if o, _ := Org(e.kv, ipledger.RIPENCC); o.Authoritative {
		t.Fatal("a registry is authoritative before its first allocation")
	}
	e.ok(ipledger.KindAllocate, alloc("193.0.0.0/16", "ORG-A", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	if o, _ := Org(e.kv, ipledger.RIPENCC); !o.Authoritative {
		t.Fatal("the first allocation did not make the registry authoritative")
	}
	if o, _ := Org(e.kv, ipledger.ARIN); o.Authoritative {
		t.Fatal("another registry became authoritative")
	}
	if got := e.holder("193.0.1.1"); got != "ORG-A" {
		t.Fatalf("holder of 193.0.1.1 = %q", got)
	}
	e.ok(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: mustRes("193.0.1.0/24"), Org: "ORG-C", Status: ipledger.StatusAssignedPA}}}, "ORG-A")
	if got := e.holder("193.0.1.7"); got != "ORG-C" {
		t.Fatalf("holder of 193.0.1.7 = %q", got)
	}
	chain, _ := Lookup(e.kv, mustRes("193.0.1.7"))
	if len(chain) != 3 || chain[0].Holder != ipledger.RIPENCC || chain[1].Holder != "ORG-A" || chain[2].Registered != "2026-01-01" {
		t.Fatalf("chain %+v", chain)
	}
	// Partial transfer of the lower /17 splits the /16; the assignment moves with it.
	e.ok(ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.0.0/17"), To: "ORG-B"}, "ORG-A", "ORG-B")
	if got := e.holder("193.0.0.5"); got != "ORG-B" {
		t.Fatalf("after transfer holder = %q", got)
	}
	if got := e.holder("193.0.200.5"); got != "ORG-A" {
		t.Fatalf("remainder holder = %q", got)
	}
	if got := e.holder("193.0.1.7"); got != "ORG-C" {
		t.Fatalf("assignment holder after parent transfer = %q", got)
	}
	chain, _ = Lookup(e.kv, mustRes("193.0.0.5"))
	if chain[1].Registered != "2010-05-01" || chain[1].Origin == 0 {
		t.Fatalf("split piece lost its registration date or origin: %+v", chain[1])
	}
	// Return the upper /17 to the registry.
	e.ok(ipledger.KindReturn, ipledger.ReturnBody{Resource: mustRes("193.0.128.0/17")}, "ORG-A")
	if got := e.holder("193.0.200.5"); got != ipledger.RIPENCC {
		t.Fatalf("after return holder = %q", got)
	}
	// ORG-A's sequence: allocate was by the registry; ORG-A signed assign, transfer, return.
	o, _ := Org(e.kv, "ORG-A")
	if o.Sequence != 3 {
		t.Fatalf("ORG-A sequence = %d, want 3", o.Sequence)
	}
}

func TestRejections(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A", "ORG-B")
	e.newOrg(ipledger.AFRINIC, "ORG-Z")
	e.ok(ipledger.KindAllocate, alloc("193.0.0.0/16", "ORG-A", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	e.ok(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: mustRes("193.0.1.0/24"), Org: "ORG-B", Status: ipledger.StatusAssignedPA}}}, "ORG-A")

	cases := []struct {
		name    string
		code    ipledger.Code
		kind    ipledger.Kind
		body    any
		signers []string
	}{
		{"overlapping allocation", ipledger.CodeOverlap, ipledger.KindAllocate, alloc("193.0.128.0-193.1.0.255", "ORG-B", ipledger.StatusAllocatedPA), []string{ipledger.RIPENCC}},
		{"allocation outside pool", ipledger.CodeOutsideParent, ipledger.KindAllocate, alloc("41.0.0.0/16", "ORG-B", ipledger.StatusAllocatedPA), []string{ipledger.RIPENCC}},
		{"allocation across pools", ipledger.CodeOutsideParent, ipledger.KindAllocate, alloc("193.255.0.0-194.0.255.255", "ORG-B", ipledger.StatusAllocatedPA), []string{ipledger.RIPENCC}},
		{"allocation of special-purpose space", ipledger.CodeOutsideParent, ipledger.KindAllocate, alloc("10.0.0.0/16", "ORG-B", ipledger.StatusAllocatedPA), []string{ipledger.RIPENCC}},
		{"allocation by a non-registry", ipledger.CodeUnauthorized, ipledger.KindAllocate, alloc("193.5.0.0/16", "ORG-B", ipledger.StatusAllocatedPA), []string{"ORG-A"}},
		{"allocation to unknown org", ipledger.CodeNotFound, ipledger.KindAllocate, alloc("193.5.0.0/16", "ORG-NOPE", ipledger.StatusAllocatedPA), []string{ipledger.RIPENCC}},
		{"allocation bad status", ipledger.CodeInvalid, ipledger.KindAllocate, alloc("193.5.0.0/16", "ORG-B", ipledger.StatusSubAllocatedPA), []string{ipledger.RIPENCC}},
		{"ipv6 non-prefix", ipledger.CodeInvalid, ipledger.KindAllocate, alloc("2001:600::-2001:600::5", "ORG-B", ipledger.StatusAllocatedPA), []string{ipledger.RIPENCC}},
		{"assign outside holding", ipledger.CodeOutsideParent, ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: mustRes("193.1.0.0/24"), Org: "ORG-B", Status: ipledger.StatusAssignedPA}}}, []string{"ORG-A"}},
		{"assign overlapping assignment", ipledger.CodeOverlap, ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: mustRes("193.0.0.0/23"), Org: "ORG-B", Status: ipledger.StatusAssignedPA}}}, []string{"ORG-A"}},
		{"assign someone else's space", ipledger.CodeUnauthorized, ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: mustRes("193.0.2.0/24"), Org: "ORG-B", Status: ipledger.StatusAssignedPA}}}, []string{"ORG-Z"}},
		{"transfer not held", ipledger.CodeUnauthorized, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.0.0/16"), To: "ORG-Z"}, []string{"ORG-B", "ORG-Z"}},
		{"transfer without recipient signature", ipledger.CodeUnauthorized, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.0.0/16"), To: "ORG-Z"}, []string{"ORG-A"}},
		{"transfer wrong second signer", ipledger.CodeUnauthorized, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.0.0/16"), To: "ORG-Z"}, []string{"ORG-A", "ORG-B"}},
		{"transfer cutting through assignment", ipledger.CodeHasChildren, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.1.0/25"), To: "ORG-Z"}, []string{"ORG-A", "ORG-Z"}},
		{"transfer pool", ipledger.CodeUnauthorized, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.5.0.0/16"), To: "ORG-Z"}, []string{ipledger.RIPENCC, "ORG-Z"}},
		{"return with children", ipledger.CodeHasChildren, ipledger.KindReturn, ipledger.ReturnBody{Resource: mustRes("193.0.0.0/16")}, []string{"ORG-A"}},
		{"registry transfer one signature", ipledger.CodeUnauthorized, ipledger.KindRegistryTransfer, ipledger.RegistryTransferBody{Items: []ipledger.RegistryTransferItem{{Resource: mustRes("193.200.0.0/16"), From: ipledger.RIPENCC, To: ipledger.ARIN}}}, []string{ipledger.RIPENCC}},
		{"registry transfer allocated space", ipledger.CodeHasChildren, ipledger.KindRegistryTransfer, ipledger.RegistryTransferBody{Items: []ipledger.RegistryTransferItem{{Resource: mustRes("193.0.0.0/15"), From: ipledger.RIPENCC, To: ipledger.ARIN}}}, []string{ipledger.RIPENCC, ipledger.ARIN}},
		{"registry transfer reserved", ipledger.CodeInvalid, ipledger.KindRegistryTransfer, ipledger.RegistryTransferBody{Items: []ipledger.RegistryTransferItem{{Resource: mustRes("10.0.0.0/16"), From: ipledger.IANA, To: ipledger.ARIN}}}, []string{ipledger.IANA, ipledger.ARIN}},
		{"register existing org", ipledger.CodeExists, ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-A", Name: "x"}}}, []string{ipledger.RIPENCC}},
		{"register by non-registry", ipledger.CodeUnauthorized, ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-N", Name: "x"}}}, []string{"ORG-A"}},
		{"register bad handle", ipledger.CodeInvalid, ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "org-lower", Name: "x"}}}, []string{ipledger.RIPENCC}},
		{"batch fails as a whole", ipledger.CodeExists, ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-NEW", Name: "x"}, {Handle: "ORG-A", Name: "y"}}}, []string{ipledger.RIPENCC}},
		{"bind key by other registry", ipledger.CodeUnauthorized, ipledger.KindBindKey, ipledger.BindKeyBody{Org: "ORG-A", Key: keyFor("x").Public()}, []string{ipledger.ARIN}},
		{"rotate someone else's keys", ipledger.CodeUnauthorized, ipledger.KindRotateKeys, ipledger.RotateKeysBody{Org: "ORG-A", Add: []ipledger.PublicKey{keyFor("x").Public()}}, []string{"ORG-B"}},
		{"rotate to no keys", ipledger.CodeInvalid, ipledger.KindRotateKeys, ipledger.RotateKeysBody{Org: "ORG-A", Remove: []ipledger.PublicKey{keyFor("ORG-A").Public()}}, []string{"ORG-A"}},
		{"update by stranger", ipledger.CodeUnauthorized, ipledger.KindUpdateOrg, ipledger.UpdateOrgBody{Org: "ORG-A", Name: "hijack"}, []string{"ORG-B"}},
		{"update bad country", ipledger.CodeInvalid, ipledger.KindUpdateOrg, ipledger.UpdateOrgBody{Org: "ORG-A", Country: "nl"}, []string{"ORG-A"}},
		{"unknown signer", ipledger.CodeUnknownSigner, ipledger.KindUpdateOrg, ipledger.UpdateOrgBody{Org: "ORG-A", Name: "x"}, []string{"ORG-GHOST"}},
		{"malformed body", ipledger.CodeMalformed, ipledger.KindUpdateOrg, map[string]string{"org": "ORG-A", "colour": "red"}, []string{"ORG-A"}},
		{"unknown kind", ipledger.CodeUnknownKind, ipledger.Kind(99), map[string]string{}, []string{"ORG-A"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			e.fails(c.code, c.kind, c.body, c.signers...)
		})
	}
	e.t = t

	// Unknown key: ORG-A signs with a key that is not bound.
	t.Run("unknown key", func(t *testing.T) {
		e.t = t
		e.keys["ORG-A"] = keyFor("not ORG-A")
		defer func() { e.keys["ORG-A"] = keyFor("ORG-A") }()
		e.fails(ipledger.CodeUnknownKey, ipledger.KindUpdateOrg, ipledger.UpdateOrgBody{Org: "ORG-A", Name: "x"}, "ORG-A")
	})
	t.Run("replay", func(t *testing.T) {
		e.t = t
		tx := e.build(ipledger.KindUpdateOrg, e.seq["ORG-A"]+1, ipledger.UpdateOrgBody{Org: "ORG-A", Name: "A One"}, "ORG-A")
		if r := e.applyTx(tx); r.Code != ipledger.CodeOK {
			t.Fatal(r.Log)
		}
		before := e.digest()
		if r := e.applyTx(tx); r.Code != ipledger.CodeStaleSequence {
			t.Fatalf("replay: %s", r.Code)
		}
		if e.digest() != before {
			t.Fatal("replay changed state")
		}
	})
	t.Run("future sequence", func(t *testing.T) {
		e.t = t
		tx := e.build(ipledger.KindUpdateOrg, e.seq["ORG-A"]+2, ipledger.UpdateOrgBody{Org: "ORG-A", Name: "A Two"}, "ORG-A")
		if r := e.applyTx(tx); r.Code != ipledger.CodeFutureSequence {
			t.Fatalf("future: %s", r.Code)
		}
	})
	t.Run("wrong chain", func(t *testing.T) {
		e.t = t
		b, _ := ipledger.BuildTx("other-chain", ipledger.KindUpdateOrg, e.seq["ORG-A"]+1, 0, ipledger.UpdateOrgBody{Org: "ORG-A", Name: "x"}, ipledger.Signer{Org: "ORG-A", Key: keyFor("ORG-A")})
		tx, _ := ipledger.DecodeTx(b)
		if r := e.applyTx(tx); r.Code != ipledger.CodeWrongChain {
			t.Fatalf("wrong chain: %s", r.Code)
		}
	})
	t.Run("expired", func(t *testing.T) {
		e.t = t
		b, _ := ipledger.BuildTx(testChain, ipledger.KindUpdateOrg, e.seq["ORG-A"]+1, 2, ipledger.UpdateOrgBody{Org: "ORG-A", Name: "x"}, ipledger.Signer{Org: "ORG-A", Key: keyFor("ORG-A")})
		tx, _ := ipledger.DecodeTx(b)
		if r := e.applyTx(tx); r.Code != ipledger.CodeExpired {
			t.Fatalf("expired: %s", r.Code)
		}
	})
}

func TestEncumbrance(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A", "ORG-B")
	e.ok(ipledger.KindAllocate, alloc("193.0.0.0/16", "ORG-A", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	e.ok(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: mustRes("193.0.8.0/24"), Org: "ORG-B", Status: ipledger.StatusAssignedPA}}}, "ORG-A")
	// A lease (later capability) on the assignment: stored directly, as that kind will.
	s := state{e.kv}
	if err := s.putEncumbrance(&Encumbrance{Kind: "lease", Ref: "L1", Resource: mustRes("193.0.8.0/24"), Depth: 2}); err != nil {
		t.Fatal(err)
	}
	// Blocks transfer of the allocation above it, return of it, and transfer of it.
	e.fails(ipledger.CodeEncumbered, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.0.0/16"), To: "ORG-B"}, "ORG-A", "ORG-B")
	e.fails(ipledger.CodeEncumbered, ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.8.0/24"), To: "ORG-A"}, "ORG-B", "ORG-A")
	e.fails(ipledger.CodeEncumbered, ipledger.KindReturn, ipledger.ReturnBody{Resource: mustRes("193.0.8.0/24")}, "ORG-B")
	// A lease on the allocation itself blocks re-assignment inside it.
	if err := s.putEncumbrance(&Encumbrance{Kind: "lease", Ref: "L2", Resource: mustRes("193.0.64.0/18"), Depth: 1}); err != nil {
		t.Fatal(err)
	}
	e.fails(ipledger.CodeEncumbered, ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: mustRes("193.0.65.0/24"), Org: "ORG-B", Status: ipledger.StatusAssignedPA}}}, "ORG-A")
	// Unencumbered parts still move.
	e.ok(ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("193.0.128.0/17"), To: "ORG-B"}, "ORG-A", "ORG-B")
	e.ok(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: mustRes("193.0.9.0/24"), Org: "ORG-B", Status: ipledger.StatusAssignedPA}}}, "ORG-A")
}

func TestRegistryTransferCoalesces(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A")
	// Move the /8 right below RIPE NCC's 193/8 from IANA to RIPE NCC, then allocate across the seam.
	e.ok(ipledger.KindRegistryTransfer, ipledger.RegistryTransferBody{Items: []ipledger.RegistryTransferItem{{Resource: mustRes("192.0.0.0/8"), From: ipledger.IANA, To: ipledger.RIPENCC}}}, ipledger.IANA, ipledger.RIPENCC)
	chain, _ := Lookup(e.kv, mustRes("192.255.0.0-193.0.255.255"))
	if len(chain) != 1 || chain[0].Holder != ipledger.RIPENCC || chain[0].Resource != mustRes("192.0.0.0/7") {
		t.Fatalf("pool after move: %+v", chain)
	}
	e.ok(ipledger.KindAllocate, alloc("192.255.0.0-193.0.255.255", "ORG-A", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	if got := e.holder("192.255.3.3"); got != "ORG-A" {
		t.Fatalf("holder = %q", got)
	}
	// IANA's pool below lost exactly the /8.
	chain, _ = Lookup(e.kv, mustRes("191.255.255.255"))
	if chain[0].Holder != ipledger.IANA || chain[0].Resource != mustRes("42.0.0.0-191.255.255.255") {
		t.Fatalf("IANA pool after move: %+v", chain[0])
	}
}

func TestIPv6TransferSplitsIntoPrefixes(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A", "ORG-B")
	e.ok(ipledger.KindAllocate, alloc("2001:600::/29", "ORG-A", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	e.ok(ipledger.KindTransfer, ipledger.TransferBody{Resource: mustRes("2001:600:4::/48"), To: "ORG-B"}, "ORG-A", "ORG-B")
	var n int
	if err := Holdings(e.kv, func(h *ipledger.Holding) bool {
		if h.Depth == 1 {
			n++
			if _, ok := h.Resource.Prefix(); !ok {
				t.Errorf("IPv6 holding %s is not a prefix", h.Resource)
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	// /29 minus a /48 leaves 19 prefixes, plus the /48.
	if n != 20 {
		t.Fatalf("%d IPv6 holdings, want 20", n)
	}
}

// TestDecodeBodyAhead checks that each kind's body is decoded into the type its apply
// function reads, so a body decoded ahead is used, not decoded again.
func TestDecodeBodyAhead(t *testing.T) {
	for kind, def := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			e := newEnv(t)
			tx := e.build(kind, 1, struct{}{}, ipledger.RIPENCC)
			// The kept body stands in for bytes that do not decode: a kind that decoded
			// its body again would refuse them as malformed.
			tx.KeepBody(def.body())
			tx.Body = []byte("not JSON")
			r, err := e.l.Apply(e.kv, ipledger.Block{Height: 2, Time: e.time}, tx)
			if err != nil {
				t.Fatal(err)
			}
			if r.Code == ipledger.CodeMalformed && strings.HasPrefix(r.Log, "body:") {
				t.Fatalf("the body kept was not used: %s", r.Log)
			}
		})
	}
	// A body that does not decode is not kept: Apply refuses it.
	e := newEnv(t)
	tx := e.build(ipledger.KindAssign, 1, struct{}{}, ipledger.RIPENCC)
	tx.Body = []byte("not JSON")
	DecodeBodyAhead(tx)
	if r, err := e.l.Apply(e.kv, ipledger.Block{Height: 2, Time: e.time}, tx); err != nil || r.Code != ipledger.CodeMalformed {
		t.Fatalf("malformed body: %s %s %v", r.Code, r.Log, err)
	}
}

// TestSignerRuleFirst: a kind with a signer rule (kindOf) checks the signer before the body,
// so a body that does not decode from a signer that may not send the kind is CodeUnauthorized.
func TestSignerRuleFirst(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A")
	for _, kind := range []ipledger.Kind{ipledger.KindRegisterOrg, ipledger.KindAllocate, ipledger.KindMint, ipledger.KindBurn} {
		tx := e.build(kind, e.seq["ORG-A"]+1, struct{}{}, "ORG-A")
		tx.Body = []byte("not JSON")
		if r := e.applyTx(tx); r.Code != ipledger.CodeUnauthorized {
			t.Errorf("%s by ORG-A with a body that does not decode: %s (%s), want %s", kind, r.Code, r.Log, ipledger.CodeUnauthorized)
		}
	}
	// A kind without one refuses the body.
	tx := e.build(ipledger.KindPay, e.seq["ORG-A"]+1, struct{}{}, "ORG-A")
	tx.Body = []byte("not JSON")
	if r := e.applyTx(tx); r.Code != ipledger.CodeMalformed {
		t.Errorf("pay with a body that does not decode: %s (%s), want %s", r.Code, r.Log, ipledger.CodeMalformed)
	}
}

// failingKV is a KV whose reads and writes fail with err once it is set.
type failingKV struct {
	ipledger.KV
	err error
}

func (f *failingKV) Get(k []byte) ([]byte, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.KV.Get(k)
}

func (f *failingKV) Set(k, v []byte) error {
	if f.err != nil {
		return f.err
	}
	return f.KV.Set(k, v)
}

func (f *failingKV) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	if f.err != nil {
		return f.err
	}
	return f.KV.Iterate(start, end, reverse, fn)
}

// TestApplyStoreError: a failing store is Apply's error, wrapping the store's own, and
// never a Result; a rejection is a Result and no error.
func TestApplyStoreError(t *testing.T) {
	e := newEnv(t)
	fkv := &failingKV{KV: e.kv}
	e.kv = fkv
	tx := e.build(ipledger.KindRegisterOrg, 1, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-A", Name: "A"}}}, ipledger.RIPENCC)
	if r, err := e.l.Apply(e.kv, ipledger.Block{Height: 2, Time: e.time}, tx); err != nil || r.Code != ipledger.CodeOK {
		t.Fatalf("register: %s %s %v", r.Code, r.Log, err)
	}
	if r, err := e.l.Apply(e.kv, ipledger.Block{Height: 3, Time: e.time}, tx); err != nil || r.Code != ipledger.CodeStaleSequence {
		t.Fatalf("replayed: %s %s %v, want a rejection", r.Code, r.Log, err)
	}
	fkv.err = errors.New("read block 7: input/output error")
	tx = e.build(ipledger.KindUpdateOrg, 2, ipledger.UpdateOrgBody{Org: "ORG-A", Name: "A2"}, ipledger.RIPENCC)
	r, err := e.l.Apply(e.kv, ipledger.Block{Height: 4, Time: e.time}, tx)
	if !errors.Is(err, fkv.err) {
		t.Fatalf("Apply over a failing store: %v, want the store's error", err)
	}
	if r.Code != ipledger.CodeOK || r.Log != "" || r.Touched != nil {
		t.Fatalf("Apply over a failing store gave a result too: %+v", r)
	}
}

// TestPoolStatuses: an RIR marks free pool space AVAILABLE or RESERVED (an allocate item
// naming itself); lookups answer with that pool; an allocation out of it turns the part
// back into ordinary pool space; IANA's special-purpose space stays unmovable.
func TestPoolStatuses(t *testing.T) {
	e := newEnv(t)
	e.newOrg(ipledger.RIPENCC, "ORG-A")
	mark := func(res string, st ipledger.Status) ipledger.AllocateBody {
		return ipledger.AllocateBody{Items: []ipledger.AllocateItem{{Resource: mustRes(res), Org: ipledger.RIPENCC, Status: st, Registered: "2012-03-04"}}}
	}
	pool := func(res string) *ipledger.Holding {
		t.Helper()
		chain, err := Lookup(e.kv, mustRes(res))
		if err != nil || len(chain) == 0 {
			t.Fatalf("lookup %s: %v", res, err)
		}
		return chain[len(chain)-1]
	}
	e.ok(ipledger.KindAllocate, alloc("193.0.0.0/16", "ORG-A", ipledger.StatusAllocated), ipledger.RIPENCC)
	e.ok(ipledger.KindAllocate, mark("193.1.0.0/16", ipledger.StatusReserved), ipledger.RIPENCC)
	e.ok(ipledger.KindAllocate, mark("193.2.0.0/16", ipledger.StatusAvailable), ipledger.RIPENCC)
	e.ok(ipledger.KindAllocate, mark("193.3.0.0/16", ipledger.StatusAvailable), ipledger.RIPENCC)
	if h := pool("193.1.2.3"); h.Depth != 0 || h.Holder != ipledger.RIPENCC || h.Status != ipledger.StatusReserved ||
		h.Resource != mustRes("193.1.0.0/16") || h.Registered != "2012-03-04" || h.SpecialPurpose() {
		t.Fatalf("reserved space answers %+v", h)
	}
	// Adjacent AVAILABLE space merges into one pool.
	if h := pool("193.2.2.3"); h.Status != ipledger.StatusAvailable || h.Resource != mustRes("193.2.0.0/15") {
		t.Fatalf("available space answers %+v", h)
	}
	if h := pool("193.0.2.3"); h.Status != ipledger.StatusAllocated || h.Holder != "ORG-A" || h.Depth != 1 {
		t.Fatalf("allocation answers %+v", h)
	}
	if h := pool("193.4.0.0"); h.Status != ipledger.StatusRIRPool || h.Depth != 0 {
		t.Fatalf("the rest of the pool answers %+v", h)
	}

	// Refused: a mark over held space, a mark by IANA of its own pool, a holder's status
	// that is not a pool status for the registry itself is an ordinary allocation.
	e.fails(ipledger.CodeHasChildren, ipledger.KindAllocate, mark("193.0.0.0/17", ipledger.StatusAvailable), ipledger.RIPENCC)
	e.fails(ipledger.CodeInvalid, ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{{Resource: mustRes("1.0.0.0/16"), Org: ipledger.IANA, Status: ipledger.StatusReserved}}}, ipledger.IANA)
	e.fails(ipledger.CodeInvalid, ipledger.KindAllocate, alloc("193.5.0.0/16", "ORG-A", ipledger.StatusAvailable), ipledger.RIPENCC)
	e.fails(ipledger.CodeOutsideParent, ipledger.KindAllocate, alloc("10.0.0.0/16", "ORG-A", ipledger.StatusAllocated), ipledger.RIPENCC)
	// AVAILABLE and ordinary pool space are two pools: one allocation does not take both
	// (the registry marks the ordinary part AVAILABLE first, and they merge).
	e.fails(ipledger.CodeOutsideParent, ipledger.KindAllocate, alloc("193.3.0.0-193.4.255.255", "ORG-A", ipledger.StatusAllocated), ipledger.RIPENCC)
	e.fails(ipledger.CodeInvalid, ipledger.KindRegistryTransfer, ipledger.RegistryTransferBody{Items: []ipledger.RegistryTransferItem{{Resource: mustRes("10.0.0.0/16"), From: ipledger.IANA, To: ipledger.ARIN}}}, ipledger.IANA, ipledger.ARIN)

	// The registry allocates from AVAILABLE and from RESERVED: the part allocated becomes
	// ordinary pool space again, merging with its neighbours.
	e.ok(ipledger.KindAllocate, alloc("193.2.0.0/16", "ORG-A", ipledger.StatusAllocatedPA), ipledger.RIPENCC)
	if h := pool("193.2.0.0/16"); h.Depth != 1 || h.Holder != "ORG-A" || h.Status != ipledger.StatusAllocatedPA {
		t.Fatalf("allocation from AVAILABLE answers %+v", h)
	}
	chain, _ := Lookup(e.kv, mustRes("193.2.0.0/16"))
	if chain[0].Status != ipledger.StatusRIRPool {
		t.Fatalf("pool above an allocation from AVAILABLE: %+v", chain[0])
	}
	if h := pool("193.3.0.0/16"); h.Status != ipledger.StatusAvailable || h.Resource != mustRes("193.3.0.0/16") {
		t.Fatalf("the rest of the AVAILABLE pool: %+v", h)
	}
	e.ok(ipledger.KindAllocate, alloc("193.1.0.0/17", "ORG-A", ipledger.StatusAssigned), ipledger.RIPENCC)
	if h := pool("193.1.128.0"); h.Status != ipledger.StatusReserved || h.Resource != mustRes("193.1.128.0/17") {
		t.Fatalf("the rest of the RESERVED pool: %+v", h)
	}
	// A RESERVED piece is released as AVAILABLE, and moves to another registry as its pool.
	e.ok(ipledger.KindAllocate, mark("193.1.128.0/17", ipledger.StatusAvailable), ipledger.RIPENCC)
	if h := pool("193.1.128.0"); h.Status != ipledger.StatusAvailable {
		t.Fatalf("released: %+v", h)
	}
	e.ok(ipledger.KindRegistryTransfer, ipledger.RegistryTransferBody{Items: []ipledger.RegistryTransferItem{{Resource: mustRes("193.3.0.0/16"), From: ipledger.RIPENCC, To: ipledger.ARIN}}}, ipledger.RIPENCC, ipledger.ARIN)
	if h := pool("193.3.0.0"); h.Holder != ipledger.ARIN || h.Status != ipledger.StatusRIRPool {
		t.Fatalf("moved: %+v", h)
	}
	checkInvariants(t, e, "end")
}
