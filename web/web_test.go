package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// emptyReader is a node that has committed nothing yet.
type emptyReader struct{}

func (emptyReader) Committed() *ipledger.Snapshot { return nil }
func (emptyReader) SnapshotAt(int64) (*ipledger.Snapshot, error) {
	return nil, ipledger.ErrNotRetained
}
func (emptyReader) Block(int64) (*ipledger.BlockRecord, error) { return nil, nil }
func (emptyReader) HistoryPage(context.Context, string, ipledger.HistoryPos, int) ([]ipledger.HistoryEntry, bool, error) {
	return nil, false, nil
}
func (emptyReader) HistoryDetailOf(ipledger.HistoryEntry) (ipledger.HistoryDetail, bool, error) {
	return ipledger.HistoryDetail{}, false, nil
}
func (emptyReader) Outcome(ipledger.Hash) (ipledger.TxOutcome, bool, error) {
	return ipledger.TxOutcome{}, false, nil
}
func (emptyReader) WaitCommit(ctx context.Context, _ ipledger.Hash) (ipledger.TxOutcome, error) {
	return ipledger.TxOutcome{}, ctx.Err()
}
func (emptyReader) Leaf(uint64) ([]byte, error) { return nil, nil }

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// TestEmptyChain: a node that has committed nothing serves its pages (nothing found),
// and the handler itself answers a path of no page with the HTML 404 page.
func TestEmptyChain(t *testing.T) {
	h := New(Options{Reader: emptyReader{}})
	for path, status := range map[string]int{
		"/": 200, "/leases": 200, "/log": 200, "/search?q=41.0.0.1": 200, "/search?q=ORG-A": 200,
		"/ip/41.0.0.1": 404, "/org/ORG-A": 404, "/lease/1": 404, "/nowhere": 404, "/v2/x": 404,
	} {
		rec := get(t, h, path)
		if rec.Code != status || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s, want %d HTML", path, rec.Code, rec.Header().Get("Content-Type"), status)
		}
		for _, e := range checkPage(parse(t, rec.Body.String())) {
			t.Errorf("%s: %s", path, e)
		}
	}
}

// TestBusy: with every slot taken, a page waits QueryWait and answers 503 with
// Retry-After; static files do not wait.
func TestBusy(t *testing.T) {
	h := New(Options{Reader: emptyReader{}, MaxQueries: 1, QueryWait: 1}).(*handler)
	if !h.enter(context.Background()) {
		t.Fatal("no slot")
	}
	rec := get(t, h, "/leases")
	if n := ipledgertest.MetricValue(t, h.busy); n != 1 {
		t.Errorf("ipledger_web_busy_total %v, want 1", n)
	}
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" || !strings.Contains(rec.Body.String(), "too many pages") {
		t.Fatalf("busy: %d %q", rec.Code, rec.Body.String())
	}
	if rec := get(t, h, "/static/style.css"); rec.Code != 200 {
		t.Fatalf("static while busy: %d", rec.Code)
	}
	h.leave()
	if rec := get(t, h, "/leases"); rec.Code != 200 {
		t.Fatalf("after the slot came free: %d", rec.Code)
	}
}

// TestActions: the public node's pages carry no forms but the search box and filters; a
// wallet's Actions render as labelled forms.
func TestActions(t *testing.T) {
	if body := get(t, New(Options{Reader: emptyReader{}}), "/leases").Body.String(); strings.Contains(body, `method="post"`) {
		t.Fatal("a public page has an action form")
	}
	h := New(Options{Reader: emptyReader{}, Actions: func(r *http.Request, p *Page) []Action {
		return []Action{{Label: "Take the offer", Method: "post", Path: "/wallet/lease", Fields: []Field{
			{Name: "offer", Type: "hidden", Value: "1"}, {Name: "asn", Label: "Origin AS", Type: "number"},
		}}}
	}})
	body := get(t, h, "/leases").Body.String()
	if !strings.Contains(body, `action="/wallet/lease"`) || !strings.Contains(body, "Take the offer") {
		t.Fatalf("no action form:\n%s", body)
	}
	for _, e := range checkPage(parse(t, body)) {
		t.Error(e)
	}
}

// TestOfferFilterQuery: the next page's link of the leases page reads back as the same
// filter, from the last offer shown.
func TestOfferFilterQuery(t *testing.T) {
	f := offerFilter{Registry: "AFRINIC", Country: "KE", MinSize: 1024, MaxPrice: 9}
	v, err := url.ParseQuery(f.query(7))
	if err != nil {
		t.Fatal(err)
	}
	g, err := parseOfferFilter(v)
	f.After = 7
	if err != nil || g != f {
		t.Fatalf("%+v %v, want %+v", g, err, f)
	}
}
