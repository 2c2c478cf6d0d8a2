package whois

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// routeObjects returns route and route6 objects for the ledger's route authorisations in
// force (ledger.InForce: unexpired, not suppressed by a lease) that match res, printed
// after the address objects as the RIPE Database does: with -x those whose prefix is
// exactly res, otherwise the most specific prefix containing res (every origin of it).
// Other levels (-l, -L, -m, -M) list address objects only.
func (r *run) routeObjects(res ipledger.Resource) ([]*object, error) {
	if res.Family() == ipledger.ASN || r.kv == nil || r.snap == nil {
		return nil, nil
	}
	if r.q.Level != LevelDefault && r.q.Level != LevelExact {
		return nil, nil
	}
	var best []*ipledger.RouteAuth
	bestBits := -1
	err := ledger.InForce(r.kv, r.snap.Block.Time.Unix(), func(ra *ipledger.RouteAuth) bool {
		pr, err := ipledger.PrefixResource(ra.Prefix)
		if err != nil || !pr.Contains(res) || (r.q.Level == LevelExact && pr != res) {
			return true
		}
		switch b := ra.Prefix.Bits(); {
		case b > bestBits:
			best, bestBits = []*ipledger.RouteAuth{ra}, b
		case b == bestBits:
			best = append(best, ra)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("route authorisations: %w", err)
	}
	var out []*object
	for _, ra := range best {
		typ := "route"
		if ra.Prefix.Addr().Is6() {
			typ = "route6"
		}
		o := newObject(typ, ra.Prefix.String())
		o.ident = typ + "/" + ra.Prefix.String() + "/" + strconv.FormatUint(uint64(ra.ASN), 10)
		o.add("origin", "AS"+strconv.FormatUint(uint64(ra.ASN), 10))
		if ra.MaxLength != ra.Prefix.Bits() {
			o.add("remarks", "more specifics up to /"+strconv.Itoa(ra.MaxLength)+" may be originated")
		}
		if ra.Lease != 0 && ra.ASN != 0 {
			o.add("remarks", "placed by lease "+strconv.FormatUint(ra.Lease, 10)+" for its lessee; ends with it")
		} else if ra.Lease != 0 {
			o.add("remarks", "AS0 after lease "+strconv.FormatUint(ra.Lease, 10)+" ended (RFC 6483): no origin is authorised")
		}
		if ra.Expires != 0 {
			o.add("remarks", "expires "+time.Unix(ra.Expires, 0).UTC().Format(time.RFC3339))
		}
		o.add("remarks", "ledger route authorisation "+strconv.FormatUint(ra.ID, 10)+"; list them at /v1/routes on the JSON API")
		o.add("mnt-by", ra.Holder)
		o.add("created", ra.Created.UTC().Format(time.RFC3339))
		o.add("source", SourceName)
		out = append(out, o)
	}
	return out, nil
}
