package cli

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/client"
)

// webKinds are the page kinds bench web fetches, in the order it reports them.
var webKinds = []string{"search", "resource", "org"}

// webOptions are bench web's settings.
type webOptions struct {
	node           string
	clients        int
	dur            time.Duration
	orgs, probes   int
	seed           uint64
	maxOrgListings int // pages of /v1/orgs read at most (1,000 handles each)
}

func benchWebCmd(e *env) *cobra.Command {
	o := webOptions{}
	c := &cobra.Command{
		Use:   "web",
		Short: "Fetch the explorer's search, resource and organisation pages from concurrent clients for a while; report requests/s, p50 and p99 per page kind",
		Long: `Reads a sample of the node's data first: organisation handles from GET /v1/orgs and
real holdings found by looking up --probes random IPv4 addresses and AS numbers in
GET /v1/resources (a holding below IANA's). Then --clients clients each fetch pages one
after another for --duration, a kind picked at random for each:

  search    /search?q=… with an address, a holding's prefix, a handle (each a 303 to its page,
            not followed) or a part of a handle (the list of organisations that match)
  resource  /ip/ADDRESS, /ip/PREFIX of a holding, /as/N
  org       /org/HANDLE

and it prints requests/s, p50 and p99 per kind, the pages' mean size, and non-2xx/3xx
answers. The node's per-client rate limits apply to a load generator like any client: start
the node with --trusted-clients naming this host's address (e.g. 127.0.0.1).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchWeb(cmd.Context(), e, o)
		},
	}
	c.Flags().StringVar(&o.node, "node", "http://"+defaultHTTP, "node base URL (its explorer at /, its JSON API at /v1/)")
	c.Flags().IntVar(&o.clients, "clients", 50, "concurrent clients, each with a kept-alive connection, fetching one page after another")
	c.Flags().DurationVar(&o.dur, "duration", 20*time.Second, "how long to fetch")
	c.Flags().IntVar(&o.orgs, "orgs", 2000, "organisation handles to sample")
	c.Flags().IntVar(&o.probes, "probes", 600, "random addresses and AS numbers looked up to find real holdings")
	c.Flags().Uint64Var(&o.seed, "seed", 1, "seed of the random choices (the same seed on the same chain fetches the same pages)")
	o.maxOrgListings = 200
	return c
}

// webSample is what the clients pick their pages from.
type webSample struct {
	handles  []string
	holdings []ipledger.Resource // IP holdings below IANA's
	asns     []uint32
}

// webTarget is one page to fetch: its kind and path with query.
type webTarget struct {
	kind, path string
}

// pick returns a random page of a random kind.
func (s *webSample) pick(r *rand.Rand) webTarget {
	switch kind := webKinds[r.IntN(len(webKinds))]; kind {
	case "search":
		var q string
		switch r.IntN(4) {
		case 0:
			q = randomAddr(r, s.holdings[r.IntN(len(s.holdings))]).String()
		case 1:
			q = s.holdings[r.IntN(len(s.holdings))].String()
		case 2:
			q = s.handles[r.IntN(len(s.handles))]
		default:
			// A part of a handle: the list of the organisations whose handle holds it.
			h := s.handles[r.IntN(len(s.handles))]
			if _, rest, ok := strings.Cut(h, "-"); ok && len(rest) > 4 {
				h = rest[:len(rest)-2]
			}
			q = h
		}
		return webTarget{kind, "/search?q=" + url.QueryEscape(q)}
	case "resource":
		switch r.IntN(3) {
		case 0:
			return webTarget{kind, "/ip/" + randomAddr(r, s.holdings[r.IntN(len(s.holdings))]).String()}
		case 1:
			return webTarget{kind, "/ip/" + s.holdings[r.IntN(len(s.holdings))].String()}
		default:
			if len(s.asns) == 0 {
				return webTarget{kind, "/ip/" + s.holdings[r.IntN(len(s.holdings))].String()}
			}
			return webTarget{kind, "/as/" + strconv.FormatUint(uint64(s.asns[r.IntN(len(s.asns))]), 10)}
		}
	default:
		return webTarget{"org", "/org/" + url.PathEscape(s.handles[r.IntN(len(s.handles))])}
	}
}

// randomAddr returns a random IPv4 address of res (its first for anything larger than a /8
// or not IPv4).
func randomAddr(r *rand.Rand, res ipledger.Resource) netip.Addr {
	first, last := res.FirstAddr(), res.LastAddr()
	if !first.Is4() {
		return first
	}
	f, l := first.As4(), last.As4()
	lo := uint32(f[0])<<24 | uint32(f[1])<<16 | uint32(f[2])<<8 | uint32(f[3])
	hi := uint32(l[0])<<24 | uint32(l[1])<<16 | uint32(l[2])<<8 | uint32(l[3])
	n := lo + uint32(r.Uint64N(uint64(hi-lo)+1))
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// sampleWeb reads handles and holdings from the node's JSON API.
func sampleWeb(ctx context.Context, cl *client.Client, o webOptions, r *rand.Rand) (*webSample, error) {
	s := &webSample{}
	var all []string
	after := ""
	for range o.maxOrgListings {
		l, err := cl.Orgs(ctx, "", after, apitypes.MaxOrgList)
		if err != nil {
			return nil, fmt.Errorf("list organisations: %w", userError(err))
		}
		all = append(all, l.Handles...)
		if !l.Truncated || len(l.Handles) == 0 {
			break
		}
		after = l.Handles[len(l.Handles)-1]
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("the node has no organisations")
	}
	for range min(o.orgs, len(all)) {
		s.handles = append(s.handles, all[r.IntN(len(all))])
	}
	seen := map[ipledger.Resource]bool{}
	for i := range o.probes {
		var q string
		if i%4 == 3 {
			q = "AS" + strconv.FormatUint(1+r.Uint64N(400000), 10)
		} else {
			q = netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}).String()
		}
		info, err := cl.Resource(ctx, q)
		if err != nil {
			if ipledger.ErrorCode(err) == ipledger.CodeNotFound {
				continue
			}
			return nil, fmt.Errorf("look up %s: %w", q, userError(err))
		}
		h := info.Holding
		if h.Depth < 1 || seen[h.Resource] {
			continue // IANA's own, or found before
		}
		seen[h.Resource] = true
		if h.Resource.Family() == ipledger.ASN {
			s.asns = append(s.asns, info.Resource.FirstAS())
		} else {
			s.holdings = append(s.holdings, h.Resource)
		}
	}
	if len(s.holdings) == 0 {
		return nil, fmt.Errorf("no IP holding below IANA's found in %d random lookups: import delegated statistics first", o.probes)
	}
	return s, nil
}

// webStats are one kind's figures.
type webStats struct {
	lat          []time.Duration
	bytes, fails int64
}

func runBenchWeb(ctx context.Context, e *env, o webOptions) error {
	if o.clients < 1 || o.dur <= 0 || o.orgs < 1 || o.probes < 1 {
		return fmt.Errorf("--clients, --duration, --orgs and --probes must be positive")
	}
	base := strings.TrimSuffix(o.node, "/")
	tr := &http.Transport{MaxIdleConnsPerHost: o.clients + 4, MaxConnsPerHost: o.clients + 4}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r := rand.New(rand.NewPCG(o.seed, 0x1e5))
	t0 := time.Now()
	s, err := sampleWeb(ctx, &client.Client{Base: base, HTTP: hc}, o, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "sample: %d organisations, %d IP holdings, %d AS numbers (%.1f s)\n",
		len(s.handles), len(s.holdings), len(s.asns), time.Since(t0).Seconds())

	stats := make([]map[string]*webStats, o.clients)
	var firstErr atomic.Pointer[error]
	runCtx, cancel := context.WithTimeout(ctx, o.dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range o.clients {
		stats[i] = map[string]*webStats{}
		for _, k := range webKinds {
			stats[i][k] = &webStats{}
		}
		cr := rand.New(rand.NewPCG(o.seed, uint64(i)+1))
		wg.Go(func() {
			for runCtx.Err() == nil {
				t := s.pick(cr)
				st := stats[i][t.kind]
				req, err := http.NewRequestWithContext(runCtx, http.MethodGet, base+t.path, nil)
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				t1 := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					if runCtx.Err() == nil {
						st.fails++
						firstErr.CompareAndSwap(nil, &err)
					}
					continue
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if runCtx.Err() != nil {
					return // cut by the window's end: not counted
				}
				st.lat = append(st.lat, time.Since(t1))
				st.bytes += n
				if err != nil || resp.StatusCode >= 400 {
					st.fails++
					if err == nil {
						err = fmt.Errorf("GET %s: %s", t.path, resp.Status)
					}
					firstErr.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	fmt.Fprintf(e.stdout, "%d clients for %.1f s against %s\n", o.clients, el.Seconds(), base)
	fmt.Fprintf(e.stdout, "%-9s %9s %9s %9s %9s %9s %7s\n", "page", "requests", "req/s", "p50", "p99", "mean KB", "errors")
	var total webStats
	row := func(name string, st *webStats) {
		slices.Sort(st.lat)
		n := len(st.lat)
		kb := 0.0
		if n > 0 {
			kb = float64(st.bytes) / float64(n) / 1024
		}
		fmt.Fprintf(e.stdout, "%-9s %9d %9.0f %9s %9s %9.1f %7d\n", name, n, float64(n)/el.Seconds(),
			percentile(st.lat, 0.50), percentile(st.lat, 0.99), kb, st.fails)
	}
	for _, k := range webKinds {
		var st webStats
		for i := range stats {
			st.lat = append(st.lat, stats[i][k].lat...)
			st.bytes += stats[i][k].bytes
			st.fails += stats[i][k].fails
		}
		total.lat = append(total.lat, st.lat...)
		total.bytes += st.bytes
		total.fails += st.fails
		row(k, &st)
	}
	row("all", &total)
	if p := firstErr.Load(); p != nil {
		fmt.Fprintf(e.stdout, "first error: %v\n", userError(*p))
		if strings.Contains((*p).Error(), "429") {
			fmt.Fprintf(e.stdout, "the node rate-limits this client: start it with --trusted-clients naming this host's address\n")
		}
	}
	return nil
}

// percentile returns the p-quantile of sorted latencies, rounded to 0.1 ms.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Round(100 * time.Microsecond)
}
