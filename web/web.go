// Package web is the registry explorer every node serves at / on its HTTP listener: search,
// resource, organisation, leases, transaction and log pages rendered on the server with
// html/template from the committed chain (an ipledger.Reader and ledger's query
// functions). The pages are read-only and readable without JavaScript; each names its JSON
// twin under /v1/. A page model carries an optional list of action forms (Page.Actions):
// the public node never fills it, a local wallet serving the same pages does.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Limits of the pages.
const (
	// MaxRows is the most rows a list on a page shows; a "next" link pages on.
	MaxRows = 100
	// DefaultQueryWait is how long a page waits for a render slot before a 503.
	DefaultQueryWait = 2 * time.Second
)

// Options configure the handler New returns.
type Options struct {
	// Reader is the committed chain the pages read; required. A Reader that also has
	// CosignedCheckpoint() []byte shows the log's latest checkpoint on /log.
	Reader ipledger.Reader
	// Logger receives render and read errors at error level; nil discards. Requests are
	// not logged.
	Logger *slog.Logger
	// MaxQueries bounds the pages rendered at once, as the JSON API's gate bounds its
	// expensive queries (each page reads lists and history); zero means twice GOMAXPROCS,
	// negative no bound. Static files do not count.
	MaxQueries int
	// QueryWait is how long a page waits for a slot before it is answered 503 with
	// Retry-After; zero means DefaultQueryWait.
	QueryWait time.Duration
	// Actions, when set, returns the action forms a page offers its reader (a wallet's
	// lease, pay or route forms); nil on a node's public listener, whose pages have none.
	Actions func(r *http.Request, p *Page) []Action
	// Registerer receives the ipledger_web_… metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Page is what every template renders: the layout's parts and the page's own data.
type Page struct {
	// Title is the page's <title> and its one h1.
	Title string
	// JSON is the path of the page's twin in the JSON API ("/v1/orgs/ORG-A"), or empty.
	JSON string
	// Query is the search box's value.
	Query string
	// Height and Time are the committed block the page was read at.
	Height int64
	Time   time.Time
	// Actions are forms the reader can submit; empty on the public node.
	Actions []Action
	// Data is the page's own model.
	Data any

	name     string // the template
	redirect string // answer 303 See Other to this path instead
}

// Action is a form a page offers: a wallet fills them, the public node never does.
type Action struct {
	// Label is the button's text; Method ("post") and Path where the form goes.
	Label, Method, Path string
	Fields              []Field
}

// Field is one labelled input of an Action.
type Field struct {
	// Name is the input's name; Label its visible label; Type its HTML type ("text",
	// "number", "hidden"); Value its initial value.
	Name, Label, Type, Value string
}

// pageFunc reads what one page shows. An *ipledger.Error answers with its code's status
// (CodeNotFound 404, CodeInvalid 400) and message; anything else is a logged 500.
type pageFunc func(r *http.Request, snap *ipledger.Snapshot) (*Page, error)

type handler struct {
	o        Options
	log      *slog.Logger
	mux      *http.ServeMux
	tmpl     map[string]*template.Template
	slots    chan struct{} // nil: unbounded
	wait     time.Duration
	idx      indexCache
	details  detailCache
	trades   tradeCache
	rendered pageCache
	noCache  bool // render every page (benchmarks of the render itself)

	renders, cacheHits, busy prometheus.Counter
}

// routes are the page patterns; Patterns lists them for mounting.
var routes = []string{
	"GET /{$}",
	"GET /search",
	"GET /ip/{res...}",
	"GET /as/{res...}",
	"GET /org/{handle...}",
	"GET /leases",
	"GET /lease/{id...}",
	"GET /tx/{hash...}",
	"GET /log",
	"GET /market",
	"GET /listing/{id...}",
	"GET /static/{file...}",
	// Any other one-segment path: a reader's typo gets the HTML 404 page. (A catch-all of
	// every path would take the JSON API's 404 and 405 answers, and conflict with mounts
	// that match every method, such as RDAP's /rdap/.)
	"GET /{page}",
}

// Patterns returns the ServeMux patterns the handler answers, to mount each of them
// beside the JSON API (httpapi.Options.Mounts). A path under them that names no page gets
// an HTML 404 page.
func Patterns() []string { return append([]string(nil), routes...) }

// New returns the explorer's handler. It panics if a template does not parse, which
// every test shows.
func New(o Options) http.Handler {
	h := &handler{o: o, log: o.Logger, mux: http.NewServeMux(), wait: o.QueryWait}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.wait <= 0 {
		h.wait = DefaultQueryWait
	}
	if n := o.MaxQueries; n >= 0 {
		if n == 0 {
			n = 2 * runtime.GOMAXPROCS(0)
		}
		h.slots = make(chan struct{}, n)
	}
	h.tmpl = parseTemplates()
	h.renders = prometheus.NewCounter(prometheus.CounterOpts{Name: "ipledger_web_renders_total", Help: "Explorer pages rendered (errors and redirects included)."})
	h.cacheHits = prometheus.NewCounter(prometheus.CounterOpts{Name: "ipledger_web_cache_hits_total", Help: "Explorer pages answered from the pages rendered at the committed height."})
	h.busy = prometheus.NewCounter(prometheus.CounterOpts{Name: "ipledger_web_busy_total", Help: "Explorer pages answered 503 because every render slot stayed busy for the wait."})
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{h.renders, h.cacheHits, h.busy} {
			if err := o.Registerer.Register(c); err != nil {
				h.log.Error("web: register metrics", "err", err)
			}
		}
	}
	pages := map[string]pageFunc{
		"GET /{$}":             h.home,
		"GET /search":          h.search,
		"GET /ip/{res...}":     h.resource,
		"GET /as/{res...}":     h.autnum,
		"GET /org/{handle...}": h.org,
		"GET /leases":          h.leases,
		"GET /lease/{id...}":   h.lease,
		"GET /tx/{hash...}":    h.tx,
		"GET /log":             h.logPage,
		"GET /market":          h.market,
		"GET /listing/{id...}": h.listing,
		"GET /{page}": func(r *http.Request, _ *ipledger.Snapshot) (*Page, error) {
			return nil, notFound("no page at %s", r.URL.Path)
		},
	}
	for pattern, fn := range pages {
		h.mux.Handle(pattern, h.serve(fn))
	}
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	h.mux.HandleFunc("GET /static/{file...}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := fs.Stat(static, r.PathValue("file")); err != nil || r.PathValue("file") == "" {
			h.errorPage(w, r, nil, ipledger.Errorf(ipledger.CodeNotFound, "no such file"))
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
	return h
}

// ServeHTTP answers a page; a path matching no page gets the HTML 404 page.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		h.errorPage(w, r, nil, ipledger.Errorf(ipledger.CodeNotFound, "no page at %s", r.URL.Path))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// serve renders fn's page: it waits for a slot, reads and renders into memory, gives the
// slot back, then sends (a slow reader holds no slot).
func (h *handler) serve(fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cache := h.o.Actions == nil && r.URL.Path != "/log" && !h.noCache // a checkpoint's cosignatures come between blocks
		key := pageKey(r.Host, r.URL.RequestURI())
		if snap := h.o.Reader.Committed(); cache && snap != nil {
			if c, ok := h.rendered.get(snap.Height, key); ok {
				h.cacheHits.Inc()
				if c.redirect != "" {
					http.Redirect(w, r, c.redirect, http.StatusSeeOther)
				} else {
					writeHTML(w, http.StatusOK, c.body)
				}
				return
			}
		}
		if !h.enter(r.Context()) {
			if r.Context().Err() == nil {
				h.busy.Inc()
				w.Header().Set("Retry-After", "1")
				h.errorPage(w, r, nil, ipledger.Errorf(ipledger.CodeBusy, "too many pages at once; retry in a second"))
			}
			return
		}
		var buf bytes.Buffer
		h.renders.Inc()
		status, redirect := func() (int, string) {
			defer h.leave()
			snap := h.o.Reader.Committed()
			if snap == nil || snap.State == nil {
				snap = &ipledger.Snapshot{State: emptyState{}} // a node that is starting
			}
			p, err := fn(r, snap)
			if err != nil {
				return h.renderError(&buf, r, snap, err), ""
			}
			if p.redirect != "" {
				if cache {
					h.rendered.put(snap.Height, key, cachedPage{redirect: p.redirect})
				}
				return http.StatusSeeOther, p.redirect
			}
			h.fill(r, snap, p)
			if err := h.render(&buf, p); err != nil {
				h.log.Error("web: render", "page", p.name, "path", r.URL.Path, "err", err)
				buf.Reset()
				return h.renderError(&buf, r, snap, errors.New("render failed")), ""
			}
			if cache {
				h.rendered.put(snap.Height, key, cachedPage{body: buf.Bytes()})
			}
			return http.StatusOK, ""
		}()
		if redirect != "" {
			http.Redirect(w, r, redirect, status)
			return
		}
		writeHTML(w, status, buf.Bytes())
	})
}

func (h *handler) enter(ctx context.Context) bool {
	if h.slots == nil {
		return true
	}
	select {
	case h.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (h *handler) leave() {
	if h.slots != nil {
		<-h.slots
	}
}

// fill sets the layout's parts of p from the request and the snapshot.
func (h *handler) fill(r *http.Request, snap *ipledger.Snapshot, p *Page) {
	p.Height, p.Time = snap.Height, snap.Block.Time
	if p.Query == "" {
		p.Query = r.URL.Query().Get("q")
	}
	if h.o.Actions != nil {
		p.Actions = h.o.Actions(r, p)
	}
}

func (h *handler) render(buf *bytes.Buffer, p *Page) error {
	t := h.tmpl[p.name]
	if t == nil {
		return fmt.Errorf("no template %q", p.name)
	}
	return t.ExecuteTemplate(buf, "layout", p)
}

// errorData is the error page's model.
type errorData struct {
	Status  int
	Message string
}

// renderError renders the error page for err into buf and returns its status.
func (h *handler) renderError(buf *bytes.Buffer, r *http.Request, snap *ipledger.Snapshot, err error) int {
	code := ipledger.ErrorCode(err)
	msg := ipledger.ErrorMessage(err)
	if code == ipledger.CodeInternal {
		if r.Context().Err() == nil {
			h.log.Error("web: page", "path", r.URL.Path, "err", err)
		}
		msg = "internal error"
	}
	status := code.HTTPStatus()
	p := &Page{Title: http.StatusText(status), name: "error", Data: errorData{Status: status, Message: msg}}
	if snap == nil {
		snap = h.o.Reader.Committed()
	}
	if snap != nil {
		h.fill(r, snap, p)
	}
	if rerr := h.render(buf, p); rerr != nil {
		h.log.Error("web: render error page", "err", rerr)
		buf.Reset()
		buf.WriteString(http.StatusText(status))
	}
	return status
}

// errorPage answers err as an HTML page.
func (h *handler) errorPage(w http.ResponseWriter, r *http.Request, snap *ipledger.Snapshot, err error) {
	var buf bytes.Buffer
	status := h.renderError(&buf, r, snap, err)
	writeHTML(w, status, buf.Bytes())
}

func writeHTML(w http.ResponseWriter, status int, b []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	// Everything a page uses comes from this node: no third-party requests, no framing.
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	w.Write(b)
}

// home is the front page: the search box and what the chain holds now.
func (h *handler) home(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	return &Page{Title: "ipledger registry explorer", JSON: "/v1/status", name: "home", Data: snap.Block}, nil
}

// found returns x, or CodeNotFound ("no " + what) when it is nil; err is wrapped with
// what.
func found[T any](x *T, err error, what string) (*T, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if x == nil {
		return nil, notFound("no %s", what)
	}
	return x, nil
}

// emptyState is the state of a node that has committed nothing yet: every lookup finds
// nothing.
type emptyState struct{}

func (emptyState) Get([]byte) ([]byte, error) { return nil, nil }
func (emptyState) Set([]byte, []byte) error   { return errors.New("read-only state") }
func (emptyState) Delete([]byte) error        { return errors.New("read-only state") }
func (emptyState) Iterate([]byte, []byte, bool, func(k, v []byte) bool) error {
	return nil
}

func invalid(format string, args ...any) error {
	return ipledger.Errorf(ipledger.CodeInvalid, format, args...)
}

func notFound(format string, args ...any) error {
	return ipledger.Errorf(ipledger.CodeNotFound, format, args...)
}
