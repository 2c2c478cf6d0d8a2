package ipledger

import (
	"slices"
	"strings"
	"testing"
)

// TestRegistryOf: every handle of Registries has its facts, in that order, with a name and
// a country; each RIR has a WHOIS host and an https RDAP base URL ending in a slash (RFC
// 9224 §3), IANA neither; any other handle has none.
func TestRegistryOf(t *testing.T) {
	var handles []string
	for _, r := range registries {
		handles = append(handles, r.Handle)
	}
	if !slices.Equal(handles, Registries) {
		t.Errorf("facts of %v, want of Registries %v", handles, Registries)
	}
	for _, h := range Registries {
		r, ok := RegistryOf(h)
		if !ok || r.Handle != h || r.Name == "" || r.Country == "" || !ValidCountry(r.Country) {
			t.Errorf("RegistryOf(%q) = %+v, %v", h, r, ok)
		}
		rir := slices.Contains(RIRs, h)
		if rir != (r.WHOIS != "") || rir != (r.RDAP != "") {
			t.Errorf("%s: WHOIS %q, RDAP %q; want both for an RIR, neither for IANA", h, r.WHOIS, r.RDAP)
		}
		if rir && (!strings.HasPrefix(r.RDAP, "https://") || !strings.HasSuffix(r.RDAP, "/") || strings.Contains(r.WHOIS, "/")) {
			t.Errorf("%s: WHOIS %q, RDAP %q; want a host and an https base URL ending in /", h, r.WHOIS, r.RDAP)
		}
	}
	for _, h := range []string{"", "ripe-ncc", "RIPENCC", "ORG-EXAMPLE1"} {
		if r, ok := RegistryOf(h); ok || r != (Registry{}) {
			t.Errorf("RegistryOf(%q) = %+v, %v; want none", h, r, ok)
		}
	}
}
