package client

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/httpapi"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ipledgertest/chaintest"
)

const testChain = "client-test"

// startNode starts a single-validator node in a temp dir and serves the API over it.
func startNode(t *testing.T) (*chain.Node, *httptest.Server, *Client) {
	t.Helper()
	dir := t.TempDir()
	chaintest.InitHome(t, dir, testChain, ipledgertest.Genesis(), ipledger.IANA)
	n := chaintest.StartNode(t, chain.NodeOptions{Home: dir})
	srv := httptest.NewServer(httpapi.New(httpapi.Options{Node: n}))
	t.Cleanup(srv.Close)
	return n, srv, &Client{Base: srv.URL + "/"}
}

// registerOrg is the register-org transaction of handle with the test chain's RIPE NCC
// sequence seq.
func registerOrg(t *testing.T, seq uint64, handle string) []byte {
	t.Helper()
	body := ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: handle, Name: "Submit conn " + handle}}}
	tx, err := ipledger.BuildTx(testChain, ipledger.KindRegisterOrg, seq, 0, body, ipledgertest.Signer(ipledger.RIPENCC))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

// TestClientRetriesBusy: the client asks again after a busy or rate-limited answer's
// Retry-After, and gives up after a few.
func TestClientRetriesBusy(t *testing.T) {
	var calls int
	busyFor := 2
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls <= busyFor {
			w.Header().Set("Retry-After", "0")
			if calls%2 == 0 {
				w.WriteHeader(http.StatusTooManyRequests)
				w.Write([]byte(`{"code":"rate_limited","message":"slow down"}`))
				return
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"code":"busy","message":"too many"}`))
			return
		}
		w.Write([]byte(`{"height":7,"handles":[]}`))
	}))
	defer srv.Close()
	cl := &Client{Base: srv.URL}
	list, err := cl.Orgs(context.Background(), "", "", 0)
	if err != nil || list.Height != 7 || calls != 3 {
		t.Fatalf("after %d calls: %v %v", calls, list, err)
	}
	calls, busyFor = 0, 100
	if _, err := cl.Orgs(context.Background(), "", "", 0); err == nil || calls != readRetries+1 {
		t.Fatalf("always busy: %d calls, err %v", calls, err)
	}
	if got := apiError(http.StatusServiceUnavailable, []byte(`{"code":"busy","message":"m"}`)); ipledger.ErrorCode(got) != ipledger.CodeBusy || ipledger.ErrorMessage(got) == "" {
		t.Fatalf("client error of a busy answer: %v", got)
	}
	// Fetch retries the same way and then hands back the last answer as it is.
	calls = 0
	b, status, err := cl.Fetch(context.Background(), "/v1/log/checkpoint", nil, 0)
	if err != nil || status != http.StatusTooManyRequests || calls != readRetries+1 || ErrorMessage(b) != "rate_limited: slow down" {
		t.Fatalf("fetch while busy: %d calls, %d %q %v", calls, status, b, err)
	}
}

// TestResponseCap: an answer longer than MaxResponse is an error, for JSON answers and for
// Fetch, never a body cut short; one of exactly MaxResponse bytes is read whole.
func TestResponseCap(t *testing.T) {
	var size int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := append([]byte(`{"height":7,"handles":[],"x":"`), bytes.Repeat([]byte("a"), size)...)
		w.Write(append(body, `"}`...))
	}))
	defer srv.Close()
	cl := &Client{Base: srv.URL}
	pad := len(`{"height":7,"handles":[],"x":""}`)
	size = MaxResponse - pad
	if list, err := cl.Orgs(context.Background(), "", "", 0); err != nil || list.Height != 7 {
		t.Fatalf("an answer of MaxResponse bytes: %v %v", list, err)
	}
	size++
	if _, err := cl.Orgs(context.Background(), "", "", 0); !errors.Is(err, errTooLarge) {
		t.Fatalf("an answer over MaxResponse: %v", err)
	}
	if b, _, err := cl.Fetch(context.Background(), "/v1/log/checkpoint", nil, 0); !errors.Is(err, errTooLarge) || b != nil {
		t.Fatalf("fetch over MaxResponse: %d bytes, %v", len(b), err)
	}
	// A smaller limit of the caller's holds exactly.
	size = 1000 - pad
	if b, _, err := cl.Fetch(context.Background(), "/v1/log/checkpoint", nil, 1000); err != nil || len(b) != 1000 {
		t.Fatalf("fetch of the limit: %d bytes, %v", len(b), err)
	}
	if b, _, err := cl.Fetch(context.Background(), "/v1/log/checkpoint", nil, 999); !errors.Is(err, errTooLarge) || b != nil {
		t.Fatalf("fetch over the limit: %d bytes, %v", len(b), err)
	}
}

// TestFetch: Fetch hands back the body and status of any answer; the path and query reach
// the server as given.
func TestFetch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/log/tile/0/000" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"code":"not_found","message":"no such tile"}`))
			return
		}
		w.Write([]byte(r.URL.Path + "?" + r.URL.RawQuery))
	}))
	defer srv.Close()
	cl := &Client{Base: srv.URL + "/"}
	b, status, err := cl.Fetch(context.Background(), "/v1/log/tile/0/000", nil, 0)
	if err != nil || status != http.StatusNotFound || ErrorMessage(b) != "not_found: no such tile" {
		t.Fatalf("missing tile: %d %q %v", status, b, err)
	}
	b, status, err = cl.Fetch(context.Background(), "/v1/log/proof/consistency", map[string][]string{"old": {"1"}, "new": {"2"}}, 0)
	if err != nil || status != http.StatusOK || string(b) != "/v1/log/proof/consistency?new=2&old=1" {
		t.Fatalf("query: %d %q %v", status, b, err)
	}
	if got := ErrorMessage([]byte("  <html>" + strings.Repeat("x", 300))); len(got) != 198 || !strings.HasPrefix(got, "<html>") {
		t.Fatalf("a body that is no error body: %q", got)
	}
}

// TestDefaultTimeout: a Client without HTTP gives up on a node that does not answer.
func TestDefaultTimeout(t *testing.T) {
	if defaultHTTP.Timeout != DefaultTimeout || DefaultTimeout <= 0 {
		t.Fatalf("default client timeout %v", defaultHTTP.Timeout)
	}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	defer close(release)
	old := defaultHTTP
	defaultHTTP = &http.Client{Timeout: 50 * time.Millisecond}
	defer func() { defaultHTTP = old }()
	start := time.Now()
	if _, err := (&Client{Base: srv.URL}).Status(context.Background()); err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("a node that does not answer: %v after %v", err, time.Since(start))
	}
}

// TestImports: the client and its wire types link no server, chain, store, state proof or
// CometBFT code.
func TestImports(t *testing.T) {
	for _, pkg := range []string{"github.com/ipledger/ipledger/client", "github.com/ipledger/ipledger/apitypes"} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, bad := range []string{"github.com/cometbft/", "github.com/ipledger/ipledger/httpapi", "github.com/ipledger/ipledger/chain",
				"github.com/ipledger/ipledger/store", "github.com/ipledger/ipledger/stateproof"} {
				if strings.HasPrefix(dep, bad) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
