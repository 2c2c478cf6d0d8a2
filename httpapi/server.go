// Package httpapi is the node's JSON API under /v1/ (status, transaction submission,
// resources, holdings, organisations, blocks, the transparency log, state proofs) plus
// /metrics. Package client is its Go client; both speak the wire types of package apitypes.
//
// Every error is a JSON ErrorBody {"code": "...", "message": "..."} whose code is an
// ipledger.Code name and whose HTTP status is that code's HTTPStatus: 400 "invalid" for a
// malformed path or query, 404 "not_found" for an unknown object or path, 405 "invalid"
// for a wrong method, 500 "internal" (message "internal error"; details go to the log),
// 503 "busy" with Retry-After when the expensive queries' slots stayed full, and 429
// "rate_limited" with Retry-After over a client's rate limit (the Client retries both for
// reads).
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
)

// Backend is what the API needs of a node; package chain's Node satisfies it. A Backend
// that also offers LastHeaderHeight and SignedHeader serves state proofs (proof.go), and
// one whose Reader also offers the log's tiles, nodes and checkpoints serves the log
// (log.go).
type Backend interface {
	// Submit passes a transaction to the mempool; a nil error means CheckTx admitted it.
	Submit(ctx context.Context, tx []byte) (ipledger.Hash, error)
	// Status describes the node for /v1/status.
	Status(ctx context.Context) (ipledger.NodeStatus, error)
	// Reader returns the committed chain: state, blocks, history and outcomes.
	Reader() ipledger.Reader
}

// reader is the part of ipledger.Reader the handlers read through: an interface so tests
// can serve a plain state map or a failing one.
type reader interface {
	Committed() *ipledger.Snapshot
	Outcome(hash ipledger.Hash) (ipledger.TxOutcome, bool, error)
	WaitCommit(ctx context.Context, hash ipledger.Hash) (ipledger.TxOutcome, error)
	Block(height int64) (*ipledger.BlockRecord, error)
	HistoryPage(ctx context.Context, object string, after ipledger.HistoryPos, limit int) ([]ipledger.HistoryEntry, bool, error)
	HistoryDetailOf(e ipledger.HistoryEntry) (ipledger.HistoryDetail, bool, error)
	Leaf(i uint64) ([]byte, error)
}

// submitter is the part of Backend besides Reader.
type submitter interface {
	Submit(ctx context.Context, tx []byte) (ipledger.Hash, error)
	Status(ctx context.Context) (ipledger.NodeStatus, error)
}

// Options configure the handler New returns.
type Options struct {
	// Node is the node served; required.
	Node Backend
	// Metrics is served at /metrics (a promhttp handler the caller builds); nil serves 404.
	Metrics http.Handler
	// Logger receives internal errors at error level; nil discards. Requests are not logged.
	Logger *slog.Logger
	// Mounts are further handlers served on the same listener, by ServeMux pattern
	// ("/rdap/", "GET /v1/vrps.json"); they answer in their own formats.
	Mounts map[string]http.Handler
	// CommitWait bounds how long POST /v1/tx?wait=commit waits for the commit; zero means
	// 30 s. The HTTP server's WriteTimeout must be longer.
	CommitWait time.Duration
	// MaxQueries bounds the expensive queries (lists, history, blocks, proofs, RDAP, by
	// route) answered at once; zero means DefaultMaxQueries(), negative no bound.
	MaxQueries int
	// QueryWait is how long an expensive query waits for a slot before it is answered 503
	// with Retry-After; zero means DefaultQueryWait.
	QueryWait time.Duration
	// Registerer receives the ipledger_http_… metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Limits of the API: apitypes declares them, since clients page by them.
const (
	MaxChildren   = apitypes.MaxChildren
	MaxHistory    = apitypes.MaxHistory
	MaxOrgList    = apitypes.MaxOrgList
	MaxGeo        = apitypes.MaxGeo
	MaxMarketList = apitypes.MaxMarketList
)

type server struct {
	node       submitter
	app        reader
	mux        *http.ServeMux
	log        *slog.Logger
	commitWait time.Duration
	proofs     *prover    // nil when the node serves no state proofs
	logProofs  *logProofs // nil when the app has no log
	gate       *gate      // nil when expensive queries are not bounded
}

// New returns the handler of the JSON API and /metrics. Mount it at the root of the
// node's HTTP listener.
func New(o Options) http.Handler {
	return newServer(o.Node, o.Node.Reader(), o)
}

func newServer(node submitter, app reader, o Options) *server {
	s := &server{node: node, app: app, log: o.Logger, commitWait: o.CommitWait, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.commitWait <= 0 {
		s.commitWait = 30 * time.Second
	}
	if n := o.MaxQueries; n >= 0 {
		if n == 0 {
			n = DefaultMaxQueries()
		}
		wait := o.QueryWait
		if wait <= 0 {
			wait = DefaultQueryWait
		}
		s.gate = newGate(n, wait)
		if o.Registerer != nil {
			for _, c := range []prometheus.Collector{s.gate.running, s.gate.refused} {
				if err := o.Registerer.Register(c); err != nil {
					s.log.Error("http api: register metrics", "err", err)
				}
			}
		}
	}
	s.handle("GET /v1/status", s.status)
	s.handle("POST /v1/tx", s.submit)
	s.handle("GET /v1/tx/{hash}", s.tx)
	s.handle("GET /v1/resources/{resource...}", queryRoute(s, "resource", parseResourcePath, parsePage, s.resource, s.provedResource))
	s.handle("GET /v1/holdings/{id}", queryRoute(s, "id", parseHoldingID, parsePage, s.holding, s.provedHolding))
	s.handle("GET /v1/orgs", s.orgs)
	s.handle("GET /v1/orgs/{handle}", queryRoute(s, "handle", orgHandle, historyAfter, s.org, s.provedOrg))
	s.handle("GET /v1/orgs/{handle}/holdings", s.orgHoldings)
	s.handle("GET /v1/blocks/{height}", s.block)
	s.handle("GET /v1/search", s.search)
	s.mountMarket()
	s.mountReputation()
	s.mountWebTwins()
	s.mountAbuse()
	if lr, ok := app.(logReader); ok {
		s.mountLog(lr)
	}
	if hs, ok := node.(headerSource); ok {
		if ss, ok := app.(stateSource); ok {
			s.mountProofs(hs, ss)
		}
	}
	if o.Metrics != nil {
		s.mux.Handle("GET /metrics", o.Metrics)
	}
	for pattern, h := range o.Mounts {
		s.mux.Handle(pattern, h)
	}
	return s
}

// ServeHTTP routes r. Paths no pattern matches, and wrong methods, get JSON errors rather
// than ServeMux's plain-text ones.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		if s.gate != nil && expensive(pattern) {
			if !s.gate.enter(r.Context()) {
				if r.Context().Err() == nil {
					busy(w, strings.Contains(pattern, "/rdap/"))
				}
				return
			}
			// The answer is built into memory (a page at most) and the slot given back
			// before it is sent: a client that reads slowly must not hold a slot.
			bw := &bufferedWriter{ResponseWriter: w}
			func() {
				defer s.gate.leave()
				s.mux.ServeHTTP(bw, r) // matches again, which sets the path values
			}()
			bw.flush()
			return
		}
		s.mux.ServeHTTP(w, r) // matches again, which sets the path values
		return
	}
	// No pattern: ServeMux would answer 404 or 405 (with Allow). Ask it which.
	rec := &headerRecorder{h: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.h.Get("Allow"))
		writeJSONError(w, http.StatusMethodNotAllowed, ipledger.CodeInvalid, "method "+r.Method+" not allowed on "+r.URL.Path+"; allowed: "+rec.h.Get("Allow"))
		return
	}
	writeJSONError(w, http.StatusNotFound, ipledger.CodeNotFound, "no such path: "+r.URL.Path)
}

// headerRecorder captures the status and headers of ServeMux's own error answers.
type headerRecorder struct {
	h      http.Header
	status int
}

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(status int)      { r.status = status }

// handlerFunc is a route's own logic: it writes the answer, or returns the error to answer
// with and writes nothing.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle serves h at pattern; an error h returns is answered by fail.
func (s *server) handle(pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// writeJSON writes v with status. Encoding happens first: its error is returned with
// nothing written, so a handler returning it still answers a clean 500.
func (s *server) writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	writeJSONBytes(w, status, append(ipledger.EscapeJSON(b), '\n'))
	return nil
}

// writeJSONBytes writes b, JSON already encoded with its final newline, with status.
func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	// A length rather than chunked encoding: simpler for clients, one write for the server.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// fail answers with the error's code and message. Anything that is not an *ipledger.Error
// is internal: logged with its details, answered with "internal error". A request whose
// client has gone (its context ended, which stopped the work) gets nothing.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && isContextErr(err) {
		return
	}
	code := ipledger.ErrorCode(err)
	if code == ipledger.CodeInternal {
		s.log.Error("http api", "err", err, "method", r.Method, "path", r.URL.Path)
	}
	writeJSONError(w, code.HTTPStatus(), code, ipledger.ErrorMessage(err))
}

func writeJSONError(w http.ResponseWriter, status int, code ipledger.Code, msg string) {
	var b bytes.Buffer
	json.NewEncoder(&b).Encode(apitypes.ErrorBody{Code: code.String(), Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// invalid returns a 400 "invalid" error for a malformed path or query.
func invalid(format string, args ...any) error {
	return ipledger.Errorf(ipledger.CodeInvalid, format, args...)
}

func notFound(format string, args ...any) error {
	return ipledger.Errorf(ipledger.CodeNotFound, format, args...)
}

// isContextErr reports whether err is the request being cancelled or timing out.
func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
