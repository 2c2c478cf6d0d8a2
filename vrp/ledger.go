package vrp

import (
	"fmt"
	"iter"
	"time"

	"github.com/ipledger/ipledger"
)

// LedgerSource is the Source of the VRPs FromRouteAuths makes of the ledger's route
// authorisations.
const LedgerSource = "ledger"

// FromRouteAuths returns the route authorisations auths as a Set of VRPs: AS ASN may
// originate Prefix and its more-specifics up to MaxLength, with Source LedgerSource and
// Expires the authorisation's expiry (none when it has none). It takes every
// authorisation auths yields; which are in force at a height (not expired, not suppressed
// by a lease) is for the caller to say, e.g. with ledger.InForce. An authorisation that is
// not a valid VRP (see VRP.Validate) is an error, and no set is returned.
func FromRouteAuths(auths iter.Seq[ipledger.RouteAuth]) (*Set, error) {
	var b Builder
	for ra := range auths {
		// MaxLength is an int on the ledger: one beyond a byte must not wrap into range.
		if ra.MaxLength < 0 || ra.MaxLength > 128 {
			return nil, fmt.Errorf("route authorisation %d: max length %d outside 0..128", ra.ID, ra.MaxLength)
		}
		v := VRP{Prefix: ra.Prefix, MaxLength: uint8(ra.MaxLength), ASN: ra.ASN, Source: LedgerSource}
		if ra.Expires != 0 {
			v.Expires = time.Unix(ra.Expires, 0).UTC()
		}
		if err := b.Add(v); err != nil {
			return nil, fmt.Errorf("route authorisation %d: %w", ra.ID, err)
		}
	}
	return b.Set(), nil
}
