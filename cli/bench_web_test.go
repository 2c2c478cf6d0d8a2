package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
)

// TestBenchWeb runs bench web against a fake node: it samples handles and holdings from
// the JSON API, fetches every page kind (a search's 303 counted, not followed) and reports
// each kind's row.
func TestBenchWeb(t *testing.T) {
	var pages, redirects atomic.Int64
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/v1/orgs":
			json.NewEncoder(w).Encode(apitypes.OrgList{Handles: []string{"AFRINIC-R0000005", "RIPE-R0000001"}})
		case strings.HasPrefix(p, "/v1/resources/"):
			res := ipledger.MustParseResource("41.0.0.0/11")
			if strings.HasPrefix(p, "/v1/resources/AS") {
				res = ipledger.MustParseResource("AS1228")
			}
			json.NewEncoder(w).Encode(apitypes.ResourceInfo{Resource: res, Holding: apitypes.HoldingInfo{Resource: res, Depth: 1}})
		case p == "/search" && strings.Contains(r.URL.RawQuery, "."):
			redirects.Add(1)
			http.Redirect(w, r, "/ip/41.0.0.1", http.StatusSeeOther)
		case p == "/search" || strings.HasPrefix(p, "/ip/") || strings.HasPrefix(p, "/as/") || strings.HasPrefix(p, "/org/"):
			pages.Add(1)
			w.Write([]byte("<!DOCTYPE html><p>page</p>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer node.Close()
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out}
	err := runBenchWeb(context.Background(), e, webOptions{node: node.URL, clients: 4, dur: 300 * time.Millisecond, orgs: 10, probes: 20, seed: 1, maxOrgListings: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sample: 2 organisations, 1 IP holdings, 1 AS numbers", "search ", "resource ", "org ", "all "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "first error") || pages.Load() == 0 || redirects.Load() == 0 {
		t.Errorf("pages %d, redirects %d:\n%s", pages.Load(), redirects.Load(), out.String())
	}
}
