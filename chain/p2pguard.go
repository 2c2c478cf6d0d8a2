package chain

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/p2p"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/netguard"
)

// CometBFT v1.0.1 builds its P2P transport inside node.NewNode and offers one hook into it:
// with p2p.filter_peers on, each connection, before its handshake, is passed to an ABCI
// Query of "/p2p/filter/addr/<ip:port>", and each new peer to "/p2p/filter/id/<id>"; a
// result code other than OK closes it (p2p/transport.go filterConn, node/setup.go
// createTransport). The query says nothing of the connections a client already holds, so
// p2pGuard counts them itself: the inbound peers the switch has from the client's key,
// plus the connections it admitted from there within the last admitWindow that are not
// peers yet (still in their handshake).

// Query paths of CometBFT's peer filter.
const (
	p2pFilterAddr = "/p2p/filter/addr/"
	p2pFilterID   = "/p2p/filter/id/"
)

// p2pRecentMax bounds the table of recent admissions: a flood from more addresses than
// this pushes the oldest out (see p2pGuard.admit).
const p2pRecentMax = 1024

// p2pPeer is what p2pGuard needs of a peer of the switch.
type p2pPeer struct {
	addr     netip.AddrPort
	outbound bool
}

// p2pGuard answers CometBFT's peer-filter queries, refusing a client's connection when
// it holds max already. Trusted clients and the node's own dials to its persistent peers
// are exempt. The zero p2pGuard is not usable; use newP2PGuard.
type p2pGuard struct {
	max     int
	window  time.Duration
	trusted *netguard.Trusted
	exempt  map[netip.AddrPort]bool
	refused prometheus.Counter // nil records nothing
	log     *slog.Logger
	now     func() time.Time
	peers   atomic.Pointer[func() []p2pPeer] // nil until the switch exists

	mu       sync.Mutex
	recent   []p2pAdmission // oldest first
	refusals netguard.Refusals
}

// p2pAdmission is a connection admitted at a time, not yet known to be a peer.
type p2pAdmission struct {
	key  netguard.Key
	addr netip.AddrPort
	at   time.Time
}

// newP2PGuard returns a guard refusing a client's connection beyond max (max > 0).
// window is how long an admitted connection may take to become a peer: CometBFT gives
// the secret connection and then the node-info exchange a handshake timeout each.
// persistent are the node's persistent peers (id@host:port): CometBFT filters its own
// dials too, and a dial to one of them passes uncounted.
func newP2PGuard(max int, window time.Duration, trusted *netguard.Trusted, persistent string, m *netguard.Metrics, log *slog.Logger) *p2pGuard {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &p2pGuard{max: max, window: window, trusted: trusted, exempt: map[netip.AddrPort]bool{},
		refused: m.Refused("p2p", netguard.ReasonClient), log: log, now: time.Now,
		refusals: netguard.Refusals{Listener: "p2p", Log: log}}
	for _, s := range strings.Split(persistent, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		// The resolution CometBFT makes of the same string before dialing it.
		na, err := p2p.NewNetAddressString(s)
		if err != nil {
			continue
		}
		if a, ok := netip.AddrFromSlice(na.IP); ok {
			g.exempt[netip.AddrPortFrom(a.Unmap(), na.Port)] = true
		}
	}
	return g
}

// setPeers gives the guard the switch's peers.
func (g *p2pGuard) setPeers(f func() []p2pPeer) { g.peers.Store(&f) }

// switchPeers lists the peers of sw.
func switchPeers(sw *p2p.Switch) func() []p2pPeer {
	return func() []p2pPeer {
		var ps []p2pPeer
		sw.Peers().ForEach(func(p p2p.Peer) {
			ps = append(ps, p2pPeer{addr: addrPortOf(p.RemoteAddr()), outbound: p.IsOutbound()})
		})
		return ps
	}
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if a == nil {
		return netip.AddrPort{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}

// query answers path if it is a peer-filter query.
func (g *p2pGuard) query(path string) (*abci.QueryResponse, bool) {
	switch {
	case strings.HasPrefix(path, p2pFilterAddr):
		if reason := g.admit(strings.TrimPrefix(path, p2pFilterAddr)); reason != "" {
			return &abci.QueryResponse{Code: uint32(ipledger.CodeRateLimited), Log: reason}, true
		}
		return &abci.QueryResponse{}, true
	case strings.HasPrefix(path, p2pFilterID):
		return &abci.QueryResponse{}, true
	}
	return nil, false
}

// admit decides on a connection from remote ("ip:port"): "" admits it and records it as
// recent, anything else says why it is refused.
func (g *p2pGuard) admit(remote string) string {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		// CometBFT listens on TCP only; an address that does not parse names no client.
		return "unparsable remote address"
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
	if g.exempt[ap] || g.trusted.Contains(ap.Addr()) {
		return ""
	}
	var peers []p2pPeer
	if f := g.peers.Load(); f != nil {
		peers = (*f)()
	}
	k := netguard.KeyOf(ap.Addr())
	now := g.now()

	g.mu.Lock()
	g.expire(now)
	n := 0
	isPeer := make(map[netip.AddrPort]bool, len(peers))
	for _, p := range peers {
		isPeer[p.addr] = true
		if !p.outbound && netguard.KeyOf(p.addr.Addr()) == k {
			n++
		}
	}
	for _, r := range g.recent {
		if r.key == k && !isPeer[r.addr] {
			n++
		}
	}
	if n < g.max {
		if len(g.recent) >= p2pRecentMax {
			g.recent = append(g.recent[:0], g.recent[1:]...)
		}
		g.recent = append(g.recent, p2pAdmission{key: k, addr: ap, at: now})
		g.refusals.End(now)
		g.mu.Unlock()
		return ""
	}
	start := g.refusals.Refuse(now)
	g.mu.Unlock()
	if g.refused != nil {
		g.refused.Inc()
	}
	if start {
		g.log.Warn("connection cap reached; refusing connections", "listener", "p2p", "reason", netguard.ReasonClient,
			"client", k.String(), "open", n, "max_per_client", g.max)
	}
	return "per-client connection cap reached"
}

// expire drops the admissions older than the window; g.mu held.
func (g *p2pGuard) expire(now time.Time) {
	i := 0
	for i < len(g.recent) && now.Sub(g.recent[i].at) >= g.window {
		i++
	}
	if i > 0 {
		g.recent = append(g.recent[:0], g.recent[i:]...)
	}
}

// filteringApp is the application as CometBFT sees it when the P2P listener is capped per
// client: its Query answers the peer-filter paths and passes every other one to the
// application unchanged.
type filteringApp struct {
	abci.Application
	g *p2pGuard
}

// Query answers CometBFT's peer-filter queries; any other goes to the application.
func (a filteringApp) Query(ctx context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	if res, ok := a.g.query(req.Path); ok {
		return res, nil
	}
	return a.Application.Query(ctx, req)
}
