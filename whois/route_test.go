package whois

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
)

// TestRouteObjects: the ledger's route authorisations in force answer as route and route6
// objects after the address objects — the most specific prefix containing the key by
// default, only an exact one with -x — and -T route selects them.
func TestRouteObjects(t *testing.T) {
	r := newTestRegistry(t)
	for _, body := range []ipledger.AuthoriseBody{
		{Prefix: netip.MustParsePrefix("193.0.0.0/16"), MaxLength: 24, ASN: 3333},
		{Prefix: netip.MustParsePrefix("193.0.16.0/20"), MaxLength: 20, ASN: 64500},
		{Prefix: netip.MustParsePrefix("2001:600::/32"), MaxLength: 48, ASN: 3333},
	} {
		r.Apply(ipledger.KindAuthorise, body, "ORG-A")
	}
	s := newTestServer(t, Options{Source: newSource(r.KV(), r.Height())})
	for _, c := range []struct {
		query string
		want  []string
		not   []string
	}{
		{"193.0.17.1", []string{"route:          193.0.16.0/20", "origin:         AS64500"}, []string{"AS3333"}},
		{"193.0.200.1", []string{"route:          193.0.0.0/16", "origin:         AS3333", "more specifics up to /24"}, nil},
		{"-x 193.0.17.0/24", nil, []string{"route:"}},
		{"-x 193.0.16.0/20", []string{"route:          193.0.16.0/20"}, nil},
		{"-T route 193.0.17.1", []string{"route:          193.0.16.0/20"}, []string{"inetnum:"}},
		{"2001:600:1::1", []string{"route6:         2001:600::/32", "origin:         AS3333"}, nil},
		{"194.0.0.1", nil, []string{"route:"}},
	} {
		got := ask(s, c.query)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: lacks %q:\n%s", c.query, w, got)
			}
		}
		for _, n := range c.not {
			if strings.Contains(got, n) {
				t.Errorf("%s: has %q:\n%s", c.query, n, got)
			}
		}
	}
}
