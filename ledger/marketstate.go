package ledger

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/ipledger/ipledger"
)

// State of the leasing market (tags beside those in state.go):
//
//	'b' handle                        → balance (8 bytes)
//	'r' id(8)                         → RouteAuth JSON
//	'R' family first(16) id(8)        → nothing: authorisations by position, for overlap scans
//	'f' id(8)                         → Offer JSON
//	'l' id(8)                         → Lease JSON
//	'd' time(8) kind(1) id(8)         → nothing: the queue of time-driven events
//	'g' family 0 first(16)            → Geo JSON (geolocations never overlap)
//	'n' 's'                           → credits in circulation (8 bytes)
//	'm' "params"                      → Params JSON
const (
	tagBalance = 'b'
	tagAuth    = 'r'
	tagAuthPos = 'R'
	tagOffer   = 'f'
	tagLease   = 'l'
	tagDue     = 'd'
	tagGeo     = 'g'
)

// Counters under tagCounter.
const (
	counterHolding = 'h'
	counterAuth    = 'r'
	counterOffer   = 'f'
	counterLease   = 'l'
	counterSupply  = 's'
)

// Kinds of queued events; the queue orders by time, then kind, then id.
const (
	dueLease = 'l' // a lease boundary (payment, grace end or end of term)
	dueAuth  = 'r' // a route authorisation expires
)

func u64Key(tag byte, id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{tag}, id)
}

func dueKey(at int64, kind byte, id uint64) []byte {
	k := binary.BigEndian.AppendUint64([]byte{tagDue}, uint64(at))
	return binary.BigEndian.AppendUint64(append(k, kind), id)
}

func authPosKey(a *ipledger.RouteAuth) []byte {
	r, _ := ipledger.PrefixResource(a.Prefix)
	k := r.Key()
	return binary.BigEndian.AppendUint64(append([]byte{tagAuthPos}, k[:]...), a.ID)
}

func balanceKey(org string) []byte { return append([]byte{tagBalance}, org...) }

func (s state) getU64(k []byte) (uint64, error) {
	b, err := s.kv.Get(k)
	if err != nil {
		return 0, fmt.Errorf("get %q: %w", k[:1], err)
	}
	if len(b) != 8 {
		return 0, nil
	}
	return binary.BigEndian.Uint64(b), nil
}

func (s state) setU64(k []byte, v uint64) error {
	if v == 0 {
		return s.kv.Delete(k)
	}
	return s.kv.Set(k, binary.BigEndian.AppendUint64(nil, v))
}

// next allocates the next id of a counter; ids start at 1.
func (s state) next(counter byte) (uint64, error) {
	k := []byte{tagCounter, counter}
	n, err := s.getU64(k)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		n = 1
	}
	return n, s.setU64(k, n+1)
}

func getJSON[T any](s state, k []byte, what string) (*T, error) {
	b, err := s.kv.Get(k)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", what, err)
	}
	if b == nil {
		return nil, nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", what, err)
	}
	return &v, nil
}

// found loads the what numbered id from table tag; none is CodeNotFound.
func found[T any](s state, tag byte, id uint64, what string) (*T, error) {
	v, err := getJSON[T](s, u64Key(tag, id), what)
	if err == nil && v == nil {
		err = ipledger.Errorf(ipledger.CodeNotFound, "no %s %d", what, id)
	}
	return v, err
}

func (s state) putJSON(k []byte, v any, what string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	return s.kv.Set(k, b)
}

func (s state) params() (Params, error) {
	p, err := getJSON[Params](s, []byte{tagMeta, 'p', 'a', 'r', 'a', 'm', 's'}, "params")
	if err != nil || p == nil {
		return DefaultParams(), err
	}
	return p.withDefaults(), nil
}

func (s state) putParams(p Params) error {
	return s.putJSON([]byte{tagMeta, 'p', 'a', 'r', 'a', 'm', 's'}, p, "params")
}

func (s state) balance(org string) (uint64, error) { return s.getU64(balanceKey(org)) }

func (s state) lease(id uint64) (*ipledger.Lease, error) {
	return getJSON[ipledger.Lease](s, u64Key(tagLease, id), "lease")
}

func (s state) putLease(l *ipledger.Lease) error {
	return s.putJSON(u64Key(tagLease, l.ID), l, "lease")
}

func (s state) offer(id uint64) (*ipledger.Offer, error) {
	return getJSON[ipledger.Offer](s, u64Key(tagOffer, id), "offer")
}

func (s state) auth(id uint64) (*ipledger.RouteAuth, error) {
	return getJSON[ipledger.RouteAuth](s, u64Key(tagAuth, id), "route authorisation")
}

func (s state) putAuth(a *ipledger.RouteAuth) error {
	if err := s.putJSON(u64Key(tagAuth, a.ID), a, "route authorisation"); err != nil {
		return err
	}
	return s.kv.Set(authPosKey(a), []byte{})
}

func (s state) deleteAuth(a *ipledger.RouteAuth) error {
	if err := s.kv.Delete(u64Key(tagAuth, a.ID)); err != nil {
		return err
	}
	if authQueued(a) {
		if err := s.kv.Delete(dueKey(a.Expires, dueAuth, a.ID)); err != nil {
			return err
		}
	}
	return s.kv.Delete(authPosKey(a))
}

// authQueued reports whether a's expiry is in the event queue: every expiring
// authorisation except a lessee's, which ends with its lease.
func authQueued(a *ipledger.RouteAuth) bool {
	return a.Expires != 0 && (a.Lease == 0 || a.ASN == 0)
}

// authsWithin returns the authorisations whose prefix lies inside r, in position order.
func (s state) authsWithin(r ipledger.Resource) ([]*ipledger.RouteAuth, error) {
	ids, err := s.authIDs(nil, r)
	if err != nil {
		return nil, err
	}
	return s.authsOf(ids, r.Contains)
}

// authIDs appends to ids the ids of the authorisations whose prefix starts inside r, in
// position order.
func (s state) authIDs(ids []uint64, r ipledger.Resource) ([]uint64, error) {
	lo, hi := r.Key(), r.LastPoint().Key()
	start := append([]byte{tagAuthPos}, lo[:]...)
	end := append(append([]byte{tagAuthPos}, hi[:]...), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)
	err := s.kv.Iterate(start, end, false, func(k, _ []byte) bool {
		ids = append(ids, binary.BigEndian.Uint64(k[len(k)-8:]))
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("scan route authorisations: %w", err)
	}
	return ids, nil
}

// authsOf loads the authorisations ids, keeping those whose prefix keep accepts.
func (s state) authsOf(ids []uint64, keep func(ipledger.Resource) bool) ([]*ipledger.RouteAuth, error) {
	out := make([]*ipledger.RouteAuth, 0, len(ids))
	for _, id := range ids {
		a, err := s.auth(id)
		if err != nil {
			return nil, err
		}
		if a != nil {
			if ar, _ := ipledger.PrefixResource(a.Prefix); keep(ar) {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func geoKey(r ipledger.Resource) []byte { return posKey(tagGeo, r, 0) }

// geosOverlapping returns the geolocations overlapping r, in order.
func (s state) geosOverlapping(r ipledger.Resource) ([]*ipledger.Geo, error) {
	out, _, err := s.geosOverlappingMax(r, 0)
	return out, err
}

// geosOverlappingMax is geosOverlapping stopping after limit geolocations (0: no limit);
// more reports that another one overlaps r.
func (s state) geosOverlappingMax(r ipledger.Resource, limit int) (out []*ipledger.Geo, more bool, err error) {
	start := depthPrefix(tagGeo, r.Family(), 0)
	// Geolocations never overlap, so only the last one starting before r can reach into it.
	var before []byte
	if err := s.kv.Iterate(start, geoKey(r), true, func(k, _ []byte) bool { before = append([]byte{}, k...); return false }); err != nil {
		return nil, false, fmt.Errorf("scan geolocations: %w", err)
	}
	if before != nil {
		start = before
	} else {
		start = geoKey(r)
	}
	var derr error
	err = s.kv.Iterate(start, lastKeyEnd(tagGeo, r, 0), false, func(_, v []byte) bool {
		var g ipledger.Geo
		if derr = json.Unmarshal(v, &g); derr != nil {
			return false
		}
		if g.Resource.Overlaps(r) {
			if limit > 0 && len(out) == limit {
				more = true
				return false
			}
			out = append(out, &g)
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, false, fmt.Errorf("scan geolocations: %w", err)
	}
	return out, more, nil
}
