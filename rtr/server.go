package rtr

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger/netguard"
	"github.com/ipledger/ipledger/vrp"
)

// Options configure a Server. The zero value of each field but MaxVersion picks the
// default given.
type Options struct {
	// MaxVersion is the highest protocol version served: 2 (draft-ietf-sidrops-8210bis-10,
	// with ASPAs), 1 (RFC 8210) or 0 (RFC 6810). Routers that open with a lower version are
	// served in theirs; one that opens with a higher version gets Unsupported Protocol
	// Version in MaxVersion and may retry in it (RFC 8210 §7). The zero value is 0.
	MaxVersion Version
	// Refresh, Retry and Expire are the intervals End of Data tells version 1 and 2 routers
	// (RFC 8210 §6), in whole seconds. Defaults 1 h, 10 min, 2 h.
	Refresh, Retry, Expire time.Duration
	// MaxConns bounds concurrent connections; one more is closed at once. Default 1024.
	// When there are Trusted clients, an eighth of it is kept for them.
	MaxConns int
	// MaxConnsPerClient bounds the concurrent connections of one client (an IPv4 address
	// or an IPv6 /64; Trusted clients are exempt): one more is closed at once. Default 8:
	// a router keeps one session per cache.
	MaxConnsPerClient int
	// Trusted clients are exempt from MaxConnsPerClient. Nil trusts no one.
	Trusted *netguard.Trusted
	// FirstQueryTimeout is how long a new connection may stay silent: RFC 8210 §8.1 routers
	// send a Reset or Serial Query as soon as they connect. Default 30 s.
	FirstQueryTimeout time.Duration
	// PDUTimeout is how long a PDU may take to arrive once its first byte has. Between
	// queries a connection may stay idle for as long as the router likes (it keeps its
	// session for hours and waits for Serial Notify). Default 10 s.
	PDUTimeout time.Duration
	// WriteTimeout is how long a router may take to accept each 256 KiB of a response
	// before it is dropped as too slow. Default 30 s.
	WriteTimeout time.Duration
	// NotifyInterval is the least time between Serial Notify rounds: RFC 8210 §8.2 says the
	// cache MUST NOT notify more often than once a minute, the default. Changes within it
	// are announced together when it has passed.
	NotifyInterval time.Duration
	// History is how many recent deltas Serial Query can be answered from. Default 32.
	History int
	// Logger receives one line per significant event. Default: discard.
	Logger *slog.Logger
	// Registerer receives the server's ipledger_rtr_… metrics. Default: none.
	Registerer prometheus.Registerer
}

// Defaults of Options.
const (
	DefaultRefresh        = time.Hour
	DefaultRetry          = 10 * time.Minute
	DefaultExpire         = 2 * time.Hour
	DefaultMaxConns       = 1024
	DefaultMaxPerClient   = 8
	DefaultFirstQuery     = 30 * time.Second
	DefaultPDUTimeout     = 10 * time.Second
	DefaultWriteTimeout   = 30 * time.Second
	DefaultNotifyInterval = time.Minute
	DefaultHistory        = 32
)

// ErrServerClosed is returned by Serve after Close; check with errors.Is.
var ErrServerClosed = errors.New("rtr: server closed")

// Server is an RTR cache. Create it with New, give it data with Update and listeners with
// Serve. Until the first Update it answers queries with No Data Available.
type Server struct {
	opts     Options
	log      *slog.Logger
	m        *metrics
	sessions [Version2 + 1]uint16 // one Session ID per version (RFC 8210 §5.1)
	eod      [3]uint32            // refresh, retry, expire in seconds

	state atomic.Pointer[state]
	upd   sync.Mutex // serialises Update

	conns *netguard.Conns[*conn]
	done  <-chan struct{} // conns.Done, which the connections' writers select on

	notifyMu    sync.Mutex
	lastNotify  time.Time
	notifyTimer *time.Timer

	lastRejectLog atomic.Int64 // unix nanoseconds
}

// New returns a server with the options checked: MaxVersion 0, 1 or 2; Refresh from 1 s to
// 1 day, Retry from 1 s to 2 h, Expire from 10 min to 2 days and longer than both (RFC 8210
// §6); metrics that register.
func New(o Options) (*Server, error) {
	if o.MaxVersion > Version2 {
		return nil, fmt.Errorf("rtr: max version %d, want 0, 1 or 2", o.MaxVersion)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Refresh, DefaultRefresh)
	def(&o.Retry, DefaultRetry)
	def(&o.Expire, DefaultExpire)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.NotifyInterval, DefaultNotifyInterval)
	def(&o.FirstQueryTimeout, DefaultFirstQuery)
	def(&o.PDUTimeout, DefaultPDUTimeout)
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxConnsPerClient <= 0 {
		o.MaxConnsPerClient = DefaultMaxPerClient
	}
	if o.History <= 0 {
		o.History = DefaultHistory
	}
	for _, c := range []struct {
		name     string
		d        time.Duration
		min, max time.Duration
	}{
		{"refresh", o.Refresh, time.Second, 24 * time.Hour},
		{"retry", o.Retry, time.Second, 2 * time.Hour},
		{"expire", o.Expire, 10 * time.Minute, 48 * time.Hour},
	} {
		if c.d < c.min || c.d > c.max {
			return nil, fmt.Errorf("rtr: %s interval %v outside %v..%v (RFC 8210 §6)", c.name, c.d, c.min, c.max)
		}
	}
	if o.Expire <= o.Refresh || o.Expire <= o.Retry {
		return nil, fmt.Errorf("rtr: expire interval %v must exceed refresh %v and retry %v (RFC 8210 §6)", o.Expire, o.Refresh, o.Retry)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:  o,
		log:   o.Logger,
		m:     m,
		eod:   [3]uint32{uint32(o.Refresh / time.Second), uint32(o.Retry / time.Second), uint32(o.Expire / time.Second)},
		conns: netguard.NewConns[*conn](),
	}
	s.done = s.conns.Done()
	// Random Session IDs, distinct per version: a router's serial is only meaningful
	// within the session and version it came from.
	var b [6]byte
	for s.sessions[0] == s.sessions[1] || s.sessions[1] == s.sessions[2] || s.sessions[0] == s.sessions[2] {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("rtr: session id: %w", err)
		}
		for v := range s.sessions {
			s.sessions[v] = binary.BigEndian.Uint16(b[2*v:])
		}
	}
	return s, nil
}

// SessionID returns the Session ID the server uses with routers of version v.
func (s *Server) SessionID(v Version) uint16 { return s.sessions[v] }

// Serial returns the current serial; ok is false before the first Update.
func (s *Server) Serial() (serial uint32, ok bool) {
	st := s.state.Load()
	if st == nil {
		return 0, false
	}
	return st.serial, true
}

// Update makes set the data served. If it differs from the current data by identity, the
// serial moves on by one, the delta joins the history, and connected routers get a Serial
// Notify (at most once per NotifyInterval). The first Update starts at serial 0.
func (s *Server) Update(set *vrp.Set) {
	s.upd.Lock()
	defer s.upd.Unlock()
	old := s.state.Load()
	var st *state
	var announced, withdrawn *vrp.Set
	if old == nil {
		st = &state{serial: 0, set: set}
	} else {
		announced, withdrawn = vrp.Diff(old.set, set)
		if announced == nil && withdrawn == nil {
			return
		}
		deltas := append(old.deltas[max(0, len(old.deltas)+1-s.opts.History):len(old.deltas):len(old.deltas)],
			&delta{from: old.serial, announced: announced, withdrawn: withdrawn})
		// Keep no more history than outweighs the set: beyond it, a Cache Reset is cheaper.
		total := 0
		for i := len(deltas) - 1; i >= 0; i-- {
			total += deltas[i].size()
			if total > resetThreshold(set) && i < len(deltas)-1 {
				deltas = deltas[i+1:]
				break
			}
		}
		st = &state{serial: old.serial + 1, set: set, deltas: deltas}
	}
	// Encode the version most routers speak before publishing, so none waits for it.
	// Version 2 (few routers yet) is encoded when first asked for.
	st.payload(min(s.opts.MaxVersion, Version1))
	s.state.Store(st)
	s.m.setChanged(st)
	if old == nil {
		s.log.Info("rtr data loaded", "serial", st.serial, "vrps", set.Len(), "router_keys", set.KeyLen(), "aspas", set.ASPALen(),
			"session_v0", s.sessions[0], "session_v1", s.sessions[1], "session_v2", s.sessions[2])
		return
	}
	s.log.Info("rtr set changed", "serial", st.serial, "vrps", set.Len(), "router_keys", set.KeyLen(), "aspas", set.ASPALen(),
		"announced", entries(announced), "withdrawn", entries(withdrawn), "history", len(st.deltas))
	s.scheduleNotify()
}

// scheduleNotify sends Serial Notify to every router now, or when NotifyInterval has
// passed since the last round.
func (s *Server) scheduleNotify() {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	if s.notifyTimer != nil {
		return // a round is due; it will carry the latest serial
	}
	wait := time.Until(s.lastNotify.Add(s.opts.NotifyInterval))
	if wait <= 0 {
		s.lastNotify = time.Now()
		s.broadcast()
		return
	}
	s.notifyTimer = time.AfterFunc(wait, func() {
		s.notifyMu.Lock()
		defer s.notifyMu.Unlock()
		s.notifyTimer = nil
		s.lastNotify = time.Now()
		s.broadcast()
	})
}

func (s *Server) broadcast() {
	for c := range s.conns.All() {
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

// Serve accepts connections on ln until Close, and then returns ErrServerClosed; it
// returns other errors of ln.Accept that are not temporary. It may be called for several
// listeners.
func (s *Server) Serve(ln net.Listener) error {
	if !s.conns.Listen(ln) {
		return ErrServerClosed
	}
	s.log.Info("rtr serving", "addr", ln.Addr().String(), "max_version", s.opts.MaxVersion,
		"refresh", s.opts.Refresh, "retry", s.opts.Retry, "expire", s.opts.Expire, "max_conns", s.opts.MaxConns, "max_conns_per_client", s.opts.MaxConnsPerClient)
	retrying := func(err error, wait time.Duration) { s.log.Warn("rtr accept", "err", err, "retry_in", wait) }
	for {
		nc, err := s.conns.Accept(ln, retrying)
		switch {
		case errors.Is(err, netguard.ErrClosed):
			return ErrServerClosed
		case err != nil:
			return fmt.Errorf("rtr: accept: %w", err)
		}
		a := netguard.AddrOf(nc.RemoteAddr())
		key, trusted := netguard.KeyOf(a), s.opts.Trusted.Contains(a)
		reserve := 0
		if !s.opts.Trusted.Empty() {
			reserve = s.opts.MaxConns / 8
		}
		c := newConn(s, nc)
		switch s.conns.Admit(c, key, trusted, netguard.Caps{Max: s.opts.MaxConns, Reserve: reserve, PerClient: s.opts.MaxConnsPerClient}) {
		case netguard.Refused:
			nc.Close()
			return ErrServerClosed
		case netguard.Full:
			s.reject(nc, "connection limit reached; closing new connections")
			continue
		case netguard.ClientFull:
			s.reject(nc, "per-client connection limit reached; closing the client's new connections")
			continue
		}
		s.m.conns.Inc()
		s.m.accepted.Inc()
		go c.serve()
	}
}

// reject closes a connection over MaxConns or MaxConnsPerClient, logging at most one line
// per 10 s.
func (s *Server) reject(nc net.Conn, msg string) {
	s.m.rejected.Inc()
	nc.Close()
	now := time.Now().UnixNano()
	last := s.lastRejectLog.Load()
	if now-last > int64(10*time.Second) && s.lastRejectLog.CompareAndSwap(last, now) {
		s.log.Warn("rtr "+msg, "max_conns", s.opts.MaxConns, "max_conns_per_client", s.opts.MaxConnsPerClient, "remote", nc.RemoteAddr().String())
	}
}

func (s *Server) remove(c *conn) {
	s.m.conns.Dec()
	s.conns.Remove(c)
}

// Close stops the listeners, drops every connection and waits for their goroutines.
// Update after Close changes nothing routers can see.
func (s *Server) Close() error {
	_, _, err := s.conns.Close()
	s.notifyMu.Lock()
	if s.notifyTimer != nil {
		s.notifyTimer.Stop()
	}
	s.notifyMu.Unlock()
	if err != nil {
		return fmt.Errorf("rtr: %w", err)
	}
	return nil
}
