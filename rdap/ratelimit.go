package rdap

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// limiter is a token bucket per client with a bounded client table: each client may make
// burst requests at once and rate per second sustained (RFC 7480 §5.5 answers the excess
// with 429).
type limiter struct {
	mu      sync.Mutex
	rate    float64 // tokens per second
	burst   float64
	max     int // clients tracked
	clients map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst, max int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), max: max, clients: map[string]*bucket{}}
}

// allow takes a token from key's bucket at now. When none is left it reports how long until
// one is, and the number of clients tracked.
func (l *limiter) allow(key string, now time.Time) (ok bool, wait time.Duration, clients int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.clients[key]
	if b == nil {
		if len(l.clients) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.clients[key] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0, len(l.clients)
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), len(l.clients)
}

// evict makes room in a full table: first the clients whose buckets have refilled (idle
// ones, which lose nothing by being forgotten), then, if every client is active, an eighth
// of them at random (map order), which only resets their buckets in their favour.
func (l *limiter) evict(now time.Time) {
	for k, b := range l.clients {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.clients, k)
		}
	}
	if len(l.clients) < l.max {
		return
	}
	n := l.max/8 + 1
	for k := range l.clients {
		if n == 0 {
			break
		}
		delete(l.clients, k)
		n--
	}
}

// clientKey is who a request counts against: its IPv4 address, or the /64 of its IPv6
// address (one host easily has a whole /64). Proxy headers are not trusted.
func clientKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
