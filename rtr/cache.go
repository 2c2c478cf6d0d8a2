package rtr

import (
	"encoding/binary"
	"slices"
	"sync"

	"github.com/ipledger/ipledger/vrp"
)

// state is one serial of the cache: immutable once published, except for the lazily
// built encodings, each built once.
type state struct {
	serial uint32
	set    *vrp.Set
	deltas []*delta // oldest first; the last one ends at serial

	full [Version2 + 1]lazy // the whole set as PDUs, per version

	mu    sync.Mutex
	since map[sinceKey]*lazy // encoded changes from an older serial, per version
}

type sinceKey struct {
	serial uint32
	v      Version
}

// lazy is a byte slice built on first use; concurrent users wait for the one build.
type lazy struct {
	once sync.Once
	b    []byte
	ok   bool
}

// delta is the change from serial from to from+1.
type delta struct {
	from                 uint32
	announced, withdrawn *vrp.Set
}

func (d *delta) size() int {
	return entries(d.announced) + entries(d.withdrawn)
}

// entries counts what s holds: VRPs, router keys and ASPAs.
func entries(s *vrp.Set) int { return s.Len() + s.KeyLen() + s.ASPALen() }

// payload returns the PDUs of the whole set in version v, encoded once.
func (st *state) payload(v Version) []byte {
	l := &st.full[v]
	l.once.Do(func() {
		l.b = appendSet(make([]byte, 0, encodedLen(st.set, v)), v, st.set, true)
		l.ok = true
	})
	return l.b
}

// changesSince returns the PDUs that take a router from serial to st.serial in version
// v: withdrawals, then announcements. ok is false when the cache no longer knows that
// serial, or when the changes would outweigh the whole set (a Cache Reset is cheaper; small
// sets are exempt, see resetThreshold).
func (st *state) changesSince(serial uint32, v Version) (b []byte, ok bool) {
	i := len(st.deltas) - 1
	for i >= 0 && st.deltas[i].from != serial {
		i--
	}
	if i < 0 {
		return nil, false
	}
	st.mu.Lock()
	l := st.since[sinceKey{serial, v}]
	if l == nil {
		if st.since == nil {
			st.since = map[sinceKey]*lazy{}
		}
		l = &lazy{}
		st.since[sinceKey{serial, v}] = l
	}
	st.mu.Unlock()
	l.once.Do(func() {
		ann, wd := compose(st.deltas[i:])
		if entries(ann)+entries(wd) > resetThreshold(st.set) {
			return
		}
		b := make([]byte, 0, encodedLen(ann, v)+encodedLen(wd, v))
		b = appendSet(b, v, wd, false)
		l.b, l.ok = appendSet(b, v, ann, true), true
	})
	return l.b, l.ok
}

// resetThreshold is the size of a delta above which a Cache Reset replaces it: the size
// of the set, or 1024 for smaller sets, whose full transfer costs next to nothing anyway.
func resetThreshold(s *vrp.Set) int { return max(entries(s), 1024) }

// compose folds consecutive deltas into one. From A→B (a1, w1) and B→C (a2, w2): an entry
// announced then withdrawn, or withdrawn then announced again, cancels out, so A→C
// announces (a1 − w2) ∪ (a2 − w1) and withdraws (w1 − a2) ∪ (w2 − a1).
func compose(ds []*delta) (announced, withdrawn *vrp.Set) {
	announced, withdrawn = ds[0].announced, ds[0].withdrawn
	for _, d := range ds[1:] {
		a := announced.Subtract(d.withdrawn).Union(d.announced.Subtract(withdrawn))
		w := withdrawn.Subtract(d.announced).Union(d.withdrawn.Subtract(announced))
		announced, withdrawn = a, w
	}
	return announced, withdrawn
}

// encodedLen is the size of s's PDUs in version v.
func encodedLen(s *vrp.Set, v Version) int {
	n := s.Len4()*lenIPv4Prefix + s.Len6()*lenIPv6Prefix
	if v >= Version1 {
		for k := range s.Keys() {
			n += lenRouterKeyMin + len(k.SPKI)
		}
	}
	if v >= Version2 {
		for a := range s.ASPARecords() {
			n += 2 * (lenASPAMin + len(a.Providers)) // one PDU per address family
		}
	}
	return n
}

// appendSet appends s's VRPs (router keys from version 1, ASPAs from version 2) as
// announcements or withdrawals.
func appendSet(b []byte, v Version, s *vrp.Set, announce bool) []byte {
	flags := byte(0)
	if announce {
		flags = 1
	}
	n := len(b)
	b = slices.Grow(b, s.Len4()*lenIPv4Prefix+s.Len6()*lenIPv6Prefix)
	out := b[:cap(b)]
	for r := range s.Routes() {
		if !r.IPv6 {
			p := out[n : n+lenIPv4Prefix]
			binary.BigEndian.PutUint64(p, uint64(v)<<56|uint64(TypeIPv4Prefix)<<48|lenIPv4Prefix)
			p[8], p[9], p[10], p[11] = flags, r.Bits, r.MaxLength, 0
			copy(p[12:16], r.Addr[:4])
			binary.BigEndian.PutUint32(p[16:], r.ASN)
			n += lenIPv4Prefix
			continue
		}
		p := out[n : n+lenIPv6Prefix]
		binary.BigEndian.PutUint64(p, uint64(v)<<56|uint64(TypeIPv6Prefix)<<48|lenIPv6Prefix)
		p[8], p[9], p[10], p[11] = flags, r.Bits, r.MaxLength, 0
		copy(p[12:28], r.Addr[:])
		binary.BigEndian.PutUint32(p[28:], r.ASN)
		n += lenIPv6Prefix
	}
	b = b[:n]
	if v >= Version1 {
		for k := range s.Keys() {
			p := RouterKey{Announce: announce, SKI: k.SKI, ASN: k.ASN, SPKI: []byte(k.SPKI)}
			b, _ = p.appendTo(b, v) // vrp.RouterKey.Validate bounds the key's length
		}
	}
	if v >= Version2 {
		// rpki-client's ASPAs hold for both address families; the draft-10 PDU names one,
		// so each goes out twice, the IPv4 ones first (as StayRTR sends them).
		for _, ipv6 := range []bool{false, true} {
			for a := range s.ASPARecords() {
				b = header(b, v, TypeASPA, 0, lenASPAMin+len(a.Providers)) // vrp.MaxProviders bounds it
				b = append(b, aspaFlags(announce, ipv6)...)
				b = binary.BigEndian.AppendUint16(b, uint16(len(a.Providers)/4))
				b = binary.BigEndian.AppendUint32(b, a.Customer)
				b = append(b, a.Providers...)
			}
		}
	}
	return b
}
