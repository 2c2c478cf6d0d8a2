package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// benchClients is how many clients ask at once in BenchmarkPages.
const benchClients = 50

// BenchmarkPages renders the search, resource and organisation pages of a chain with the
// whole 2014-06 import (the four registries' statistics), served over HTTP as a node
// serves them, with 50 clients asking at once. It reports each page's p50 and p99
// latency and its weight. The import takes a minute or two before the first figure.
func BenchmarkPages(b *testing.B) {
	dir := ipledgertest.Data(b, "delegated/2014-06")
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var paths []string
	for _, e := range ents {
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	start := time.Now()
	w := newWorld(b, paths...)
	kv := w.c.App().Committed().State
	// The holder with the most holdings, found rather than assumed: the heaviest page of
	// its kind.
	counts := map[string]int{}
	ledger.Holdings(kv, func(h *ipledger.Holding) bool {
		if !slices.Contains(ipledger.Registries, h.Holder) {
			counts[h.Holder]++
		}
		return true
	})
	big := ""
	for org, n := range counts {
		if big == "" || n > counts[big] || n == counts[big] && org < big {
			big = org
		}
	}
	b.Logf("imported %d files in %s; %d holders, the largest %s with %d holdings", len(paths), time.Since(start).Round(time.Second), len(counts), big, counts[big])
	// The same pages from a handler that renders every request: the render's own cost.
	h := New(Options{Reader: w.c.App()}).(*handler)
	h.noCache = true
	uncached := httptest.NewServer(h)
	defer uncached.Close()
	for _, pg := range []struct{ name, path string }{
		{"search-address", "/search?q=193.0.0.1"},
		{"search-name", "/search?q=telecom"},
		{"resource-address", "/ip/193.0.0.1"},
		{"resource-pool", "/ip/88.0.0.0/8"},
		{"resource-as", "/as/3333"},
		{"org-registry", "/org/RIPE-NCC"},
		{"org-holder", "/org/" + big},
	} {
		b.Run(pg.name+"/render", func(b *testing.B) { benchPage(b, uncached.URL+pg.path, 1) })
		b.Run(pg.name+"/50-clients", func(b *testing.B) { benchPage(b, w.srv.URL+pg.path, benchClients) })
	}
}

// benchPage asks for u b.N times from clients at once and reports the p50 and p99
// latency and the page's size.
func benchPage(b *testing.B, u string, clients int) {
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	fetch := func() (int, time.Duration) {
		t0 := time.Now()
		resp, err := cl.Get(u)
		if err != nil {
			b.Error(err)
			return 0, 0
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 && resp.StatusCode != http.StatusSeeOther {
			b.Errorf("%s: %d", u, resp.StatusCode)
		}
		return int(n), time.Since(t0)
	}
	size, _ := fetch() // warm: the page index is built once per state
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				_, lat[i] = fetch()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(size), "page-bytes")
}
