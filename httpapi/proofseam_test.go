package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
)

// prunedApp is a Reader whose past states are pruned.
type prunedApp struct{ stateApp }

func (prunedApp) SnapshotAt(h int64) (*ipledger.Snapshot, error) {
	return nil, fmt.Errorf("state at height %d: %w", h, ipledger.ErrNotRetained)
}

// headerNode has signed headers up to last, and none it can hand out.
type headerNode struct {
	stateApp
	last int64
}

func (n headerNode) LastHeaderHeight() int64 { return n.last }
func (headerNode) SignedHeader(context.Context, int64) ([]byte, []byte, error) {
	return nil, nil, ipledger.ErrNoHeader
}

// TestProofNotRetained: a proof at a height whose state the Reader no longer retains is
// 404 not_found saying so, not an internal error.
func TestProofNotRetained(t *testing.T) {
	app := prunedApp{stateApp{snap: &ipledger.Snapshot{State: memState(t), Height: 9}}}
	h := newServer(headerNode{app.stateApp, 10}, app, Options{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/proof/orgs/ORG-A?height=5", nil))
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "not retained") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}
