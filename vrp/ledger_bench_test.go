package vrp

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
)

// BenchmarkFromRouteAuths makes a set of 100,000 ledger authorisations (IPv4 /24s, a
// tenth expiring), as the feed does at each new height that changed them.
func BenchmarkFromRouteAuths(b *testing.B) {
	auths := make([]ipledger.RouteAuth, 100_000)
	for i := range auths {
		a := netip.AddrFrom4([4]byte{byte(10 + i>>16), byte(i >> 8), byte(i), 0})
		auths[i] = ipledger.RouteAuth{ID: uint64(i), Prefix: netip.PrefixFrom(a, 24), MaxLength: 24, ASN: uint32(64496 + i%100), Holder: "ORG-A"}
		if i%10 == 0 {
			auths[i].Expires = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromRouteAuths(slices.Values(auths)); err != nil {
			b.Fatal(err)
		}
	}
}
