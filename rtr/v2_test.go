package rtr

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ipledger/ipledger/vrp"
)

// aspaString formats an ASPA PDU as "+AS1 v4 → AS2,AS3" (announcement) or "-AS1 v6 → …".
func aspaString(p *ASPA) string {
	sign, fam := "-", "v4"
	if p.Announce {
		sign = "+"
	}
	if p.IPv6 {
		fam = "v6"
	}
	var ps []string
	for _, a := range p.Providers {
		ps = append(ps, fmt.Sprintf("AS%d", a))
	}
	return fmt.Sprintf("%sAS%d %s → %s", sign, p.Customer, fam, strings.Join(ps, ","))
}

// withASPAs returns s with the ASPAs given as customer, providers….
func withASPAs(t testing.TB, s *vrp.Set, aspas ...[]uint32) *vrp.Set {
	t.Helper()
	var b vrp.Builder
	for _, a := range aspas {
		if err := b.AddASPA(vrp.ASPA{Customer: a[0], Providers: a[1:]}); err != nil {
			t.Fatal(err)
		}
	}
	return s.Union(b.Set())
}

// TestVersion2: a version 2 router gets the VRPs, the router key and each ASPA once per
// address family, in a session of its own; version 1 and 0 routers get no ASPA.
func TestVersion2(t *testing.T) {
	s, addr := startServer(t, Options{MaxVersion: 2})
	s.Update(withASPAs(t, mustSet(t, vA, vC), []uint32{945, 150369, 13213}, []uint32{970, 54874}))
	if s.SessionID(2) == s.SessionID(1) || s.SessionID(2) == s.SessionID(0) {
		t.Errorf("session ids %d %d %d: want one per version", s.SessionID(0), s.SessionID(1), s.SessionID(2))
	}
	c := dial(t, addr)
	c.send(2, &ResetQuery{})
	r := c.response()
	want := []string{"+AS945 v4 → AS13213,AS150369", "+AS970 v4 → AS54874", "+AS945 v6 → AS13213,AS150369", "+AS970 v6 → AS54874"}
	if r.version != 2 || r.session != s.SessionID(2) || !slices.Equal(sorted(r.announced), sorted([]string{vA, vC})) || !slices.Equal(r.aspas, want) {
		t.Fatalf("v2: version %d session %d VRPs %q ASPAs %q; want ASPAs %q", r.version, r.session, r.announced, r.aspas, want)
	}
	if r.eod.Refresh != uint32(DefaultRefresh.Seconds()) {
		t.Errorf("v2 End of Data %+v", r.eod)
	}
	for _, v := range []Version{1, 0} {
		c := dial(t, addr)
		c.send(v, &ResetQuery{})
		if r := c.response(); r.version != v || len(r.announced) != 2 || r.aspas != nil {
			t.Errorf("v%d: version %d VRPs %q ASPAs %q", v, r.version, r.announced, r.aspas)
		}
	}
}

// TestVersion2Negotiation (RFC 8210 §7, 8210bis §7): a router that opens with a lower
// version is served in it and stays in it; one that opens above 2 gets a version 2
// Unsupported Protocol Version; a version 2 session that changes version is dropped.
func TestVersion2Negotiation(t *testing.T) {
	s, addr := startServer(t, Options{MaxVersion: 2})
	s.Update(withASPAs(t, mustSet(t, vA), []uint32{1, 2}))

	c := dial(t, addr)
	c.sendRaw([]byte{3, 2, 0, 0, 0, 0, 0, 8})
	c.expectFatal("v3 query", UnsupportedVersion, 2)

	// A version 1 session is never upgraded: its next query in version 2 is an error.
	c = dial(t, addr)
	c.send(1, &ResetQuery{})
	if r := c.response(); r.version != 1 || r.aspas != nil {
		t.Fatalf("v1: %+v", r)
	}
	c.send(2, &SerialQuery{Session: s.SessionID(2)})
	c.expectFatal("v2 query in a v1 session", UnexpectedVersion, 1)

	c = dial(t, addr)
	c.send(2, &ResetQuery{})
	c.response()
	c.send(1, &SerialQuery{Session: s.SessionID(1)})
	c.expectFatal("v1 query in a v2 session", UnexpectedVersion, 2)
}

// TestVersion2Deltas: ASPA changes go out in Serial Query answers — a change of providers
// as the old ASPA's withdrawal and the new one's announcement, in both families — and a
// version 1 router sees the serial move with nothing to apply; a v2 query of another
// session gets a Cache Reset.
func TestVersion2Deltas(t *testing.T) {
	s, addr := startServer(t, Options{MaxVersion: 2})
	s.Update(withASPAs(t, mustSet(t, vA), []uint32{1, 2}, []uint32{5, 6}))
	c := dial(t, addr)
	c.send(2, &ResetQuery{})
	r0 := c.response()
	c1 := dial(t, addr)
	c1.send(1, &ResetQuery{})
	c1.response()

	s.Update(withASPAs(t, mustSet(t, vA), []uint32{1, 2, 3}, []uint32{5, 6})) // serial 1: AS1 gains AS3
	s.Update(withASPAs(t, mustSet(t, vA, vB), []uint32{1, 2, 3}))             // serial 2: AS5 goes, vB comes
	c.send(2, &SerialQuery{Session: r0.session, Serial: 0})
	r := c.response()
	want := []string{"-AS1 v4 → AS2", "-AS5 v4 → AS6", "-AS1 v6 → AS2", "-AS5 v6 → AS6", "+AS1 v4 → AS2,AS3", "+AS1 v6 → AS2,AS3"}
	if r.eod.Serial != 2 || !slices.Equal(r.announced, []string{vB}) || r.withdrawn != nil || !slices.Equal(r.aspas, want) {
		t.Errorf("v2 delta 0→2: serial %d +%q -%q ASPAs %q; want ASPAs %q", r.eod.Serial, r.announced, r.withdrawn, r.aspas, want)
	}
	c.send(2, &SerialQuery{Session: r0.session, Serial: 1})
	r = c.response()
	if want := []string{"-AS5 v4 → AS6", "-AS5 v6 → AS6"}; r.eod.Serial != 2 || !slices.Equal(r.aspas, want) {
		t.Errorf("v2 delta 1→2: ASPAs %q, want %q", r.aspas, want)
	}
	c1.send(1, &SerialQuery{Session: s.SessionID(1), Serial: 0})
	if r := c1.response(); r.eod.Serial != 2 || !slices.Equal(r.announced, []string{vB}) || r.aspas != nil {
		t.Errorf("v1 delta 0→2: %+v", r)
	}
	c.send(2, &SerialQuery{Session: s.SessionID(1), Serial: 0})
	if r := c.response(); !r.reset || r.version != 2 {
		t.Errorf("v2 query with the v1 session: %+v, want a version 2 Cache Reset", r)
	}
	// After the reset, a Reset Query gets the whole set: one ASPA, both families.
	c.send(2, &ResetQuery{})
	if r := c.response(); !slices.Equal(r.aspas, []string{"+AS1 v4 → AS2,AS3", "+AS1 v6 → AS2,AS3"}) {
		t.Errorf("v2 reset: ASPAs %q", r.aspas)
	}
}
