package httpapi

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
)

// The expensive reads (lists, history, blocks, proofs, RDAP) each hold decoded records
// while they run, so their number at once, not the number of clients, is what bounds the
// memory they take. A gate admits a few at a time; a request that cannot get in within a
// short wait is answered 503 with Retry-After instead of piling up. Status, submission,
// the checkpoint and the log tiles do not pass through it: the chain must stay usable
// while its reads are saturated.

// Defaults of the gate.
const (
	// DefaultQueryWait is how long an expensive query waits for a slot before a 503.
	DefaultQueryWait = 2 * time.Second
	// queryRetryAfter is the Retry-After of that 503, in seconds.
	queryRetryAfter = 1
)

// DefaultMaxQueries is the number of expensive queries answered at once by default: twice
// the processors Go may use, as they are CPU- and store-bound.
func DefaultMaxQueries() int { return 2 * runtime.GOMAXPROCS(0) }

// gate is a counting semaphore with a bounded wait and metrics.
type gate struct {
	slots   chan struct{}
	wait    time.Duration
	running prometheus.Gauge
	refused prometheus.Counter
}

func newGate(n int, wait time.Duration) *gate {
	return &gate{
		slots: make(chan struct{}, n),
		wait:  wait,
		running: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ipledger_http_expensive_queries", Help: "Expensive JSON API and RDAP queries running now.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ipledger_http_expensive_queries_refused_total", Help: "Expensive queries answered 503 because every slot stayed busy for the wait.",
		}),
	}
}

// enter takes a slot, waiting at most g.wait; it reports false when none came free or ctx
// ended first. A true answer must be followed by leave.
func (g *gate) enter(ctx context.Context) bool {
	select {
	case g.slots <- struct{}{}:
	default:
		t := time.NewTimer(g.wait)
		defer t.Stop()
		select {
		case g.slots <- struct{}{}:
		case <-t.C:
			g.refused.Inc()
			return false
		case <-ctx.Done():
			return false
		}
	}
	g.running.Inc()
	return true
}

func (g *gate) leave() {
	g.running.Dec()
	<-g.slots
}

// cheapPatterns are the routes that never pass through the gate: constant-size answers
// or a bounded number of small reads each. The log's proofs are not among them: a proof
// by hash reads its block's record.
var cheapPatterns = map[string]bool{
	"GET /v1/status":             true,
	"POST /v1/tx":                true,
	"GET /v1/log/checkpoint":     true,
	"GET /v1/log/key":            true,
	"GET /v1/log/tile/{path...}": true,
	"GET /v1/balances/{org}":     true,
	"GET /metrics":               true,
	"GET /v1/vrps.json":          true, // served from the RTR cache's encoding
}

// expensive reports whether a request matched to pattern goes through the gate: every
// JSON API read not listed cheap, and RDAP (its lookups read history and its searches
// walk an index; its own rate limit is per client, this bound is for all of them).
func expensive(pattern string) bool {
	if pattern == "" || cheapPatterns[pattern] {
		return false
	}
	return strings.HasPrefix(pattern, "GET /v1/") || strings.HasPrefix(pattern, "GET /geofeed") ||
		strings.HasPrefix(pattern, "/rdap/") || strings.HasPrefix(pattern, "GET /rdap/")
}

// busy answers 503 with Retry-After: an ErrorBody with code "busy", or an RDAP error body.
func busy(w http.ResponseWriter, rdap bool) {
	w.Header().Set("Retry-After", strconv.Itoa(queryRetryAfter))
	msg := "too many expensive queries at once; retry after " + strconv.Itoa(queryRetryAfter) + " s"
	if rdap {
		// RFC 9083 §6 error body, as the RDAP handler answers.
		w.Header().Set("Content-Type", "application/rdap+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"rdapConformance":["rdap_level_0"],"errorCode":503,"title":"Service Unavailable","description":["` + msg + `"]}` + "\n"))
		return
	}
	writeJSONError(w, http.StatusServiceUnavailable, ipledger.CodeBusy, msg)
}

// bufferedWriter holds an answer until flush: headers go to the real writer's map (nothing
// is sent before flush), the status and body are kept.
type bufferedWriter struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (b *bufferedWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

// flush sends what the handler wrote.
func (b *bufferedWriter) flush() {
	if b.status == 0 {
		return // the handler wrote nothing (its client is gone)
	}
	b.ResponseWriter.WriteHeader(b.status)
	b.ResponseWriter.Write(b.body)
}
