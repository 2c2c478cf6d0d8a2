package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// run runs the command line args in this process and returns its exit code and output.
func run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// serveNode serves h, a stand-in for a node's API, until the test ends, and returns its
// URL.
func serveNode(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// fakeNode answers GET /v1/status and POST /v1/tx as a node would; commit says whether a
// submission waiting for its commit sees it (200 with an outcome) or the wait runs out
// (202 with the hash only). blockTime is the last block's time it reports.
type fakeNode struct {
	commit    bool
	blockTime time.Time
	mu        sync.Mutex
	got       [][]byte // transactions submitted
}

func (n *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/status":
		json.NewEncoder(w).Encode(map[string]any{"chain_id": "fake-chain", "height": 7, "time": n.blockTime})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/tx":
		b, _ := io.ReadAll(r.Body)
		n.mu.Lock()
		n.got = append(n.got, b)
		n.mu.Unlock()
		res := map[string]any{"hash": ipledger.HashTx(b)}
		if r.URL.Query().Get("wait") == "commit" && n.commit {
			res["height"], res["index"], res["code"], res["code_name"] = 8, 0, 0, "ok"
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusAccepted)
		}
		json.NewEncoder(w).Encode(res)
	default:
		http.NotFound(w, r)
	}
}

func (n *fakeNode) last(t *testing.T) *ipledger.Tx {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.got) == 0 {
		t.Fatal("nothing submitted")
	}
	tx, err := ipledger.DecodeTx(n.got[len(n.got)-1])
	if err != nil {
		t.Fatal(err)
	}
	return tx
}
