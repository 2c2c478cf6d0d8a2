package rtr

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/netguard"
	"github.com/ipledger/ipledger/vrp"
)

// testLogger logs to the test output when -v is given.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startServer runs a server on a loopback port until the test ends.
func startServer(t testing.TB, o Options) (*Server, string) {
	t.Helper()
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, ipledgertest.Serve(t, s.Serve, s.Close, ErrServerClosed)
}

// synced starts a server with o serving vrps, and a router that has synced with it in
// version 1; the Reset Query's answer is r.
func synced(t testing.TB, o Options, vrps ...string) (s *Server, c *client, r response) {
	t.Helper()
	s, addr := startServer(t, o)
	s.Update(mustSet(t, vrps...))
	c = dial(t, addr)
	c.send(1, &ResetQuery{})
	return s, c, c.response()
}

// client is a minimal router side for tests.
type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReaderSize(nc, 1<<16)}
}

func (c *client) send(v Version, p PDU) {
	c.t.Helper()
	b, err := Append(nil, v, p)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// read returns the next PDU, or nil at EOF.
func (c *client) read() (PDU, Version) {
	c.t.Helper()
	p, v, err := c.tryRead(5 * time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return p, v
}

func (c *client) tryRead(timeout time.Duration) (PDU, Version, error) {
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	hdr, err := c.br.Peek(headerLen)
	if errors.Is(err, io.EOF) && len(hdr) == 0 {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	n := binary.BigEndian.Uint32(hdr[4:])
	if n > MaxPDULen {
		return nil, 0, fmt.Errorf("PDU length %d", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c.br, b); err != nil {
		return nil, 0, err
	}
	p, v, _, err := Decode(b)
	return p, v, err
}

// expectEOF checks that the server closed the connection.
func (c *client) expectEOF() {
	c.t.Helper()
	if p, _, err := c.tryRead(5 * time.Second); p != nil || err != nil && !isReset(err) {
		c.t.Fatalf("got %#v, %v; want the connection closed", p, err)
	}
}

// expectFatal checks that the next answer is an Error Report with code, in version v, and
// that the server then closed the connection; what names the case in a failure.
func (c *client) expectFatal(what string, code ErrorCode, v Version) response {
	c.t.Helper()
	r := c.response()
	if r.err == nil || r.err.Code != code || r.version != v {
		c.t.Fatalf("%s: %+v, want a version %d %v", what, r, v, code)
	}
	c.expectEOF()
	return r
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "reset") || errors.Is(err, io.EOF))
}

// response is an answer to a query.
type response struct {
	version   Version
	session   uint16
	eod       *EndOfData
	announced []string
	withdrawn []string
	keys      int
	aspas     []string // "+AS1 v4 → AS2,AS3" for an announcement, "-…" for a withdrawal
	reset     bool
	err       *ErrorReport
	notifies  int
}

// response reads a Cache Response … End of Data, a Cache Reset or an Error Report,
// counting Serial Notifies read on the way.
func (c *client) response() response {
	c.t.Helper()
	var r response
	started := false
	for {
		p, v := c.read()
		if p == nil {
			c.t.Fatal("connection closed mid-response")
		}
		if started && v != r.version {
			c.t.Fatalf("version %d inside a version %d response", v, r.version)
		}
		switch p := p.(type) {
		case *SerialNotify:
			r.notifies++
		case *CacheResponse:
			started, r.version, r.session = true, v, p.Session
		case *Prefix:
			s := fmt.Sprintf("%v-%d AS%d", p.Prefix, p.MaxLength, p.ASN)
			if p.Announce {
				r.announced = append(r.announced, s)
			} else {
				r.withdrawn = append(r.withdrawn, s)
			}
		case *RouterKey:
			r.keys++
		case *ASPA:
			r.aspas = append(r.aspas, aspaString(p))
		case *EndOfData:
			if p.Session != r.session {
				c.t.Fatalf("End of Data session %d, Cache Response %d", p.Session, r.session)
			}
			r.eod = p
			return r
		case *CacheReset:
			r.reset, r.version = true, v
			return r
		case *ErrorReport:
			r.err, r.version = p, v
			return r
		default:
			c.t.Fatalf("unexpected %T", p)
		}
	}
}

func mustSet(t testing.TB, vrps ...string) *vrp.Set {
	t.Helper()
	var vs []vrp.VRP
	for _, s := range vrps {
		var p string
		var ml, asn int
		if _, err := fmt.Sscanf(strings.NewReplacer("-", " ", "AS", "").Replace(s), "%s %d %d", &p, &ml, &asn); err != nil {
			t.Fatal(s, err)
		}
		vs = append(vs, vrp.VRP{Prefix: netip.MustParsePrefix(p), MaxLength: uint8(ml), ASN: uint32(asn)})
	}
	set, err := vrp.NewSet(vs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

var (
	vA = "192.0.2.0/24-24 AS64496"
	vB = "198.51.100.0/24-32 AS64497"
	vC = "2001:db8::/32-48 AS64498"
	vD = "203.0.113.0/24-24 AS64499"
	vE = "2001:db8:1::/48-48 AS0"
)

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

func TestResetQuery(t *testing.T) {
	s, addr := startServer(t, Options{MaxVersion: 1, Refresh: 100 * time.Second, Retry: 20 * time.Second, Expire: 1000 * time.Second})
	key := vrp.RouterKey{ASN: 64496, SPKI: "spki", SKI: [20]byte{1}}
	set, err := vrp.NewSet(nil, []vrp.RouterKey{key})
	if err != nil {
		t.Fatal(err)
	}
	s.Update(mustSet(t, vA, vB, vC).Union(set))
	c := dial(t, addr)
	c.send(1, &ResetQuery{})
	r := c.response()
	if r.version != 1 || r.session != s.SessionID(1) || r.eod.Serial != 0 {
		t.Errorf("version %d session %d serial %d; want 1, %d, 0", r.version, r.session, r.eod.Serial, s.SessionID(1))
	}
	if r.eod.Refresh != 100 || r.eod.Retry != 20 || r.eod.Expire != 1000 {
		t.Errorf("intervals %d/%d/%d, want 100/20/1000", r.eod.Refresh, r.eod.Retry, r.eod.Expire)
	}
	if !slices.Equal(sorted(r.announced), sorted([]string{vA, vB, vC})) || len(r.withdrawn) != 0 || r.keys != 1 {
		t.Errorf("announced %q withdrawn %q keys %d", r.announced, r.withdrawn, r.keys)
	}
	// Up to date: an empty answer with the same serial.
	c.send(1, &SerialQuery{Session: r.session, Serial: 0})
	if r := c.response(); len(r.announced)+len(r.withdrawn) != 0 || r.eod == nil || r.eod.Serial != 0 {
		t.Errorf("serial query at the current serial: %+v", r)
	}
	// A second Reset Query on the same connection gets the whole set again.
	c.send(1, &ResetQuery{})
	if r := c.response(); len(r.announced) != 3 {
		t.Errorf("second reset: %d VRPs", len(r.announced))
	}
}

func TestVersion0Client(t *testing.T) {
	s, addr := startServer(t, Options{MaxVersion: 1})
	keys, _ := vrp.NewSet(nil, []vrp.RouterKey{{ASN: 1, SPKI: "k"}})
	s.Update(mustSet(t, vA, vC).Union(keys))
	if s.SessionID(0) == s.SessionID(1) {
		t.Error("one session id for both versions")
	}
	c := dial(t, addr)
	c.send(0, &ResetQuery{})
	r := c.response()
	if r.version != 0 || r.session != s.SessionID(0) || len(r.announced) != 2 || r.keys != 0 {
		t.Errorf("v0: version %d session %d (want %d) VRPs %d keys %d", r.version, r.session, s.SessionID(0), len(r.announced), r.keys)
	}
	if r.eod.Refresh != 0 {
		t.Error("v0 End of Data carries intervals")
	}
	// The v1 session id is no good on a v0 connection.
	c.send(0, &SerialQuery{Session: s.SessionID(1), Serial: 0})
	if r := c.response(); !r.reset || r.version != 0 {
		t.Errorf("v0 serial query with the v1 session: %+v, want a v0 Cache Reset", r)
	}
	// Changing version mid-connection is fatal: RFC 6810 has no code 8, so code 4.
	c.send(1, &ResetQuery{})
	c.expectFatal("v1 query on a v0 connection", UnsupportedVersion, 0)
}

func TestVersionNegotiation(t *testing.T) {
	t.Run("pinned v0 refuses v1", func(t *testing.T) {
		s, addr := startServer(t, Options{MaxVersion: 0})
		s.Update(mustSet(t, vA))
		c := dial(t, addr)
		c.send(1, &ResetQuery{})
		r := c.expectFatal("v1 query", UnsupportedVersion, 0)
		if _, v, _, err := Decode(r.err.PDU); err != nil || v != 1 {
			t.Errorf("encapsulated PDU %x does not hold the query", r.err.PDU)
		}
		// The router retries in version 0 and is served.
		c = dial(t, addr)
		c.send(0, &ResetQuery{})
		if r := c.response(); r.version != 0 || len(r.announced) != 1 {
			t.Errorf("v0 retry: %+v", r)
		}
	})
	t.Run("v1 refuses v2", func(t *testing.T) {
		s, addr := startServer(t, Options{MaxVersion: 1})
		s.Update(mustSet(t, vA))
		c := dial(t, addr)
		c.sendRaw([]byte{2, 2, 0, 0, 0, 0, 0, 8})
		c.expectFatal("v2 query", UnsupportedVersion, 1)
	})
	t.Run("v1 connection, v0 query", func(t *testing.T) {
		s, c, _ := synced(t, Options{MaxVersion: 1}, vA)
		c.send(0, &SerialQuery{Session: s.SessionID(0)})
		c.expectFatal("v0 query in a v1 session", UnexpectedVersion, 1)
	})
}

func TestSerialQueryIncremental(t *testing.T) {
	s, c, r0 := synced(t, Options{MaxVersion: 1, NotifyInterval: time.Millisecond}, vA, vB)

	// One change: a Serial Notify, then the delta.
	s.Update(mustSet(t, vA, vC))
	p, _ := c.read()
	if n, ok := p.(*SerialNotify); !ok || n.Serial != 1 || n.Session != r0.session {
		t.Fatalf("got %#v, want Serial Notify for serial 1", p)
	}
	c.send(1, &SerialQuery{Session: r0.session, Serial: 0})
	r := c.response()
	if r.eod.Serial != 1 || !slices.Equal(r.announced, []string{vC}) || !slices.Equal(r.withdrawn, []string{vB}) {
		t.Errorf("delta 0→1: serial %d +%q -%q", r.eod.Serial, r.announced, r.withdrawn)
	}

	// An update that changes nothing keeps the serial.
	s.Update(mustSet(t, vA, vC))
	if serial, _ := s.Serial(); serial != 1 {
		t.Errorf("serial %d after a no-op update, want 1", serial)
	}

	// Several changes, composed: vC is withdrawn then announced again (no change), vD is
	// announced then withdrawn (no change), vE is announced, vA withdrawn.
	s.Update(mustSet(t, vA, vD))     // 2: +D -C
	s.Update(mustSet(t, vA, vC, vE)) // 3: +C +E -D
	s.Update(mustSet(t, vC, vE))     // 4: -A
	c.send(1, &SerialQuery{Session: r0.session, Serial: 1})
	r = c.response()
	if r.eod.Serial != 4 || !slices.Equal(r.announced, []string{vE}) || !slices.Equal(r.withdrawn, []string{vA}) {
		t.Errorf("delta 1→4: serial %d +%q -%q; want +%q -%q", r.eod.Serial, r.announced, r.withdrawn, vE, vA)
	}
	// From the first serial, the router's set A,B becomes C,E.
	c.send(1, &SerialQuery{Session: r0.session, Serial: 0})
	r = c.response()
	if !slices.Equal(sorted(r.announced), sorted([]string{vC, vE})) || !slices.Equal(sorted(r.withdrawn), sorted([]string{vA, vB})) {
		t.Errorf("delta 0→4: +%q -%q", r.announced, r.withdrawn)
	}
}

func TestCacheReset(t *testing.T) {
	s, addr := startServer(t, Options{MaxVersion: 1, History: 2})
	sets := [][]string{{vA}, {vA, vB}, {vB}, {vB, vC}, {vC}}
	for _, vs := range sets {
		s.Update(mustSet(t, vs...))
	}
	session := s.SessionID(1)
	c := dial(t, addr)
	for _, q := range []struct {
		name    string
		session uint16
		serial  uint32
	}{
		{"too old", session, 1},
		{"future", session, 9},
		{"other session", session + 1, 3},
	} {
		c.send(1, &SerialQuery{Session: q.session, Serial: q.serial})
		if r := c.response(); !r.reset {
			t.Errorf("%s: %+v, want Cache Reset", q.name, r)
		}
	}
	c.send(1, &SerialQuery{Session: session, Serial: 2}) // still in the history
	if r := c.response(); r.reset || r.eod.Serial != 4 || !slices.Equal(r.announced, []string{vC}) || !slices.Equal(r.withdrawn, []string{vB}) {
		t.Errorf("serial 2: %+v", r)
	}
	// After a Cache Reset the router sends a Reset Query on the same connection.
	c.send(1, &ResetQuery{})
	if r := c.response(); !slices.Equal(r.announced, []string{vC}) {
		t.Errorf("reset: %+v", r)
	}
}

// TestCacheResetWhenDeltaOutweighsSet: a delta bigger than the set it leads to is not
// sent; the router is told to start over.
func TestCacheResetWhenDeltaOutweighsSet(t *testing.T) {
	s, addr := startServer(t, Options{MaxVersion: 1})
	s.Update(bigSet(t, 2000))
	s.Update(mustSet(t, vE))
	c := dial(t, addr)
	c.send(1, &SerialQuery{Session: s.SessionID(1), Serial: 0})
	if r := c.response(); !r.reset {
		t.Errorf("got %+v, want Cache Reset", r)
	}
}

func TestNoDataAvailable(t *testing.T) {
	s, addr := startServer(t, Options{MaxVersion: 1})
	c := dial(t, addr)
	c.send(1, &ResetQuery{})
	r := c.response()
	if r.err == nil || r.err.Code != NoDataAvailable {
		t.Fatalf("got %+v, want No Data Available", r)
	}
	// Not fatal: the connection stays, and the router gets data once there is some.
	s.Update(mustSet(t, vA))
	c.send(1, &ResetQuery{})
	if r := c.response(); len(r.announced) != 1 {
		t.Errorf("after the first update: %+v", r)
	}
}

func TestBadPDUs(t *testing.T) {
	s, addr := startServer(t, Options{MaxVersion: 1})
	s.Update(mustSet(t, vA))
	for _, c := range []struct {
		name  string
		raw   string
		code  ErrorCode
		after bool // sent after a valid query
	}{
		{"unknown type", "\x01\x05\x00\x00\x00\x00\x00\x08", UnsupportedPDUType, false},
		{"router key in v0", "\x00\x09\x00\x00\x00\x00\x00\x20" + strings.Repeat("\x00", 24), UnsupportedPDUType, false},
		{"cache response from a router", "\x01\x03\x00\x00\x00\x00\x00\x08", InvalidRequest, false},
		{"prefix from a router", "\x01\x04\x00\x00\x00\x00\x00\x14\x01\x18\x18\x00\xc0\x00\x02\x00\x00\x00\x00\x01", InvalidRequest, true},
		{"reset query too long", "\x01\x02\x00\x00\x00\x00\x00\x0c\x00\x00\x00\x00", CorruptData, false},
		{"length below header", "\x01\x02\x00\x00\x00\x00\x00\x04", CorruptData, false},
		{"length too big", "\x01\x0a\x00\x00\x7f\xff\xff\xff", CorruptData, true},
		{"serial query short", "\x01\x01\x00\x00\x00\x00\x00\x08", CorruptData, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := dial(t, addr)
			if c.after {
				cl.send(1, &ResetQuery{})
				cl.response()
			}
			cl.sendRaw([]byte(c.raw))
			r := cl.response()
			if r.err == nil || r.err.Code != c.code {
				t.Fatalf("got %+v, want error code %v", r, c.code)
			}
			if n := min(len(c.raw), headerLen); string(r.err.PDU[:n]) != c.raw[:n] {
				t.Errorf("encapsulated %x, want the PDU sent", r.err.PDU)
			}
			if r.err.Text == "" {
				t.Error("no error text")
			}
			cl.expectEOF()
		})
	}
}

func TestRouterErrorReportCloses(t *testing.T) {
	_, c, _ := synced(t, Options{MaxVersion: 1}, vA)
	c.send(1, &ErrorReport{Code: WithdrawalOfUnknownRecord, Text: "no such route"})
	c.expectEOF() // and no Error Report in reply
}

func TestConnectionLimit(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, addr := startServer(t, Options{MaxVersion: 1, MaxConns: 2, Registerer: reg})
	s.Update(mustSet(t, vA))
	a, b := dial(t, addr), dial(t, addr)
	for _, c := range []*client{a, b} {
		c.send(1, &ResetQuery{})
		c.response()
	}
	c := dial(t, addr)
	c.expectEOF()
	if n := ipledgertest.MetricValue(t, s.m.rejected); n != 1 {
		t.Errorf("rejected %v, want 1", n)
	}
	// A slot frees when a router leaves.
	a.nc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for ipledgertest.MetricValue(t, s.m.conns) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("connection count did not drop")
		}
		time.Sleep(10 * time.Millisecond)
	}
	d := dial(t, addr)
	d.send(1, &ResetQuery{})
	if r := d.response(); len(r.announced) != 1 {
		t.Errorf("after a slot freed: %+v", r)
	}
}

// bigSet returns n distinct VRPs.
func bigSet(t testing.TB, n int) *vrp.Set {
	var b vrp.Builder
	for i := range n {
		a := netip.AddrFrom4([4]byte{byte(1 + i>>16), byte(i >> 8), byte(i), 0})
		if err := b.Add(vrp.VRP{Prefix: netip.PrefixFrom(a, 24), MaxLength: 24, ASN: uint32(i)}); err != nil {
			t.Fatal(err)
		}
	}
	return b.Set()
}

// TestSlowReaderDropped: a router that asks for the whole set and never reads is dropped
// after WriteTimeout, while another router syncs and the set is updated meanwhile.
func TestSlowReaderDropped(t *testing.T) {
	s, addr := startServer(t, Options{MaxVersion: 1, WriteTimeout: 300 * time.Millisecond, NotifyInterval: time.Millisecond})
	s.Update(bigSet(t, 400_000)) // 8 MB of PDUs: more than the socket buffers hold
	slow := dial(t, addr)
	slow.nc.(*net.TCPConn).SetReadBuffer(4096)
	slow.send(1, &ResetQuery{})

	start := time.Now()
	fast := dial(t, addr)
	fast.send(1, &ResetQuery{})
	// Read the raw response (decoding it PDU by PDU is slow under -race).
	buf := make([]byte, headerLen+400_000*lenIPv4Prefix+lenEndOfDataV1)
	fast.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(fast.br, buf); err != nil {
		t.Fatalf("fast router: %v", err)
	}
	if p, _, _, err := Decode(buf[len(buf)-lenEndOfDataV1:]); err != nil || p.Type() != TypeEndOfData {
		t.Fatalf("fast router: response ends with %#v, %v", p, err)
	}
	s.Update(bigSet(t, 400_001)) // does not wait for the slow router
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("sync and update took %v beside a stuck router", d)
	}
	p, _ := fast.read()
	if _, ok := p.(*SerialNotify); !ok {
		t.Errorf("fast router got %T, want Serial Notify", p)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ipledgertest.MetricValue(t, s.m.slowDropped) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("slow router not dropped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := ipledgertest.MetricValue(t, s.m.conns); n != 1 {
		t.Errorf("%v connections open, want the fast router's only", n)
	}
}

// TestNotifyRateLimit: notifies go out at once, then no more than one per interval
// (RFC 8210 §8.2), carrying the latest serial.
func TestNotifyRateLimit(t *testing.T) {
	const interval = 400 * time.Millisecond
	s, c, _ := synced(t, Options{MaxVersion: 1, NotifyInterval: interval}, vA)
	start := time.Now()
	s.Update(mustSet(t, vA, vB))
	p, _ := c.read()
	if n, ok := p.(*SerialNotify); !ok || n.Serial != 1 || time.Since(start) > interval/2 {
		t.Fatalf("first notify %#v after %v", p, time.Since(start))
	}
	s.Update(mustSet(t, vA, vB, vC))
	s.Update(mustSet(t, vA, vB, vC, vD))
	p, _ = c.read()
	if n, ok := p.(*SerialNotify); !ok || n.Serial != 3 || time.Since(start) < interval {
		t.Fatalf("second notify %#v after %v, want serial 3 after %v", p, time.Since(start), interval)
	}
	if p, _, err := c.tryRead(interval + 200*time.Millisecond); p != nil || err == nil {
		t.Errorf("a third notify: %#v", p)
	}
}

// TestNotifySkipsUpToDate: a router that already fetched the latest serial when a
// delayed notify round comes gets no notify.
func TestNotifySkipsUpToDate(t *testing.T) {
	const interval = 300 * time.Millisecond
	s, c, r := synced(t, Options{MaxVersion: 1, NotifyInterval: interval}, vA)
	session := r.session
	s.Update(mustSet(t, vB)) // notified at once
	if p, _ := c.read(); p.Type() != TypeSerialNotify {
		t.Fatalf("got %T, want Serial Notify", p)
	}
	s.Update(mustSet(t, vC)) // notify round due after the interval
	c.send(1, &SerialQuery{Session: session, Serial: 0})
	if r := c.response(); r.eod.Serial != 2 {
		t.Fatalf("serial %d, want 2", r.eod.Serial)
	}
	if p, _, err := c.tryRead(2 * interval); p != nil || err == nil {
		t.Errorf("got %#v after fetching the latest serial, want nothing", p)
	}
}

func TestConcurrentSyncs(t *testing.T) {
	// Twenty routers from one address: above the default per-client cap.
	s, addr := startServer(t, Options{MaxVersion: 1, MaxConnsPerClient: 20})
	set := bigSet(t, 50_000)
	s.Update(set)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial(t, addr)
			c.send(Version(i%2), &ResetQuery{})
			r := c.response()
			if len(r.announced) != 50_000 || r.version != Version(i%2) {
				t.Errorf("client %d: %d VRPs in version %d", i, len(r.announced), r.version)
			}
		}()
	}
	wg.Wait()
}

func TestCloseDropsConnections(t *testing.T) {
	s, err := New(Options{MaxVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	s.Update(mustSet(t, vA))
	c := dial(t, ln.Addr().String())
	c.send(1, &ResetQuery{})
	c.response()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	c.expectEOF()
	if err := s.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close: %v", err)
	}
}

func TestNewChecksOptions(t *testing.T) {
	for _, o := range []Options{
		{MaxVersion: 3},
		{MaxVersion: 1, Refresh: 25 * time.Hour},
		{MaxVersion: 1, Retry: 3 * time.Hour},
		{MaxVersion: 1, Expire: time.Minute},
		{MaxVersion: 1, Refresh: 2 * time.Hour, Expire: time.Hour},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Registerer: reg}); err == nil {
		t.Error("registered the metrics twice")
	}
}

// TestDeltaLatencyLargeSet: with a set the size of the global RPKI, a router that holds
// it sees a change of 2,000 VRPs (Serial Notify, Serial Query, the delta) well within a
// second of Update.
func TestDeltaLatencyLargeSet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 723,524 VRPs")
	}
	s, addr := startServer(t, Options{MaxVersion: 1})
	set := bigSet(t, 723524)
	s.Update(set)
	c := dial(t, addr)
	c.send(1, &ResetQuery{})
	buf := make([]byte, headerLen+set.Len()*lenIPv4Prefix+lenEndOfDataV1)
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(c.br, buf); err != nil {
		t.Fatal(err)
	}
	i := 0
	var extra []vrp.VRP
	for k := range 1000 {
		extra = append(extra, vrp.VRP{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{200, byte(k >> 8), byte(k), 0}), 24), MaxLength: 24, ASN: 4200000000})
	}
	add, err := vrp.NewSet(extra, nil)
	if err != nil {
		t.Fatal(err)
	}
	changed := set.Filter(func(vrp.VRP) bool { i++; return i%723 != 0 }, nil).Union(add)

	start := time.Now()
	s.Update(changed)
	if p, _ := c.read(); p.Type() != TypeSerialNotify {
		t.Fatalf("got %T, want Serial Notify", p)
	}
	c.send(1, &SerialQuery{Session: s.SessionID(1), Serial: 0})
	r := c.response()
	took := time.Since(start)
	if len(r.announced) != 1000 || len(r.withdrawn) != set.Len()/723 {
		t.Fatalf("delta +%d -%d, want +1000 -%d", len(r.announced), len(r.withdrawn), set.Len()/723)
	}
	limit := time.Second
	if raceEnabled {
		limit = 10 * time.Second
	}
	t.Logf("Update to delta received: %v", took)
	if took > limit {
		t.Errorf("the delta took %v to reach the router, want < %v", took, limit)
	}
}

// TestFirstQueryDeadline: a connection that sends nothing is closed after
// FirstQueryTimeout; one that has queried may then stay silent.
func TestFirstQueryDeadline(t *testing.T) {
	s, addr := startServer(t, Options{MaxVersion: 1, FirstQueryTimeout: 200 * time.Millisecond})
	s.Update(mustSet(t, vA))
	silent := dial(t, addr)
	router := dial(t, addr)
	router.send(1, &ResetQuery{})
	router.response()
	start := time.Now()
	silent.expectEOF()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("silent connection closed after %v", d)
	}
	// The router that queried is still served after well past the first-query deadline.
	time.Sleep(400 * time.Millisecond)
	router.send(1, &SerialQuery{Session: s.SessionID(1), Serial: 0})
	if r := router.response(); r.eod == nil {
		t.Fatalf("router idle after its first query: %+v", r)
	}
	if n := ipledgertest.MetricValue(t, s.m.timeouts.WithLabelValues("first_query")); n != 1 {
		t.Errorf("first_query timeouts %v, want 1", n)
	}
}

// TestPDUDeadline: half a PDU header, before or after the first query, is closed after
// PDUTimeout.
func TestPDUDeadline(t *testing.T) {
	s, addr := startServer(t, Options{MaxVersion: 1, FirstQueryTimeout: time.Hour, PDUTimeout: 200 * time.Millisecond})
	s.Update(mustSet(t, vA))
	reset, _ := Append(nil, 1, &ResetQuery{})
	for _, before := range [][]byte{nil, reset} {
		c := dial(t, addr)
		if before != nil {
			c.sendRaw(before)
			c.response()
		}
		c.sendRaw(reset[:3])
		start := time.Now()
		c.expectEOF()
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("half a header (after %d bytes) closed after %v", len(before), d)
		}
	}
	if n := ipledgertest.MetricValue(t, s.m.timeouts.WithLabelValues("pdu")); n != 2 {
		t.Errorf("pdu timeouts %v, want 2", n)
	}
}

// dialFrom connects from a given loopback address (127.0.0.0/8 all work on Linux).
func dialFrom(t testing.TB, from, addr string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReaderSize(nc, 1<<16)}
}

// TestPerClientLimit: connections from one address beyond MaxConnsPerClient are closed at
// once, while another address still connects and a trusted one is exempt.
func TestPerClientLimit(t *testing.T) {
	trusted, _ := netguard.ParseTrusted("127.0.0.1")
	s, addr := startServer(t, Options{MaxVersion: 1, MaxConnsPerClient: 3, Trusted: trusted})
	s.Update(mustSet(t, vA))
	for range 3 {
		dialFrom(t, "127.0.0.2", addr)
	}
	for range 5 {
		dialFrom(t, "127.0.0.2", addr).expectEOF()
	}
	for _, from := range []string{"127.0.0.3", "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"} {
		c := dialFrom(t, from, addr)
		c.send(1, &ResetQuery{})
		if r := c.response(); len(r.announced) != 1 {
			t.Fatalf("from %s: %+v", from, r)
		}
	}
	if n := ipledgertest.MetricValue(t, s.m.rejected); n != 5 {
		t.Errorf("rejected %v, want 5", n)
	}
}
