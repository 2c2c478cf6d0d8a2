package netguard

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// fakeConn is a connection that only records being closed.
type fakeConn struct{ closed bool }

func (c *fakeConn) Close() error { c.closed = true; return nil }

func TestConns(t *testing.T) {
	t.Parallel()
	set := NewConns[*fakeConn]()
	caps := Caps{Max: 3, Reserve: 1, PerClient: 1}
	a, b := KeyOf(netip.MustParseAddr("192.0.2.1")), KeyOf(netip.MustParseAddr("192.0.2.2"))
	c1, c2, c3, c4 := &fakeConn{}, &fakeConn{}, &fakeConn{}, &fakeConn{}
	for i, tc := range []struct {
		c       *fakeConn
		key     Key
		trusted bool
		want    Admission
	}{
		{c1, a, false, Admitted},
		{c2, a, false, ClientFull},
		{c2, b, false, Admitted},
		{c3, b, false, Full}, // the last place is the trusted clients' reserve
		{c3, b, true, Admitted},
		{c4, a, true, Full},
	} {
		if got := set.Admit(tc.c, tc.key, tc.trusted, caps); got != tc.want {
			t.Fatalf("admission %d: %v, want %v", i, got, tc.want)
		}
	}
	set.Remove(c1)
	if got := set.Admit(c4, a, false, caps); got != Full {
		t.Fatalf("after Remove, admit: %v, want Full", got)
	}
	if !set.Add(c4) || set.Len() != 3 {
		t.Fatal("Add, outside the caps, refused")
	}
	set.Remove(c4)
	if set.Len() != 2 {
		t.Fatalf("Len %d, want 2", set.Len())
	}
	n := 0
	for range set.All() {
		n++
	}
	if n != 2 {
		t.Fatalf("All yields %d, want 2", n)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !set.Listen(ln) {
		t.Fatal("Listen refused before Close")
	}
	// Close waits for Remove of the two open connections, as a server's goroutines do.
	go func() {
		<-set.Done()
		set.Remove(c2)
		set.Remove(c3)
	}()
	if nl, open, err := set.Close(); nl != 1 || open != 2 || err != nil {
		t.Fatalf("Close: %d listeners, %d open, %v; want 1, 2, nil", nl, open, err)
	}
	if !c2.closed || !c3.closed || c1.closed {
		t.Fatalf("closed: c1 %v c2 %v c3 %v; want the open ones only", c1.closed, c2.closed, c3.closed)
	}
	if _, err := ln.Accept(); err == nil {
		t.Fatal("listener still open after Close")
	}
	if set.Listen(ln) || set.Admit(c4, a, true, caps) != Refused || set.Add(c4) || !set.Closed() {
		t.Fatal("set takes listeners or connections after Close")
	}
	if nl, open, err := set.Close(); nl != 0 || open != 0 || err != nil {
		t.Fatalf("second Close: %d, %d, %v; want nothing", nl, open, err)
	}
}

// flakyListener fails its first Accept with a temporary error, then returns conn.
type flakyListener struct {
	net.Listener
	calls int
	conn  net.Conn
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.calls++; l.calls == 1 {
		return nil, errors.New("accept: too many open files")
	}
	return l.conn, nil
}

func TestConnsAccept(t *testing.T) {
	t.Parallel()
	set := NewConns[net.Conn]()
	c, _ := net.Pipe()
	ln := &flakyListener{conn: c}
	var waits []time.Duration
	got, err := set.Accept(ln, func(_ error, wait time.Duration) { waits = append(waits, wait) })
	if got != c || err != nil || len(waits) != 1 || waits[0] != 5*time.Millisecond {
		t.Fatalf("Accept: %v, %v after waits %v; want the connection after one 5ms wait", got, err, waits)
	}
	set.Close()
	ln.calls = 0
	if _, err := set.Accept(ln, func(error, time.Duration) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Accept after Close: %v, want ErrClosed", err)
	}
}
