package vrp

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"time"
)

// Set is an immutable set of VRPs, router keys and ASPAs, each identity once, in identity
// order.
// A nil *Set is empty. Sets are safe for concurrent use.
//
// A VRP takes 16 bytes (IPv4) or 28 bytes (IPv6) and a router key 40 bytes plus its public
// key; source names are kept once per set.
type Set struct {
	v4      []rec4
	v6      []rec6
	keys    []keyRec
	aspas   []aspaRec // one per customer AS
	sources []string  // by index; sources[0] is ""
	nextExp uint32    // earliest expiry; 0 when nothing expires
}

// rec4 is a stored IPv4 VRP. Expiry is in Unix seconds, 0 for none.
type rec4 struct {
	addr   uint32
	bits   uint8
	maxLen uint8
	src    uint16
	asn    uint32
	exp    uint32
}

// rec6 is a stored IPv6 VRP.
type rec6 struct {
	addr   [16]byte
	bits   uint8
	maxLen uint8
	src    uint16
	asn    uint32
	exp    uint32
}

// keyRec is a stored router key.
type keyRec struct {
	asn  uint32
	exp  uint32
	src  uint16
	ski  [20]byte
	spki string
}

// record is what the generic set operations need of a stored entry.
type record[R any] interface {
	rec4 | rec6 | keyRec | aspaRec
	cmpID(R) int
	expiry() uint32
	source() uint16
	withSource(uint16) R
}

// Identity order (see VRP.Compare): address, then longer prefix and higher max length
// first, then AS.
func (a rec4) cmpID(b rec4) int {
	x := uint64(a.addr)<<16 | uint64(^a.bits)<<8 | uint64(^a.maxLen)
	y := uint64(b.addr)<<16 | uint64(^b.bits)<<8 | uint64(^b.maxLen)
	if x != y {
		if x < y {
			return -1
		}
		return 1
	}
	return cmp.Compare(a.asn, b.asn)
}
func (a rec4) expiry() uint32           { return a.exp }
func (a rec4) source() uint16           { return a.src }
func (a rec4) withSource(s uint16) rec4 { a.src = s; return a }

func (a rec6) cmpID(b rec6) int {
	if x, y := binary.BigEndian.Uint64(a.addr[:8]), binary.BigEndian.Uint64(b.addr[:8]); x != y {
		return cmp.Compare(x, y)
	}
	x := binary.BigEndian.Uint64(a.addr[8:])
	y := binary.BigEndian.Uint64(b.addr[8:])
	if x != y {
		return cmp.Compare(x, y)
	}
	if c := cmp.Compare(uint16(^a.bits)<<8|uint16(^a.maxLen), uint16(^b.bits)<<8|uint16(^b.maxLen)); c != 0 {
		return c
	}
	return cmp.Compare(a.asn, b.asn)
}
func (a rec6) expiry() uint32           { return a.exp }
func (a rec6) source() uint16           { return a.src }
func (a rec6) withSource(s uint16) rec6 { a.src = s; return a }

func (a keyRec) cmpID(b keyRec) int {
	return a.key(nil).Compare(b.key(nil))
}
func (a keyRec) expiry() uint32             { return a.exp }
func (a keyRec) source() uint16             { return a.src }
func (a keyRec) withSource(s uint16) keyRec { a.src = s; return a }

func (r rec4) vrp(sources []string) VRP {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], r.addr)
	return VRP{Prefix: netip.PrefixFrom(netip.AddrFrom4(b), int(r.bits)), MaxLength: r.maxLen, ASN: r.asn, Expires: expiryTime(r.exp), Source: sourceName(sources, r.src)}
}

func (r rec6) vrp(sources []string) VRP {
	return VRP{Prefix: netip.PrefixFrom(netip.AddrFrom16(r.addr), int(r.bits)), MaxLength: r.maxLen, ASN: r.asn, Expires: expiryTime(r.exp), Source: sourceName(sources, r.src)}
}

func (r keyRec) key(sources []string) RouterKey {
	return RouterKey{ASN: r.asn, SKI: r.ski, SPKI: r.spki, Expires: expiryTime(r.exp), Source: sourceName(sources, r.src)}
}

func sourceName(sources []string, i uint16) string {
	if int(i) < len(sources) {
		return sources[i]
	}
	return ""
}

// laterExpiry reports whether expiry a is later than b, 0 meaning never.
func laterExpiry(a, b uint32) bool {
	if a == 0 || b == 0 {
		return a == 0 && b != 0
	}
	return a > b
}

// Len returns the number of VRPs in s.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.v4) + len(s.v6)
}

// Len4 returns the number of IPv4 VRPs in s.
func (s *Set) Len4() int {
	if s == nil {
		return 0
	}
	return len(s.v4)
}

// Len6 returns the number of IPv6 VRPs in s.
func (s *Set) Len6() int {
	if s == nil {
		return 0
	}
	return len(s.v6)
}

// KeyLen returns the number of router keys in s.
func (s *Set) KeyLen() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Empty reports whether s holds no VRPs, router keys or ASPAs.
func (s *Set) Empty() bool { return s.Len() == 0 && s.KeyLen() == 0 && s.ASPALen() == 0 }

// All yields the VRPs of s in identity order (IPv4 first).
func (s *Set) All() iter.Seq[VRP] {
	return func(yield func(VRP) bool) {
		if s != nil && each(s.v4, s.sources, rec4.vrp, yield) {
			each(s.v6, s.sources, rec6.vrp, yield)
		}
	}
}

// Keys yields the router keys of s in identity order.
func (s *Set) Keys() iter.Seq[RouterKey] {
	return func(yield func(RouterKey) bool) {
		if s != nil {
			each(s.keys, s.sources, keyRec.key, yield)
		}
	}
}

// each yields what value makes of each of recs (with the set's sources) until yield
// returns false; it reports whether yield asked for more.
func each[R, T any](recs []R, sources []string, value func(R, []string) T, yield func(T) bool) bool {
	for _, r := range recs {
		if !yield(value(r, sources)) {
			return false
		}
	}
	return true
}

// Route is the identity of a VRP in wire form, as Routes yields it.
type Route struct {
	Addr      [16]byte // IPv4 in the first 4 bytes
	IPv6      bool
	Bits      uint8
	MaxLength uint8
	ASN       uint32
}

// Routes yields the identities of s's IPv4 VRPs, then of its IPv6 VRPs, without building
// VRP values: the fast path for encoding a whole set.
func (s *Set) Routes() iter.Seq[Route] {
	return func(yield func(Route) bool) {
		if s == nil {
			return
		}
		var r Route
		for _, x := range s.v4 {
			binary.BigEndian.PutUint32(r.Addr[:4], x.addr)
			r.Bits, r.MaxLength, r.ASN = x.bits, x.maxLen, x.asn
			if !yield(r) {
				return
			}
		}
		r = Route{IPv6: true}
		for _, x := range s.v6 {
			r.Addr, r.Bits, r.MaxLength, r.ASN = x.addr, x.bits, x.maxLen, x.asn
			if !yield(r) {
				return
			}
		}
	}
}

// Contains reports whether s holds a VRP with v's identity.
func (s *Set) Contains(v VRP) bool {
	if s == nil || v.Validate() != nil {
		return false
	}
	if v.Prefix.Addr().Is4() {
		r := toRec4(v, 0)
		_, ok := slices.BinarySearchFunc(s.v4, r, rec4.cmpID)
		return ok
	}
	r := toRec6(v, 0)
	_, ok := slices.BinarySearchFunc(s.v6, r, rec6.cmpID)
	return ok
}

// NextExpiry returns the earliest expiry in s, or the zero Time if nothing in s expires.
func (s *Set) NextExpiry() time.Time {
	if s == nil {
		return time.Time{}
	}
	return expiryTime(s.nextExp)
}

// Equal reports whether s and o hold the same entries, expiry and source included.
func (s *Set) Equal(o *Set) bool {
	if s.Len() != o.Len() || s.KeyLen() != o.KeyLen() || s.Len4() != o.Len4() || s.ASPALen() != o.ASPALen() {
		return false
	}
	if s.Empty() {
		return true
	}
	return equalRecs(s.v4, o.v4, s.sources, o.sources) &&
		equalRecs(s.v6, o.v6, s.sources, o.sources) &&
		equalRecs(s.keys, o.keys, s.sources, o.sources) &&
		equalRecs(s.aspas, o.aspas, s.sources, o.sources)
}

func equalRecs[R record[R]](a, b []R, sa, sb []string) bool {
	for i := range a {
		if a[i].cmpID(b[i]) != 0 || a[i].expiry() != b[i].expiry() || sourceName(sa, a[i].source()) != sourceName(sb, b[i].source()) {
			return false
		}
	}
	return true
}

// Union returns the entries of s and o; where both hold an identity, the one expiring
// later (then the one whose source sorts first) is kept.
func (s *Set) Union(o *Set) *Set {
	if o.Empty() {
		return s
	}
	if s.Empty() {
		return o
	}
	sources, remap := mergeSources(s.sources, o.sources)
	u := &Set{sources: sources}
	pick := func(a, b uint32, sa, sb string) bool { // keep a?
		if a != b {
			return laterExpiry(a, b)
		}
		return sa <= sb
	}
	u.v4 = unionRecs(s.v4, o.v4, remap, func(a, b rec4) bool {
		return pick(a.exp, b.exp, sources[a.src], sources[b.src])
	})
	u.v6 = unionRecs(s.v6, o.v6, remap, func(a, b rec6) bool {
		return pick(a.exp, b.exp, sources[a.src], sources[b.src])
	})
	u.keys = unionRecs(s.keys, o.keys, remap, func(a, b keyRec) bool {
		return pick(a.exp, b.exp, sources[a.src], sources[b.src])
	})
	u.aspas = mergeCustomers(unionRecs(s.aspas, o.aspas, remap, func(a, b aspaRec) bool {
		return pick(a.exp, b.exp, sources[a.src], sources[b.src])
	}))
	u.nextExp = earliest(u)
	return u
}

// mergeSources returns a table holding a's names then b's new ones, and the index in it of
// each of b's names.
func mergeSources(a, b []string) ([]string, []uint16) {
	out := slices.Clone(a)
	if len(out) == 0 {
		out = []string{""}
	}
	remap := make([]uint16, len(b))
	for i, name := range b {
		j := slices.Index(out, name)
		if j < 0 {
			j = len(out)
			out = append(out, name)
		}
		remap[i] = uint16(j)
	}
	return out, remap
}

// unionRecs merges a and b (b's sources remapped); keepA chooses between entries of one
// identity.
func unionRecs[R record[R]](a, b []R, remap []uint16, keepA func(a, b R) bool) []R {
	out := make([]R, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		y := b[j].withSource(remap[b[j].source()])
		switch c := a[i].cmpID(y); {
		case c < 0:
			out = append(out, a[i])
			i++
		case c > 0:
			out = append(out, y)
			j++
		default:
			if keepA(a[i], y) {
				out = append(out, a[i])
			} else {
				out = append(out, y)
			}
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	for ; j < len(b); j++ {
		out = append(out, b[j].withSource(remap[b[j].source()]))
	}
	return slices.Clip(out)
}

// Subtract returns the entries of s whose identity o does not hold.
func (s *Set) Subtract(o *Set) *Set {
	if s.Empty() || o.Empty() {
		return s
	}
	d := &Set{sources: s.sources}
	d.v4 = subtractRecs(s.v4, o.v4)
	d.v6 = subtractRecs(s.v6, o.v6)
	d.keys = subtractRecs(s.keys, o.keys)
	d.aspas = subtractRecs(s.aspas, o.aspas)
	d.nextExp = earliest(d)
	return d
}

func subtractRecs[R record[R]](a, b []R) []R {
	var out []R
	j := 0
	for i := range a {
		for j < len(b) && b[j].cmpID(a[i]) < 0 {
			j++
		}
		if j < len(b) && b[j].cmpID(a[i]) == 0 {
			continue
		}
		out = append(out, a[i])
	}
	return out
}

// Diff returns what changes from one set to another by identity: the entries of to that
// from lacks (announced, as they are in to) and the entries of from that to lacks
// (withdrawn, as they were in from). Either result may be nil (empty).
func Diff(from, to *Set) (announced, withdrawn *Set) {
	if from.Empty() {
		return to, nil
	}
	if to.Empty() {
		return nil, from
	}
	announced, withdrawn = &Set{sources: to.sources}, &Set{sources: from.sources}
	announced.v4, withdrawn.v4 = diffRecs(from.v4, to.v4)
	announced.v6, withdrawn.v6 = diffRecs(from.v6, to.v6)
	announced.keys, withdrawn.keys = diffRecs(from.keys, to.keys)
	announced.aspas, withdrawn.aspas = diffRecs(from.aspas, to.aspas)
	announced.nextExp, withdrawn.nextExp = earliest(announced), earliest(withdrawn)
	if announced.Empty() {
		announced = nil
	}
	if withdrawn.Empty() {
		withdrawn = nil
	}
	return announced, withdrawn
}

func diffRecs[R record[R]](from, to []R) (added, removed []R) {
	i, j := 0, 0
	for i < len(from) && j < len(to) {
		switch c := from[i].cmpID(to[j]); {
		case c < 0:
			removed = append(removed, from[i])
			i++
		case c > 0:
			added = append(added, to[j])
			j++
		default:
			i++
			j++
		}
	}
	removed = append(removed, from[i:]...)
	added = append(added, to[j:]...)
	return added, removed
}

// Filter returns the VRPs of s for which keep returns true and the router keys for which
// keepKey returns true, calling each once per entry in order; a nil func keeps everything of
// its kind. ASPAs are kept (RFC 8416 has no ASPA filters).
func (s *Set) Filter(keep func(VRP) bool, keepKey func(RouterKey) bool) *Set {
	if s.Empty() || keep == nil && keepKey == nil {
		return s
	}
	f := &Set{sources: s.sources, v4: s.v4, v6: s.v6, keys: s.keys, aspas: s.aspas}
	if keep != nil {
		f.v4 = filterRecs(s.v4, func(r rec4) bool { return keep(r.vrp(s.sources)) })
		f.v6 = filterRecs(s.v6, func(r rec6) bool { return keep(r.vrp(s.sources)) })
	}
	if keepKey != nil {
		f.keys = filterRecs(s.keys, func(r keyRec) bool { return keepKey(r.key(s.sources)) })
	}
	if len(f.v4) == len(s.v4) && len(f.v6) == len(s.v6) && len(f.keys) == len(s.keys) {
		return s
	}
	f.nextExp = earliest(f)
	return f
}

// filterRecs returns the entries keep accepts, calling it once per entry; rs itself when
// it accepts them all.
func filterRecs[R any](rs []R, keep func(R) bool) []R {
	for i, r := range rs {
		if keep(r) {
			continue
		}
		out := append(make([]R, 0, len(rs)-1), rs[:i]...)
		for _, r := range rs[i+1:] {
			if keep(r) {
				out = append(out, r)
			}
		}
		return slices.Clip(out)
	}
	return rs
}

// Expire returns s without the entries expired at now (expiry at or before now); s itself
// when none are.
func (s *Set) Expire(now time.Time) *Set {
	if s == nil || s.nextExp == 0 || now.Unix() < int64(s.nextExp) {
		return s
	}
	t := now.Unix()
	live := func(exp uint32) bool { return exp == 0 || int64(exp) > t }
	f := &Set{sources: s.sources}
	f.v4 = filterRecs(s.v4, func(r rec4) bool { return live(r.exp) })
	f.v6 = filterRecs(s.v6, func(r rec6) bool { return live(r.exp) })
	f.keys = filterRecs(s.keys, func(r keyRec) bool { return live(r.exp) })
	f.aspas = filterRecs(s.aspas, func(r aspaRec) bool { return live(r.exp) })
	f.nextExp = earliest(f)
	return f
}

func earliest(s *Set) uint32 {
	var e uint32
	take := func(x uint32) {
		if x != 0 && (e == 0 || x < e) {
			e = x
		}
	}
	for _, r := range s.v4 {
		take(r.exp)
	}
	for _, r := range s.v6 {
		take(r.exp)
	}
	for _, r := range s.keys {
		take(r.exp)
	}
	for _, r := range s.aspas {
		take(r.exp)
	}
	return e
}

// NewSet returns the set of vrps and keys. It fails on the first entry that does not
// validate.
func NewSet(vrps []VRP, keys []RouterKey) (*Set, error) {
	var b Builder
	for _, v := range vrps {
		if err := b.Add(v); err != nil {
			return nil, err
		}
	}
	for _, k := range keys {
		if err := b.AddKey(k); err != nil {
			return nil, err
		}
	}
	return b.Set(), nil
}

// Builder collects entries for a Set. The zero Builder is ready to use.
type Builder struct {
	v4      []rec4
	v6      []rec6
	keys    []keyRec
	aspas   []aspaRec
	sources []string
	index   map[string]uint16
}

// errTooManySources is returned when a set would name more sources than it can index.
var errTooManySources = errors.New("more than 65535 distinct sources")

// sourceIndex interns name.
func (b *Builder) sourceIndex(name []byte) (uint16, error) {
	if len(name) == 0 {
		return 0, nil
	}
	if i, ok := b.index[string(name)]; ok {
		return i, nil
	}
	if b.index == nil {
		b.index = map[string]uint16{}
		b.sources = []string{""}
	}
	if len(b.sources) > 0xffff {
		return 0, errTooManySources
	}
	i := uint16(len(b.sources))
	s := string(name)
	b.sources = append(b.sources, s)
	b.index[s] = i
	return i, nil
}

func toRec4(v VRP, src uint16) rec4 {
	a := v.Prefix.Addr().As4()
	return rec4{addr: binary.BigEndian.Uint32(a[:]), bits: uint8(v.Prefix.Bits()), maxLen: v.MaxLength, src: src, asn: v.ASN, exp: unixExpiry(v.Expires)}
}

func toRec6(v VRP, src uint16) rec6 {
	return rec6{addr: v.Prefix.Addr().As16(), bits: uint8(v.Prefix.Bits()), maxLen: v.MaxLength, src: src, asn: v.ASN, exp: unixExpiry(v.Expires)}
}

// Add adds v, or returns why v is not valid (see VRP.Validate).
func (b *Builder) Add(v VRP) error {
	if err := v.Validate(); err != nil {
		return fmt.Errorf("vrp %s: %w", v, err)
	}
	src, err := b.sourceIndex([]byte(v.Source))
	if err != nil {
		return err
	}
	b.add(v, src)
	return nil
}

// add adds a validated v.
func (b *Builder) add(v VRP, src uint16) {
	if v.Prefix.Addr().Is4() {
		b.v4 = append(b.v4, toRec4(v, src))
	} else {
		b.v6 = append(b.v6, toRec6(v, src))
	}
}

// AddKey adds k, or returns why k is not valid (see RouterKey.Validate).
func (b *Builder) AddKey(k RouterKey) error {
	src, err := b.validSource(k.Validate(), k.Source)
	if err != nil {
		return err
	}
	b.keys = append(b.keys, keyRec{asn: k.ASN, exp: unixExpiry(k.Expires), src: src, ski: k.SKI, spki: k.SPKI})
	return nil
}

// validSource is the index of source for an entry whose Validate returned invalid, or the
// first error of the two.
func (b *Builder) validSource(invalid error, source string) (uint16, error) {
	if invalid != nil {
		return 0, invalid
	}
	return b.sourceIndex([]byte(source))
}

// Len returns the number of VRPs added so far, duplicates included.
func (b *Builder) Len() int { return len(b.v4) + len(b.v6) }

// Set returns the set of what was added, sorted and deduplicated, and empties b.
func (b *Builder) Set() *Set {
	s := &Set{sources: b.sources}
	if len(s.sources) == 0 {
		s.sources = []string{""}
	}
	better := func(x, y uint32, sx, sy uint16) bool {
		if x != y {
			return laterExpiry(x, y)
		}
		return s.sources[sx] < s.sources[sy]
	}
	s.v4 = sortDedup(b.v4, func(x, y rec4) bool { return better(x.exp, y.exp, x.src, y.src) })
	s.v6 = sortDedup(b.v6, func(x, y rec6) bool { return better(x.exp, y.exp, x.src, y.src) })
	s.keys = sortDedup(b.keys, func(x, y keyRec) bool { return better(x.exp, y.exp, x.src, y.src) })
	s.aspas = mergeCustomers(sortDedup(b.aspas, func(x, y aspaRec) bool { return better(x.exp, y.exp, x.src, y.src) }))
	s.nextExp = earliest(s)
	*b = Builder{}
	return s
}

// sortDedup sorts rs by identity in place and keeps, of each identity, the entry better
// prefers; the result is trimmed to its length when the slack is large.
func sortDedup[R record[R]](rs []R, better func(x, y R) bool) []R {
	// Input usually comes in order (rpki-client's is) or nearly: a sorted run with a few
	// entries appended. Sort only what follows the longest sorted prefix, then merge.
	k := 1
	for k < len(rs) && rs[k-1].cmpID(rs[k]) <= 0 {
		k++
	}
	switch {
	case k >= len(rs):
	case len(rs)-k > len(rs)/4:
		slices.SortFunc(rs, R.cmpID)
	default:
		tail := slices.Clone(rs[k:])
		slices.SortFunc(tail, R.cmpID)
		// Merge from the back, so that the prefix can stay where it is.
		i, j, o := k-1, len(tail)-1, len(rs)-1
		for j >= 0 {
			if i >= 0 && rs[i].cmpID(tail[j]) > 0 {
				rs[o] = rs[i]
				i--
			} else {
				rs[o] = tail[j]
				j--
			}
			o--
		}
	}
	n := 0
	for i := range rs {
		if n > 0 && rs[n-1].cmpID(rs[i]) == 0 {
			if better(rs[i], rs[n-1]) {
				rs[n-1] = rs[i]
			}
			continue
		}
		rs[n] = rs[i]
		n++
	}
	rs = rs[:n]
	if cap(rs)-n > n/8 {
		rs = slices.Clone(rs)
	}
	return rs
}
