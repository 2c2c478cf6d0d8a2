package netguard

import (
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestKeyOf(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.1:80", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1"},
		{"[2001:db8:1:2:3::4]:4343", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::]:1", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"192.0.2.7", "192.0.2.7"},
		{"2001:db8::1", "2001:db8::/64"},
		{"garbage", "invalid"},
		{"", "invalid"},
	} {
		if got := KeyOf(ParseHostAddr(tc.addr)).String(); got != tc.want {
			t.Errorf("KeyOf(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
	a, _ := net.ResolveTCPAddr("tcp", "[::ffff:198.51.100.1]:5")
	if got := KeyOf(AddrOf(a)); got != KeyOf(netip.MustParseAddr("198.51.100.1")) {
		t.Errorf("mapped TCP address: %v", got)
	}
	if KeyOf(netip.MustParseAddr("2001:db8::1")) != KeyOf(netip.MustParseAddr("2001:db8::ffff:1")) {
		t.Error("two addresses of one /64 have different keys")
	}
	if KeyOf(netip.MustParseAddr("2001:db8::1")) == KeyOf(netip.MustParseAddr("2001:db8:0:1::1")) {
		t.Error("two /64s share a key")
	}
}

func TestParseTrusted(t *testing.T) {
	tr, err := ParseTrusted(" 192.0.2.0/24, 2001:db8::/32,198.51.100.7, ::ffff:203.0.113.0/120,")
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"192.0.2.200": true, "192.0.3.1": false, "2001:db8:ffff::1": true, "2001:db9::1": false,
		"198.51.100.7": true, "198.51.100.8": false, "203.0.113.9": true, "::ffff:192.0.2.1": true,
	} {
		if got := tr.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Contains(%s) = %v", addr, got)
		}
	}
	for _, bad := range []string{"192.0.2.0/33", "example.net", "fe80::1%eth0", "1.2.3"} {
		if _, err := ParseTrusted(bad); err == nil {
			t.Errorf("ParseTrusted(%q) accepted", bad)
		}
	}
	empty, err := ParseTrusted("")
	if err != nil || !empty.Empty() || empty.Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("empty list: %v %v", empty, err)
	}
	var none *Trusted
	if none.Contains(netip.MustParseAddr("127.0.0.1")) || !none.Empty() {
		t.Error("nil Trusted trusts")
	}
}

// TestClient is X-Forwarded-For's rule: only a trusted peer's header counts, and then its
// right-most untrusted address is the client.
func TestClient(t *testing.T) {
	tr, _ := ParseTrusted("10.0.0.0/8,192.0.2.1")
	for _, tc := range []struct {
		remote  string
		xff     []string
		want    string
		trusted bool
	}{
		{"198.51.100.1:5", nil, "198.51.100.1", false},
		{"198.51.100.1:5", []string{"192.0.2.1"}, "198.51.100.1", false}, // spoofed, ignored
		{"192.0.2.1:5", nil, "192.0.2.1", true},
		{"10.0.0.1:5", []string{"203.0.113.5"}, "203.0.113.5", false},
		{"10.0.0.1:5", []string{"1.1.1.1, 203.0.113.5, 10.0.0.2"}, "203.0.113.5", false},
		{"10.0.0.1:5", []string{"1.1.1.1", "203.0.113.5 ,10.0.0.2"}, "203.0.113.5", false},
		{"10.0.0.1:5", []string{"192.0.2.1, 10.0.0.2"}, "10.0.0.1", true}, // all trusted
		{"10.0.0.1:5", []string{"[2001:db8::1]:443"}, "2001:db8::1", false},
		{"10.0.0.1:5", []string{"203.0.113.5, bogus"}, "10.0.0.1", false}, // unparsable: the proxy counts
		{"[::ffff:10.0.0.1]:5", []string{"::ffff:203.0.113.6"}, "203.0.113.6", false},
	} {
		a, trusted := tr.Client(tc.remote, tc.xff)
		if a.String() != tc.want || trusted != tc.trusted {
			t.Errorf("Client(%q, %q) = %v %v, want %v %v", tc.remote, tc.xff, a, trusted, tc.want, tc.trusted)
		}
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := NewLimiter(2, 3, 4)
	a := KeyOf(netip.MustParseAddr("192.0.2.1"))
	for i := range 3 {
		if d := l.Allow(a, now); !d.OK {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	d := l.Allow(a, now)
	if d.OK || d.Wait != 500*time.Millisecond || !d.First {
		t.Fatalf("over the burst: %+v", d)
	}
	if d := l.Allow(a, now); d.OK || d.First {
		t.Fatalf("second denial: %+v", d)
	}
	if d := l.Allow(a, now.Add(500*time.Millisecond)); !d.OK {
		t.Fatal("refused after a token refilled")
	}
	// The table stays bounded, and a forgotten client starts with a full bucket.
	for i := range 100 {
		k := KeyOf(netip.MustParseAddr("198.51.100." + strconv.Itoa(i)))
		if d := l.Allow(k, now); !d.OK {
			t.Fatalf("new client %d refused", i)
		}
		if n := l.Clients(); n > 4 {
			t.Fatalf("%d clients tracked, bound 4", n)
		}
	}
	if d := l.Allow(a, now.Add(500*time.Millisecond)); !d.OK {
		t.Fatal("forgotten client refused")
	}
}

func TestPlanBudget(t *testing.T) {
	caps := []Cap{{Name: "http", Weight: 4}, {Name: "rpc", Weight: 2, PerConn: 2}, {Name: "p2p", Weight: 2}}
	b, err := PlanBudget(1024, caps)
	if err != nil {
		t.Fatal(err)
	}
	if b.Reserved != 256 || b.Conns("http") != 384 || b.Conns("rpc") != 96 || b.Conns("p2p") != 192 || b.Conns("x") != 0 {
		t.Errorf("1024: %+v", b)
	}
	b, _ = PlanBudget(100_000, caps)
	if b.Reserved != 25_000 || b.Conns("http") != 37_500 {
		t.Errorf("100000: %+v", b)
	}
	if _, err := PlanBudget(300, caps); err == nil {
		t.Error("a limit of 300 leaves 44 for the listeners, and was accepted")
	}
	if _, err := PlanBudget(320, caps); err != nil {
		t.Errorf("320: %v", err)
	}
}
