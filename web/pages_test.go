package web

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// maxPageBytes is the most a page may weigh before compression.
const maxPageBytes = 100 << 10

// TestPages serves every page for every kind of object of a chain with AFRINIC's real
// 2014-06 statistics imported and the leasing objects on top, through the JSON API's
// handler as a node mounts it: status codes, search redirects, escaping, the HTML 404,
// the JSON API's own 404 under /v1/, then a crawl that follows every link of every page
// (each must resolve) and checks each page's accessibility and weight.
func TestPages(t *testing.T) {
	w := newWorld(t, ipledgertest.Data(t, "delegated/2014-06/delegated-afrinic-latest"))
	kv := w.c.App().Committed().State
	// Real imported objects, found rather than assumed: an IPv6 block, an AS number and
	// their holder.
	var v6, asn *ipledger.Holding
	ledger.Holdings(kv, func(h *ipledger.Holding) bool {
		if h.Depth == 1 && h.Holder != "ORG-A" && h.Holder != "ORG-X" {
			switch {
			case v6 == nil && h.Resource.Family() == ipledger.IPv6:
				v6 = h
			case asn == nil && h.Resource.Family() == ipledger.ASN:
				asn = h
			}
		}
		return v6 == nil || asn == nil
	})
	if v6 == nil || asn == nil {
		t.Fatal("the import has no IPv6 or AS holding")
	}
	holder, _ := ledger.Org(kv, v6.Holder)
	asNum := strconv.FormatUint(uint64(asn.Resource.FirstAS()), 10)
	pages := []struct {
		path   string
		status int
		want   string
	}{
		{"/", 200, "registry explorer"},
		{"/ip/" + w.block.String(), 200, "Alpha Networks"},
		{"/ip/" + w.leased.FirstAddr().String(), 200, "Lagos"},
		{"/ip/" + w.hostile.String(), 200, "ORG-X"},
		{"/ip/" + v6.Resource.String(), 200, v6.Holder},
		{"/ip/10.0.0.0/8", 200, "IANA"},
		{"/as/" + asNum, 200, asn.Holder},
		{"/as/AS" + asNum, 200, asn.Holder},
		{"/as/64501", 200, "in force"},
		{"/as/64500", 200, "suppressed"},
		{"/org/ORG-A", 200, "Alpha Networks"},
		{"/org/ORG-A", 200, `href="/v1/orgs/ORG-A/holdings"`},
		{"/org/org-b", 200, "lessee"},
		{"/org/ORG-X", 200, "ORG-X"},
		{"/org/AFRINIC", 200, "authoritative"},
		{"/org/" + holder.Handle, 200, v6.Resource.String()},
		{"/leases", 200, "Open offers"},
		{"/leases?registry=AFRINIC&country=KE&min_size=256&max_price=5", 200, "offer-2"},
		{"/leases?registry=ARIN", 200, "No open offer matches"},
		{"/lease/1", 200, "Payment schedule"},
		{"/log", 200, "ipledger audit --node"},
		{"/market", 200, `<a href="/listing/2">2</a>`},
		{"/market", 200, "7000 by <a href=\"/org/ORG-C\">ORG-C</a>"},
		{"/market", 200, "1 day 11 hours"},
		{"/market", 200, "<polyline"},
		{"/market", 200, `<a href="/listing/1">listing</a>`},
		{"/market", 200, ">swap<"},
		{"/market", 200, `href="/v1/market/trades?format=csv"`},
		{"/market", 200, `id="classes"`},
		{"/listing/1", 200, "sold"},
		{"/ip/" + w.listed.String(), 200, `<a href="/listing/2">Listing 2</a>`},
		{"/ip/" + w.listed.FirstAddr().String(), 200, "7000 by"},
		{"/ip/" + w.sold.String(), 200, "Last traded"},
		{"/ip/" + w.sold.String(), 200, "(117 per address)"},
		{"/listing/1", 200, "AS64502"},
		{"/listing/2", 200, "left at this block"},
		{"/listing/2", 200, `href="/v1/market/listings/2"`},
		{"/search", 200, "Type an address"},
		{"/search?q=" + url.QueryEscape(hostileName), 200, "ORG-X"},
		{"/search?q=alpha+networks", 200, "ORG-A"},
		{"/search?q=zzzz-nothing", 200, "Nothing found"},
		{"/search?q=300.1.2.3", 200, "Nothing found"},
		{"/static/style.css", 200, "contrast"},
		{"/static/app.js", 200, "local time"},
	}
	for _, h := range w.txs {
		pages = append(pages, struct {
			path   string
			status int
			want   string
		}{"/tx/" + h.String(), 200, h.String()})
	}
	for _, bad := range []struct {
		path   string
		status int
		want   string
	}{
		{"/nowhere", 404, "no page"},
		{"/tx/", 400, "not a transaction hash"},
		{"/lease/1/more", 400, "positive number"},
		{"/ip/nonsense", 400, "not an address"},
		{"/ip/", 400, "no address"},
		{"/as/x1", 400, "not an AS"},
		{"/ip/AS1", 400, "not an address"},
		{"/org/NO-SUCH-ORG", 404, "no organisation"},
		{"/org/bad handle", 400, "not an organisation handle"},
		{"/lease/99", 404, "no lease 99"},
		{"/listing/99", 404, "no listing 99"},
		{"/listing/0", 400, "positive number"},
		{"/listing/" + url.PathEscape(hostileName), 400, "positive number"},
		{"/lease/x", 400, "positive number"},
		{"/tx/" + strings.Repeat("ab", 32), 404, "not committed"},
		{"/tx/xyz", 400, "not a transaction hash"},
		{"/leases?country=XYZ", 400, "two-letter"},
		{"/ip/" + w.block.String() + "?history_after=x", 400, "history_after"},
		{"/static/nothing.css", 404, "no such file"},
	} {
		pages = append(pages, bad)
	}
	for _, tc := range pages {
		st, _, body := w.get(t, tc.path)
		if st != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want %d with %q:\n%.2000s", tc.path, st, tc.status, tc.want, body)
		}
	}

	t.Run("search", func(t *testing.T) {
		for q, want := range map[string]string{
			w.leased.FirstAddr().String():      "/ip/" + w.leased.FirstAddr().String(),
			w.block.String():                   "/ip/" + w.block.String(),
			"AS" + asNum:                       "/as/" + asNum,
			asNum:                              "/as/" + asNum,
			"org-a":                            "/org/ORG-A",
			"IPL-H1":                           "/ip/",
			w.txs[0].String():                  "/tx/" + w.txs[0].String(),
			strings.ToUpper(w.txs[0].String()): "/tx/" + w.txs[0].String(),
		} {
			for range 2 { // rendered, then from the pages of this height
				st, loc, _ := w.get(t, "/search?q="+url.QueryEscape(q))
				if st != http.StatusSeeOther || !strings.HasPrefix(loc, want) {
					t.Errorf("search %q: %d %q, want a redirect to %s", q, st, loc, want)
				}
			}
		}
	})

	t.Run("escaped", func(t *testing.T) {
		for _, path := range []string{"/org/ORG-X", "/ip/" + w.hostile.String(), "/search?q=" + url.QueryEscape(hostileName), "/listing/" + url.PathEscape(hostileName)} {
			_, _, body := w.get(t, path)
			if strings.Contains(body, hostileName) {
				t.Errorf("%s: the hostile name is in the page unescaped", path)
			}
			if path == "/org/ORG-X" && !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("%s: the hostile name is not shown as text", path)
			}
		}
	})

	t.Run("json api still answers", func(t *testing.T) {
		resp, err := http.Get(w.srv.URL + "/v1/nothing")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("/v1/nothing: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		resp, err = http.Post(w.srv.URL+"/v1/status", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Fatalf("POST /v1/status: %d", resp.StatusCode)
		}
	})

	t.Run("next block", func(t *testing.T) {
		// A page is rendered again once a block changes what it shows.
		_, _, before := w.get(t, "/org/ORG-B")
		if _, _, again := w.get(t, "/org/ORG-B"); again != before {
			t.Fatal("the same page at the same height differs")
		}
		w.c.Block(w.c.Tx(ipledger.KindMint, ipledger.MintBody{To: "ORG-B", Amount: 5}, ipledgertest.Agent))
		_, _, after := w.get(t, "/org/ORG-B")
		if after == before || !strings.Contains(after, "Read at height "+`<a href="/log">`+strconv.FormatInt(w.c.Height(), 10)) {
			t.Fatalf("after a block the organisation page is the same:\n%.3000s", after)
		}
		// The page index follows the chain block by block: ORG-A assigns part of its block
		// on to ORG-B, and both pages say so without a new walk of the state.
		builds := w.handler.idx.builds
		part := mustPrefix(t, w.block.LastAddr(), 25) // the last half /24 of the block: not offered
		w.c.Block(w.c.Tx(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: part, Org: "ORG-B", Status: ipledger.StatusAssignedPA}}}, "ORG-A"))
		if _, _, b := w.get(t, "/org/ORG-B"); !strings.Contains(b, part.String()) || !strings.Contains(b, "Holdings (2)") {
			t.Errorf("ORG-B's page after the assignment:\n%.3000s", b)
		}
		if _, _, b := w.get(t, "/search?q=beta+hosting"); !strings.Contains(b, "ORG-B") {
			t.Errorf("search after the assignment:\n%.3000s", b)
		}
		// A bid moves the listing on the block's page too (the index follows listings).
		if _, _, b := w.get(t, "/ip/"+w.listed.String()); !strings.Contains(b, "7000 by") {
			t.Fatalf("the listed block's page before the bid:\n%.3000s", b)
		}
		w.c.Block(w.c.Tx(ipledger.KindBid, ipledger.BidBody{Listing: 2, Amount: 7100}, "ORG-B"))
		if _, _, b := w.get(t, "/ip/"+w.listed.String()); !strings.Contains(b, "7100 by") {
			t.Errorf("the listed block's page after ORG-B's bid:\n%.3000s", b)
		}
		if w.handler.idx.builds != builds {
			t.Errorf("the index was built %d times again instead of following the block", w.handler.idx.builds-builds)
		}
	})

	t.Run("crawl", func(t *testing.T) {
		var seeds []string
		for _, tc := range pages {
			if tc.status == 200 && !strings.HasPrefix(tc.path, "/static/") {
				seeds = append(seeds, tc.path)
			}
		}
		weights := crawl(t, w, seeds)
		if missing := checkKinds(weights); len(missing) > 0 {
			t.Errorf("the crawl reached no page of kind %v", missing)
		}
		kinds := slices.Sorted(maps.Keys(weights))
		for _, k := range kinds {
			t.Logf("heaviest %s page: %d bytes", k, weights[k])
		}
	})
}

// crawl fetches each seed page and every link of it: every link must resolve (a redirect
// is followed), every HTML page must keep the accessibility rules, weigh under
// maxPageBytes, hold no template error and ask nothing of another host. It returns the
// heaviest page of each kind (pageKind) it reached.
func crawl(t *testing.T, w *world, seeds []string) map[string]int {
	weights := map[string]int{}
	seen := map[string]bool{}
	pages := 0
	var visit func(path string, depth int)
	visit = func(path string, depth int) {
		if seen[path] {
			return
		}
		seen[path] = true
		resp, err := http.Get(w.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", path, resp.StatusCode)
			return
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			return
		}
		pages++
		var b strings.Builder
		if _, err := io.Copy(&b, resp.Body); err != nil {
			t.Fatal(err)
		}
		body := b.String()
		if depth == 2 || path == "/log" || strings.HasPrefix(path, "/lease/") || strings.HasPrefix(path, "/org/") {
			t.Logf("%s: %d bytes", path, len(body)) // page weights, with -v
		}
		if len(body) > maxPageBytes {
			t.Errorf("%s: %d bytes, over %d", path, len(body), maxPageBytes)
		}
		if k := pageKind(path); len(body) > weights[k] {
			weights[k] = len(body)
		}
		if strings.Contains(body, "ZgotmplZ") || strings.Contains(body, "<no value>") {
			t.Errorf("%s: a template error in the page", path)
		}
		doc := parse(t, body)
		for _, e := range checkPage(doc) {
			t.Errorf("%s: %s", path, e)
		}
		base, _ := url.Parse(resp.Request.URL.String())
		for _, e := range checkRequests(base, doc, resp.Header.Get("Content-Security-Policy")) {
			t.Errorf("%s: %s", path, e)
		}
		for _, link := range links(doc) {
			u, err := base.Parse(link)
			if err != nil {
				t.Errorf("%s: link %q: %v", path, link, err)
				continue
			}
			if u.Host != base.Host {
				t.Errorf("%s: link to another host: %s", path, link)
				continue
			}
			u.Fragment = ""
			if strings.HasPrefix(u.Path, "/v1/proof/") {
				// Served by a node with signed headers (CometBFT): the browser test's.
				continue
			}
			if depth > 0 {
				visit(u.RequestURI(), depth-1)
			}
		}
	}
	for _, s := range seeds {
		visit(s, 2)
	}
	t.Logf("crawled %d pages, %d links", pages, len(seen))
	return weights
}

// links returns the href and src of a document's a, link and script elements.
func links(doc *html.Node) []string {
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "a", "link":
				if v := attr(n, "href"); v != "" {
					out = append(out, v)
				}
			case "script", "img":
				if v := attr(n, "src"); v != "" {
					out = append(out, v)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// benchClients is how many clients ask at once in BenchmarkPages.
const benchClients = 50

// BenchmarkPages renders the search, resource and organisation pages of a chain with the
// whole 2014-06 import (the four registries' statistics), served over HTTP as a node
// serves them, with 50 clients asking at once. It reports each page's p50 and p99
// latency and its weight. The import takes a minute or two before the first figure.
func BenchmarkPages(b *testing.B) {
	var paths []string
	for _, rir := range []string{"afrinic", "apnic", "lacnic", "ripencc"} {
		paths = append(paths, ipledgertest.Data(b, "delegated/2014-06/delegated-"+rir+"-latest"))
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
		b.Run(pg.name+"/render", func(b *testing.B) { benchPage(b, fixed(uncached.URL+pg.path), 1) })
		b.Run(pg.name+"/50-clients", func(b *testing.B) { benchPage(b, fixed(w.srv.URL+pg.path), benchClients) })
	}
	// Fifty clients each asking for another address, from a handler that renders every
	// request: the cost when no two readers ask for the same page.
	b.Run("resource-many/50-clients-uncached", func(b *testing.B) {
		benchPage(b, func(i int) string {
			return uncached.URL + "/ip/" + strconv.Itoa(80+i%16) + "." + strconv.Itoa(i/16%256) + "." + strconv.Itoa(i/4096%256) + ".1"
		}, benchClients)
	})
}

func fixed(u string) func(int) string { return func(int) string { return u } }

// benchPage asks for url(i) for i below b.N from clients at once and reports the p50 and
// p99 latency and the size of the first page.
func benchPage(b *testing.B, url func(int) string, clients int) {
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	fetch := func(i int) (int, time.Duration) {
		u := url(i)
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
	size, _ := fetch(0) // warm: the page index is built once per state
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
				_, lat[i] = fetch(int(i))
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
