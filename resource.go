package ipledger

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// Family is the number space a Resource lives in.
// The zero Family is not valid.
type Family uint8

// The number families a registry hands out.
const (
	IPv4 Family = 1
	IPv6 Family = 2
	ASN  Family = 3
)

// String returns "ipv4", "ipv6" or "asn", the words the delegated statistics use.
func (f Family) String() string {
	switch f {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	case ASN:
		return "asn"
	}
	return "family(" + strconv.Itoa(int(f)) + ")"
}

// bitLen is the width of the family's number space.
func (f Family) bitLen() int {
	switch f {
	case IPv4, ASN:
		return 32
	case IPv6:
		return 128
	}
	return 0
}

// Bits returns the width of the family's number space: 32 for IPv4 and AS numbers, 128
// for IPv6, 0 for the zero Family.
func (f Family) Bits() int { return f.bitLen() }

// Number is one number of a family's number space (an IPv4 or IPv6 address, an AS number)
// as an unsigned 128-bit integer; IPv4 addresses and AS numbers are below 2^32. It is the
// arithmetic behind Resource, for code that walks positions (the importer's planner). The
// zero Number is the first number of every family; Numbers are comparable with ==.
type Number struct{ hi, lo uint64 }

// NumberFrom returns the Number hi·2^64 + lo.
func NumberFrom(hi, lo uint64) Number { return Number{hi, lo} }

// Less reports whether a < b.
func (a Number) Less(b Number) bool { return a.less(b) }

// Compare returns -1, 0 or +1 as a is below, equal to or above b.
func (a Number) Compare(b Number) int { return a.cmp(b) }

// Next returns a+1; ok is false when a is the largest Number (2^128-1).
func (a Number) Next() (n Number, ok bool) {
	if a == (Number{^uint64(0), ^uint64(0)}) {
		return Number{}, false
	}
	return a.addOne(), true
}

// Prev returns a-1; ok is false when a is zero.
func (a Number) Prev() (n Number, ok bool) {
	if a == (Number{}) {
		return Number{}, false
	}
	return a.subOne(), true
}

func (a Number) less(b Number) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }
func (a Number) cmp(b Number) int {
	switch {
	case a == b:
		return 0
	case a.less(b):
		return -1
	}
	return 1
}
func (a Number) addOne() Number {
	lo, c := bits.Add64(a.lo, 1, 0)
	return Number{a.hi + c, lo}
}
func (a Number) subOne() Number {
	lo, b := bits.Sub64(a.lo, 1, 0)
	return Number{a.hi - b, lo}
}
func (a Number) sub(b Number) Number {
	lo, br := bits.Sub64(a.lo, b.lo, 0)
	return Number{a.hi - b.hi - br, lo}
}
func (a Number) add(b Number) (Number, bool) {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, c2 := bits.Add64(a.hi, b.hi, c)
	return Number{hi, lo}, c2 != 0
}

// trailingZeros counts trailing zero bits, 128 for zero.
func (a Number) trailingZeros() int {
	if a.lo != 0 {
		return bits.TrailingZeros64(a.lo)
	}
	if a.hi != 0 {
		return 64 + bits.TrailingZeros64(a.hi)
	}
	return 128
}

// lowMask returns a value with the low n bits set (n ≤ 128).
func lowMask(n int) Number {
	switch {
	case n <= 0:
		return Number{}
	case n < 64:
		return Number{0, 1<<uint(n) - 1}
	case n == 64:
		return Number{0, ^uint64(0)}
	case n < 128:
		return Number{1<<uint(n-64) - 1, ^uint64(0)}
	}
	return Number{^uint64(0), ^uint64(0)}
}

func (a Number) or(b Number) Number { return Number{a.hi | b.hi, a.lo | b.lo} }

// Resource is a contiguous, non-empty range of IPv4 addresses, IPv6 addresses or AS numbers:
// the unit a registry records. IPv4 ranges need not be CIDR-aligned (a delegated-statistics
// record is a start and a count); IPv6 space is handed out as prefixes, and AS numbers as
// ranges. Resource values are immutable and comparable with ==.
//
// The zero Resource is not valid; IsValid reports false for it.
type Resource struct {
	fam         Family
	first, last Number // inclusive
}

// IsValid reports whether r was built by a constructor or parser.
func (r Resource) IsValid() bool { return r.fam != 0 }

// Family returns the number family of r.
func (r Resource) Family() Family { return r.fam }

func addrToU128(a netip.Addr) Number {
	if a.Is4() {
		b := a.As4()
		return Number{0, uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return Number{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func u128ToAddr(f Family, v Number) netip.Addr {
	if f == IPv4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	return netip.AddrFrom16(b)
}

// AddrRange returns the range of addresses from first to last inclusive. Both must be of
// the same family (IPv4, or IPv6 that is not IPv4-mapped) and first must not exceed last.
func AddrRange(first, last netip.Addr) (Resource, error) {
	f, err := addrFamily(first)
	if err != nil {
		return Resource{}, err
	}
	g, err := addrFamily(last)
	if err != nil {
		return Resource{}, err
	}
	if f != g {
		return Resource{}, fmt.Errorf("range %s-%s mixes address families", first, last)
	}
	a, b := addrToU128(first), addrToU128(last)
	if b.less(a) {
		return Resource{}, fmt.Errorf("range %s-%s ends before it starts", first, last)
	}
	return Resource{fam: f, first: a, last: b}, nil
}

func addrFamily(a netip.Addr) (Family, error) {
	switch {
	case !a.IsValid():
		return 0, fmt.Errorf("invalid address")
	case a.Zone() != "":
		return 0, fmt.Errorf("address %s has a zone", a)
	case a.Is4():
		return IPv4, nil
	}
	// IPv4-mapped IPv6 addresses (::ffff:0:0/96) are IPv6 space: IANA's special-purpose
	// registry lists that block.
	return IPv6, nil
}

// AddrCount returns the range of count addresses starting at start: the form of an IPv4
// record in the delegated statistics. count must be at least 1 and the range must not run
// past the end of the address space.
func AddrCount(start netip.Addr, count uint64) (Resource, error) {
	f, err := addrFamily(start)
	if err != nil {
		return Resource{}, err
	}
	if count == 0 {
		return Resource{}, fmt.Errorf("count of addresses is zero")
	}
	a := addrToU128(start)
	last, overflow := a.add(Number{0, count - 1})
	if overflow || (f == IPv4 && last.lo > 0xFFFFFFFF) {
		return Resource{}, fmt.Errorf("%s plus %d addresses runs past the end of the address space", start, count)
	}
	return Resource{fam: f, first: a, last: last}, nil
}

// PrefixResource returns the addresses of prefix p. p must be valid and in canonical form
// (no host bits set).
func PrefixResource(p netip.Prefix) (Resource, error) {
	if !p.IsValid() {
		return Resource{}, fmt.Errorf("invalid prefix")
	}
	if p.Masked() != p {
		return Resource{}, fmt.Errorf("prefix %s has host bits set (the network is %s)", p, p.Masked())
	}
	f, err := addrFamily(p.Addr())
	if err != nil {
		return Resource{}, err
	}
	a := addrToU128(p.Addr())
	return Resource{fam: f, first: a, last: a.or(lowMask(f.bitLen() - p.Bits()))}, nil
}

// ASRange returns the AS numbers first through last inclusive.
func ASRange(first, last uint32) (Resource, error) {
	if last < first {
		return Resource{}, fmt.Errorf("AS range AS%d-AS%d ends before it starts", first, last)
	}
	return Resource{fam: ASN, first: Number{0, uint64(first)}, last: Number{0, uint64(last)}}, nil
}

// FirstAddr returns the first address of an IPv4 or IPv6 range (the zero Addr for ASN).
func (r Resource) FirstAddr() netip.Addr {
	if r.fam != IPv4 && r.fam != IPv6 {
		return netip.Addr{}
	}
	return u128ToAddr(r.fam, r.first)
}

// LastAddr returns the last address of an IPv4 or IPv6 range (the zero Addr for ASN).
func (r Resource) LastAddr() netip.Addr {
	if r.fam != IPv4 && r.fam != IPv6 {
		return netip.Addr{}
	}
	return u128ToAddr(r.fam, r.last)
}

// FirstAS and LastAS return the bounds of an AS range (zero for address ranges).
func (r Resource) FirstAS() uint32 {
	if r.fam != ASN {
		return 0
	}
	return uint32(r.first.lo)
}

// LastAS returns the last AS number of an AS range (zero for address ranges).
func (r Resource) LastAS() uint32 {
	if r.fam != ASN {
		return 0
	}
	return uint32(r.last.lo)
}

// Size returns the number of addresses or AS numbers in r. ok is false when the count does
// not fit in a uint64 (IPv6 ranges of 2^64 addresses or more).
func (r Resource) Size() (n uint64, ok bool) {
	d := r.last.sub(r.first)
	if d.hi != 0 || d.lo == ^uint64(0) {
		return 0, false
	}
	return d.lo + 1, true
}

// Contains reports whether o lies entirely inside r.
func (r Resource) Contains(o Resource) bool {
	return r.fam == o.fam && r.fam != 0 && !o.first.less(r.first) && !r.last.less(o.last)
}

// ContainsAddr reports whether the address a lies in r.
func (r Resource) ContainsAddr(a netip.Addr) bool {
	f, err := addrFamily(a)
	if err != nil || f != r.fam {
		return false
	}
	v := addrToU128(a)
	return !v.less(r.first) && !r.last.less(v)
}

// Overlaps reports whether r and o share at least one number.
func (r Resource) Overlaps(o Resource) bool {
	return r.fam == o.fam && r.fam != 0 && !r.last.less(o.first) && !o.last.less(r.first)
}

// Compare orders resources by family, then first number, then last number descending (so a
// range sorts before the ranges it contains that share its start).
func (r Resource) Compare(o Resource) int {
	if r.fam != o.fam {
		if r.fam < o.fam {
			return -1
		}
		return 1
	}
	if c := r.first.cmp(o.first); c != 0 {
		return c
	}
	return -r.last.cmp(o.last)
}

// Prefix reports whether r is exactly one CIDR prefix, and returns it. For ASN resources ok
// is always false.
func (r Resource) Prefix() (p netip.Prefix, ok bool) {
	if r.fam != IPv4 && r.fam != IPv6 {
		return netip.Prefix{}, false
	}
	// The range is a prefix when its size is a power of two and its start is aligned to it.
	span := r.last.sub(r.first)
	hostBits := bitsLen(span)
	if span != lowMask(hostBits) || r.first.trailingZeros() < hostBits {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(r.FirstAddr(), r.fam.bitLen()-hostBits), true
}

// CommonBits returns how many leading bits (of Family.Bits) every number of r shares: the
// prefix length of the smallest CIDR-aligned block of the number space that contains all
// of r, r.Block(r.CommonBits()). A single number gives the family's width, the whole
// space 0, the zero Resource 0.
func (r Resource) CommonBits() int {
	return r.fam.bitLen() - bitsLen(Number{r.first.hi ^ r.last.hi, r.first.lo ^ r.last.lo})
}

// Block returns the CIDR-aligned block of the number space with prefix length bits that
// contains r's first number: the whole space for 0, that number alone for Family.Bits.
// bits is clamped to that range. AS numbers have blocks too (of 2^(32-bits) numbers),
// though they have no Prefix. The zero Resource gives the zero Resource.
func (r Resource) Block(bits int) Resource {
	w := r.fam.bitLen()
	host := lowMask(w - max(0, min(bits, w)))
	first := Number{r.first.hi &^ host.hi, r.first.lo &^ host.lo}
	return Resource{fam: r.fam, first: first, last: first.or(host)}
}

func bitsLen(a Number) int {
	if a.hi != 0 {
		return 64 + bits.Len64(a.hi)
	}
	return bits.Len64(a.lo)
}

// Prefixes returns the shortest list of CIDR prefixes that exactly covers r, in address
// order. It returns nil for ASN resources.
func (r Resource) Prefixes() []netip.Prefix {
	if r.fam != IPv4 && r.fam != IPv6 {
		return nil
	}
	var out []netip.Prefix
	width := r.fam.bitLen()
	cur := r.first
	for {
		// The largest block aligned at cur that does not pass r.last.
		host := cur.trailingZeros()
		if host > width {
			host = width
		}
		for host > 0 {
			end := cur.or(lowMask(host))
			if !r.last.less(end) {
				break
			}
			host--
		}
		out = append(out, netip.PrefixFrom(u128ToAddr(r.fam, cur), width-host))
		end := cur.or(lowMask(host))
		if end == r.last {
			return out
		}
		cur = end.addOne()
	}
}

// Subtract returns the parts of r not covered by o, in order: none, one or two resources.
// If o does not overlap r, the result is r itself.
func (r Resource) Subtract(o Resource) []Resource {
	if !r.Overlaps(o) {
		return []Resource{r}
	}
	var out []Resource
	if r.first.less(o.first) {
		out = append(out, Resource{fam: r.fam, first: r.first, last: o.first.subOne()})
	}
	if o.last.less(r.last) {
		out = append(out, Resource{fam: r.fam, first: o.last.addOne(), last: r.last})
	}
	return out
}

// String returns the canonical text form, which ParseResource reads back to the same value:
// "192.0.2.0/24" for an exact prefix, "192.0.2.0-192.0.2.99" for any other address range,
// "AS64496" for one AS number and "AS64496-AS64511" for an AS range.
func (r Resource) String() string {
	switch r.fam {
	case ASN:
		if r.first == r.last {
			return "AS" + strconv.FormatUint(r.first.lo, 10)
		}
		return "AS" + strconv.FormatUint(r.first.lo, 10) + "-AS" + strconv.FormatUint(r.last.lo, 10)
	case IPv4, IPv6:
		if p, ok := r.Prefix(); ok {
			return p.String()
		}
		return r.FirstAddr().String() + "-" + r.LastAddr().String()
	}
	return "invalid Resource"
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (r Resource) MarshalText() ([]byte, error) {
	if !r.IsValid() {
		return []byte{}, nil
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseResource.
func (r *Resource) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*r = Resource{}
		return nil
	}
	return setParsed(r, ParseResource, b)
}

// setParsed sets *p to what parse makes of text, for an UnmarshalText; on an error *p is
// unchanged.
func setParsed[T any](p *T, parse func(string) (T, error), text []byte) error {
	v, err := parse(string(text))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ParseResource parses a prefix ("192.0.2.0/24", "2001:db8::/32"), an address range
// ("192.0.2.0-192.0.2.99"), a single address (as its /32 or /128), an AS number ("AS64496"
// or "as64496") or an AS range ("AS64496-AS64511", "AS64496-64511").
func ParseResource(s string) (Resource, error) {
	if len(s) > 100 {
		return Resource{}, fmt.Errorf("resource %.20q…: too long", s)
	}
	if len(s) >= 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') {
		a, b, isRange := strings.Cut(s[2:], "-")
		first, err := parseASN(a)
		if err != nil {
			return Resource{}, fmt.Errorf("resource %q: %w", s, err)
		}
		last := first
		if isRange {
			b = strings.TrimPrefix(strings.TrimPrefix(b, "AS"), "as")
			if last, err = parseASN(b); err != nil {
				return Resource{}, fmt.Errorf("resource %q: %w", s, err)
			}
		}
		r, err := ASRange(first, last)
		if err != nil {
			return Resource{}, fmt.Errorf("resource %q: %w", s, err)
		}
		return r, nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Resource{}, fmt.Errorf("resource %q: %w", s, err)
		}
		r, err := PrefixResource(p)
		if err != nil {
			return Resource{}, fmt.Errorf("resource %q: %w", s, err)
		}
		return r, nil
	}
	if a, b, ok := strings.Cut(s, "-"); ok {
		first, err := netip.ParseAddr(a)
		if err != nil {
			return Resource{}, fmt.Errorf("resource %q: %w", s, err)
		}
		last, err := netip.ParseAddr(b)
		if err != nil {
			return Resource{}, fmt.Errorf("resource %q: %w", s, err)
		}
		r, err := AddrRange(first, last)
		if err != nil {
			return Resource{}, fmt.Errorf("resource %q: %w", s, err)
		}
		return r, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Resource{}, fmt.Errorf("resource %q: not a prefix, range, address or AS number", s)
	}
	r, err := AddrRange(a, a)
	if err != nil {
		return Resource{}, fmt.Errorf("resource %q: %w", s, err)
	}
	return r, nil
}

func parseASN(s string) (uint32, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("bad AS number %q", s)
	}
	// asdot notation (RFC 5396) is accepted: "1.10" is 65546.
	if hi, lo, ok := strings.Cut(s, "."); ok {
		h, err1 := strconv.ParseUint(hi, 10, 16)
		l, err2 := strconv.ParseUint(lo, 10, 16)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("bad AS number %q", s)
		}
		return uint32(h<<16 | l), nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad AS number %q", s)
	}
	return uint32(n), nil
}

// MustParseResource is ParseResource for tests and constants; it panics on error.
func MustParseResource(s string) Resource {
	r, err := ParseResource(s)
	if err != nil {
		panic(err)
	}
	return r
}

// Key returns a fixed-width, order-preserving encoding of the resource's family and first
// number (17 bytes), used to key state by position.
func (r Resource) Key() [17]byte {
	var k [17]byte
	k[0] = byte(r.fam)
	binary.BigEndian.PutUint64(k[1:9], r.first.hi)
	binary.BigEndian.PutUint64(k[9:17], r.first.lo)
	return k
}

// Point returns the resource holding just the first number of r.
func (r Resource) Point() Resource { return Resource{fam: r.fam, first: r.first, last: r.first} }

// LastPoint returns the resource holding just the last number of r.
func (r Resource) LastPoint() Resource { return Resource{fam: r.fam, first: r.last, last: r.last} }

// Span returns the smallest resource covering both r and o (same family required).
func (r Resource) Span(o Resource) Resource {
	out := r
	if o.first.less(out.first) {
		out.first = o.first
	}
	if out.last.less(o.last) {
		out.last = o.last
	}
	return out
}

// Adjacent reports whether o starts right after r ends.
func (r Resource) Adjacent(o Resource) bool {
	return r.fam == o.fam && r.last != lowMask(r.fam.bitLen()) && r.last.addOne() == o.first
}

// Whole returns the entire number space of a family: 0.0.0.0/0, ::/0 or AS0-AS4294967295.
func Whole(f Family) Resource {
	return Resource{fam: f, last: lowMask(f.bitLen())}
}

// Bounds returns the first and last number of r.
func (r Resource) Bounds() (first, last Number) { return r.first, r.last }

// RangeOf returns the resource first..last of family f. It fails when f is not a family,
// last is below first, or last is beyond f's number space.
func RangeOf(f Family, first, last Number) (Resource, error) {
	switch {
	case f.bitLen() == 0:
		return Resource{}, fmt.Errorf("range of %s: not a number family", f)
	case last.less(first):
		return Resource{}, fmt.Errorf("range of %s: last number below first", f)
	case lowMask(f.bitLen()).less(last):
		return Resource{}, fmt.Errorf("range of %s: beyond the number space", f)
	}
	return Resource{fam: f, first: first, last: last}, nil
}

// Before returns the single number just before r's first; ok is false at the start of the
// number space.
func (r Resource) Before() (p Resource, ok bool) {
	if r.first == (Number{}) {
		return Resource{}, false
	}
	v := r.first.subOne()
	return Resource{fam: r.fam, first: v, last: v}, true
}

// After returns the single number just after r's last; ok is false at the end of the number
// space.
func (r Resource) After() (p Resource, ok bool) {
	if r.last == lowMask(r.fam.bitLen()) {
		return Resource{}, false
	}
	v := r.last.addOne()
	return Resource{fam: r.fam, first: v, last: v}, true
}

// resourceBinaryLen is the size of Resource's binary form.
const resourceBinaryLen = 33

// AppendBinary appends the fixed-size binary form of r: family ‖ first (16 bytes) ‖ last
// (16 bytes), big-endian. It implements encoding.BinaryAppender.
func (r Resource) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, byte(r.fam))
	b = binary.BigEndian.AppendUint64(b, r.first.hi)
	b = binary.BigEndian.AppendUint64(b, r.first.lo)
	b = binary.BigEndian.AppendUint64(b, r.last.hi)
	return binary.BigEndian.AppendUint64(b, r.last.lo), nil
}

// MarshalBinary implements encoding.BinaryMarshaler with AppendBinary's form.
func (r Resource) MarshalBinary() ([]byte, error) { return r.AppendBinary(nil) }

// UnmarshalBinary implements encoding.BinaryUnmarshaler; it accepts exactly what
// MarshalBinary produces for a valid Resource.
func (r *Resource) UnmarshalBinary(b []byte) error {
	if len(b) != resourceBinaryLen {
		return fmt.Errorf("resource: %d bytes, want %d", len(b), resourceBinaryLen)
	}
	v := Resource{fam: Family(b[0]),
		first: Number{binary.BigEndian.Uint64(b[1:]), binary.BigEndian.Uint64(b[9:])},
		last:  Number{binary.BigEndian.Uint64(b[17:]), binary.BigEndian.Uint64(b[25:])}}
	if v.fam.bitLen() == 0 || v.last.less(v.first) || lowMask(v.fam.bitLen()).less(v.last) {
		return fmt.Errorf("resource: invalid binary form")
	}
	*r = v
	return nil
}
