// Package whois is ipledger's WHOIS service (RFC 3912): it answers queries over TCP with
// RPSL objects (RFC 2622) built from the ledger's last committed state, following the RIPE
// Database's query flags, object classes, attribute names and %ERROR codes.
//
// Holdings become inetnum (IPv4), inet6num (IPv6), aut-num (one AS number a holder holds,
// with RIPE's aut-num status) and as-block (a registry's AS pool, whatever its size, and a
// holder's range of AS numbers) objects; organisations become organisation objects, and an organisation's abuse
// mailbox a role object whose nic-hdl is the handle with "-ABUSE" appended. Every object
// names its ledger handle and the JSON API path of its history. Space in the pool of a
// registry whose records are not on the ledger yet gets a referral to that registry's own
// WHOIS service instead of objects.
//
// A Server bounds what one client can take: queries per second per client (IPv4 address or
// IPv6 /64, %ERROR:201), concurrent connections overall and per client (%ERROR:306), an idle
// timeout (%ERROR:305) and the length of a query line (%ERROR:107). Each of these closes the
// connection after its error line; a bad query gets its error and nothing else happens.
package whois

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/netguard"
)

// Options configure a Server. Zero limits take the defaults in brackets.
type Options struct {
	// Source is the ledger served (package chain's App); required. The server reads only
	// its committed snapshot, which is nil, or below height 1, while the node starts:
	// queries then find nothing.
	Source     ipledger.Reader
	Logger     *slog.Logger          // start, stop and limit hits; nil discards
	Registerer prometheus.Registerer // ipledger_whois_… metrics; nil registers none

	MaxConns          int           // connections served at once [256]
	MaxConnsPerClient int           // connections at once from one client [8]
	QueryRate         float64       // queries per second per client [10]
	QueryBurst        int           // queries a client may send at once [50]
	MaxClients        int           // clients the rate limiter remembers [65536]
	IdleTimeout       time.Duration // time to wait for a query line on a persistent (-k) connection [60 s]
	FirstQueryTimeout time.Duration // time to wait for the first query line of a connection [10 s]
	WriteTimeout      time.Duration // time to write one answer [30 s]
	MaxLineBytes      int           // longest query line, at most MaxQueryBytes [MaxQueryBytes]
	MaxObjects        int           // primary objects in one answer (-M, -i) [1000]
	IndexMinAge       time.Duration // least time between rebuilds of the inverse index [10 s]
	MaxIndexEntries   int           // entries of the inverse index [4,000,000]
	// Trusted clients are exempt from MaxConnsPerClient and the query rate; nil trusts no one.
	Trusted *netguard.Trusted

	now func() time.Time // the clock of rate limits and index age, for tests (deadlines use the real one)
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxConns, 256)
	def(&o.MaxConnsPerClient, 8)
	def(&o.QueryBurst, 50)
	def(&o.MaxClients, 65536)
	def(&o.MaxObjects, 1000)
	def(&o.MaxIndexEntries, 4_000_000)
	if o.MaxLineBytes <= 0 || o.MaxLineBytes > MaxQueryBytes {
		o.MaxLineBytes = MaxQueryBytes
	}
	if o.QueryRate <= 0 {
		o.QueryRate = 10
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.FirstQueryTimeout <= 0 {
		// RFC 3912 clients send their query as soon as they connect; a connection that
		// stays silent is holding a slot, not asking.
		o.FirstQueryTimeout = 10 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.IndexMinAge <= 0 {
		o.IndexMinAge = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.now == nil {
		o.now = time.Now
	}
}

// ErrServerClosed is what Serve returns after Close; check with errors.Is.
var ErrServerClosed = errors.New("whois: server closed")

// Server answers WHOIS queries. Use New; the zero Server is not usable.
type Server struct {
	opt     Options
	log     *slog.Logger
	m       *metrics
	limiter *netguard.Limiter
	index   *indexer

	conns  *netguard.Conns[net.Conn]
	mu     sync.Mutex
	logged map[string]time.Time // last warning per limit, to log limit hits sparingly
}

// New returns a server over o.Source. It fails only when the metrics cannot be registered
// (the same names registered twice on o.Registerer).
func New(o Options) (*Server, error) {
	if o.Source == nil {
		return nil, errors.New("whois: no Source")
	}
	o.defaults()
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opt: o, log: o.Logger, m: m,
		limiter: netguard.NewLimiter(o.QueryRate, o.QueryBurst, o.MaxClients),
		conns:   netguard.NewConns[net.Conn](), logged: map[string]time.Time{},
	}
	s.index = &indexer{minAge: o.IndexMinAge, perKey: o.MaxObjects + 1, maxEntries: o.MaxIndexEntries, now: o.now,
		onBuild: func(d time.Duration) {
			m.builds.Inc()
			s.log.Debug("whois inverse index built", "seconds", d.Seconds())
		}}
	return s, nil
}

// Serve accepts connections on ln until Close, answering each on its own goroutine. It
// returns ErrServerClosed after Close, or the listener's error.
func (s *Server) Serve(ln net.Listener) error {
	if !s.conns.Listen(ln) {
		ln.Close()
		return ErrServerClosed
	}
	retrying := func(err error, wait time.Duration) {
		s.warn("accept", "whois accept failed; retrying", "err", err, "retry_in", wait)
	}
	for {
		c, err := s.conns.Accept(ln, retrying)
		switch {
		case errors.Is(err, netguard.ErrClosed):
			return ErrServerClosed
		case err != nil:
			return fmt.Errorf("whois: accept: %w", err)
		}
		s.accept(c)
	}
}

// accept admits c within the connection limits, or answers %ERROR:306 and closes it.
func (s *Server) accept(c net.Conn) {
	s.m.conns.Inc()
	addr := netguard.AddrOf(c.RemoteAddr())
	client, trusted := netguard.KeyOf(addr), s.opt.Trusted.Contains(addr)
	reason := ""
	switch s.conns.Admit(c, client, trusted, netguard.Caps{Max: s.opt.MaxConns, PerClient: s.opt.MaxConnsPerClient}) {
	case netguard.Refused:
		c.Close()
		return
	case netguard.Full:
		reason = rejectConns
	case netguard.ClientFull:
		reason = rejectClientConns
	}
	if reason != "" {
		s.m.rejected.WithLabelValues(reason).Inc()
		detail := fmt.Sprintf("The server is serving its maximum of %d connections; try again later.", s.opt.MaxConns)
		if reason == rejectClientConns {
			detail = fmt.Sprintf("%s has %d connections open already, the most one client may.", client, s.opt.MaxConnsPerClient)
		}
		s.warn(reason, "whois connection limit hit", "client", client, "reason", reason)
		// A fresh socket's send buffer takes these few bytes at once; the deadline only
		// guards against the impossible.
		c.SetWriteDeadline(time.Now().Add(time.Second))
		var b strings.Builder
		writeError(&b, qerr(errConnections, "connections exceeded", detail))
		b.WriteString("\n")
		io.WriteString(c, b.String())
		c.Close()
		return
	}
	go s.serveConn(c, client, trusted)
}

// warn logs a limit hit at most once per ten seconds per kind, so a flood does not become a
// flood of log lines.
func (s *Server) warn(kind, msg string, args ...any) {
	now := s.opt.now()
	s.mu.Lock()
	last, ok := s.logged[kind]
	if ok && now.Sub(last) < 10*time.Second {
		s.mu.Unlock()
		return
	}
	s.logged[kind] = now
	s.mu.Unlock()
	s.log.Warn(msg, args...)
}

// errLineTooLong is a query line over MaxLineBytes.
var errLineTooLong = errors.New("query line too long")

// readLine reads one line without its CR LF. A last line without a line end counts (some
// clients half-close after the query); io.EOF comes back only when there is nothing.
func readLine(br *bufio.Reader) (string, error) {
	b, err := br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return "", errLineTooLong
	case errors.Is(err, io.EOF) && len(b) > 0:
		err = nil
	case err != nil:
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// serveConn answers the queries of one connection: one (RFC 3912), or with -k any number,
// each answered in full before the next is read (stop and wait), until a bare -k.
func (s *Server) serveConn(c net.Conn, client netguard.Key, trusted bool) {
	s.m.open.Inc()
	defer func() {
		c.Close()
		s.m.open.Dec()
		s.conns.Remove(c)
	}()
	// The buffer holds a line and its CR LF; a longer line fills it and is refused.
	br := bufio.NewReaderSize(c, s.opt.MaxLineBytes+2)
	first, persistent := true, false
	for {
		// The whole line must arrive within the timeout, however slowly it trickles in.
		wait := s.opt.IdleTimeout
		if first && !persistent {
			wait = s.opt.FirstQueryTimeout
		}
		c.SetReadDeadline(time.Now().Add(wait))
		line, err := readLine(br)
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, errLineTooLong):
				s.m.rejected.WithLabelValues(rejectLine).Inc()
				s.warn(rejectLine, "whois query line too long", "client", client, "max_bytes", s.opt.MaxLineBytes)
				s.closeWith(c, first, qerr(errTooLong, "input line too long", fmt.Sprintf("Input exceeds the maximum line length of %d bytes.", s.opt.MaxLineBytes)))
			case errors.As(err, &ne) && ne.Timeout():
				s.m.rejected.WithLabelValues(rejectIdle).Inc()
				s.closeWith(c, first, qerr(errIdle, "connection has been closed", fmt.Sprintf("No query came for %s.", wait)))
			}
			return
		}
		d := netguard.Decision{OK: true}
		if !trusted {
			d = s.limiter.Allow(client, s.opt.now())
		}
		if !d.OK {
			s.m.rejected.WithLabelValues(rejectRate).Inc()
			if d.First {
				s.warn(rejectRate, "whois rate limit hit", "client", client, "rate", s.opt.QueryRate, "burst", s.opt.QueryBurst)
			}
			s.closeWith(c, first, qerr(errDenied, "access denied",
				fmt.Sprintf("Queries from %s are over the limit of %g per second; try again later.", client, s.opt.QueryRate)))
			return
		}
		q, perr := ParseQuery(line)
		if perr == nil && q.Bare() {
			if persistent {
				return // a bare -k ends a persistent connection
			}
			persistent = true // and opens one, with no answer of its own
			continue
		}
		if perr == nil && q.Persistent {
			persistent = true
		}
		text := s.respond(q, perr, first)
		first = false
		c.SetWriteDeadline(time.Now().Add(s.opt.WriteTimeout))
		if _, err := io.WriteString(c, text); err != nil || !persistent {
			return
		}
	}
}

// closeWith writes a final error before the connection closes. It then shuts its side
// down and reads what the client still sends, for a moment and a bounded amount: closing
// with unread input makes the kernel reset the connection, and the client could lose the
// error before reading it.
func (s *Server) closeWith(c net.Conn, first bool, e *QueryError) {
	var b strings.Builder
	if first {
		b.WriteString(banner)
	}
	writeError(&b, e)
	b.WriteString("\n")
	c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, b.String()); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		c.SetReadDeadline(time.Now().Add(lingerTime))
		io.CopyN(io.Discard, c, lingerBytes)
	}
}

// How long and how much closeWith reads after its error.
const (
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 64 << 10
)

// banner opens the first answer of a connection.
const banner = `% This is the ipledger WHOIS service: Internet number resources and their holders as
% kept on the ipledger replicated ledger. The objects are in RPSL format; queries take the
% RIPE Database's flags (query "help" for the list).
%
% Terms of use: this is public registry data, served for the operation of networks and the
% handling of abuse. Queries are rate limited per client; bulk collection is not allowed.
% Each object names the JSON API path where its history can be checked against the ledger.

`

// respond builds the full text of one answer: the banner on a connection's first answer,
// the filtering notice, the objects or error, and the closing comment, which is followed by
// two empty lines so that a client keeping the connection open (-k) sees where the answer
// ends.
func (s *Server) respond(q *Query, perr error, first bool) string {
	start := time.Now()
	snap := s.opt.Source.Committed()
	var b strings.Builder
	if first {
		b.WriteString(banner)
	}
	outcome := outcomeError
	if perr != nil {
		var qe *QueryError
		if !errors.As(perr, &qe) {
			qe = qerr(errInternal, "internal software error")
		}
		writeError(&b, qe)
	} else {
		if !q.NoFilter && q.Info == "" && !q.Help {
			b.WriteString("% Note: this output has been filtered.\n%       To receive output for a database update, use the \"-B\" flag.\n\n")
		}
		var body string
		body, outcome = s.answer(q, snap)
		b.WriteString(body)
	}
	s.m.queries.WithLabelValues(outcome).Inc()
	s.m.duration.Observe(time.Since(start).Seconds())
	b.WriteString(footer(snap))
	b.WriteString("\n\n")
	return b.String()
}

// footer says which committed block the answer comes from.
func footer(snap *ipledger.Snapshot) string {
	if snap == nil || snap.Height < 1 {
		return "% This query was served by the ipledger WHOIS service " + Version + " before the first block.\n"
	}
	s := fmt.Sprintf("%% This query was served by the ipledger WHOIS service %s at block %d", Version, snap.Height)
	if len(snap.Block.AppHash) > 0 {
		s += fmt.Sprintf(" (app hash %X)", snap.Block.AppHash)
	}
	return s + ".\n"
}

// Close stops every listener given to Serve and closes the open connections, then waits
// for their goroutines. It is safe to call more than once.
func (s *Server) Close() error {
	served, open, err := s.conns.Close()
	if served > 0 {
		s.log.Info("whois stopped", "connections_closed", open)
	}
	if err != nil {
		return fmt.Errorf("whois: %w", err)
	}
	return nil
}
