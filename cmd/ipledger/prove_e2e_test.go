package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/stateproof"
)

// TestQueryProve runs a node from `ipledger init`, allocates space, and asks
// `ipledger query resource|holding|org --prove` about it: a holding, unheld space in a
// registry pool (proven by non-membership), an organisation that does not exist. Then it
// puts a proxy that changes one byte of every proof between the CLI and the node, and
// trusts another chain's genesis: both must fail with a clear message and a non-zero
// exit.
func TestQueryProve(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	const chainID = "e2e-prove"
	run(t, "init", "--home", home, "--chain-id", chainID)
	p := startNode(t, "node", home)
	node, cl := "http://"+p.addr, p.cl
	ripe := signer(t, home, ipledger.RIPENCC)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	submit := func(kind ipledger.Kind, seq uint64, body any) int64 {
		t.Helper()
		return commit(t, ctx, cl, chainID, kind, seq, body, ripe)
	}
	submit(ipledger.KindRegisterOrg, 1, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-PROVE", Name: "Proof Networks", Country: "NL"}}})
	h := submit(ipledger.KindAllocate, 2, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.0.0/21"), Org: "ORG-PROVE", Status: ipledger.StatusAllocatedPA, Country: "NL"},
	}})
	// The allocation's state is provable once the next block commits it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := cl.ProveOrg(ctx, "ORG-PROVE", h); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("height %d never became provable: %v", h, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// query returns the output and the exit code of `ipledger query --node nodeURL args`.
	query := func(nodeURL string, args ...string) (string, int) {
		t.Helper()
		code, out := exitCode(t, binCmd(t, append([]string{"query", "--node", nodeURL}, args...)...))
		return out, code
	}
	mustQuery := func(args ...string) string {
		t.Helper()
		out, code := query(node, args...)
		if code != 0 {
			t.Fatalf("query %v: exit %d\n%s", args, code, out)
		}
		return out
	}

	out := mustQuery("resource", "193.0.0.0/21", "--prove", "--home", home)
	for _, want := range []string{"193.0.0.0/21 at height", "is held by ORG-PROVE (Proof Networks), ALLOCATED PA", "RIPE-NCC", "verified: the state of height",
		"signed by 1 of 1 validators of the trusted validator set of chain " + chainID} {
		if !strings.Contains(out, want) {
			t.Fatalf("resource --prove: no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "note:") {
		t.Fatalf("the answer for an allocation's own range should be complete:\n%s", out)
	}

	// Unheld space just after the allocation: RIPE NCC's pool holds it, and the proof
	// shows no allocation contains it. --genesis instead of --home.
	out = mustQuery("resource", "193.0.8.0/21", "--prove", "--genesis", filepath.Join(home, "config", "genesis.json"), "--json")
	var proved struct {
		Answer struct {
			Chain []struct {
				Holder string `json:"holder"`
				Depth  int    `json:"depth"`
			} `json:"chain"`
			Complete bool `json:"complete"`
		} `json:"answer"`
		Verified struct {
			Height int64 `json:"height"`
			Header int64 `json:"header"`
		} `json:"verified"`
	}
	if err := json.Unmarshal([]byte(out), &proved); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if c := proved.Answer.Chain; len(c) != 1 || c[0].Holder != ipledger.RIPENCC || !proved.Answer.Complete || proved.Verified.Header != proved.Verified.Height+1 {
		t.Fatalf("unheld space: %+v", proved)
	}

	// An older height, before the allocation: the pool held it.
	out = mustQuery("resource", "193.0.0.0/21", "--prove", "--home", home, "--height", "1")
	if !strings.Contains(out, "at height 1 is held by RIPE-NCC") {
		t.Fatalf("at height 1:\n%s", out)
	}

	info, err := cl.Resource(ctx, "193.0.0.0/21")
	if err != nil {
		t.Fatal(err)
	}
	out = mustQuery("holding", info.Holding.Handle, "--prove", "--home", home)
	if !strings.Contains(out, info.Holding.Handle+" at height") || !strings.Contains(out, "held by ORG-PROVE") || !strings.Contains(out, "verified:") {
		t.Fatalf("holding --prove:\n%s", out)
	}
	out = mustQuery("org", "ORG-NOBODY", "--prove", "--home", home)
	if !strings.Contains(out, "no such organisation") || !strings.Contains(out, "verified:") {
		t.Fatalf("org --prove of an unknown handle:\n%s", out)
	}

	// RDAP links each object to its state proof: follow the network's link and verify
	// what it serves.
	var network struct {
		Handle string `json:"handle"`
		Links  []struct {
			Rel, Href, Type, Title string
		} `json:"links"`
	}
	ipledgertest.GetJSON(t, node+"/rdap/ip/193.0.0.0/21", &network)
	if network.Handle != info.Holding.Handle {
		t.Fatalf("rdap: %+v", network)
	}
	proofURL := ""
	for _, l := range network.Links {
		if l.Rel == "related" && l.Type == "application/json" && strings.HasPrefix(l.Title, "State proof of ") {
			proofURL = l.Href
		}
	}
	if proofURL == "" {
		t.Fatalf("rdap network links to no state proof: %+v", network.Links)
	}
	var sp stateproof.Proof
	ipledgertest.GetJSON(t, proofURL, &sp)
	trust, err := stateproof.TrustGenesisFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if ans, err := sp.VerifyHolding(info.Holding.ID, trust); err != nil || ans.Holding == nil || ans.Holding.Holder != "ORG-PROVE" {
		t.Fatalf("%s: %+v %v", proofURL, ans, err)
	}

	// A node that lies: a proxy flips a bit of every value it proves.
	target, _ := url.Parse(node)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		if !strings.HasPrefix(r.Request.URL.Path, "/v1/proof/") || r.StatusCode != http.StatusOK {
			return nil
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		for _, x := range m["entries"].([]any) {
			e := x.(map[string]any)
			if v, ok := e["value"].(string); ok {
				raw, _ := base64.StdEncoding.DecodeString(v)
				raw[len(raw)-1] ^= 1
				e["value"] = base64.StdEncoding.EncodeToString(raw)
			}
		}
		b, _ = json.Marshal(m)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		r.ContentLength = int64(len(b))
		r.Header.Del("Content-Length")
		return nil
	}
	liar := httptest.NewServer(proxy)
	defer liar.Close()
	out, code := query(liar.URL, "resource", "193.0.0.0/21", "--prove", "--home", home)
	if code == 0 || !strings.Contains(out, "does not verify") || !strings.Contains(out, "state proof rejected") {
		t.Fatalf("a tampered proof: exit %d\n%s", code, out)
	}

	// Another chain's genesis: the header is not of the trusted chain.
	other := filepath.Join(dir, "other")
	run(t, "init", "--home", other, "--chain-id", "e2e-other")
	out, code = query(node, "resource", "193.0.0.0/21", "--prove", "--home", other)
	if code == 0 || !strings.Contains(out, "state proof rejected") {
		t.Fatalf("another chain's genesis: exit %d\n%s", code, out)
	}
	// No genesis at all.
	out, code = query(node, "resource", "193.0.0.0/21", "--prove", "--home", filepath.Join(dir, "nowhere"))
	if code == 0 || !strings.Contains(out, "--prove needs the chain's genesis") {
		t.Fatalf("no genesis: exit %d\n%s", code, out)
	}
}
