package rdap

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/iana"
	"github.com/ipledger/ipledger/ipledgertest"
)

// TestRIRBaseURLs checks the redirect table against IANA's real bootstrap files: for every
// service in them, the registry that IANA's registries give most of its entries to is an
// RIR whose table URL is among the service's URLs, and every RIR has such a service in each
// file.
func TestRIRBaseURLs(t *testing.T) {
	dir := ipledgertest.Data(t, "rdap/bootstrap")
	pools := iana.DefaultPools()
	registryOf := func(r ipledger.Resource) string {
		for _, p := range pools {
			if p.Resource.Contains(r.Point()) {
				return p.Registry
			}
		}
		return ""
	}
	table := RIRBaseURLs()
	if len(table) != len(ipledger.RIRs) {
		t.Fatalf("table has %d registries, want the %d RIRs", len(table), len(ipledger.RIRs))
	}
	for _, file := range []string{"v4_bootstrap.json", "v6_bootstrap.json", "as_bootstrap.json"} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		var bf bootstrapFile
		if err := json.Unmarshal(b, &bf); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		seen := map[string]bool{}
		for _, svc := range bf.Services {
			if len(svc) != 2 {
				t.Fatalf("%s: service %v", file, svc)
			}
			votes := map[string]int{}
			for _, e := range svc[0] {
				var r ipledger.Resource
				if file == "as_bootstrap.json" {
					a, b, isRange := strings.Cut(e, "-") // RFC 9224 §5.3: "first-last", or one number
					if !isRange {
						b = a
					}
					r, err = ipledger.ParseResource("AS" + a + "-AS" + b)
				} else {
					r, err = ipledger.ParseResource(e)
				}
				if err != nil {
					t.Fatalf("%s: entry %q: %v", file, e, err)
				}
				votes[registryOf(r)]++
			}
			best, n := "", 0
			for reg, v := range votes {
				if v > n || (v == n && reg < best) {
					best, n = reg, v
				}
			}
			u, ok := table[best]
			if !ok {
				t.Errorf("%s: service %v is mostly %s space, not an RIR's", file, svc[1], best)
				continue
			}
			if !slices.Contains(svc[1], u) {
				t.Errorf("%s: %s's service lists %v; the table has %s", file, best, svc[1], u)
			}
			if !strings.HasPrefix(u, "https://") || !strings.HasSuffix(u, "/") {
				t.Errorf("table URL of %s %q: want https and a trailing slash", best, u)
			}
			seen[best] = true
		}
		for _, rir := range ipledger.RIRs {
			if !seen[rir] {
				t.Errorf("%s: no service for %s", file, rir)
			}
		}
	}
}
