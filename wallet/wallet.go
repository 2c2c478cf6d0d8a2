// Package wallet is the local signing front end of `ipledger wallet --home DIR`: web pages
// in the explorer's layout (package web) with action forms — offer a block for lease,
// withdraw an offer, take an offer, pay, authorise or withdraw a route, set a
// geolocation, transfer a block — each shown as the exact transaction on a confirm page
// and signed with the home's keys only once the user confirms. It reads a node's JSON API
// through package client; before it asks for a signature it fetches the state proofs of
// the objects the action touches and checks them against the validators it trusts
// (package stateproof), so a node that lies cannot make the user sign what the page does
// not say.
//
// It serves loopback only, to one browser session: a per-start token in the URL it prints
// is exchanged for an HttpOnly SameSite=Strict cookie; the Host header must be the
// address it listens on (DNS rebinding); a POST needs the wallet's own Origin and the
// session's CSRF token; every answer forbids framing. Private keys stay behind the
// Keyring: no page or download carries one.
package wallet

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/stateproof"
	"github.com/ipledger/ipledger/web"
)

// Keyring holds the home's signing keys. The wallet signs with them and shows their
// public halves; it never sends a private key anywhere.
type Keyring interface {
	// Names lists the keys by name, sorted; a key named like an organisation's handle
	// ("DEMO") signs for that organisation.
	Names() ([]string, error)
	// Key returns the private key called name.
	Key(name string) (ipledger.PrivateKey, error)
	// Create makes a new key called name and returns its public half; it refuses a name
	// that exists.
	Create(name string) (ipledger.PublicKey, error)
}

// Options configure New.
type Options struct {
	// Node is the node's JSON API; required.
	Node *client.Client
	// Trust is the chain id and validator set the state proofs are checked against;
	// required.
	Trust *stateproof.Trust
	// Keys are the home's keys; required.
	Keys Keyring
	// Logger receives one line per signed transaction and per refused proof; nil
	// discards.
	Logger *slog.Logger
	// Now is the clock the transactions' expiry times start from; nil is time.Now.
	Now func() time.Time
}

// Session cookie and form field names.
const (
	cookieName = "ipledger_wallet"
	csrfField  = "csrf"
	// maxForm bounds a form or an imported transaction file.
	maxForm = 1 << 20
	// pendingTTL is how long a confirm page stays signable.
	pendingTTL = 30 * time.Minute
)

// Server is the wallet's HTTP handler, bound to one listen address and one session.
type Server struct {
	o       Options
	log     *slog.Logger
	addr    string // the loopback host:port the browser uses; the only Host accepted
	token   string // in the printed URL; exchanged for the cookie
	session string // the cookie's value
	csrf    string // the forms' token: HMAC of the session
	pages   *web.Renderer
	mux     *http.ServeMux

	mu      sync.Mutex
	pending map[string]*pending
	as      string // the organisation the front page last showed: the explorer pages act as it
}

// ErrNotLoopback is returned by Listen for an address that is not a loopback IP
// address. Check with errors.Is.
var ErrNotLoopback = errors.New("the wallet listens on a loopback address only (127.0.0.1 or [::1])")

// Listen opens the wallet's listener on addr, which must be a loopback IP address and a
// port ("127.0.0.1:8088", "[::1]:0"); a host name, even localhost, is refused, since the
// Host check compares the address itself.
func Listen(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", addr, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("--listen %q: %w", addr, ErrNotLoopback)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("wallet listen: %w", err)
	}
	return ln, nil
}

// New returns the wallet served at addr, the listener's address (Listen's
// ln.Addr().String()).
func New(o Options, addr string) (*Server, error) {
	if o.Node == nil || o.Trust == nil || o.Keys == nil {
		return nil, errors.New("wallet: Node, Trust and Keys are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{o: o, log: o.Logger, addr: addr, pages: web.NewRenderer(), mux: http.NewServeMux(), pending: map[string]*pending{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.token, s.session = randomHex(), randomHex()
	m := hmac.New(sha256.New, []byte(s.session))
	m.Write([]byte("ipledger wallet csrf"))
	s.csrf = hex.EncodeToString(m.Sum(nil))
	s.routes()
	return s, nil
}

func randomHex() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Serve answers on ln, the listener of the address New was given, until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("wallet: %w", err)
	}
	return nil
}

// URL is the address to open: it carries the session token.
func (s *Server) URL() string { return "http://" + s.addr + "/login?token=" + s.token }

// ServeHTTP checks every request against the wallet's rules, then answers it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	// DNS rebinding: a page of another site whose name now points at 127.0.0.1 sends its
	// own name as Host.
	if r.Host != s.addr {
		http.Error(w, "wrong Host: the wallet answers only at "+s.addr, http.StatusMisdirectedRequest)
		return
	}
	if r.URL.Path == "/login" && r.Method == http.MethodGet {
		s.login(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/static/") && r.Method == http.MethodGet {
		web.Static().ServeHTTP(w, r)
		return
	}
	c, err := r.Cookie(cookieName)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(s.session)) != 1 {
		http.Error(w, "no wallet session: open the URL the wallet printed when it started", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodPost {
		if r.Header.Get("Origin") != "http://"+s.addr {
			http.Error(w, "a form of another site: the wallet takes posts from its own pages only", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseMultipartForm(maxForm); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue(csrfField)), []byte(s.csrf)) != 1 {
			http.Error(w, "missing or stale form token: reload the page and try again", http.StatusForbidden)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// login exchanges the URL's token for the session cookie and sends the browser on with
// the token gone from the address bar.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("token")), []byte(s.token)) != 1 {
		http.Error(w, "wrong or missing token: open the URL the wallet printed when it started", http.StatusUnauthorized)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.session, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// routes registers the wallet's pages and the explorer's, whose content the wallet reads
// from the node and serves sanitised with its actions (explore.go); the JSON twins go to
// the node.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /{$}", s.home)
	s.mux.HandleFunc("GET /wallet/keys", s.keysPage)
	s.mux.HandleFunc("GET /wallet/block", s.block)
	s.mux.HandleFunc("POST /wallet/keys", s.createKey)
	s.mux.HandleFunc("POST /wallet/request", s.request)
	s.mux.HandleFunc("GET /wallet/cosign", s.cosignPage)
	s.mux.HandleFunc("POST /wallet/cosign", s.cosign)
	s.mux.HandleFunc("POST /wallet/confirm", s.confirm)
	s.mux.HandleFunc("POST /wallet/export", s.export)
	for _, a := range actions {
		s.mux.HandleFunc("POST /wallet/"+a.name, s.prepare(a))
	}
	for _, p := range web.Patterns() {
		if p == "GET /{$}" || strings.HasPrefix(p, "GET /static/") {
			continue
		}
		s.mux.HandleFunc(p, s.explore)
	}
	s.mux.HandleFunc("GET /v1/", s.toNode) // the pages' JSON twins
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.message(w, r, http.StatusNotFound, "Not found", "The wallet has no page at "+r.URL.Path+".")
	})
}

// toNode sends a path to the node's own answer.
func (s *Server) toNode(w http.ResponseWriter, r *http.Request) {
	u := strings.TrimRight(s.o.Node.Base, "/") + r.URL.Path
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// nodeURL is the node's page at path.
func (s *Server) nodeURL(path string) string { return strings.TrimRight(s.o.Node.Base, "/") + path }

// messageData is the model of wallet-message.html.
type messageData struct {
	Message string
	Back    string
}

// message answers a page with one message: an error, or what to do next.
func (s *Server) message(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s.render(w, status, "wallet-message", &web.Page{Title: title, Data: messageData{Message: msg, Back: "/"}})
}

func (s *Server) render(w http.ResponseWriter, status int, name string, p *web.Page) {
	if err := s.pages.Render(w, status, name, p); err != nil {
		s.log.Error("wallet: render", "page", name, "err", err)
	}
}

// hidden is the CSRF field every form carries.
func (s *Server) hidden() web.Field { return web.Field{Name: csrfField, Type: "hidden", Value: s.csrf} }

// prover starts the proofs of one action or page: it asks the node's status, whose
// height the first proof waits for. It returns nil, having answered the page that says
// why, when the node does not answer; else the prover and the time the transaction's
// expiry starts from: the later of the clock and the node's last block time, as the
// CLI's does.
func (s *Server) prover(w http.ResponseWriter, r *http.Request) (*prover, time.Time) {
	st, err := s.o.Node.Status(r.Context())
	if err != nil {
		s.message(w, r, http.StatusBadGateway, "The node does not answer", fmt.Sprintf("node %s: %v", s.o.Node.Base, err))
		return nil, time.Time{}
	}
	now := s.o.Now()
	if st.Time.After(now) {
		now = st.Time
	}
	return &prover{ctx: r.Context(), cl: s.o.Node, trust: s.o.Trust, min: st.Height, minHash: st.AppHash}, now
}
