package ipledger

import "testing"

// FuzzParseAuctionClass: a class that parses prints back to the same string, parses again
// to the same class, and names a family and length auctions trade.
func FuzzParseAuctionClass(f *testing.F) {
	for _, s := range []string{"ipv4-24-RIPE-NCC-NL-A", "ipv4-22-any-any-B", "ipv6-32-ARIN-US-C", "ipv4-24-any-ZZ-A", "ipv4--any-any-A", "ipv6-48-A-B-C-D-NL-A", "ipv4-+1-any-any-A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseAuctionClass(s)
		if err != nil {
			return
		}
		if c.String() != s || c.BlockUnits() == 0 {
			t.Fatalf("%q parsed as %+v, prints %q", s, c, c)
		}
		if c2, err := ParseAuctionClass(c.String()); err != nil || c2 != c {
			t.Fatalf("%q: reparsed %+v, %v", s, c2, err)
		}
		if !c.Matches(AuctionClass{Family: c.Family, Bits: c.Bits, Registry: c.Registry + "X", Country: c.Country, Grade: c.Grade}) && c.Registry == "" {
			t.Fatalf("%q: any registry does not match", s)
		}
	})
}
