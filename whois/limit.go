package whois

import (
	"container/list"
	"net"
	"net/netip"
	"sync"
	"time"
)

// limiter is a token bucket per client: rate queries per second, bursts of up to burst. It
// tracks at most max clients, forgetting the least recently seen first, so its memory is
// bounded whatever the number of addresses a flood comes from (a forgotten client starts
// again with a full bucket).
type limiter struct {
	mu    sync.Mutex
	rate  float64
	burst float64
	max   int
	m     map[string]*list.Element
	lru   *list.List // of *bucket, most recent first
	now   func() time.Time
}

type bucket struct {
	key     string
	tokens  float64
	last    time.Time
	limited bool // denied since it last had a token: a limit hit is logged once
}

func newLimiter(rate float64, burst, max int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), max: max, m: map[string]*list.Element{}, lru: list.New(), now: now}
}

// allow takes a token for client; first is true on the first denial after a run of
// allowed queries, so callers log each episode once.
func (l *limiter) allow(client string) (ok, first bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if e, found := l.m[client]; found {
		b = e.Value.(*bucket)
		b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
		b.last = now
		l.lru.MoveToFront(e)
	} else {
		if l.lru.Len() >= l.max {
			old := l.lru.Back()
			delete(l.m, old.Value.(*bucket).key)
			l.lru.Remove(old)
		}
		b = &bucket{key: client, tokens: l.burst, last: now}
		l.m[client] = l.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		b.limited = false
		return true, false
	}
	first = !b.limited
	b.limited = true
	return false, first
}

// clients returns how many clients the limiter tracks.
func (l *limiter) clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// clientKey names the client behind a remote address for limits: the IPv4 address, or the
// /64 of an IPv6 address (one subscriber's LAN commonly has a /64 to itself).
func clientKey(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.WithZone("").Prefix(64)
		return p.String()
	}
	return ip.String()
}
