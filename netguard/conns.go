package netguard

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"sync"
	"time"
)

// ErrClosed is what Conns.Accept returns once the set is closed; check with errors.Is.
var ErrClosed = errors.New("netguard: connection set closed")

// Caps bounds the connections a server admits: Max in all, of which Reserve are kept for
// trusted clients, and PerClient from one untrusted client.
type Caps struct {
	Max, Reserve, PerClient int
}

// Admission is what Conns.Admit decided.
type Admission int

const (
	// Admitted: the connection is in the set; the server serves it and calls Remove.
	Admitted Admission = iota
	// Refused: the set is closed.
	Refused
	// Full: the set holds Caps.Max connections (Max-Reserve for an untrusted client).
	Full
	// ClientFull: the client holds Caps.PerClient connections.
	ClientFull
)

// Conns is a server's set of listeners and open connections, with the per-client counts its
// caps are checked against. Listen registers a listener, Admit a connection within the
// caps (Add one outside them), Remove lets one go, and Close closes all of them and waits
// until every connection is removed. After Close, Listen, Admit and Add refuse. Use
// NewConns; the zero Conns is not usable.
type Conns[C interface {
	comparable
	io.Closer
}] struct {
	mu        sync.Mutex
	closed    bool
	done      chan struct{}
	listeners map[net.Listener]struct{}
	conns     map[C]client
	perClient map[Key]int // open connections of untrusted clients
	wg        sync.WaitGroup
}

type client struct {
	key     Key
	trusted bool
}

// NewConns returns an empty, open set.
func NewConns[C interface {
	comparable
	io.Closer
}]() *Conns[C] {
	return &Conns[C]{
		done:      make(chan struct{}),
		listeners: map[net.Listener]struct{}{},
		conns:     map[C]client{},
		perClient: map[Key]int{},
	}
}

// Listen adds ln, for Close to close; false if the set is closed.
func (t *Conns[C]) Listen(ln net.Listener) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.listeners[ln] = struct{}{}
	return true
}

// Closed reports whether Close has been called.
func (t *Conns[C]) Closed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// Accept accepts a connection from ln, a listener given to Listen. After a temporary error
// (out of file descriptors and the like) it tells retrying, waits and tries again, as
// net/http does: 5 ms, doubling up to 1 s, cut short by Close. It returns ErrClosed once
// the set is closed, and ln's other errors.
func (t *Conns[C]) Accept(ln net.Listener, retrying func(err error, wait time.Duration)) (net.Conn, error) {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		switch {
		case err == nil:
			return nc, nil
		case t.Closed():
			return nil, ErrClosed
		case errors.Is(err, net.ErrClosed):
			return nil, err
		}
		backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
		retrying(err, backoff)
		select {
		case <-time.After(backoff):
		case <-t.done:
		}
	}
}

// Done returns a channel that Close closes.
func (t *Conns[C]) Done() <-chan struct{} { return t.done }

// Admit adds c, a connection of client key (trusted clients are exempt from PerClient and
// may use the Reserve), unless the set is closed or over caps. Every Admitted connection
// must be given to Remove once its server is done with it.
func (t *Conns[C]) Admit(c C, key Key, trusted bool, caps Caps) Admission {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return Refused
	case len(t.conns) >= caps.Max, !trusted && len(t.conns) >= caps.Max-caps.Reserve:
		return Full
	case !trusted && t.perClient[key] >= caps.PerClient:
		return ClientFull
	}
	t.conns[c] = client{key, trusted}
	if !trusted {
		t.perClient[key]++
	}
	t.wg.Add(1)
	return Admitted
}

// Add adds c outside the caps (a connection capped elsewhere, or one the server opened
// itself), for Close to close and wait for; false if the set is closed.
func (t *Conns[C]) Add(c C) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.conns[c] = client{trusted: true}
	t.wg.Add(1)
	return true
}

// Remove takes an admitted or added connection out of the set; Close waits for it.
func (t *Conns[C]) Remove(c C) {
	t.mu.Lock()
	cl := t.conns[c]
	delete(t.conns, c)
	if !cl.trusted {
		if t.perClient[cl.key]--; t.perClient[cl.key] <= 0 {
			delete(t.perClient, cl.key)
		}
	}
	t.mu.Unlock()
	t.wg.Done()
}

// Len returns the number of open connections.
func (t *Conns[C]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// All yields the open connections, holding the set's lock until the loop ends: the loop
// must not call the set's methods.
func (t *Conns[C]) All() iter.Seq[C] {
	return func(yield func(C) bool) {
		t.mu.Lock()
		defer t.mu.Unlock()
		for c := range t.conns {
			if !yield(c) {
				return
			}
		}
	}
}

// Close closes Done, the listeners and the open connections, then waits until every
// admitted connection is removed. It returns how many listeners and connections it closed
// (none when the set was closed already) and the listeners' errors other than
// net.ErrClosed.
func (t *Conns[C]) Close() (listeners, open int, err error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return 0, 0, nil
	}
	t.closed = true
	close(t.done)
	var errs []error
	for ln := range t.listeners {
		if e := ln.Close(); e != nil && !errors.Is(e, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("close listener %s: %w", ln.Addr(), e))
		}
	}
	for c := range t.conns {
		c.Close()
	}
	listeners, open = len(t.listeners), len(t.conns)
	t.mu.Unlock()
	t.wg.Wait()
	return listeners, open, errors.Join(errs...)
}
