package whois

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ipledger/ipledger/netguard"
)

// TestServeOneQuery: RFC 3912 — one query line, the answer, then the server closes.
func TestServeOneQuery(t *testing.T) {
	for name, send := range map[string]string{
		"CRLF":             "-r AS3333\r\n",
		"LF":               "-r AS3333\n",
		"no line end, EOF": "-r AS3333",
	} {
		t.Run(name, func(t *testing.T) {
			s := newTestServer(t, Options{})
			c, br := dial(t, listen(t, s))
			io.WriteString(c, send)
			if name == "no line end, EOF" {
				c.(*net.TCPConn).CloseWrite()
			}
			text := readAll(t, br)
			p := parseAnswer(t, text)
			if !slices.Equal(p.ids(), []string{as3333}) || !strings.HasPrefix(text, "% This is the ipledger WHOIS service") || !strings.HasSuffix(text, "\n\n\n") {
				t.Errorf("answer:\n%s", text)
			}
		})
	}
}

// TestPersistent: -k keeps the connection for stop-and-wait queries, each answer ending
// with two empty lines and only the first carrying the banner; a bare -k closes it.
func TestPersistent(t *testing.T) {
	for _, opening := range []string{"bare -k first", "-k with the first query"} {
		t.Run(opening, func(t *testing.T) {
			s := newTestServer(t, Options{})
			c, br := dial(t, listen(t, s))
			queries := []struct {
				q   string
				ids []string
				err string
			}{
				{"-r AS3333", []string{as3333}, ""},
				{"-r ORG-C", []string{orgC}, ""},
				{"-Z bogus", nil, "111"}, // an error does not end the connection
				{"", nil, "106"},
				{"-k -r 193.0.0.1", []string{assign24}, ""}, // -k with a key keeps it open
				{"-r 2001:600::1", []string{assign6B}, ""},
			}
			if opening == "bare -k first" {
				io.WriteString(c, "-k\r\n")
			} else {
				queries[0].q = "-k " + queries[0].q
			}
			for i, q := range queries {
				io.WriteString(c, q.q+"\r\n")
				text := readAnswer(t, br)
				p := parseAnswer(t, text)
				var wantErr []string
				if q.err != "" {
					wantErr = []string{q.err}
				}
				if !slices.Equal(p.ids(), q.ids) || !slices.Equal(p.errors, wantErr) {
					t.Errorf("%q: %v %v\n%s", q.q, p.ids(), p.errors, text)
				}
				if banner := strings.Contains(text, "This is the ipledger WHOIS service"); banner != (i == 0) {
					t.Errorf("%q: banner %v on answer %d", q.q, banner, i)
				}
			}
			io.WriteString(c, "-k\r\n")
			if rest := readAll(t, br); rest != "" {
				t.Errorf("after the closing -k: %q", rest)
			}
		})
	}
}

// TestRateLimit: a client over its query rate gets %ERROR:201 and is disconnected, also on
// a new connection; another client is not affected.
func TestRateLimit(t *testing.T) {
	var logs bytes.Buffer
	s := newTestServer(t, Options{QueryRate: 0.001, QueryBurst: 3, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	addr := listen(t, s)
	c, br := dial(t, addr)
	io.WriteString(c, "-k\r\n") // the first token
	for i := 0; i < 2; i++ {
		io.WriteString(c, "-r AS3333\r\n")
		if p := parseAnswer(t, readAnswer(t, br)); len(p.objects) != 1 {
			t.Fatalf("query %d: %v", i, p.errors)
		}
	}
	io.WriteString(c, "-r AS3333\r\n")
	text := readAll(t, br)
	if p := parseAnswer(t, text); !slices.Equal(p.errors, []string{"201"}) || len(p.objects) != 0 {
		t.Errorf("over the limit:\n%s", text)
	}
	c2, br2 := dial(t, addr)
	io.WriteString(c2, "-r AS3333\r\n")
	if p := parseAnswer(t, readAll(t, br2)); !slices.Equal(p.errors, []string{"201"}) {
		t.Errorf("new connection over the limit: %v", p.errors)
	}
	if n := strings.Count(logs.String(), "whois rate limit hit"); n != 1 {
		t.Errorf("%d log lines for one client's limit episode:\n%s", n, logs.String())
	}
	// The limiter keys clients by address: a different one still gets answers.
	if !s.limiter.Allow(netguard.KeyOf(netip.MustParseAddr("192.0.2.99")), time.Now()).OK {
		t.Error("another client is limited too")
	}
}

// TestTrustedClient: a trusted client is exempt from the per-client connection cap and the
// query rate (the limiter and client keys are tested in netguard).
func TestTrustedClient(t *testing.T) {
	trusted, err := netguard.ParseTrusted("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, Options{MaxConnsPerClient: 1, QueryRate: 0.001, QueryBurst: 1, Trusted: trusted})
	addr := listen(t, s)
	var conns []net.Conn
	for i := range 3 {
		c, br := dial(t, addr)
		io.WriteString(c, "-k\r\n")
		for j := range 2 {
			io.WriteString(c, "-r AS3333\r\n")
			if p := parseAnswer(t, readAnswer(t, br)); len(p.objects) != 1 {
				t.Fatalf("connection %d, query %d: %v", i, j, p.errors)
			}
		}
		conns = append(conns, c)
	}
}

// TestConnectionLimits: connections beyond MaxConns, or beyond MaxConnsPerClient from one
// client, get %ERROR:306 and are closed; those admitted keep working.
func TestConnectionLimits(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Options
	}{
		{"server", Options{MaxConns: 2}},
		{"client", Options{MaxConnsPerClient: 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, c.o)
			addr := listen(t, s)
			var held []*net.Conn
			for i := 0; i < 2; i++ {
				conn, br := dial(t, addr)
				io.WriteString(conn, "-k\r\n-r AS3333\r\n")
				readAnswer(t, br) // admitted and served
				held = append(held, &conn)
			}
			conn, br := dial(t, addr)
			text := readAll(t, br)
			if p := parseAnswer(t, text); !slices.Equal(p.errors, []string{"306"}) {
				t.Errorf("third connection:\n%s", text)
			}
			conn.Close()
			// Closing one frees its slot.
			(*held[0]).Close()
			waitFor(t, func() bool { return s.conns.Len() < 2 })
			conn, br = dial(t, addr)
			io.WriteString(conn, "-r AS3333\r\n")
			if p := parseAnswer(t, readAll(t, br)); len(p.objects) != 1 {
				t.Errorf("after a slot freed: %v", p.errors)
			}
		})
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIdleTimeout: a client that sends nothing, or stops sending in a persistent
// connection, gets %ERROR:305 and is disconnected.
func TestIdleTimeout(t *testing.T) {
	s := newTestServer(t, Options{IdleTimeout: 100 * time.Millisecond, FirstQueryTimeout: 100 * time.Millisecond})
	addr := listen(t, s)
	c, br := dial(t, addr)
	start := time.Now()
	text := readAll(t, br)
	if p := parseAnswer(t, text); !slices.Equal(p.errors, []string{"305"}) || time.Since(start) > 5*time.Second {
		t.Errorf("silent client:\n%s", text)
	}
	c.Close()
	c, br = dial(t, addr)
	io.WriteString(c, "-k\r\n-r AS3333\r\n")
	readAnswer(t, br)
	if p := parseAnswer(t, readAll(t, br)); !slices.Equal(p.errors, []string{"305"}) {
		t.Errorf("idle persistent client: %v", p.errors)
	}
}

// TestFirstQueryTimeout: a connection that sends no query, or only part of one, is closed
// with %ERROR:305 after FirstQueryTimeout even when the idle timeout is long.
func TestFirstQueryTimeout(t *testing.T) {
	s := newTestServer(t, Options{IdleTimeout: time.Hour, FirstQueryTimeout: 200 * time.Millisecond})
	addr := listen(t, s)
	for _, send := range []string{"", "-r AS33"} {
		c, br := dial(t, addr)
		io.WriteString(c, send)
		start := time.Now()
		text := readAll(t, br)
		if p := parseAnswer(t, text); !slices.Equal(p.errors, []string{"305"}) || time.Since(start) > 5*time.Second {
			t.Errorf("sent %q: after %v:\n%s", send, time.Since(start), text)
		}
	}
}

// TestLongLine: a line over MaxLineBytes gets %ERROR:107 and the connection closes, with
// or without a line end; one at the limit is answered.
func TestLongLine(t *testing.T) {
	s := newTestServer(t, Options{MaxLineBytes: 64})
	addr := listen(t, s)
	for _, send := range []string{strings.Repeat("a", 65) + "\r\n", strings.Repeat("b", 10000)} {
		c, br := dial(t, addr)
		go io.WriteString(c, send) // the server may close before reading all of it
		if p := parseAnswer(t, readAll(t, br)); !slices.Equal(p.errors, []string{"107"}) {
			t.Errorf("%d bytes: %v", len(send), p.errors)
		}
	}
	c, br := dial(t, addr)
	io.WriteString(c, "-r AS3333"+strings.Repeat(" ", 64-len("-r AS3333"))+"\r\n")
	if p := parseAnswer(t, readAll(t, br)); len(p.objects) != 1 {
		t.Errorf("line at the limit: %v", p.errors)
	}
}

// TestClose: Close ends Serve, closes open connections and refuses new ones.
func TestClose(t *testing.T) {
	s := newTestServer(t, Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	c, br := dial(t, ln.Addr().String())
	io.WriteString(c, "-k\r\n-r AS3333\r\n")
	readAnswer(t, br)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	if rest := readAll(t, br); rest != "" {
		t.Errorf("open connection got %q", rest)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("listener still accepts")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := s.Serve(ln2); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
}

// TestConcurrentQueries runs clients in parallel (for the race detector) while the
// snapshot changes under them.
func TestConcurrentQueries(t *testing.T) {
	kv, height := testState(t)
	src := newSource(kv, height)
	s := newTestServer(t, Options{Source: src, QueryRate: 1e6, QueryBurst: 1e6})
	addr := listen(t, s)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, "-k\r\n")
			br := newReader(c)
			for _, q := range []string{"-r AS3333", "-i org ORG-A", "-M 193.0.0.0/16", "ORG-B"} {
				io.WriteString(c, q+"\r\n")
				text, err := readUntilEnd(br)
				if err != nil || strings.Contains(text, "%ERROR") {
					t.Errorf("%s: %v %s", q, err, text)
					return
				}
			}
		})
	}
	for i := 0; i < 50; i++ {
		src.snap.Store(newSource(kv, height+int64(i)).Committed())
	}
	wg.Wait()
}

// TestMetrics: the server's metrics are registered under ipledger_whois_ and count.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newTestServer(t, Options{Registerer: reg, MaxConns: 1})
	addr := listen(t, s)
	c, br := dial(t, addr)
	io.WriteString(c, "-k\r\n-r AS3333\r\nNO-SUCH-ORG\r\n")
	readAnswer(t, br)
	readAnswer(t, br)
	_, br2 := dial(t, addr) // over MaxConns
	readAll(t, br2)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "ipledger_whois_") {
			t.Errorf("metric %s", mf.GetName())
		}
		for _, m := range mf.Metric {
			got[mf.GetName()+labels(m)] = value(m)
		}
	}
	for name, want := range map[string]float64{
		"ipledger_whois_queries_total{outcome=ok}":          1,
		"ipledger_whois_queries_total{outcome=not_found}":   1,
		"ipledger_whois_rejected_total{reason=connections}": 1,
		"ipledger_whois_connections_total":                  2,
		"ipledger_whois_connections_open":                   1,
		"ipledger_whois_query_seconds":                      2,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v (all: %v)", name, got[name], want, got)
		}
	}
	if _, err := New(Options{Source: &fakeSource{}, Registerer: reg}); err == nil {
		t.Error("a second server on the same registry registered its metrics")
	}
}

func labels(m *dto.Metric) string {
	if len(m.Label) == 0 {
		return ""
	}
	var l []string
	for _, p := range m.Label {
		l = append(l, p.GetName()+"="+p.GetValue())
	}
	return "{" + strings.Join(l, ",") + "}"
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}
