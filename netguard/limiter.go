package netguard

import (
	"container/list"
	"sync"
	"time"
)

// Limiter is a token bucket per client: Rate tokens a second, bursts of up to Burst. It
// remembers at most a fixed number of clients, forgetting the least recently seen first,
// so its memory is bounded whatever the number of addresses a flood comes from; a client
// forgotten starts again with a full bucket, which only errs in its favour. Use NewLimiter;
// a Limiter is safe for concurrent use.
type Limiter struct {
	rate  float64
	burst float64
	max   int

	mu  sync.Mutex
	m   map[Key]*list.Element
	lru *list.List // of *bucket, most recently seen first
}

type bucket struct {
	key     Key
	tokens  float64
	last    time.Time
	limited bool // denied since it last had a token
}

// Decision is a Limiter's answer for one request.
type Decision struct {
	// OK means the request may go ahead; it took a token.
	OK bool
	// Wait is, when not OK, how long until the client has a token again.
	Wait time.Duration
	// First is true on the first denial after a run of allowed requests, so that callers
	// log each episode once rather than each request.
	First bool
}

// NewLimiter returns a limiter allowing rate requests a second per client in bursts of up
// to burst, remembering at most maxClients clients (at least 1). A burst below 1 is 1.
func NewLimiter(rate float64, burst, maxClients int) *Limiter {
	return &Limiter{rate: rate, burst: float64(max(1, burst)), max: max(1, maxClients), m: map[Key]*list.Element{}, lru: list.New()}
}

// Allow takes a token from k's bucket at now.
func (l *Limiter) Allow(k Key, now time.Time) Decision {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if e, ok := l.m[k]; ok {
		b = e.Value.(*bucket)
		if el := now.Sub(b.last).Seconds(); el > 0 {
			b.tokens = min(l.burst, b.tokens+el*l.rate)
			b.last = now
		}
		l.lru.MoveToFront(e)
	} else {
		if l.lru.Len() >= l.max {
			old := l.lru.Back()
			delete(l.m, old.Value.(*bucket).key)
			l.lru.Remove(old)
		}
		b = &bucket{key: k, tokens: l.burst, last: now}
		l.m[k] = l.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		b.limited = false
		return Decision{OK: true}
	}
	d := Decision{First: !b.limited, Wait: time.Hour}
	if l.rate > 0 {
		d.Wait = time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	b.limited = true
	return d
}

// Clients returns how many clients the limiter remembers.
func (l *Limiter) Clients() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}
