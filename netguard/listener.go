package netguard

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the capped listeners' metrics, shared by every listener of a process and
// labelled by listener name. The zero Metrics is not usable; a nil *Metrics records nothing.
type Metrics struct {
	refused *prometheus.CounterVec
	open    *prometheus.GaugeVec
}

// NewMetrics returns the metrics ipledger_listener_refused_total{listener,reason} and
// ipledger_listener_open_connections{listener}, registered on reg unless it is nil. It
// fails when they are registered there already.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipledger_listener_refused_total",
			Help: "Connections closed at once by a capped listener, by listener and reason (total: the listener's cap; client: the per-client cap).",
		}, []string{"listener", "reason"}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ipledger_listener_open_connections",
			Help: "Connections open on a capped listener.",
		}, []string{"listener"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.refused, m.open} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// Refused returns the counter of ipledger_listener_refused_total for listener and reason,
// for a listener capped elsewhere (CometBFT's P2P, through its connection filter); nil
// when m is nil.
func (m *Metrics) Refused(listener, reason string) prometheus.Counter {
	if m == nil {
		return nil
	}
	return m.refused.WithLabelValues(listener, reason)
}

// Reasons of refusal, the reason label of ipledger_listener_refused_total.
const (
	ReasonTotal  = "total"
	ReasonClient = "client"
)

// ListenerOptions configure Listen.
type ListenerOptions struct {
	// Name labels the listener's metrics and log lines ("http", "whois", "rtr", …).
	Name string
	// MaxConns bounds the connections open at once, trusted ones included; it must be
	// positive. An eighth of it (at least one) is kept for trusted clients when there are
	// any, so that a flood from many addresses does not lock a trusted client out.
	MaxConns int
	// MaxPerClient bounds the connections open at once from one client (Key); 0 means no
	// per-client bound. Trusted clients are exempt.
	MaxPerClient int
	// Trusted clients are exempt from MaxPerClient and may use the share of MaxConns kept
	// for them. Nil trusts no one.
	Trusted *Trusted
	// Logger gets one line when a run of refusals starts (none for the next 10 s after
	// one) and one when it ends; nil discards.
	Logger *slog.Logger
	// Metrics records refusals and open connections; nil records none.
	Metrics *Metrics
}

// Listener is a net.Listener that admits a connection only within its caps, closing any
// other at once, before the server behind it sees it. Its client table holds only clients
// with a connection open, so it is bounded by MaxConns. Use Listen.
type Listener struct {
	net.Listener
	o        ListenerOptions
	reserve  int
	log      *slog.Logger
	refusedC [2]prometheus.Counter
	openG    prometheus.Gauge

	mu        sync.Mutex
	open      int
	perClient map[Key]int
	refusals  Refusals
}

// Listen wraps ln in the caps of o.
func Listen(ln net.Listener, o ListenerOptions) *Listener {
	l := &Listener{Listener: ln, o: o, perClient: map[Key]int{}, log: o.Logger}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.refusals = Refusals{Listener: o.Name, Log: l.log}
	if l.o.MaxConns <= 0 {
		l.o.MaxConns = 1
	}
	if !o.Trusted.Empty() {
		l.reserve = max(1, l.o.MaxConns/8)
		if l.reserve >= l.o.MaxConns {
			l.reserve = 0
		}
	}
	if o.Metrics != nil {
		l.refusedC[0] = o.Metrics.refused.WithLabelValues(o.Name, ReasonTotal)
		l.refusedC[1] = o.Metrics.refused.WithLabelValues(o.Name, ReasonClient)
		l.openG = o.Metrics.open.WithLabelValues(o.Name)
	}
	return l
}

// Accept returns the next connection within the caps; the ones beyond are closed without
// being returned. Closing the connection returned frees its place.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if gc := l.admit(c); gc != nil {
			return gc, nil
		}
	}
}

func (l *Listener) admit(c net.Conn) net.Conn {
	a := AddrOf(c.RemoteAddr())
	trusted := l.o.Trusted.Contains(a)
	k := KeyOf(a)
	now := time.Now()
	l.mu.Lock()
	reason := ""
	switch {
	case trusted && l.open >= l.o.MaxConns:
		reason = ReasonTotal
	case !trusted && l.open >= l.o.MaxConns-l.reserve:
		reason = ReasonTotal
	case !trusted && l.o.MaxPerClient > 0 && l.perClient[k] >= l.o.MaxPerClient:
		reason = ReasonClient
	}
	if reason == "" {
		l.open++
		if !trusted {
			l.perClient[k]++
		}
		open := l.open
		l.refusals.End(now)
		l.mu.Unlock()
		if l.openG != nil {
			l.openG.Set(float64(open))
		}
		return &conn{Conn: c, l: l, key: k, trusted: trusted}
	}
	start := l.refusals.Refuse(now)
	open, clients := l.open, len(l.perClient)
	l.mu.Unlock()
	c.Close()
	if l.refusedC[0] != nil {
		if reason == ReasonTotal {
			l.refusedC[0].Inc()
		} else {
			l.refusedC[1].Inc()
		}
	}
	if start {
		l.log.Warn("connection cap reached; refusing connections", "listener", l.o.Name, "reason", reason, "client", k.String(),
			"open", open, "clients", clients, "max_conns", l.o.MaxConns, "max_per_client", l.o.MaxPerClient)
	}
	return nil
}

func (l *Listener) release(k Key, trusted bool) {
	l.mu.Lock()
	l.open--
	if !trusted {
		if l.perClient[k]--; l.perClient[k] <= 0 {
			delete(l.perClient, k)
		}
	}
	open := l.open
	l.mu.Unlock()
	if l.openG != nil {
		l.openG.Set(float64(open))
	}
}

// Open returns the connections open and the untrusted clients they come from.
func (l *Listener) Open() (conns, clients int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, len(l.perClient)
}

// conn is an admitted connection; Close frees its place once.
type conn struct {
	net.Conn
	l       *Listener
	key     Key
	trusted bool
	once    sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key, c.trusted) })
	return err
}

// CloseWrite shuts the sending side down when the connection has one (TCP), as servers
// do after a final error.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
