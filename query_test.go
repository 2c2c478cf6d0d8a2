package ipledger

import (
	"net/netip"
	"strings"
	"testing"
)

func TestClassifyQuery(t *testing.T) {
	hash := strings.Repeat("0a", 32)
	for _, tc := range []struct {
		in   string
		kind QueryKind
		val  string
	}{
		{"", QueryEmpty, ""},
		{"   ", QueryEmpty, ""},
		{"41.0.0.1", QueryResource, "41.0.0.1"},
		{" 41.0.0.0/11 ", QueryResource, "41.0.0.0/11"},
		{"2001:db8::/32", QueryResource, "2001:db8::/32"},
		{"192.0.2.0-192.0.2.9", QueryResource, "192.0.2.0-192.0.2.9"},
		{"AS37100", QueryAS, "AS37100"},
		{"as 37100", QueryAS, "AS37100"},
		{"37100", QueryAS, "AS37100"},
		{"AS64496-AS64511", QueryAS, "AS64496-AS64511"},
		{"64496-64511", QueryAS, "AS64496-AS64511"},
		{"4294967296", QueryHandle, "4294967296"},
		{"007", QueryHandle, "007"},
		{hash, QueryHash, strings.ToUpper(hash)},
		{strings.ToUpper(hash), QueryHash, strings.ToUpper(hash)},
		{"IPL-H42", QueryHolding, "42"},
		{"ipl-h42", QueryHolding, "42"},
		{"IPL-H0", QueryHandle, "IPL-H0"},
		{"org-a", QueryHandle, "ORG-A"},
		{"AFRINIC", QueryHandle, "AFRINIC"},
		{"Alpha  Networks", QueryName, "ALPHA NETWORKS"},
		{"<script>alert(1)</script>", QueryName, "<SCRIPT>ALERT(1)</SCRIPT>"},
		{"300.1.2.3", QueryName, "300.1.2.3"},
	} {
		k, v := ClassifyQuery(tc.in)
		if k != tc.kind || v != tc.val {
			t.Errorf("ClassifyQuery(%q) = %d %q, want %d %q", tc.in, k, v, tc.kind, tc.val)
		}
	}
}

// FuzzClassifyQuery checks ClassifyQuery against what each kind promises: the value of a
// resource, AS number or hash parses back to itself, a handle is valid, and classifying a
// value (a holding's with its prefix) gives the same kind and value again.
func FuzzClassifyQuery(f *testing.F) {
	for _, s := range []string{"41.0.0.1", "41.0.0.0/11", "2001:4200::/23", "AS37100", "37100", "as1-as2", "IPL-H7", "ORG-A", "Alpha Networks", strings.Repeat("ab", 32), "1.2.3.4-1.2.3.3", "aſ1", " "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, v := ClassifyQuery(s)
		again := v
		switch k {
		case QueryEmpty:
			if strings.TrimSpace(s) != "" || v != "" {
				t.Fatalf("%q: empty with value %q", s, v)
			}
			return
		case QueryResource:
			r, err := ParseResource(v)
			if a, aerr := netip.ParseAddr(v); aerr == nil && err == nil && r.Family() != ASN && a.String() == v {
				break
			}
			if err != nil || r.String() != v || r.Family() == ASN {
				t.Fatalf("%q: resource %q does not parse back: %v", s, v, err)
			}
		case QueryAS:
			r, err := ParseResource(v)
			if err != nil || r.Family() != ASN {
				t.Fatalf("%q: AS %q does not parse: %v", s, v, err)
			}
		case QueryHash:
			h, err := ParseHash(v)
			if err != nil || h.String() != v {
				t.Fatalf("%q: hash %q: %v", s, v, err)
			}
		case QueryHolding:
			again = "IPL-H" + v
		case QueryHandle:
			if !ValidHandle(v) {
				t.Fatalf("%q: handle %q is not valid", s, v)
			}
		case QueryName:
			if len(v) > MaxQuery {
				t.Fatalf("%q: name of %d bytes", s, len(v))
			}
			return // a name is what is left; its upper case may read otherwise
		}
		if k2, v2 := ClassifyQuery(again); k2 != k || v2 != v {
			t.Fatalf("%q: %d %q, then %q: %d %q", s, k, v, again, k2, v2)
		}
	})
}
