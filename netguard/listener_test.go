package netguard

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger/ipledgertest"
)

// serveEcho accepts on l and echoes each connection until it closes.
func serveEcho(t *testing.T, l net.Listener) {
	t.Helper()
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
}

// dialFrom connects to addr from the loopback address from (127.0.0.0/8 all work on Linux).
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// alive reports whether c is served: it echoes a byte within a second. A refused
// connection reads EOF or a reset.
func alive(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte{'x'}); err != nil {
		return false
	}
	var b [1]byte
	_, err := io.ReadFull(c, b[:])
	return err == nil
}

func newListener(t *testing.T, o ListenerOptions) (*Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Listen(ln, o)
	serveEcho(t, l)
	return l, ln.Addr().String()
}

func TestListenerPerClient(t *testing.T) {
	var logs bytes.Buffer
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	l, addr := newListener(t, ListenerOptions{Name: "test", MaxConns: 100, MaxPerClient: 3, Metrics: m,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	var held []net.Conn
	for i := range 3 {
		c := dialFrom(t, "127.0.0.2", addr)
		if !alive(c) {
			t.Fatalf("connection %d within the cap not served", i)
		}
		held = append(held, c)
	}
	for i := range 5 {
		if alive(dialFrom(t, "127.0.0.2", addr)) {
			t.Fatalf("connection %d beyond the per-client cap served", i)
		}
	}
	// Another client is not affected.
	if !alive(dialFrom(t, "127.0.0.3", addr)) {
		t.Fatal("another client refused")
	}
	if n := ipledgertest.MetricValue(t, m.refused.WithLabelValues("test", ReasonClient)); n != 5 {
		t.Errorf("refused{reason=client} %v, want 5", n)
	}
	if n := strings.Count(logs.String(), "connection cap reached"); n != 1 {
		t.Errorf("%d log lines for one episode:\n%s", n, logs.String())
	}
	// Closing one frees its place.
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if conns, _ := l.Open(); conns == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("place not freed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !alive(dialFrom(t, "127.0.0.2", addr)) {
		t.Fatal("refused after a place was freed")
	}
	if g := ipledgertest.MetricValue(t, m.open.WithLabelValues("test")); g != 4 {
		t.Errorf("open connections gauge %v, want 4", g)
	}
}

func TestListenerTotalAndTrusted(t *testing.T) {
	tr, _ := ParseTrusted("127.0.0.1")
	l, addr := newListener(t, ListenerOptions{Name: "test", MaxConns: 16, MaxPerClient: 1, Trusted: tr})
	// 14 clients fill what is not kept for the trusted (16 - 16/8).
	for i := range 14 {
		c := dialFrom(t, "127.0.1."+itoa(i+1), addr)
		if !alive(c) {
			t.Fatalf("client %d not served", i)
		}
	}
	if alive(dialFrom(t, "127.0.2.1", addr)) {
		t.Fatal("a 15th untrusted client served past the cap")
	}
	// The trusted client has no per-client cap and the two places kept for it.
	for i := range 2 {
		if !alive(dialFrom(t, "127.0.0.1", addr)) {
			t.Fatalf("trusted connection %d refused", i)
		}
	}
	if alive(dialFrom(t, "127.0.0.1", addr)) {
		t.Fatal("a trusted connection served past the overall cap")
	}
	if conns, clients := l.Open(); conns != 16 || clients != 14 {
		t.Errorf("open %d from %d clients", conns, clients)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
