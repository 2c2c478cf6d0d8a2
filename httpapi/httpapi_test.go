package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ipledgertest/chaintest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

const testChain = "httpapi-test"

// startNode starts a single-validator node in a temp dir and serves the API over it.
func startNode(t *testing.T) (*chain.Node, *httptest.Server, *client.Client) {
	t.Helper()
	n, _, reg := startNodeHome(t, false)
	srv := httptest.NewServer(New(Options{Node: n, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}))
	t.Cleanup(srv.Close)
	return n, srv, &client.Client{Base: srv.URL + "/"}
}

// startNodeHome starts a single-validator node of testGenesis in a temp home, stops it
// when the test ends, and waits for its first block. It returns the node, its home and
// its metrics registry.
func startNodeHome(t testing.TB, noSync bool) (*chain.Node, string, *prometheus.Registry) {
	t.Helper()
	dir := t.TempDir()
	chaintest.InitHome(t, dir, testChain, ipledgertest.Genesis(), ipledger.IANA)
	reg := prometheus.NewRegistry()
	n := chaintest.StartNode(t, chain.NodeOptions{Home: dir, Registry: reg, NoSync: noSync})
	return n, dir, reg
}

func mustTx(t testing.TB, kind ipledger.Kind, seq uint64, body any, signers ...ipledger.Signer) []byte {
	t.Helper()
	tx, err := ipledger.BuildTx(testChain, kind, seq, 0, body, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// commit submits tx with ?wait=commit and wants it applied.
func commit(t testing.TB, c *client.Client, what string, tx []byte) apitypes.SubmitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := c.Submit(ctx, tx, true)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !res.Committed() || res.Code != ipledger.CodeOK || res.CodeName != "ok" || res.Hash != ipledger.HashTx(tx) {
		t.Fatalf("%s: %+v %+v", what, res, res.Outcome)
	}
	return res
}

// wantAPIError wants err to be an *ipledger.Error with code.
func wantAPIError(t *testing.T, what string, err error, code ipledger.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, code)
	}
	if got := ipledger.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %s), want %s", what, err, got, code)
	}
}

// call makes one request with body of content type ctype (none if "") and returns the
// answer with its body read.
func call(t *testing.T, method, url, ctype string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// rawCall makes one request and returns status, content type and the error body if any.
func rawCall(t *testing.T, method, url, ctype string, body []byte) (int, string, apitypes.ErrorBody) {
	t.Helper()
	resp, b := call(t, method, url, ctype, body)
	var eb apitypes.ErrorBody
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &eb); err != nil || eb.Code == "" || eb.Message == "" {
			t.Fatalf("%s %s: status %d body %q is not a JSON error", method, url, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), eb
}

func kinds(h []apitypes.HistoryItem) []string {
	var out []string
	for _, e := range h {
		out = append(out, e.Kind)
	}
	return out
}

func holders(chn []apitypes.HoldingInfo) []string {
	var out []string
	for _, h := range chn {
		out = append(out, h.Holder+" "+h.Resource.String())
	}
	return out
}

func TestAPI(t *testing.T) {
	_, srv, c := startNode(t)
	ctx := context.Background()

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.ChainID != testChain || st.Height < 1 || len(st.Validators) != 1 || st.AppHash == "" {
		t.Fatalf("status: %+v", st)
	}

	ripe, orgA, orgB := ipledgertest.Signer(ipledger.RIPENCC), ipledgertest.Signer("ORG-A"), ipledgertest.Signer("ORG-B")
	commit(t, c, "register", mustTx(t, ipledger.KindRegisterOrg, 1, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: "ORG-A", Name: "Alpha Networks", Country: "NL", Keys: []ipledger.PublicKey{orgA.Key.Public()}},
		{Handle: "ORG-B", Name: "Beta Hosting", Country: "DE", Keys: []ipledger.PublicKey{orgB.Key.Public()}},
	}}, ripe))
	commit(t, c, "allocate", mustTx(t, ipledger.KindAllocate, 2, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.0.0/16"), Org: "ORG-A", Status: ipledger.StatusAllocatedPA, Country: "NL"},
		{Resource: ipledger.MustParseResource("2001:600::/32"), Org: "ORG-A", Status: ipledger.StatusAllocatedPA},
		{Resource: ipledger.MustParseResource("AS3333"), Org: "ORG-A", Status: ipledger.StatusAllocatedAS},
	}}, ripe))
	commit(t, c, "assign", mustTx(t, ipledger.KindAssign, 1, ipledger.AssignBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.1.0/24"), Org: "ORG-B", Status: ipledger.StatusAssignedPA},
	}}, orgA))
	transferTx := mustTx(t, ipledger.KindTransfer, 2, ipledger.TransferBody{Resource: ipledger.MustParseResource("193.0.128.0/17"), To: "ORG-B"}, orgA, orgB)
	transfer := commit(t, c, "transfer", transferTx)

	// A transaction that fails against state is still committed: 200 with its code.
	ctx30, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := c.Submit(ctx30, mustTx(t, ipledger.KindAllocate, 3, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.0.0/24"), Org: "ORG-B", Status: ipledger.StatusAllocatedPA},
	}}, ripe), true)
	if err != nil || !res.Committed() || res.Code != ipledger.CodeOverlap || res.CodeName != "overlap" || res.Log == "" {
		t.Fatalf("overlapping allocate: %v %+v", err, res.Outcome)
	}

	t.Run("resource by address", func(t *testing.T) {
		info, err := c.Resource(ctx, "193.0.1.1")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"RIPE-NCC 193.0.0.0/8", "ORG-A 193.0.0.0/17", "ORG-B 193.0.1.0/24"}
		if got := holders(info.Chain); !slices.Equal(got, want) {
			t.Fatalf("chain %q, want %q", got, want)
		}
		if info.Resource.String() != "193.0.1.1/32" || info.Holding.Holder != "ORG-B" || info.Holding.HolderName != "Beta Hosting" ||
			info.Holding.Status != ipledger.StatusAssignedPA || info.Holding.Depth != 2 || info.Holding.Handle != ipledger.HoldingHandle(info.Holding.ID) {
			t.Fatalf("holding %+v", info.Holding)
		}
		if info.Chain[0].HolderName != "RIPE-NCC registry" || info.Chain[0].Status != ipledger.StatusRIRPool || info.Chain[0].Registered != "1993-09-01" {
			t.Fatalf("pool %+v", info.Chain[0])
		}
		if k := kinds(info.History); !slices.Equal(k, []string{"assign"}) || info.History[0].Code != ipledger.CodeOK || info.History[0].Time.IsZero() {
			t.Fatalf("history %+v", info.History)
		}
		if len(info.Children) != 0 || info.ChildrenTruncated || info.HistoryTruncated {
			t.Fatalf("children %+v", info.Children)
		}
	})

	t.Run("resource by prefix", func(t *testing.T) {
		info, err := c.Resource(ctx, "193.0.200.0/24")
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"RIPE-NCC 193.0.0.0/8", "ORG-B 193.0.128.0/17"}
		if got := holders(info.Chain); !slices.Equal(got, want) {
			t.Fatalf("chain %q, want %q", got, want)
		}
		h := info.Holding
		if h.Origin == 0 || h.Status != ipledger.StatusAllocatedPA || h.Country != "NL" {
			t.Fatalf("transferred holding %+v", h)
		}
		// The split origin's history shows how the space came to be: allocated, then split.
		if k := kinds(info.History); !slices.Contains(k, "allocate") || k[len(k)-1] != "transfer" {
			t.Fatalf("history kinds %q", k)
		}
		last := info.History[len(info.History)-1]
		if last.Hash != transfer.Hash || last.Height != transfer.Height || last.Object != holdingObject(h.ID) {
			t.Fatalf("last history entry %+v, transfer %+v", last, transfer.Outcome)
		}
		// The /16 as a whole is in no single holding below the pool any more.
		whole, err := c.Resource(ctx, "193.0.0.0/16")
		if err != nil {
			t.Fatal(err)
		}
		if got := holders(whole.Chain); !slices.Equal(got, []string{"RIPE-NCC 193.0.0.0/8"}) {
			t.Fatalf("chain of the /16: %q", got)
		}
		if got := holders(whole.Children); !slices.Equal(got, []string{"ORG-A 193.0.0.0/17", "ORG-B 193.0.128.0/17"}) {
			t.Fatalf("children of the pool: %q", got)
		}
	})

	t.Run("resource by AS number", func(t *testing.T) {
		for _, q := range []string{"AS3333", "as3333"} {
			info, err := c.Resource(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if got := holders(info.Chain); !slices.Equal(got, []string{"RIPE-NCC AS3072-AS4095", "ORG-A AS3333"}) {
				t.Fatalf("%s: chain %q", q, got)
			}
			if k := kinds(info.History); !slices.Equal(k, []string{"allocate"}) {
				t.Fatalf("%s: history %q", q, k)
			}
		}
	})

	t.Run("resource IPv6", func(t *testing.T) {
		info, err := c.Resource(ctx, "2001:600::/48")
		if err != nil {
			t.Fatal(err)
		}
		if got := holders(info.Chain); !slices.Equal(got, []string{"RIPE-NCC 2001:600::/23", "ORG-A 2001:600::/32"}) {
			t.Fatalf("chain %q", got)
		}
		info, err = c.Resource(ctx, "2001:db8::/32")
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Chain) != 1 || info.Holding.Holder != ipledger.IANA || info.Holding.Status != ipledger.StatusIANAPool {
			t.Fatalf("documentation prefix: %+v", info.Chain)
		}
	})

	t.Run("holding", func(t *testing.T) {
		byRes, err := c.Resource(ctx, "193.0.0.0/17")
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{byRes.Holding.Handle, strings.ToLower(byRes.Holding.Handle), strings.TrimPrefix(byRes.Holding.Handle, "IPL-H")} {
			info, err := c.Holding(ctx, id)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			if info.Holding != byRes.Holding || len(info.Chain) != 2 {
				t.Fatalf("%s: %+v", id, info)
			}
			if got := holders(info.Children); !slices.Equal(got, []string{"ORG-B 193.0.1.0/24"}) {
				t.Fatalf("%s: children %q", id, got)
			}
		}
		_, err = c.Holding(ctx, "999999")
		wantAPIError(t, "unknown holding", err, ipledger.CodeNotFound)
		_, err = c.Holding(ctx, "IPL-Hx")
		wantAPIError(t, "bad holding id", err, ipledger.CodeInvalid)
	})

	t.Run("org", func(t *testing.T) {
		o, err := c.Org(ctx, "org-a")
		if err != nil {
			t.Fatal(err)
		}
		if o.Handle != "ORG-A" || o.Sequence != 2 || o.Registry != ipledger.RIPENCC || o.Name != "Alpha Networks" ||
			len(o.Keys) != 1 || o.Keys[0] != orgA.Key.Public() || o.Height < transfer.Height {
			t.Fatalf("org %+v", o)
		}
		if k := kinds(o.History); !slices.Equal(k, []string{"register-org", "allocate", "assign", "transfer"}) {
			t.Fatalf("history %q", k)
		}
		_, err = c.Org(ctx, "ORG-NOBODY")
		wantAPIError(t, "unknown org", err, ipledger.CodeNotFound)
		status, ctype, eb := rawCall(t, "GET", srv.URL+"/v1/orgs/ORG-NOBODY", "", nil)
		if status != 404 || ctype != "application/json" || eb.Code != "not_found" || !strings.Contains(eb.Message, "ORG-NOBODY") {
			t.Fatalf("unknown org: %d %q %+v", status, ctype, eb)
		}
		_, err = c.Org(ctx, "not a handle!")
		wantAPIError(t, "bad handle", err, ipledger.CodeInvalid)

		list, err := c.Orgs(ctx, "org-", "", 0)
		if err != nil || !slices.Equal(list.Handles, []string{"ORG-A", "ORG-B"}) || list.Truncated {
			t.Fatalf("orgs: %v %+v", err, list)
		}
		list, err = c.Orgs(ctx, "ORG-", "", 1)
		if err != nil || !slices.Equal(list.Handles, []string{"ORG-A"}) || !list.Truncated {
			t.Fatalf("orgs limit 1: %v %+v", err, list)
		}
		list, err = c.Orgs(ctx, "ORG-", "ORG-A", 1)
		if err != nil || !slices.Equal(list.Handles, []string{"ORG-B"}) || list.Truncated {
			t.Fatalf("orgs after ORG-A: %v %+v", err, list)
		}
		// Six registries, the settlement agent and the two organisations.
		list, err = c.Orgs(ctx, "", "", 0)
		if err != nil || len(list.Handles) != 9 {
			t.Fatalf("all orgs: %v %+v", err, list)
		}
		_, err = c.Orgs(ctx, "", "", MaxOrgList+1)
		wantAPIError(t, "limit too big", err, ipledger.CodeInvalid)
	})

	t.Run("tx", func(t *testing.T) {
		info, err := c.Tx(ctx, transfer.Hash.String())
		if err != nil {
			t.Fatal(err)
		}
		if info.Hash != transfer.Hash || !reflect.DeepEqual(info.Outcome, *transfer.Outcome) || info.Kind != "transfer" || info.ChainID != testChain ||
			info.Sequence != 2 || info.Size != len(transferTx) || info.Time.IsZero() {
			t.Fatalf("tx %+v", info)
		}
		want := []apitypes.TxSigner{{Org: "ORG-A", Key: orgA.Key.Public()}, {Org: "ORG-B", Key: orgB.Key.Public()}}
		if !slices.Equal(info.Signers, want) {
			t.Fatalf("signers %+v", info.Signers)
		}
		var body ipledger.TransferBody
		if err := json.Unmarshal(info.Body, &body); err != nil || body.To != "ORG-B" || body.Resource.String() != "193.0.128.0/17" {
			t.Fatalf("body %s: %v", info.Body, err)
		}
		_, err = c.Tx(ctx, strings.Repeat("ab", 32))
		wantAPIError(t, "unknown tx", err, ipledger.CodeNotFound)
		_, err = c.Tx(ctx, "xyz")
		wantAPIError(t, "bad hash", err, ipledger.CodeInvalid)
	})

	t.Run("blocks", func(t *testing.T) {
		latest, err := c.Block(ctx, 0)
		if err != nil || latest.Height < transfer.Height || len(latest.AppHash) == 0 {
			t.Fatalf("latest: %v %+v", err, latest)
		}
		b, err := c.Block(ctx, transfer.Height)
		if err != nil || b.Height != transfer.Height || int(transfer.Index) >= len(b.Txs) || b.Txs[transfer.Index].Hash != transfer.Hash || b.Txs[transfer.Index].Kind != "transfer" {
			t.Fatalf("block %d: %v %+v", transfer.Height, err, b)
		}
		_, err = c.Block(ctx, latest.Height+1000)
		wantAPIError(t, "future block", err, ipledger.CodeNotFound)
		_, err = c.Block(ctx, -1)
		wantAPIError(t, "negative height", err, ipledger.CodeInvalid)
	})

	t.Run("submit errors", func(t *testing.T) {
		_, err := c.Submit(ctx, transferTx, false)
		wantAPIError(t, "replay", err, ipledger.CodeStaleSequence)
		// A replay signed anew (same sequence, different bytes) gets past the mempool cache.
		again := mustTx(t, ipledger.KindAssign, 1, ipledger.AssignBody{Items: []ipledger.AllocateItem{
			{Resource: ipledger.MustParseResource("193.0.2.0/24"), Org: "ORG-B", Status: ipledger.StatusAssignedPA},
		}}, orgA)
		status, _, eb := rawCall(t, "POST", srv.URL+"/v1/tx", "application/octet-stream", again)
		if status != 409 || eb.Code != "stale_sequence" {
			t.Fatalf("stale sequence: %d %+v", status, eb)
		}
		_, err = c.Submit(ctx, []byte("garbage"), false)
		wantAPIError(t, "garbage", err, ipledger.CodeMalformed)
		status, _, eb = rawCall(t, "POST", srv.URL+"/v1/tx", "", []byte("garbage"))
		if status != 400 || eb.Code != "malformed" {
			t.Fatalf("garbage: %d %+v", status, eb)
		}
		status, _, eb = rawCall(t, "POST", srv.URL+"/v1/tx", "application/json", []byte(`{"tx": "not base64!"}`))
		if status != 400 || eb.Code != "malformed" {
			t.Fatalf("bad JSON tx: %d %+v", status, eb)
		}
		_, err = c.Submit(ctx, nil, false)
		wantAPIError(t, "empty", err, ipledger.CodeMalformed)
		_, err = c.Submit(ctx, make([]byte, ipledger.MaxTxBytes+1), false)
		wantAPIError(t, "oversize", err, ipledger.CodeTooLarge)
		status, _, eb = rawCall(t, "POST", srv.URL+"/v1/tx", "application/octet-stream", make([]byte, 3*ipledger.MaxTxBytes))
		if status != 413 || eb.Code != "too_large" {
			t.Fatalf("oversize: %d %+v", status, eb)
		}
		status, _, eb = rawCall(t, "POST", srv.URL+"/v1/tx?wait=soon", "", transferTx)
		if status != 400 || eb.Code != "invalid" {
			t.Fatalf("bad wait: %d %+v", status, eb)
		}
		bad := mustTx(t, ipledger.KindUpdateOrg, 1, ipledger.UpdateOrgBody{Org: "ORG-B", Name: "Beta"}, ipledger.Signer{Org: "ORG-B", Key: ipledgertest.Key("intruder")})
		_, err = c.Submit(ctx, bad, false)
		wantAPIError(t, "unknown key", err, ipledger.CodeUnknownKey)
	})

	t.Run("submit JSON", func(t *testing.T) {
		tx := mustTx(t, ipledger.KindUpdateOrg, 1, ipledger.UpdateOrgBody{Org: "ORG-B", Name: "Beta Hosting GmbH"}, orgB)
		js, _ := json.Marshal(apitypes.SubmitRequest{Tx: tx})
		resp, err := http.Post(srv.URL+"/v1/tx?wait=commit", "application/json; charset=utf-8", bytes.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res apitypes.SubmitResult
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 || !res.Committed() || res.Code != 0 {
			t.Fatalf("JSON submit: %d %v %+v", resp.StatusCode, err, res)
		}
		o, err := c.Org(ctx, "ORG-B")
		if err != nil || o.Name != "Beta Hosting GmbH" || o.Sequence != 1 {
			t.Fatalf("after update: %v %+v", err, o)
		}
		// Without wait: 202 and the hash only.
		tx = mustTx(t, ipledger.KindUpdateOrg, 2, ipledger.UpdateOrgBody{Org: "ORG-B", Country: "AT"}, orgB)
		res, err = c.Submit(ctx, tx, false)
		if err != nil || res.Committed() || res.Hash != ipledger.HashTx(tx) {
			t.Fatalf("no wait: %v %+v", err, res)
		}
	})

	t.Run("bad paths", func(t *testing.T) {
		for _, q := range []string{"300.1.2.3", "193.0.0.1/16", "AS", "193.0.0.0/8/extra", "fe80::1%eth0", "1.2.3.4-1.2.3.3"} {
			_, err := c.Resource(ctx, q)
			wantAPIError(t, q, err, ipledger.CodeInvalid)
		}
		for _, tc := range []struct {
			method, path string
			status       int
			code         string
		}{
			{"GET", "/v1/resources/", 400, "invalid"},
			{"GET", "/v1/nothing", 404, "not_found"},
			{"GET", "/", 404, "not_found"},
			{"POST", "/v1/status", 405, "invalid"},
			{"DELETE", "/v1/orgs/ORG-A", 405, "invalid"},
			{"GET", "/v1/tx", 405, "invalid"},
			{"GET", "/v1/blocks/first", 400, "invalid"},
		} {
			status, ctype, eb := rawCall(t, tc.method, srv.URL+tc.path, "", nil)
			if status != tc.status || eb.Code != tc.code || ctype != "application/json" {
				t.Errorf("%s %s: %d %q %+v, want %d %s", tc.method, tc.path, status, ctype, eb, tc.status, tc.code)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte("ipledger_block_height")) {
			t.Fatalf("metrics: %d %.200s", resp.StatusCode, b)
		}
	})
}

// stateApp serves a plain state map as the committed snapshot, with no blocks, history or
// log: enough for the read handlers, without a node.
type stateApp struct{ snap *ipledger.Snapshot }

func (a stateApp) Committed() *ipledger.Snapshot { return a.snap }
func (a stateApp) Outcome(ipledger.Hash) (ipledger.TxOutcome, bool, error) {
	return ipledger.TxOutcome{}, false, nil
}
func (a stateApp) WaitCommit(ctx context.Context, _ ipledger.Hash) (ipledger.TxOutcome, error) {
	<-ctx.Done()
	return ipledger.TxOutcome{}, ctx.Err()
}
func (a stateApp) Block(int64) (*ipledger.BlockRecord, error) { return nil, nil }
func (a stateApp) HistoryPage(context.Context, string, ipledger.HistoryPos, int) ([]ipledger.HistoryEntry, bool, error) {
	return nil, false, nil
}
func (a stateApp) HistoryDetailOf(ipledger.HistoryEntry) (ipledger.HistoryDetail, bool, error) {
	return ipledger.HistoryDetail{}, false, nil
}
func (a stateApp) Leaf(uint64) ([]byte, error) { return nil, nil }
func (a stateApp) Submit(context.Context, []byte) (ipledger.Hash, error) {
	return ipledger.Hash{}, errors.New("read only")
}
func (a stateApp) Status(context.Context) (ipledger.NodeStatus, error) {
	return ipledger.NodeStatus{}, nil
}

// memState returns the test genesis plus an organisation holding 193.0.0.0/16 and AS3333.
func memState(t testing.TB) ipledger.KV {
	kv := store.NewMemKV()
	l := ledger.New(testChain)
	block := ipledger.Block{Height: 0, Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := l.InitGenesis(kv, ipledgertest.Genesis(), block); err != nil {
		t.Fatal(err)
	}
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	for i, body := range []any{
		ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-A", Name: "Alpha", Keys: []ipledger.PublicKey{ipledgertest.Key("ORG-A").Public()}}}},
		ipledger.AllocateBody{Items: []ipledger.AllocateItem{
			{Resource: ipledger.MustParseResource("193.0.0.0/16"), Org: "ORG-A", Status: ipledger.StatusAllocatedPA},
			{Resource: ipledger.MustParseResource("AS3333"), Org: "ORG-A", Status: ipledger.StatusAllocatedAS},
		}},
	} {
		kind := ipledger.KindRegisterOrg
		if i == 1 {
			kind = ipledger.KindAllocate
		}
		block.Height++
		ipledgertest.Apply(t, l, kv, block, kind, uint64(i+1), body, ripe)
	}
	return kv
}

func memServer(t testing.TB, kv ipledger.KV, logger *slog.Logger) http.Handler {
	app := stateApp{snap: &ipledger.Snapshot{State: kv, Height: 2}}
	return newServer(app, app, Options{Logger: logger})
}

// get serves a GET of path (unescaped) and returns the recorder.
func get(h http.Handler, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/", nil)
	r.URL.Path, r.URL.RawPath = path, ""
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
