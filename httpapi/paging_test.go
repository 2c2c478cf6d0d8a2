package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// manyChildren is memState with ORG-A's 193.0.0.0/16 assigned on in n /28s.
func manyChildren(t testing.TB, n int) ipledger.KV {
	kv := memState(t)
	l := ledger.New(testChain)
	orgA := ipledgertest.Signer("ORG-A")
	for i, seq := 0, uint64(1); i < n; seq++ {
		var items []ipledger.AllocateItem
		for ; i < n && len(items) < 400; i++ {
			res := ipledger.MustParseResource(fmt.Sprintf("193.0.%d.%d/28", i/16, i%16*16))
			items = append(items, ipledger.AllocateItem{Resource: res, Org: "ORG-A", Status: ipledger.StatusAssignedPA})
		}
		ipledgertest.Apply(t, l, kv, ipledger.Block{Height: 10 + int64(seq), Time: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)}, ipledger.KindAssign, seq, ipledger.AssignBody{Items: items}, orgA)
	}
	return kv
}

// getOK serves a GET of path and decodes its answer, which must be 200 OK, into a T.
func getOK[T any](t *testing.T, h http.Handler, path string) T {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var v T
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &v) != nil {
		t.Fatalf("%s: %d %s", path, w.Code, w.Body)
	}
	return v
}

// TestChildrenPaging: a holding with more children than an answer holds is answered a
// page at a time; children_next resumes exactly where the page stopped.
func TestChildrenPaging(t *testing.T) {
	const n = MaxChildren*2 + 345
	h := memServer(t, manyChildren(t, n), nil)
	seen := map[string]bool{}
	var last ipledger.Resource
	path := "/v1/resources/193.0.0.0/16"
	pages := 0
	for {
		info := getOK[apitypes.ResourceInfo](t, h, path)
		pages++
		if len(info.Children) > MaxChildren || info.ChildrenTruncated != (info.ChildrenNext != "") {
			t.Fatalf("page %d: %d children, truncated %v, next %q", pages, len(info.Children), info.ChildrenTruncated, info.ChildrenNext)
		}
		for _, c := range info.Children {
			if seen[c.Resource.String()] || (last != ipledger.Resource{}) && c.Resource.Compare(last) <= 0 {
				t.Fatalf("page %d: %s repeated or out of order", pages, c.Resource)
			}
			seen[c.Resource.String()], last = true, c.Resource
		}
		if !info.ChildrenTruncated {
			break
		}
		if len(info.Children) != MaxChildren || info.ChildrenNext != last.String() {
			t.Fatalf("page %d: %d children, next %q after %s", pages, len(info.Children), info.ChildrenNext, last)
		}
		path = "/v1/resources/193.0.0.0/16?children_after=" + url.QueryEscape(info.ChildrenNext)
	}
	if len(seen) != n || pages != 3 {
		t.Fatalf("%d children in %d pages, want %d in 3", len(seen), pages, n)
	}
	if w := get(h, "/v1/resources/193.0.0.0/16"); w.Code != 200 {
		t.Fatal(w.Code)
	}
	for _, q := range []string{"children_after=x", "history_after=1", "history_after=a.b"} {
		r := httptest.NewRequest("GET", "/v1/resources/193.0.0.0/16?"+q, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 400 {
			t.Errorf("%s: %d %s", q, w.Code, w.Body)
		}
	}
}

// countKV counts the values its Iterate hands out.
type countKV struct {
	ipledger.KV
	mu sync.Mutex
	n  int
}

func (c *countKV) Iterate(start, end []byte, reverse bool, fn func(k, v []byte) bool) error {
	return c.KV.Iterate(start, end, reverse, func(k, v []byte) bool {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
		return fn(k, v)
	})
}

// TestChildrenBounded: an answer reads one child more than it lists, not all of them, and
// a request whose client has gone reads none and answers nothing.
func TestChildrenBounded(t *testing.T) {
	kv := &countKV{KV: manyChildren(t, 4000)}
	h := memServer(t, kv, nil)
	info := getOK[apitypes.ResourceInfo](t, h, "/v1/resources/193.0.0.0/16")
	if len(info.Children) != MaxChildren || !info.ChildrenTruncated {
		t.Fatalf("%d children", len(info.Children))
	}
	if kv.n > MaxChildren+10 {
		t.Fatalf("read %d values for %d children", kv.n, MaxChildren)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	kv.n = 0
	r := httptest.NewRequest("GET", "/v1/resources/193.0.0.0/16", nil).WithContext(ctx)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if kv.n > 10 || w.Body.Len() != 0 {
		t.Fatalf("gone client: read %d values, answered %d %s", kv.n, w.Code, w.Body)
	}
}

// blockingApp is a stateApp whose Committed waits for release while hold is set: a read
// that takes its time.
type blockingApp struct {
	stateApp
	entered chan struct{}
	release chan struct{}
}

func (a blockingApp) Committed() *ipledger.Snapshot {
	a.entered <- struct{}{}
	<-a.release
	return a.stateApp.Committed()
}

// TestQueryGate: beyond MaxQueries expensive queries at once, the next waits QueryWait and
// is answered 503 busy with Retry-After; status stays answered meanwhile.
func TestQueryGate(t *testing.T) {
	app := blockingApp{stateApp: stateApp{snap: &ipledger.Snapshot{State: memState(t), Height: 2}},
		entered: make(chan struct{}, 8), release: make(chan struct{})}
	h := newServer(app, app, Options{MaxQueries: 2, QueryWait: 100 * time.Millisecond})
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- get(h, "/v1/orgs/ORG-A").Code
		}()
	}
	<-app.entered
	<-app.entered
	start := time.Now()
	third := make(chan *httptest.ResponseRecorder, 1)
	go func() { third <- get(h, "/v1/resources/193.0.0.0/16") }()
	var w *httptest.ResponseRecorder
	select {
	case w = <-third:
	case <-time.After(3 * time.Second):
		close(app.release)
		t.Fatal("a third expensive query was not refused: nothing bounds them")
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Errorf("refused after %v", d)
	}
	var eb apitypes.ErrorBody
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || json.Unmarshal(w.Body.Bytes(), &eb) != nil || eb.Code != ipledger.CodeBusy.String() {
		t.Fatalf("third query: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if _, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil {
		t.Fatalf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	if w := get(h, "/v1/status"); w.Code != 200 {
		t.Fatalf("status while the gate is full: %d %s", w.Code, w.Body)
	}
	if w := get(h, "/rdap/help"); w.Code != http.StatusServiceUnavailable && w.Code != http.StatusNotFound {
		t.Fatalf("rdap while full: %d", w.Code)
	}
	close(app.release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Fatalf("admitted query: %d", c)
		}
	}
	if w := get(h, "/v1/resources/193.0.0.0/16"); w.Code != 200 {
		t.Fatalf("after release: %d %s", w.Code, w.Body)
	}
}

// historyApp is a stateApp whose objects each have a long history: entry i of an object
// sits at height 1+i/3, index i%3.
type historyApp struct {
	stateApp
	n     int
	reads *int
}

func (a historyApp) HistoryPage(ctx context.Context, obj string, after ipledger.HistoryPos, limit int) ([]ipledger.HistoryEntry, bool, error) {
	var out []ipledger.HistoryEntry
	for i := range a.n {
		e := ipledger.HistoryEntry{Height: 1 + int64(i/3), Index: uint32(i % 3)}
		if e.Height < after.Height || e.Height == after.Height && e.Index <= after.Index {
			continue
		}
		if len(out) == limit {
			return out, true, nil
		}
		*a.reads++
		out = append(out, e)
	}
	return out, false, nil
}

func (a historyApp) HistoryDetailOf(e ipledger.HistoryEntry) (ipledger.HistoryDetail, bool, error) {
	return ipledger.HistoryDetail{Time: time.Unix(e.Height, 0), Kind: "update-org"}, true, nil
}

// TestHistoryPaging: an organisation's history longer than an answer holds is answered a
// page at a time; history_next resumes exactly where the page stopped.
func TestHistoryPaging(t *testing.T) {
	const n = MaxHistory*2 + 17
	reads := 0
	app := historyApp{stateApp: stateApp{snap: &ipledger.Snapshot{State: memState(t), Height: 2}}, n: n, reads: &reads}
	h := newServer(app, app, Options{})
	var got []ipledger.HistoryPos
	path := "/v1/orgs/ORG-A"
	for pages := 1; ; pages++ {
		info := getOK[apitypes.OrgInfo](t, h, path)
		for _, e := range info.History {
			p := ipledger.HistoryPos{Height: e.Height, Index: e.Index}
			if len(got) > 0 && (p.Height < got[len(got)-1].Height || p == got[len(got)-1]) {
				t.Fatalf("page %d: %v after %v", pages, p, got[len(got)-1])
			}
			got = append(got, p)
		}
		if !info.HistoryTruncated {
			break
		}
		if info.HistoryNext != got[len(got)-1].String() || len(info.History) != MaxHistory {
			t.Fatalf("page %d: %d entries, next %q", pages, len(info.History), info.HistoryNext)
		}
		path = "/v1/orgs/ORG-A?history_after=" + info.HistoryNext
		if pages > 3 {
			t.Fatal("paging does not end")
		}
	}
	if len(got) != n || reads != n {
		t.Fatalf("%d entries listed, %d read; want %d", len(got), reads, n)
	}
}

// TestOrgListFromCursor: a page of GET /v1/orgs starts reading at its cursor, not at the
// first handle.
func TestOrgListFromCursor(t *testing.T) {
	kv := memState(t)
	var orgs []ipledger.NewOrg
	for i := range 600 {
		orgs = append(orgs, ipledger.NewOrg{Handle: fmt.Sprintf("ORG-X%04d", i), Name: "x"})
	}
	ipledgertest.Apply(t, ledger.New(testChain), kv, ipledger.Block{Height: 5, Time: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)}, ipledger.KindRegisterOrg, 3, ipledger.RegisterOrgBody{Orgs: orgs}, ipledgertest.Signer(ipledger.RIPENCC))
	ckv := &countKV{KV: kv}
	h := memServer(t, ckv, nil)
	ckv.n = 0
	list := getOK[apitypes.OrgList](t, h, "/v1/orgs?after=ORG-X0500&limit=10")
	if len(list.Handles) != 10 || list.Handles[0] != "ORG-X0501" || !list.Truncated {
		t.Fatalf("%+v", list)
	}
	if ckv.n > 12 {
		t.Fatalf("read %d organisations for a page of 10", ckv.n)
	}
}

// stuckWriter is a client that does not read: its Write blocks until release.
type stuckWriter struct {
	*httptest.ResponseRecorder
	writing chan struct{}
	release chan struct{}
}

func (s *stuckWriter) Write(p []byte) (int, error) {
	close(s.writing)
	<-s.release
	return s.ResponseRecorder.Write(p)
}

// TestQueryGateSlowReader: a client that does not read its answer does not keep a slot.
func TestQueryGateSlowReader(t *testing.T) {
	app := stateApp{snap: &ipledger.Snapshot{State: memState(t), Height: 2}}
	h := newServer(app, app, Options{MaxQueries: 1, QueryWait: 100 * time.Millisecond})
	sw := &stuckWriter{ResponseRecorder: httptest.NewRecorder(), writing: make(chan struct{}), release: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(sw, httptest.NewRequest("GET", "/v1/resources/193.0.0.0/16", nil))
	}()
	<-sw.writing
	w := get(h, "/v1/resources/193.0.5.0/24")
	close(sw.release)
	<-done
	if w.Code != 200 {
		t.Fatalf("while a client does not read: %d %s", w.Code, w.Body)
	}
}
