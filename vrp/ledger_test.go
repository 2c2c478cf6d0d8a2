package vrp

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// TestFromRouteAuths: each authorisation is one VRP of source "ledger" expiring with it;
// one that is not a valid VRP is an error naming it, a max length beyond a byte included
// (it must not wrap round to a valid one).
func TestFromRouteAuths(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	auths := []ipledger.RouteAuth{
		{ID: 1, Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 24, ASN: 64496, Holder: "ORG-A"},
		{ID: 2, Prefix: netip.MustParsePrefix("2001:db8::/32"), MaxLength: 48, ASN: 64497, Expires: exp.Unix(), Lease: 7},
		{ID: 3, Prefix: netip.MustParsePrefix("198.51.100.0/24"), MaxLength: 24, ASN: 0},
	}
	s, err := FromRouteAuths(slices.Values(auths))
	if err != nil {
		t.Fatal(err)
	}
	want := []VRP{
		{Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 24, ASN: 64496, Source: "ledger"},
		{Prefix: netip.MustParsePrefix("198.51.100.0/24"), MaxLength: 24, ASN: 0, Source: "ledger"},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), MaxLength: 48, ASN: 64497, Expires: exp, Source: "ledger"},
	}
	if got := slices.Collect(s.All()); !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if s, err := FromRouteAuths(slices.Values([]ipledger.RouteAuth(nil))); err != nil || !s.Empty() {
		t.Errorf("no authorisations: %v, %v; want an empty set", s, err)
	}

	for _, c := range []struct {
		name string
		ra   ipledger.RouteAuth
		want string
	}{
		{"max length below the prefix", ipledger.RouteAuth{ID: 9, Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 16}, "route authorisation 9: vrp"},
		{"max length 280 (24 in a byte)", ipledger.RouteAuth{ID: 10, Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: 280}, "max length 280"},
		{"negative max length", ipledger.RouteAuth{ID: 11, Prefix: netip.MustParsePrefix("192.0.2.0/24"), MaxLength: -1}, "max length -1"},
		{"unmasked prefix", ipledger.RouteAuth{ID: 12, Prefix: netip.MustParsePrefix("192.0.2.1/24"), MaxLength: 24}, "bits set beyond"},
		{"no prefix", ipledger.RouteAuth{ID: 13}, "invalid prefix"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := FromRouteAuths(slices.Values(append(slices.Clone(auths), c.ra)))
			if err == nil || !strings.Contains(err.Error(), c.want) || s != nil {
				t.Errorf("got %v, %v; want no set and an error with %q", s, err, c.want)
			}
		})
	}
}
