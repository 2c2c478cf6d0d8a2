package chain

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/netguard"
)

// testP2PGuard returns a guard capping at max with a clock the test moves.
func testP2PGuard(t *testing.T, max int, trusted, persistent string) (*p2pGuard, *time.Time, *netguard.Metrics, *bytes.Buffer) {
	t.Helper()
	tr, err := netguard.ParseTrusted(trusted)
	if err != nil {
		t.Fatal(err)
	}
	m, err := netguard.NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	g := newP2PGuard(max, 10*time.Second, tr, persistent, m, slogTo(&logs))
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }
	return g, &now, m, &logs
}

func admitted(g *p2pGuard, remote string) bool {
	res, ok := g.query(p2pFilterAddr + remote)
	return ok && res.Code == 0
}

func TestP2PGuardPerClient(t *testing.T) {
	g, _, m, logs := testP2PGuard(t, 3, "", "")
	for i := range 3 {
		if !admitted(g, fmt.Sprintf("192.0.2.1:%d", 40000+i)) {
			t.Fatalf("connection %d from 192.0.2.1 refused under the cap", i+1)
		}
	}
	for i := range 5 {
		if admitted(g, fmt.Sprintf("192.0.2.1:%d", 41000+i)) {
			t.Fatalf("connection %d from 192.0.2.1 admitted over the cap of 3", 4+i)
		}
	}
	if !admitted(g, "192.0.2.2:40000") {
		t.Fatal("another address refused")
	}
	if !admitted(g, "[::ffff:192.0.2.3]:40000") {
		t.Fatal("a third address, IPv4-mapped, refused")
	}
	if got := ipledgertest.MetricValue(t, m.Refused("p2p", netguard.ReasonClient)); got != 5 {
		t.Errorf("refused counter %v, want 5", got)
	}
	if n := strings.Count(logs.String(), "connection cap reached"); n != 1 {
		t.Errorf("%d log lines for one run of refusals, want 1:\n%s", n, logs)
	}
}

func TestP2PGuardIPv6Slash64(t *testing.T) {
	g, _, _, _ := testP2PGuard(t, 2, "", "")
	for _, a := range []string{"[2001:db8::1]:1", "[2001:db8::ffff:2]:2"} {
		if !admitted(g, a) {
			t.Fatalf("%s refused under the cap", a)
		}
	}
	if admitted(g, "[2001:db8::3%eth0]:3") {
		t.Fatal("a third address of the same /64 admitted over the cap of 2")
	}
	if !admitted(g, "[2001:db8:0:1::1]:1") {
		t.Fatal("an address of the next /64 refused")
	}
}

func TestP2PGuardExempt(t *testing.T) {
	id := strings.Repeat("ab", 20)
	g, _, _, _ := testP2PGuard(t, 1, "198.51.100.0/24,2001:db8:1::/48", id+"@192.0.2.9:26656")
	for i := range 10 {
		if !admitted(g, fmt.Sprintf("198.51.100.7:%d", 1000+i)) || !admitted(g, fmt.Sprintf("[2001:db8:1:2::5]:%d", 1000+i)) {
			t.Fatalf("trusted connection %d refused", i+1)
		}
	}
	if !admitted(g, "192.0.2.9:5000") || admitted(g, "192.0.2.9:5001") {
		t.Fatal("cap of 1 not applied to 192.0.2.9")
	}
	// The node's own dial to its persistent peer passes the filter too, uncounted.
	for range 3 {
		if !admitted(g, "192.0.2.9:26656") {
			t.Fatal("dial to a persistent peer refused")
		}
	}
	if res, ok := g.query(p2pFilterID + id); !ok || res.Code != 0 {
		t.Fatalf("id filter: %v %v, want OK", res, ok)
	}
}

func TestP2PGuardPeersAndExpiry(t *testing.T) {
	g, now, _, _ := testP2PGuard(t, 3, "", "")
	var peers []p2pPeer
	g.setPeers(func() []p2pPeer { return peers })
	// Two inbound peers from before, one outbound peer: the outbound one is not counted.
	peers = []p2pPeer{
		{addr: netip.MustParseAddrPort("192.0.2.1:1")},
		{addr: netip.MustParseAddrPort("192.0.2.1:2")},
		{addr: netip.MustParseAddrPort("192.0.2.1:26656"), outbound: true},
	}
	if !admitted(g, "192.0.2.1:3") {
		t.Fatal("third connection refused with two peers")
	}
	if admitted(g, "192.0.2.1:4") {
		t.Fatal("fourth connection admitted with two peers and one in its handshake")
	}
	// The admitted connection became a peer: counted once, not twice.
	peers = append(peers, p2pPeer{addr: netip.MustParseAddrPort("192.0.2.1:3")})
	if admitted(g, "192.0.2.1:5") {
		t.Fatal("admitted over the cap once a recent admission became a peer")
	}
	peers = peers[2:] // two peers gone: 192.0.2.1:3 is left
	if !admitted(g, "192.0.2.1:6") || !admitted(g, "192.0.2.1:7") || admitted(g, "192.0.2.1:8") {
		t.Fatal("peers gone did not free their places")
	}
	// Admissions that never became peers stop counting after the window.
	*now = now.Add(9 * time.Second)
	if admitted(g, "192.0.2.1:9") {
		t.Fatal("admissions forgotten before the window")
	}
	*now = now.Add(time.Second)
	if !admitted(g, "192.0.2.1:10") || !admitted(g, "192.0.2.1:11") || admitted(g, "192.0.2.1:12") {
		t.Fatal("admissions not forgotten after the window")
	}
}

func TestP2PGuardBounded(t *testing.T) {
	g, now, _, _ := testP2PGuard(t, 2, "", "")
	for i := range 50_000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if !admitted(g, netip.AddrPortFrom(a, 1).String()) {
			t.Fatalf("first connection from %s refused", a)
		}
		if len(g.recent) > p2pRecentMax {
			t.Fatalf("%d recent admissions held, want at most %d", len(g.recent), p2pRecentMax)
		}
	}
	*now = now.Add(10 * time.Second)
	admitted(g, "192.0.2.1:1")
	if len(g.recent) != 1 {
		t.Fatalf("%d recent admissions after the window, want 1", len(g.recent))
	}
}

// queryApp answers every query with its path, to see which reach the application.
type queryApp struct{ abci.BaseApplication }

func (queryApp) Query(_ context.Context, req *abci.QueryRequest) (*abci.QueryResponse, error) {
	return &abci.QueryResponse{Code: 7, Log: "app " + req.Path}, nil
}

func TestFilteringAppQuery(t *testing.T) {
	g, _, _, _ := testP2PGuard(t, 1, "", "")
	a := filteringApp{queryApp{}, g}
	for _, tc := range []struct {
		path string
		code uint32
		app  bool
	}{
		{"/store/key", 7, true},
		{"/p2p/filter", 7, true},
		{"", 7, true},
		{p2pFilterID + "abcd", 0, false},
		{p2pFilterAddr + "192.0.2.1:1", 0, false},
		{p2pFilterAddr + "192.0.2.1:2", 24, false},
		{p2pFilterAddr + "nonsense", 24, false},
	} {
		res, err := a.Query(context.Background(), &abci.QueryRequest{Path: tc.path})
		if err != nil {
			t.Fatal(err)
		}
		if res.Code != tc.code || (res.Log == "app "+tc.path) != tc.app {
			t.Errorf("Query(%q) = code %d log %q; want code %d, from the app %v", tc.path, res.Code, res.Log, tc.code, tc.app)
		}
	}
}

func FuzzP2PFilterQuery(f *testing.F) {
	for _, s := range []string{"192.0.2.1:26656", "[2001:db8::1]:1", "[fe80::1%eth0]:2", "[::ffff:10.0.0.1]:3", "x", "1.2.3.4", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, remote string) {
		g, _, _, _ := testP2PGuard(t, 1, "", "")
		first := admitted(g, remote)
		ap, err := netip.ParseAddrPort(remote)
		if first != (err == nil) {
			t.Fatalf("%q: admitted %v, parse error %v", remote, first, err)
		}
		if err == nil && admitted(g, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()+1).String()) {
			t.Fatalf("%q: second connection from the same client admitted over the cap of 1", remote)
		}
	})
}

// TestP2PPerClientCapNode floods a node's P2P port from one loopback address with
// connections that never handshake: past the per-client cap they are closed at once,
// while another address is still served.
func TestP2PPerClientCapNode(t *testing.T) {
	if !loopbackAlias(t) {
		t.Skip("127.0.0.2 is not usable as a source address here")
	}
	dir := t.TempDir()
	initTestHome(t, dir)
	addr := ipledgertest.FreeAddr(t)
	n, err := Start(context.Background(), NodeOptions{Home: dir, TimeoutCommit: 20 * time.Millisecond, P2PAddr: addr, P2PMaxPerClient: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var conns []net.Conn
	for range 20 {
		conns = append(conns, dial("127.0.0.2"))
	}
	other := dial("127.0.0.3")
	// A connection admitted gets the node's half of the secret-connection handshake and
	// then nothing until the handshake timeout (5 s); a refused one is closed at once.
	all := append(conns, other)
	closed := make([]bool, len(all))
	deadline := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	for i, c := range all {
		wg.Add(1)
		go func() { defer wg.Done(); closed[i] = closedBy(c, deadline) }()
	}
	wg.Wait()
	shut := 0
	for _, c := range closed[:len(conns)] {
		if c {
			shut++
		}
	}
	if shut != 16 {
		t.Errorf("%d of 20 connections from 127.0.0.2 closed within a second, want the 16 past its 4th", shut)
	}
	if closed[len(conns)] {
		t.Error("127.0.0.3's connection closed within a second")
	}
}

// closedBy reads c until deadline and reports whether it was closed (EOF or reset) by then.
func closedBy(c net.Conn, deadline time.Time) bool {
	c.SetReadDeadline(deadline)
	_, err := io.Copy(io.Discard, c)
	return !os.IsTimeout(err)
}

// loopbackAlias reports whether the machine can dial from 127.0.0.2 (Linux can; macOS
// has only 127.0.0.1 unless aliased).
func loopbackAlias(t *testing.T) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: time.Second}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		return false
	}
	c.Close()
	return true
}
