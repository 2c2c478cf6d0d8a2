package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/client"
)

// haltedNode is a node that halted: its status says so and it refuses transactions as
// chain.Node does.
type haltedNode struct{ stateApp }

func (haltedNode) Status(context.Context) (ipledger.NodeStatus, error) {
	return ipledger.NodeStatus{ChainID: testChain, Height: 7, Halted: true, HaltReason: "consensus failure: test"}, nil
}

func (haltedNode) Submit(_ context.Context, tx []byte) (ipledger.Hash, error) {
	return ipledger.HashTx(tx), ipledger.Errorf(ipledger.CodeUnavailable, "node halted: consensus failure: test")
}

// TestStatusHalted: a halted node answers its status with 503 and the status body, so a
// health check sees it down and an operator sees why; a submission gets 503 "unavailable".
func TestStatusHalted(t *testing.T) {
	app := stateApp{snap: &ipledger.Snapshot{State: memState(t), Height: 7}}
	h := newServer(haltedNode{app}, app, Options{})
	w := get(h, "/v1/status")
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status of a halted node: %d, want 503", w.Code)
	}
	var st ipledger.NodeStatus
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil || !st.Halted || st.HaltReason != "consensus failure: test" || st.Height != 7 {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	r := httptest.NewRequest("POST", "/v1/tx", strings.NewReader("{}"))
	r.Header.Set("Content-Type", "application/octet-stream")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var eb apitypes.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || w.Code != http.StatusServiceUnavailable || eb.Code != "unavailable" {
		t.Fatalf("submit to a halted node: %d %s", w.Code, w.Body)
	}
	// The client says why, in full.
	srv := httptest.NewServer(h)
	defer srv.Close()
	if _, err := (&client.Client{Base: srv.URL}).Status(context.Background()); ipledger.ErrorCode(err) != ipledger.CodeUnavailable || !strings.Contains(err.Error(), "node halted: consensus failure: test") {
		t.Fatalf("client status of a halted node: %v", err)
	}
	// A running node answers 200.
	if w := get(newServer(app, app, Options{}), "/v1/status"); w.Code != http.StatusOK {
		t.Fatalf("status of a running node: %d", w.Code)
	}
}

// TestWriteJSONEscapes: JSON API answers carry C1, format and separator characters as \u
// escapes, whatever the state holds, so nothing a terminal acts on is printed raw.
func TestWriteJSONEscapes(t *testing.T) {
	s := &server{}
	w := httptest.NewRecorder()
	s.writeJSON(w, http.StatusOK, map[string]string{"name": "Alpha\u202e\u0085\u007fNet"})
	body := w.Body.String()
	if strings.ContainsAny(body, "\u202e\u0085\u007f") || !strings.Contains(body, `Alpha\u202e\u0085\u007fNet`) {
		t.Fatalf("answer %q", body)
	}
	var v map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v["name"] != "Alpha\u202e\u0085\u007fNet" {
		t.Fatalf("decoded %q: %v", v, err)
	}
}
