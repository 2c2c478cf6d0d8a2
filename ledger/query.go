package ledger

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
)

// Read-side queries over a state snapshot. They never change kv.

// Org returns the organisation with handle, or nil if there is none.
func Org(kv ipledger.KV, handle string) (*ipledger.Organisation, error) {
	return state{kv}.org(handle)
}

// Lookup returns the holdings that contain all of r, from the registry pool down to the
// most specific; empty if r is not covered (which genesis never allows).
func Lookup(kv ipledger.KV, r ipledger.Resource) ([]*ipledger.Holding, error) {
	return state{kv}.chain(r)
}

// HoldingByID returns the holding with id, or nil.
func HoldingByID(kv ipledger.KV, id uint64) (*ipledger.Holding, error) {
	return state{kv}.holdingByID(id)
}

// Children returns the holdings directly below h.
func Children(kv ipledger.KV, h *ipledger.Holding) ([]*ipledger.Holding, error) {
	return state{kv}.children(h, h.Resource)
}

// ChildrenPage returns at most limit of the holdings directly below h, in address order,
// starting after the child that begins at after's first number (from the first child when
// after is the zero Resource or another family), and whether more children follow. It decodes at most
// limit+1 children, whatever h has, and stops with ctx's error once ctx is done: a read
// that a client may ask for a whole /8 with.
func ChildrenPage(ctx context.Context, kv ipledger.KV, h *ipledger.Holding, after ipledger.Resource, limit int) ([]*ipledger.Holding, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if h.Depth >= MaxDepth || limit < 1 {
		return nil, false, nil
	}
	// Holdings at one depth are disjoint and keyed by their first number: those overlapping
	// h's range are the one starting last by its start (if it reaches in) and the ones
	// starting inside it. For a real holding that is its children; a caller may pass a
	// range of its own at a depth, as a more-specific query does.
	r, depth := h.Resource, h.Depth+1
	start, end := posKey(tagHolding, r, depth), lastKeyEnd(tagHolding, r, depth)
	cursor := after != (ipledger.Resource{}) && after.Family() == r.Family()
	if cursor && after.Point().Compare(r.Point()) >= 0 {
		if after.Point().Compare(r.LastPoint()) >= 0 {
			return nil, false, nil // nothing of r's starts after it
		}
		start = append(posKey(tagHolding, after.Point(), depth), 0) // just past after's key
	} else {
		// The one starting by r's start and reaching into it comes first, unless the
		// cursor is at or past its start (it was listed).
		first, err := state{kv}.lastStartingBy(r.Point(), depth)
		if err != nil {
			return nil, false, fmt.Errorf("list children of holding %d: %w", h.ID, err)
		}
		if first != nil && first.Resource.Overlaps(r) && (!cursor || first.Resource.Point().Compare(after.Point()) > 0) {
			start = posKey(tagHolding, first.Resource, depth)
		}
	}
	var out []*ipledger.Holding
	more := false
	var derr error
	err := kv.Iterate(start, end, false, func(_, v []byte) bool {
		if len(out)%64 == 63 {
			if derr = ctx.Err(); derr != nil {
				return false
			}
		}
		if len(out) == limit {
			more = true
			return false
		}
		c, err := decodeHolding(v)
		if err != nil {
			derr = err
			return false
		}
		out = append(out, c)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, false, fmt.Errorf("list children of holding %d: %w", h.ID, err)
	}
	return out, more, nil
}

// Holdings calls fn for every holding in key order (family, depth, first number) until fn
// returns false.
func Holdings(kv ipledger.KV, fn func(*ipledger.Holding) bool) error {
	var derr error
	err := kv.Iterate([]byte{tagHolding}, []byte{tagHolding + 1}, false, func(_, v []byte) bool {
		h, err := decodeHolding(v)
		if err != nil {
			derr = err
			return false
		}
		return fn(h)
	})
	if err == nil {
		err = derr
	}
	return err
}

// Orgs calls fn for every organisation in handle order until fn returns false.
func Orgs(kv ipledger.KV, fn func(*ipledger.Organisation) bool) error {
	return OrgsFrom(kv, "", fn)
}

// OrgsFrom calls fn for every organisation whose handle sorts at or after from, in handle
// order, until fn returns false: a page of a listing starts at its cursor instead of
// walking every handle before it.
func OrgsFrom(kv ipledger.KV, from string, fn func(*ipledger.Organisation) bool) error {
	var derr error
	err := kv.Iterate(orgKey(from), []byte{tagOrg + 1}, false, func(_, v []byte) bool {
		var o *ipledger.Organisation
		if o, derr = decodeOrg(v); derr != nil {
			return false
		}
		return fn(o)
	})
	if err == nil {
		err = derr
	}
	return err
}

// Balance returns org's settlement credits.
func Balance(kv ipledger.KV, org string) (uint64, error) { return state{kv}.balance(org) }

// Supply returns the settlement credits in circulation: the sum of all balances.
func Supply(kv ipledger.KV) (uint64, error) {
	return state{kv}.getU64([]byte{tagCounter, counterSupply})
}

// Balances calls fn for every non-zero balance in handle order until fn returns false.
func Balances(kv ipledger.KV, fn func(org string, amount uint64) bool) error {
	return kv.Iterate([]byte{tagBalance}, []byte{tagBalance + 1}, false, func(k, v []byte) bool {
		if len(v) != 8 {
			return true
		}
		return fn(string(k[1:]), binary.BigEndian.Uint64(v))
	})
}

// ChainParams returns the chain's parameters.
func ChainParams(kv ipledger.KV) (Params, error) { return state{kv}.params() }

// LeaseByID returns lease id (running or ended), or nil.
func LeaseByID(kv ipledger.KV, id uint64) (*ipledger.Lease, error) { return state{kv}.lease(id) }

// OfferByID returns open offer id, or nil.
func OfferByID(kv ipledger.KV, id uint64) (*ipledger.Offer, error) { return state{kv}.offer(id) }

// RouteAuthByID returns route authorisation id, or nil.
func RouteAuthByID(kv ipledger.KV, id uint64) (*ipledger.RouteAuth, error) { return state{kv}.auth(id) }

// Leases calls fn for every lease, running or ended, in id order until fn returns false.
func Leases(kv ipledger.KV, fn func(*ipledger.Lease) bool) error {
	return eachJSON(kv, tagLease, fn)
}

// Offers calls fn for every open offer in id order until fn returns false.
func Offers(kv ipledger.KV, fn func(*ipledger.Offer) bool) error {
	return eachJSON(kv, tagOffer, fn)
}

// RouteAuths calls fn for every stored route authorisation in id order, suppressed and
// expired ones included, until fn returns false.
func RouteAuths(kv ipledger.KV, fn func(*ipledger.RouteAuth) bool) error {
	return eachJSON(kv, tagAuth, fn)
}

// Geos calls fn for every published geolocation in address order until fn returns false.
func Geos(kv ipledger.KV, fn func(*ipledger.Geo) bool) error {
	return eachJSON(kv, tagGeo, fn)
}

// GeosOverlapping returns the published geolocations that overlap r, in address order, at
// most limit of them (limit > 0); more reports that another one follows.
func GeosOverlapping(kv ipledger.KV, r ipledger.Resource, limit int) (geos []*ipledger.Geo, more bool, err error) {
	return state{kv}.geosOverlappingMax(r, limit)
}

func eachJSON[T any](kv ipledger.KV, tag byte, fn func(*T) bool) error {
	return eachJSONFrom(kv, []byte{tag}, fn)
}

// eachJSONFrom is eachJSON over the records of from's table from the key from on.
func eachJSONFrom[T any](kv ipledger.KV, from []byte, fn func(*T) bool) error {
	tag := from[0]
	var derr error
	err := kv.Iterate(from, []byte{tag + 1}, false, func(_, v []byte) bool {
		var x T
		if derr = json.Unmarshal(v, &x); derr != nil {
			derr = fmt.Errorf("decode %q record: %w", tag, derr)
			return false
		}
		return fn(&x)
	})
	if err == nil {
		err = derr
	}
	return err
}

// RunningLease is a leased block and the lease on it.
type RunningLease struct {
	Resource ipledger.Resource
	Lease    uint64
}

// RunningLeases returns the blocks under a running lease, in address order (they never
// overlap).
func RunningLeases(kv ipledger.KV) ([]RunningLease, error) {
	var out []RunningLease
	var derr error
	err := kv.Iterate([]byte{tagEncumbrance}, []byte{tagEncumbrance + 1}, false, func(k, v []byte) bool {
		var e *Encumbrance
		if e, derr = decodeEncumbrance(k, v); derr != nil {
			return false
		}
		if e.Kind == encLease {
			id, _ := strconv.ParseUint(strings.TrimPrefix(e.Ref, "lease/"), 10, 64)
			out = append(out, RunningLease{Resource: e.Resource, Lease: id})
		}
		return true
	})
	if err == nil {
		err = derr
	}
	slices.SortFunc(out, func(a, b RunningLease) int { return a.Resource.Compare(b.Resource) })
	return out, err
}

// InForce calls fn for every route authorisation in force at Unix time at: not expired,
// and not suppressed. While a lease runs, an authorisation overlapping its block is
// suppressed unless the lease placed it, so the lessee's is the only one covering the
// block (the AS0 ones placed when a lease ends, or by an abuse case's action, are kept:
// they authorise nobody).
func InForce(kv ipledger.KV, at int64, fn func(*ipledger.RouteAuth) bool) error {
	leases, err := RunningLeases(kv)
	if err != nil {
		return err
	}
	return RouteAuths(kv, func(ra *ipledger.RouteAuth) bool {
		if ra.Expires != 0 && ra.Expires <= at {
			return true
		}
		r, err := ipledger.PrefixResource(ra.Prefix)
		if err != nil {
			return true
		}
		// The first running lease ending at or after r's start is the only one that can
		// overlap r without starting inside it; others overlapping start within r.
		i, _ := slices.BinarySearchFunc(leases, r, func(l RunningLease, r ipledger.Resource) int {
			return l.Resource.LastPoint().Compare(r.Point())
		})
		for ; i < len(leases) && leases[i].Resource.Point().Compare(r.LastPoint()) <= 0; i++ {
			if leases[i].Resource.Overlaps(r) && ra.Lease != leases[i].Lease && ra.Case == 0 {
				return true
			}
		}
		return fn(ra)
	})
}

// Listings calls fn for every listing, open or closed, in id order until fn returns false.
func Listings(kv ipledger.KV, fn func(*ipledger.Listing) bool) error {
	return eachJSON(kv, tagListing, fn)
}

// ListingByID returns listing id, or nil.
func ListingByID(kv ipledger.KV, id uint64) (*ipledger.Listing, error) { return state{kv}.listing(id) }

// Sales calls fn for every large sale, pending or closed, in id order until fn returns
// false.
func Sales(kv ipledger.KV, fn func(*ipledger.Sale) bool) error { return eachJSON(kv, tagSale, fn) }

// Trades calls fn for every trade in id order (the order they settled in) until fn returns
// false.
func Trades(kv ipledger.KV, fn func(*ipledger.Trade) bool) error { return eachJSON(kv, tagTrade, fn) }

// Held returns the credits of org that its bids and pending purchases hold: part of its
// balance that it cannot pay until they are released.
func Held(kv ipledger.KV, org string) (uint64, error) { return state{kv}.held(org) }

// TradesAfter calls fn for every trade with an id above after, in id order, until fn
// returns false.
func TradesAfter(kv ipledger.KV, after uint64, fn func(*ipledger.Trade) bool) error {
	if after == ^uint64(0) {
		return nil
	}
	return eachJSONFrom(kv, u64Key(tagTrade, after+1), fn)
}
