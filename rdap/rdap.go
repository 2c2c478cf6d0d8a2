// Package rdap serves the Registration Data Access Protocol for the number resources on the
// ledger: lookups of IP networks, autonomous system numbers and entities (RFC 7480, 9082,
// 9083), the RIR searches and relation searches of RFC 9910, the cidr0 extension and the
// NRO RDAP profile, and RFC 9224 bootstrap files listing the space this server is
// authoritative for.
//
// Every answer comes from the last committed snapshot of the ledger (ipledger.Snapshot, read
// through ipledger.Reader: this package imports no node, store or CometBFT), and
// every object links to its history in the JSON API, so a client can check where an answer
// came from, and to a state proof of its record (GET /v1/proof/holdings/{id} or
// /v1/proof/orgs/{handle}; package stateproof), which a client checks against the
// chain's genesis validators. Space whose registry pool belongs to a registry that is not authoritative yet
// (its records are not kept on the ledger) is redirected with 302 to that registry's own
// RDAP service; space IANA holds is answered from the ledger.
//
// Errors are RDAP error bodies (RFC 9083 §6): 400 for a malformed query, 404 for no match,
// 405 for a method other than GET or HEAD, 429 with Retry-After when a client's rate limit
// is hit, 501 for query types this server does not support (domains, nameservers), 503
// before the first block is committed, 500 for internal faults (details go to the log).
//
// How the ledger maps onto RDAP:
//
//   - Networks and autnums are holdings: handle IPL-H<id>, name the holder's handle, type
//     the status word ("ALLOCATED", "RESERVED"), status the RDAP values it maps to
//     (rdapStatus), parentHandle the holding one level up. An autnum
//     lookup answers the registered block containing the number (the NRO profile's
//     hierarchical ASN variant).
//   - Entities are organisations, registries included: the holder is the registrant, its
//     abuse mailbox an abuse entity, and the registry that registered it a nested entity in
//     the role "registrar". An imported holder nobody has claimed shows what its registry
//     supplied (name, country, the delegated-extended opaque-id as a public id).
//   - Events are block times: the original registration date, every committed transfer or
//     registry transfer in the holding's history (and that of the holding it was split
//     from), and the last change. Search results carry registration and last change only,
//     so an answer reads no history per result.
//   - Relation searches (RFC 9910), for the argument's lookup chain: rdap-top is the
//     registry pool, rdap-up the most specific holding strictly larger than the argument,
//     rdap-down the holdings one level below the chain inside the argument, rdap-bottom for
//     each number of the argument the most specific holding containing it.
//   - Bootstrap files list the pools of the authoritative registries, not IANA's
//     unallocated and special-purpose space (IANA's own files leave those out too), though
//     lookups of IANA's space are answered here.
//
// Searches read an in-memory index of the committed state, built when a search first needs
// a state that changed, and return at most Options.MaxResults objects, with
// a notice when there are more.
package rdap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/netguard"
)

// Prefix is the path the handler serves under: mount it at "/rdap/" of the node's HTTP
// listener (DESIGN.md).
const Prefix = "/rdap/"

// Defaults of Options.
const (
	DefaultRateLimit  = 20     // requests per second per client
	DefaultRateBurst  = 100    // requests a client may make at once
	DefaultMaxClients = 10_000 // clients the rate limiter tracks
	DefaultMaxResults = 100    // objects in one search answer
	MaxMaxResults     = 10_000 // the largest MaxResults accepted
	// maxHistory bounds the history entries read per object for its events.
	maxHistory = 1000
)

// Options configure the handler New returns. Only Source is required.
type Options struct {
	// Source is the ledger served: the last committed snapshot, the per-object history and
	// block records (package chain's App).
	Source ipledger.Reader
	// Logger receives internal errors at error level and index builds at debug level; nil
	// discards. Requests are not logged.
	Logger *slog.Logger
	// Registerer receives the ipledger_rdap_… metrics; nil registers none.
	Registerer prometheus.Registerer
	// BaseURL is the public URL of the service, ending in "/", e.g.
	// "https://rdap.example.net/rdap/": links and bootstrap files name it. Empty derives it
	// from each request: http(s)://Host/rdap/.
	BaseURL string
	// APIBaseURL is the public URL of the JSON API root (where /v1/ lives), ending in "/".
	// Empty derives it from BaseURL by dropping its last path segment ("rdap/").
	APIBaseURL string
	// RateLimit is the sustained requests per second allowed per client (an IPv4 address or
	// an IPv6 /64); 0 means DefaultRateLimit and a negative value turns limiting off.
	RateLimit float64
	// RateBurst is the token bucket's size; 0 means DefaultRateBurst.
	RateBurst int
	// MaxClients bounds the rate limiter's client table; 0 means DefaultMaxClients.
	MaxClients int
	// Trusted clients are not rate limited; a request from a trusted proxy counts against
	// the client its X-Forwarded-For names (netguard.Trusted.Client). Nil trusts no one, and
	// X-Forwarded-For is then ignored.
	Trusted *netguard.Trusted
	// MaxResults bounds the objects of one search answer (a notice says when more exist);
	// 0 means DefaultMaxResults. At most MaxMaxResults.
	MaxResults int
	// TermsURL and InaccuracyURL are linked from every answer's notices; empty links this
	// service's help.
	TermsURL, InaccuracyURL string
	// Port43 names the WHOIS server shown on every object (RFC 9083 §4.7: a host name or
	// IP address, no port; CheckPort43); empty shows none.
	Port43 string
	// Redirects maps a registry handle to its RDAP base URL, for space of registries that
	// are not authoritative; nil means RIRBaseURLs().
	Redirects map[string]string
}

type handler struct {
	src        ipledger.Reader
	log        *slog.Logger
	m          *metrics
	base       string // "" derives from the request
	api        string // "" derives from the base
	terms      string
	inaccuracy string
	port43     string
	max        int
	redirects  map[string]string
	limit      *netguard.Limiter
	trusted    *netguard.Trusted
	idx        indexer
}

// New returns the RDAP handler. Mount it at Prefix; it answers paths below it. It fails on
// a malformed URL in the options or when the metrics cannot be registered.
func New(o Options) (http.Handler, error) {
	if o.Source == nil {
		return nil, errors.New("rdap: no source")
	}
	if err := CheckPort43(o.Port43); err != nil {
		return nil, fmt.Errorf("rdap: %w", err)
	}
	h := &handler{src: o.Source, log: o.Logger, port43: o.Port43, max: o.MaxResults}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if h.base, err = absURL("base URL", o.BaseURL, true); err != nil {
		return nil, err
	}
	if h.api, err = absURL("API base URL", o.APIBaseURL, true); err != nil {
		return nil, err
	}
	if h.terms, err = absURL("terms URL", o.TermsURL, false); err != nil {
		return nil, err
	}
	if h.inaccuracy, err = absURL("inaccuracy URL", o.InaccuracyURL, false); err != nil {
		return nil, err
	}
	switch {
	case h.max == 0:
		h.max = DefaultMaxResults
	case h.max < 0 || h.max > MaxMaxResults:
		return nil, fmt.Errorf("rdap: MaxResults %d: want 1 to %d", h.max, MaxMaxResults)
	}
	h.redirects = o.Redirects
	if h.redirects == nil {
		h.redirects = RIRBaseURLs()
	}
	h.redirects = maps.Clone(h.redirects)
	for reg, u := range h.redirects {
		if h.redirects[reg], err = absURL("RDAP base URL of "+reg, u, true); err != nil {
			return nil, err
		}
	}
	if h.m, err = newMetrics(o.Registerer); err != nil {
		return nil, err
	}
	if o.RateLimit >= 0 {
		rate, burst, clients := o.RateLimit, o.RateBurst, o.MaxClients
		if rate == 0 {
			rate = DefaultRateLimit
		}
		if burst <= 0 {
			burst = DefaultRateBurst
		}
		if clients <= 0 {
			clients = DefaultMaxClients
		}
		h.limit = netguard.NewLimiter(rate, burst, clients)
		h.trusted = o.Trusted
	}
	return h, nil
}

// absURL checks an optional absolute http(s) URL without query, and makes a base URL end
// in "/" so relative paths append to it.
func absURL(what, s string, base bool) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("rdap: %s %q: %w", what, s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("rdap: %s %q: want an absolute http or https URL without query", what, s)
	}
	if base && !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s, nil
}

// ServeHTTP answers one RDAP request.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	route := "other"
	defer func() {
		h.m.requests.WithLabelValues(route, strconv.Itoa(rw.status)).Inc()
		h.m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	}()
	hdr := rw.Header()
	hdr.Set("Access-Control-Allow-Origin", "*")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		// A CORS preflight (RFC 7480 §5.6 asks for CORS; simple GETs need none).
		hdr.Set("Access-Control-Allow-Methods", "GET, HEAD")
		hdr.Set("Access-Control-Allow-Headers", "Accept")
		hdr.Set("Allow", "GET, HEAD, OPTIONS")
		rw.WriteHeader(http.StatusNoContent)
		return
	default:
		hdr.Set("Allow", "GET, HEAD, OPTIONS")
		h.fail(rw, r, statusErrorf(http.StatusMethodNotAllowed, "method %s not allowed; RDAP is read with GET or HEAD", r.Method))
		return
	}
	if client, trusted := h.trusted.Client(r.RemoteAddr, r.Header.Values("X-Forwarded-For")); h.limit != nil && !trusted {
		d := h.limit.Allow(netguard.KeyOf(client), time.Now())
		h.m.clients.Set(float64(h.limit.Clients()))
		if !d.OK {
			h.m.limited.Inc()
			wait := int(math.Ceil(d.Wait.Seconds()))
			hdr.Set("Retry-After", strconv.Itoa(wait))
			h.fail(rw, r, statusErrorf(http.StatusTooManyRequests, "rate limit reached; retry after %d s", wait))
			return
		}
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		h.fail(rw, r, notFound("no such path %.100q; RDAP is served under %s", r.URL.Path, Prefix))
		return
	}
	q, err := parseQuery(rest, r.URL.RawQuery)
	route = q.route()
	if err != nil {
		h.fail(rw, r, err)
		return
	}
	rc := h.newRequest(r, rest)
	var body any
	switch q.kind {
	case kindHelp:
		body = rc.help()
	case kindBootstrap:
		b, err := rc.bootstrap(q.family)
		if err != nil {
			h.fail(rw, r, err)
			return
		}
		h.write(rw, r, http.StatusOK, "application/json", b)
		return
	default:
		body, err = rc.answer(q)
	}
	var red *redirect
	switch {
	case errors.As(err, &red):
		h.m.redirects.WithLabelValues(red.registry).Inc()
		hdr.Set("Location", red.location)
		rw.WriteHeader(http.StatusFound)
	case err != nil:
		h.fail(rw, r, err)
	default:
		h.write(rw, r, http.StatusOK, contentType, body)
	}
}

// contentType is the media type of RDAP answers (RFC 7480 §4.2).
const contentType = "application/rdap+json"

// write encodes body first, so an encoding failure is still a clean 500. HEAD gets the
// headers only.
func (h *handler) write(w http.ResponseWriter, r *http.Request, status int, ctype string, body any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		h.fail(w, r, fmt.Errorf("encode answer: %w", err))
		return
	}
	out := ipledger.EscapeJSON(b.Bytes())
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(out)
	}
}

// fail answers err as an RDAP error body. A *statusError carries its own status; an
// *ipledger.Error maps through Code.HTTPStatus; anything else is internal: logged, and
// answered with 500 "internal error".
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	var se *statusError
	switch {
	case errors.As(err, &se):
		status, msg = se.status, se.msg
	case ipledger.ErrorCode(err) != ipledger.CodeInternal:
		status, msg = ipledger.ErrorCode(err).HTTPStatus(), ipledger.ErrorMessage(err)
	case r.Context().Err() != nil && errors.Is(err, r.Context().Err()):
		return // the client is gone; the work stopped for it
	default:
		h.log.Error("rdap", "err", err, "path", r.URL.Path)
	}
	body := &errorBody{
		top:       top{Conformance: conformance, Notices: h.newRequest(r, "").notices(nil)},
		ErrorCode: status, Title: http.StatusText(status), Description: []string{msg},
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	h.write(w, r, status, contentType, body)
}

// statusError is a failure whose HTTP status the error-code table does not cover: 405,
// 429, 501, 503.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return strconv.Itoa(e.status) + ": " + e.msg }

func statusErrorf(status int, format string, args ...any) error {
	return &statusError{status: status, msg: fmt.Sprintf(format, args...)}
}

// invalid is a malformed query: 400.
func invalid(format string, args ...any) error {
	return ipledger.Errorf(ipledger.CodeInvalid, format, args...)
}

// notFound is a query nothing matches: 404.
func notFound(format string, args ...any) error {
	return ipledger.Errorf(ipledger.CodeNotFound, format, args...)
}

// redirect is the answer for space a non-authoritative registry keeps: 302 to its service.
type redirect struct {
	registry, location string
}

func (r *redirect) Error() string { return "redirect to " + r.location }

// statusWriter remembers the status for the metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}
