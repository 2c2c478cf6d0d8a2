package rdap

import (
	"strconv"

	"github.com/ipledger/ipledger"
)

// RIRBaseURLs returns the RDAP base URL of each RIR (ipledger.Registry's RDAP: the https
// URL IANA's bootstrap registry, RFC 9224, lists for its space), by registry handle: where
// lookups of space whose registry is not authoritative on the ledger are redirected. A test
// checks them against the real bootstrap files.
func RIRBaseURLs() map[string]string {
	m := map[string]string{}
	for _, h := range ipledger.RIRs {
		r, _ := ipledger.RegistryOf(h)
		m[h] = r.RDAP
	}
	return m
}

// bootstrapFile is an RFC 9224 bootstrap registry file.
type bootstrapFile struct {
	Version     string       `json:"version"`
	Publication string       `json:"publication"`
	Description string       `json:"description"`
	Services    [][][]string `json:"services"`
}

// bootstrap answers bootstrap/{ipv4,ipv6,asn}.json: the space of the registries that are
// authoritative on the ledger (their pools, adjacent ones merged; CIDRs for addresses and
// ranges for AS numbers), all served by this service's base URL. IANA's unallocated and
// special-purpose space is left out, as IANA's own bootstrap files leave it out, although
// lookups of it are answered here.
func (rc *request) bootstrap(f ipledger.Family) (any, error) {
	x, err := rc.index()
	if err != nil {
		return nil, err
	}
	var entries []string
	for _, r := range x.servedPools(f) {
		if f == ipledger.ASN {
			entries = append(entries, strconv.FormatUint(uint64(r.FirstAS()), 10)+"-"+strconv.FormatUint(uint64(r.LastAS()), 10))
			continue
		}
		for _, p := range r.Prefixes() {
			entries = append(entries, p.String())
		}
	}
	what := map[ipledger.Family]string{ipledger.IPv4: "IPv4 address", ipledger.IPv6: "IPv6 address", ipledger.ASN: "Autonomous System Number"}[f]
	b := &bootstrapFile{
		Version:     "1.0",
		Publication: rfc3339(rc.snap.Block.Time),
		Description: "RDAP bootstrap file for the " + what + " space whose registries keep their records on this ipledger ledger, at height " + strconv.FormatInt(rc.snap.Height, 10),
		Services:    [][][]string{},
	}
	if len(entries) > 0 {
		b.Services = append(b.Services, [][]string{entries, {rc.base}})
	}
	return b, nil
}
