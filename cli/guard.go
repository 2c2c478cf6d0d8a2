package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/netguard"
)

// guardFlags bound what one client can take from the node's listeners (issue 13).
type guardFlags struct {
	trusted       string
	perClient     int
	rtrPerClient  int
	p2pPerClient  int
	apiRate       float64
	apiBurst      int
	bodyTimeout   time.Duration
	headerTimeout time.Duration
}

// Defaults of the guard flags: generous for people and scripts, small against a flood.
const (
	defaultPerClient     = 64
	defaultAPIRate       = 100
	defaultAPIBurst      = 500
	defaultBodyTimeout   = 5 * time.Second
	defaultHeaderTimeout = 10 * time.Second
	// defaultP2PPerClient: a loopback testnet puts up to 8 validators on 127.0.0.1, each
	// with at most 7 peers from there, and reconnects after a restart come on top.
	defaultP2PPerClient = 16
)

// Listener names, in the descriptor budget, metrics and logs.
const (
	listenHTTP  = "http"
	listenWHOIS = "whois"
	listenRTR   = "rtr"
	listenRPC   = "rpc"
	listenP2P   = "p2p"
)

// guard holds what the listeners share: the trusted clients, the descriptor budget and
// the listener metrics.
type guard struct {
	f       guardFlags
	trusted *netguard.Trusted
	budget  netguard.Budget
	m       *netguard.Metrics
	limited prometheus.Counter // ipledger_http_rate_limited_total
	log     *slog.Logger
}

// newGuard raises the descriptor limit, plans the budget over the listeners sf turns on,
// and logs it once. It fails when the limit is too small to keep a reserve, or a flag is
// malformed.
func newGuard(sf serveFlags, reg prometheus.Registerer, log *slog.Logger) (*guard, error) {
	trusted, err := netguard.ParseTrusted(sf.guard.trusted)
	if err != nil {
		return nil, fmt.Errorf("--trusted-clients: %w", err)
	}
	limit, lerr := netguard.RaiseFileLimit()
	if lerr != nil {
		log.Warn("file descriptor limit not raised", "err", lerr)
	}
	on := func(a string) bool { return a != "" && a != "off" }
	// Shares: HTTP serves people and scripts, RTR routers, RPC joining nodes and light
	// clients (each connection forwarded in-process, three descriptors), P2P validators.
	var caps []netguard.Cap
	if on(sf.http) {
		caps = append(caps, netguard.Cap{Name: listenHTTP, Weight: 40})
	}
	if on(sf.whois) {
		caps = append(caps, netguard.Cap{Name: listenWHOIS, Weight: 10})
	}
	if on(sf.rtr) {
		caps = append(caps, netguard.Cap{Name: listenRTR, Weight: 15})
	}
	if on(sf.rpc) {
		caps = append(caps, netguard.Cap{Name: listenRPC, Weight: 20, PerConn: 3})
	}
	caps = append(caps, netguard.Cap{Name: listenP2P, Weight: 15})
	b, err := netguard.PlanBudget(limit, caps)
	if err != nil {
		return nil, err
	}
	m, err := netguard.NewMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("listener metrics: %w", err)
	}
	limited := prometheus.NewCounter(prometheus.CounterOpts{Name: "ipledger_http_rate_limited_total", Help: "JSON API requests refused with 429 by the per-client rate limit."})
	if reg != nil {
		if err := reg.Register(limited); err != nil {
			return nil, fmt.Errorf("http metrics: %w", err)
		}
	}
	log.Info("file descriptor budget", "limit", b.Limit, "reserved", b.Reserved, "caps", b.String(), "trusted_clients", trusted.String())
	return &guard{f: sf.guard, trusted: trusted, budget: b, m: m, limited: limited, log: log}, nil
}

// listen listens on addr and caps the listener by its budget and the per-client flag.
func (g *guard) listen(ctx context.Context, name, addr string) (*netguard.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s listener: %w", name, err)
	}
	return g.wrap(name, ln), nil
}

// wrap caps ln by the budget of name and the per-client flag.
func (g *guard) wrap(name string, ln net.Listener) *netguard.Listener {
	return netguard.Listen(ln, netguard.ListenerOptions{Name: name, MaxConns: g.budget.Conns(name), MaxPerClient: g.f.perClient,
		Trusted: g.trusted, Logger: g.log, Metrics: g.m})
}

// httpServer returns the HTTP server of h with the deadlines a slow client cannot stretch:
// ReadHeaderTimeout bounds the first request's headers (and a kept-alive connection's next
// ones), bodyDeadline the body (scaled by its declared size, which ReadTimeout cannot be),
// IdleTimeout the wait between requests. WriteTimeout stays above POST
// /v1/tx?wait=commit's wait.
func (g *guard) httpServer(h http.Handler, commitWait time.Duration) *http.Server {
	hdr := g.f.headerTimeout
	if hdr <= 0 {
		hdr = defaultHeaderTimeout
	}
	return &http.Server{
		Handler:           bodyDeadline(g.rateLimit(h), g.f.bodyTimeout),
		ReadHeaderTimeout: hdr,
		IdleTimeout:       time.Minute,
		WriteTimeout:      commitWait + time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// bodyDeadline gives a request's body d plus one second per 64 KiB declared to arrive;
// the handler then reads a timeout error and the connection is closed. net/http lifts the
// deadline itself once the body has been read (connReader.startBackgroundRead), so a
// handler may go on waiting, as POST /v1/tx?wait=commit does. d <= 0 sets none.
func bodyDeadline(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			wait := d
			if r.ContentLength > 0 {
				wait += time.Duration(r.ContentLength/(64<<10)) * time.Second
			}
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(wait))
		}
		h.ServeHTTP(w, r)
	})
}

// rateLimit answers 429 with Retry-After and a rate_limited error body to a client over
// --api-rate-limit, on every path but /rdap/ (RDAP has its own limit and error format).
// Trusted clients are exempt; a trusted proxy's requests count against the client its
// X-Forwarded-For names.
func (g *guard) rateLimit(h http.Handler) http.Handler {
	if g.f.apiRate <= 0 {
		return h
	}
	l := netguard.NewLimiter(g.f.apiRate, g.f.apiBurst, 65536)
	var mu sync.Mutex
	var lastLog time.Time
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/rdap/") {
			h.ServeHTTP(w, r)
			return
		}
		a, trusted := g.trusted.Client(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
		if trusted {
			h.ServeHTTP(w, r)
			return
		}
		now := time.Now()
		d := l.Allow(netguard.KeyOf(a), now)
		if d.OK {
			h.ServeHTTP(w, r)
			return
		}
		g.limited.Inc()
		if d.First {
			mu.Lock()
			if now.Sub(lastLog) >= 10*time.Second {
				lastLog = now
				g.log.Warn("http rate limit hit", "client", netguard.KeyOf(a).String(), "rate", g.f.apiRate, "burst", g.f.apiBurst)
			}
			mu.Unlock()
		}
		wait := int(math.Ceil(d.Wait.Seconds()))
		var b bytes.Buffer
		json.NewEncoder(&b).Encode(apitypes.ErrorBody{Code: ipledger.CodeRateLimited.String(),
			Message: fmt.Sprintf("rate limit of %g requests per second reached; retry after %d s", g.f.apiRate, wait)})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write(b.Bytes())
	})
}
