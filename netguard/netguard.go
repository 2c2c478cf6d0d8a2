// Package netguard bounds what one network client can take from the node: who a client is
// (an IPv4 address or an IPv6 /64), which clients are trusted and exempt, listeners capped
// overall and per client, a server's own set of connections under the same kind of caps
// (Conns), a per-client token-bucket rate limiter, and the budget of file descriptors the
// listeners' caps come from.
//
// Every table here is bounded: a flood from many addresses costs memory in proportion to
// the connections admitted or the clients a limiter is told to remember, never to the
// number of addresses seen.
package netguard

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Key names a client for caps and limits: an IPv4 address, or the /64 of an IPv6 address
// (one subscriber's LAN commonly has a /64 to itself, so a single host can take any
// address in it). An IPv4-mapped IPv6 address is its IPv4 address. The zero Key names no
// client; it is what an address that does not parse gives.
type Key struct{ p netip.Prefix }

// KeyOf returns the client key of a.
func KeyOf(a netip.Addr) Key {
	a = a.Unmap().WithZone("")
	if !a.IsValid() {
		return Key{}
	}
	if a.Is4() {
		return Key{netip.PrefixFrom(a, 32)}
	}
	p, _ := a.Prefix(64)
	return Key{p}
}

// IsValid reports whether k names a client.
func (k Key) IsValid() bool { return k.p.IsValid() }

// String returns the IPv4 address, or the IPv6 /64 in CIDR notation; "invalid" for the
// zero Key.
func (k Key) String() string {
	switch {
	case !k.p.IsValid():
		return "invalid"
	case k.p.Addr().Is4():
		return k.p.Addr().String()
	}
	return k.p.String()
}

// AddrOf returns the IP address of a connection's remote address; the zero Addr when it
// has none (a Unix socket, say).
func AddrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case nil:
		return netip.Addr{}
	}
	return ParseHostAddr(a.String())
}

// ParseHostAddr returns the IP address of "host:port" or of a bare address (as in
// http.Request.RemoteAddr and X-Forwarded-For); the zero Addr when it is neither.
func ParseHostAddr(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// Trusted is a set of prefixes whose clients are exempt from per-client caps and rate
// limits: a load generator, a monitoring host, a reverse proxy. The zero Trusted and a nil
// *Trusted trust no one.
type Trusted struct {
	prefixes []netip.Prefix
}

// ParseTrusted parses a comma-separated list of prefixes ("192.0.2.0/24", "2001:db8::/48")
// and addresses (taken as a /32 or /128). An empty list trusts no one.
func ParseTrusted(s string) (*Trusted, error) {
	t := &Trusted{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(f, "/") {
			var err error
			if p, err = netip.ParsePrefix(f); err != nil {
				return nil, fmt.Errorf("trusted clients: %q: want a prefix or an address", f)
			}
		} else {
			a, err := netip.ParseAddr(f)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("trusted clients: %q: want a prefix or an address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		p = p.Masked()
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		t.prefixes = append(t.prefixes, p)
	}
	return t, nil
}

// Contains reports whether a is in one of the trusted prefixes.
func (t *Trusted) Contains(a netip.Addr) bool {
	if t == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Empty reports whether t trusts no one.
func (t *Trusted) Empty() bool { return t == nil || len(t.prefixes) == 0 }

// String returns the prefixes, comma-separated.
func (t *Trusted) String() string {
	if t == nil {
		return ""
	}
	s := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

// Client returns who an HTTP request counts against, and whether that client is trusted.
// remote is the peer's address (http.Request.RemoteAddr) and xff the X-Forwarded-For
// header values in order. When the peer is not trusted, X-Forwarded-For is ignored: anyone
// can write it. When the peer is a trusted proxy, the client is the right-most address of
// X-Forwarded-For that is not itself trusted (each proxy appends the address it saw, so
// addresses left of the first untrusted one are the client's own claims); if every address
// is trusted, the client is trusted too. An entry that does not parse ends the walk and
// makes the peer itself the client, limited like any other, rather than exempt.
func (t *Trusted) Client(remote string, xff []string) (a netip.Addr, trusted bool) {
	peer := ParseHostAddr(remote)
	if !t.Contains(peer) {
		return peer, false
	}
	var hops []string
	for _, h := range xff {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		if strings.TrimSpace(hops[i]) == "" {
			continue
		}
		a := ParseHostAddr(hops[i])
		if !a.IsValid() {
			return peer, false
		}
		if !t.Contains(a) {
			return a, false
		}
	}
	return peer, true
}
