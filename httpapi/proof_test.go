package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/stateproof"
)

// startProofNode is startNode that also returns the trust a client derives from the
// node's genesis file.
func startProofNode(t testing.TB) (*chain.Node, *httptest.Server, *client.Client, *stateproof.Trust) {
	t.Helper()
	n, dir, _ := startNodeHome(t, true)
	srv := httptest.NewServer(New(Options{Node: n}))
	t.Cleanup(srv.Close)
	trust, err := stateproof.TrustGenesisFile(chain.GenesisPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	return n, srv, &client.Client{Base: srv.URL}, trust
}

// proof decodes a proof the client fetched.
func proof(raw json.RawMessage, err error) (*stateproof.Proof, error) {
	if err != nil {
		return nil, err
	}
	var p stateproof.Proof
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// provable waits until height h is provable (block h+1 committed) and returns the proof
// get fetches at h.
func provable(t *testing.T, h int64, get func(height int64) (*stateproof.Proof, error)) *stateproof.Proof {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, err := get(h)
		if err == nil {
			return p
		}
		if ipledger.ErrorCode(err) != ipledger.CodeNotFound || time.Now().After(deadline) {
			t.Fatalf("proof at %d: %v", h, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// proofWorld registers ORG-A and ORG-B, allocates to ORG-A and assigns a /24 to ORG-B,
// and returns the heights of the registration, the allocation and the assignment.
func proofWorld(t *testing.T, c *client.Client) (registered, allocated, assigned int64) {
	t.Helper()
	ripe, orgA, orgB := ipledgertest.Signer(ipledger.RIPENCC), ipledgertest.Signer("ORG-A"), ipledgertest.Signer("ORG-B")
	registered = commit(t, c, "register", mustTx(t, ipledger.KindRegisterOrg, 1, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: "ORG-A", Name: "Alpha Networks", Country: "NL", Keys: []ipledger.PublicKey{orgA.Key.Public()}},
		{Handle: "ORG-B", Name: "Beta Hosting", Country: "DE", Keys: []ipledger.PublicKey{orgB.Key.Public()}},
	}}, ripe)).Height
	res := commit(t, c, "allocate", mustTx(t, ipledger.KindAllocate, 2, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.0.0/16"), Org: "ORG-A", Status: ipledger.StatusAllocatedPA, Country: "NL"},
		{Resource: ipledger.MustParseResource("2001:600::/32"), Org: "ORG-A", Status: ipledger.StatusAllocatedPA},
		{Resource: ipledger.MustParseResource("AS3333"), Org: "ORG-A", Status: ipledger.StatusAllocatedAS},
	}}, ripe))
	allocated = res.Height
	res = commit(t, c, "assign", mustTx(t, ipledger.KindAssign, 1, ipledger.AssignBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.1.0/24"), Org: "ORG-B", Status: ipledger.StatusAssignedPA},
	}}, orgA))
	return registered, allocated, res.Height
}

// TestStateProofs serves proofs from a real node and verifies them against the trust
// of its genesis: who holds an assignment, an address inside it, unheld space (proven by
// non-membership), an older height, a holding by id, organisations present and absent,
// a raw state key, and the ?prove=true form of the plain queries.
func TestStateProofs(t *testing.T) {
	_, srv, c, trust := startProofNode(t)
	ctx := context.Background()
	registered, allocated, h := proofWorld(t, c)

	resource := func(res string, height int64) (*stateproof.Proof, *stateproof.ResourceAnswer) {
		t.Helper()
		p := provable(t, height, func(height int64) (*stateproof.Proof, error) { return proof(c.ProveResource(ctx, res, height)) })
		if p.Height != height {
			t.Fatalf("proof of %s at %d answers height %d", res, height, p.Height)
		}
		ans, err := p.VerifyResource(ipledger.MustParseResource(res), trust)
		if err != nil {
			t.Fatalf("%s at %d: %v", res, height, err)
		}
		return p, ans
	}
	chainOf := func(a *stateproof.ResourceAnswer) []string {
		var out []string
		for _, h := range a.Chain {
			out = append(out, h.Holder+" "+h.Resource.String())
		}
		return out
	}

	t.Run("assignment", func(t *testing.T) {
		_, ans := resource("193.0.1.0/24", h)
		want := []string{"RIPE-NCC 193.0.0.0/8", "ORG-A 193.0.0.0/16", "ORG-B 193.0.1.0/24"}
		if got := chainOf(ans); !slices.Equal(got, want) || !ans.Complete || ans.Holder == nil || ans.Holder.Name != "Beta Hosting" {
			t.Fatalf("chain %q complete %v holder %+v", got, ans.Complete, ans.Holder)
		}
		// The proven holding is the one the plain query answers.
		info, err := c.Resource(ctx, "193.0.1.0/24")
		if err != nil {
			t.Fatal(err)
		}
		if got := ans.Holding(); got.ID != info.Holding.ID || got.Holder != info.Holding.Holder || got.Resource != info.Holding.Resource || got.Status != info.Holding.Status {
			t.Fatalf("proven %+v, answered %+v", got, info.Holding)
		}
	})
	t.Run("address", func(t *testing.T) {
		p, ans := resource("193.0.1.77", h)
		if ans.Holding().Holder != "ORG-B" || !ans.Complete {
			t.Fatalf("%+v complete %v", ans.Holding(), ans.Complete)
		}
		// One cover entry per aligned block from the assignment's /24 to the address's
		// /32, each absent (78 possible starts from 193.0.1.0 would take more).
		covers := 0
		for _, e := range p.Entries {
			if e.Key[0] == 'c' {
				covers++
				if e.Present() {
					t.Fatalf("cover entry %x present", e.Key)
				}
			}
		}
		if covers != 9 {
			t.Fatalf("%d cover entries, want 9", covers)
		}
	})
	t.Run("unheld", func(t *testing.T) {
		// In RIPE NCC's pool, allocated to nobody: the pool holds it, and absence proofs
		// (of holding keys or cover entries) show no allocation contains it.
		for _, res := range []string{"2001:601::/32", "193.1.0.0/16", "AS3334"} {
			p, ans := resource(res, h)
			if got := chainOf(ans); len(got) != 1 || !strings.HasPrefix(got[0], "RIPE-NCC ") || !ans.Complete {
				t.Fatalf("%s: chain %q complete %v", res, got, ans.Complete)
			}
			absent := 0
			for _, e := range p.Entries {
				if !e.Present() {
					absent++
					if k := hex.EncodeToString(e.Key); !strings.HasPrefix(k, "68") && !strings.HasPrefix(k, "63") { // 'h', 'c'
						t.Fatalf("%s: absence of %x, not a holding key or cover entry", res, e.Key)
					}
				}
			}
			if absent == 0 {
				t.Fatalf("%s: no non-membership proof", res)
			}
		}
	})
	t.Run("older height", func(t *testing.T) {
		// Before the assignment, ORG-A's allocation was the most specific holding. For
		// 193.0.1.0/24 inside it, a holding one level down could have started at any of
		// 257 addresses; the cover entries of the blocks /16 to /24 rule it out.
		_, ans := resource("193.0.1.0/24", allocated)
		if got := chainOf(ans); len(got) != 2 || ans.Holding().Holder != "ORG-A" || !ans.Complete {
			t.Fatalf("at %d: chain %q complete %v", allocated, got, ans.Complete)
		}
		_, ans = resource("193.0.0.0/24", allocated)
		if got := chainOf(ans); len(got) != 2 || ans.Holding().Holder != "ORG-A" || !ans.Complete {
			t.Fatalf("at %d: chain %q complete %v", allocated, got, ans.Complete)
		}
	})
	t.Run("holding", func(t *testing.T) {
		info, err := c.Resource(ctx, "193.0.1.0/24")
		if err != nil {
			t.Fatal(err)
		}
		id := info.Holding.ID
		p := provable(t, h, func(height int64) (*stateproof.Proof, error) {
			return proof(c.ProveHolding(ctx, info.Holding.Handle, height))
		})
		ans, err := p.VerifyHolding(id, trust)
		if err != nil {
			t.Fatal(err)
		}
		if ans.Holding == nil || ans.Holding.ID != id || ans.Holding.Holder != "ORG-B" || ans.Holder == nil || ans.Holder.Handle != "ORG-B" {
			t.Fatalf("%+v", ans)
		}
		p = provable(t, h, func(height int64) (*stateproof.Proof, error) { return proof(c.ProveHolding(ctx, "999999", height)) })
		if ans, err := p.VerifyHolding(999999, trust); err != nil || ans.Holding != nil {
			t.Fatalf("unknown holding: %+v %v", ans, err)
		}
	})
	t.Run("orgs", func(t *testing.T) {
		p := provable(t, h, func(height int64) (*stateproof.Proof, error) { return proof(c.ProveOrg(ctx, "org-a", height)) })
		if o, err := p.VerifyOrg("ORG-A", trust); err != nil || o == nil || o.Name != "Alpha Networks" {
			t.Fatalf("ORG-A: %+v %v", o, err)
		}
		p = provable(t, h, func(height int64) (*stateproof.Proof, error) { return proof(c.ProveOrg(ctx, "ORG-NOBODY", height)) })
		if o, err := p.VerifyOrg("ORG-NOBODY", trust); err != nil || o != nil {
			t.Fatalf("ORG-NOBODY: %+v %v", o, err)
		}
		// Before it was registered, ORG-A did not exist.
		p = provable(t, registered-1, func(height int64) (*stateproof.Proof, error) { return proof(c.ProveOrg(ctx, "ORG-A", height)) })
		if o, err := p.VerifyOrg("ORG-A", trust); err != nil || o != nil {
			t.Fatalf("ORG-A at %d: %+v %v", registered-1, o, err)
		}
		// A proof of one organisation answers nothing about another.
		if _, err := p.VerifyOrg("ORG-B", trust); !errors.Is(err, stateproof.ErrRejected) {
			t.Fatalf("ORG-B from the proof of ORG-A: %v", err)
		}
	})
	t.Run("state key", func(t *testing.T) {
		key := ledger.OrgKey("ORG-B")
		p := provable(t, h, func(height int64) (*stateproof.Proof, error) { return proof(c.ProveKey(ctx, key, height)) })
		v, err := p.VerifyKey(key, trust)
		if err != nil || v == nil {
			t.Fatalf("%x: %v", v, err)
		}
		if o, err := ledger.DecodeOrg(v); err != nil || o.Handle != "ORG-B" {
			t.Fatalf("%+v %v", o, err)
		}
	})
	t.Run("prove=true", func(t *testing.T) {
		var info apitypes.ResourceInfo
		deadline := time.Now().Add(20 * time.Second)
		for {
			err := c.Get(ctx, "/v1/resources/193.0.1.5", map[string][]string{"prove": {"true"}, "height": {strconv.FormatInt(h, 10)}}, &info)
			if err == nil {
				break
			}
			if ipledger.ErrorCode(err) != ipledger.CodeNotFound || time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		ip, err := proof(info.Proof, nil)
		if err != nil || info.Height != h || ip.Height != h {
			t.Fatalf("height %d, proof %s: %v", info.Height, info.Proof, err)
		}
		ans, err := ip.VerifyResource(info.Resource, trust)
		if err != nil {
			t.Fatal(err)
		}
		if len(ans.Chain) != len(info.Chain) || ans.Holding().ID != info.Holding.ID {
			t.Fatalf("proof chain %d holdings ending %d; answer %d ending %d", len(ans.Chain), ans.Holding().ID, len(info.Chain), info.Holding.ID)
		}
		var oi apitypes.OrgInfo
		if err := c.Get(ctx, "/v1/orgs/ORG-B", map[string][]string{"prove": {"1"}}, &oi); err != nil {
			t.Fatal(err)
		}
		op, err := proof(oi.Proof, nil)
		if err != nil {
			t.Fatal(err)
		}
		if o, err := op.VerifyOrg("ORG-B", trust); err != nil || o.Name != oi.Name || oi.Height != op.Height {
			t.Fatalf("org proof: %+v %v", o, err)
		}
	})
	t.Run("errors", func(t *testing.T) {
		_, err := c.ProveResource(ctx, "193.0.1.0/24", 1<<40)
		wantAPIError(t, "future height", err, ipledger.CodeNotFound)
		if !strings.Contains(ipledger.ErrorMessage(err), "not provable yet") {
			t.Fatalf("message %q", ipledger.ErrorMessage(err))
		}
		for _, path := range []string{"/v1/proof/resources/193.0.1.0/24?height=x", "/v1/proof/resources/193.0.1.0/24?height=0",
			"/v1/proof/state/zz", "/v1/proof/holdings/IPL-Hx", "/v1/resources/193.0.1.0/24?prove=maybe"} {
			if st, _, eb := rawCall(t, http.MethodGet, srv.URL+path, "", nil); st != http.StatusBadRequest || eb.Code != "invalid" {
				t.Fatalf("%s: %d %+v", path, st, eb)
			}
		}
	})
}

// tamper encodes the proof, lets change edit it as a generic JSON tree, and decodes the
// result: nil if the tampered proof no longer decodes.
func tamper(t *testing.T, p *stateproof.Proof, change func(m map[string]any)) *stateproof.Proof {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	var q stateproof.Proof
	if err := json.Unmarshal(b, &q); err != nil {
		return nil
	}
	return &q
}

// flipB64 flips a bit of the last byte of a base64 string.
func flipB64(t *testing.T, s any) string {
	b, err := base64.StdEncoding.DecodeString(s.(string))
	if err != nil || len(b) == 0 {
		t.Fatalf("not base64: %v", s)
	}
	b[len(b)-1] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}

// flipHex flips a bit of the last byte of a hex string.
func flipHex(t *testing.T, s any) string {
	b, err := hex.DecodeString(s.(string))
	if err != nil || len(b) == 0 {
		t.Fatalf("not hex: %v", s)
	}
	b[len(b)-1] ^= 1
	return strings.ToUpper(hex.EncodeToString(b))
}

// TestStateProofTampering changes one thing at a time in a valid proof — a value, a
// proof, a root, the header, its commit, the validator set, the trust — and wants each
// rejected.
func TestStateProofTampering(t *testing.T) {
	_, _, c, trust := startProofNode(t)
	ctx := context.Background()
	_, allocated, h := proofWorld(t, c)
	res := ipledger.MustParseResource("193.0.1.0/24")
	p := provable(t, h, func(height int64) (*stateproof.Proof, error) {
		return proof(c.ProveResource(ctx, res.String(), height))
	})
	if _, err := p.VerifyResource(res, trust); err != nil {
		t.Fatal(err)
	}
	// A proof of an earlier height, for swapping headers.
	earlier := provable(t, allocated, func(height int64) (*stateproof.Proof, error) {
		return proof(c.ProveResource(ctx, res.String(), height))
	})

	entry := func(m map[string]any, i int) map[string]any { return m["entries"].([]any)[i].(map[string]any) }
	header := func(m map[string]any) map[string]any {
		return m["signed_header"].(map[string]any)["header"].(map[string]any)
	}
	commitOf := func(m map[string]any) map[string]any {
		return m["signed_header"].(map[string]any)["commit"].(map[string]any)
	}
	otherKey := cmted25519.GenPrivKey().PubKey()

	for _, c := range []struct {
		name   string
		change func(m map[string]any)
	}{
		{"holding value", func(m map[string]any) { e := entry(m, 2); e["value"] = flipB64(t, e["value"]) }},
		{"holding key", func(m map[string]any) { e := entry(m, 2); e["key"] = flipB64(t, e["key"]) }},
		{"proof sibling", func(m map[string]any) { e := entry(m, 0); e["proof"] = flipB64(t, e["proof"]) }},
		{"present made absent", func(m map[string]any) { entry(m, 2)["value"] = nil }},
		{"absence made present", func(m map[string]any) {
			es := m["entries"].([]any)
			for _, x := range es {
				if e := x.(map[string]any); e["value"] == nil {
					e["value"] = entry(m, 2)["value"]
					return
				}
			}
			t.Fatal("no absence entry")
		}},
		{"state root", func(m map[string]any) { m["state_root"] = flipB64(t, m["state_root"]) }},
		{"log root", func(m map[string]any) { m["log_root"] = flipB64(t, m["log_root"]) }},
		{"app hash", func(m map[string]any) { m["app_hash"] = flipB64(t, m["app_hash"]) }},
		{"height", func(m map[string]any) { m["height"] = float64(h - 1) }},
		{"header app hash", func(m map[string]any) { hd := header(m); hd["app_hash"] = flipHex(t, hd["app_hash"]) }},
		{"header time", func(m map[string]any) { header(m)["time"] = "2001-01-01T00:00:00Z" }},
		{"header of another height", func(m map[string]any) {
			b, _ := json.Marshal(earlier.SignedHeader)
			var sh any
			json.Unmarshal(b, &sh)
			m["signed_header"] = sh
		}},
		{"commit signature", func(m map[string]any) {
			sig := commitOf(m)["signatures"].([]any)[0].(map[string]any)
			sig["signature"] = flipB64(t, sig["signature"])
		}},
		{"commit block id", func(m map[string]any) {
			bid := commitOf(m)["block_id"].(map[string]any)
			bid["hash"] = flipHex(t, bid["hash"])
		}},
		{"validator set", func(m map[string]any) {
			v := m["validators"].([]any)[0].(map[string]any)
			v["pub_key"].(map[string]any)["value"] = base64.StdEncoding.EncodeToString(otherKey.Bytes())
			v["address"] = strings.ToUpper(hex.EncodeToString(otherKey.Address()))
		}},
		{"validator power", func(m map[string]any) { m["validators"].([]any)[0].(map[string]any)["voting_power"] = "11" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := tamper(t, p, c.change)
			if q == nil {
				t.Fatal("the tampered proof does not decode: it should reach the verifier")
			}
			_, err := q.VerifyResource(res, trust)
			if !errors.Is(err, stateproof.ErrRejected) {
				t.Fatalf("accepted: %v", err)
			}
			t.Log(err)
		})
	}

	t.Run("untrusted validators", func(t *testing.T) {
		vs := types.NewValidatorSet([]*types.Validator{types.NewValidator(otherKey, 10)})
		if _, err := p.VerifyResource(res, &stateproof.Trust{ChainID: trust.ChainID, Validators: vs}); !errors.Is(err, stateproof.ErrRejected) {
			t.Fatalf("accepted under another validator set: %v", err)
		}
	})
	t.Run("another chain", func(t *testing.T) {
		if _, err := p.VerifyResource(res, &stateproof.Trust{ChainID: "other", Validators: trust.Validators}); !errors.Is(err, stateproof.ErrRejected) {
			t.Fatalf("accepted for another chain: %v", err)
		}
	})
	t.Run("no trust", func(t *testing.T) {
		if _, err := p.VerifyResource(res, &stateproof.Trust{}); !errors.Is(err, stateproof.ErrRejected) {
			t.Fatalf("accepted without trust: %v", err)
		}
	})
	t.Run("dropped entry", func(t *testing.T) {
		// The entries are the pool, the allocation, the assignment, ORG-B and the absence
		// of a holding one level down. Without the pool or the allocation the chain has a
		// gap, and without the absence nothing rules out a more specific holding: each is
		// rejected. Without ORG-B the answer has no holder.
		if len(p.Entries) != 5 {
			t.Fatalf("%d entries", len(p.Entries))
		}
		for i, wantErr := range []bool{true, true, false, false, true} {
			q := *p
			q.Entries = slices.Delete(slices.Clone(p.Entries), i, i+1)
			ans, err := q.VerifyResource(res, trust)
			switch {
			case errors.Is(err, stateproof.ErrRejected):
			case err != nil:
				t.Fatalf("dropping entry %d: %v", i, err)
			case wantErr || ans.Complete && len(ans.Chain) == 3 && ans.Holder != nil:
				t.Fatalf("dropping entry %d: still the full answer", i)
			}
		}
	})
}
