package ipledger

import (
	"math/big"
	"net/netip"
	"testing"
)

func TestParseResource(t *testing.T) {
	cases := []struct{ in, want string }{
		{"192.0.2.0/24", "192.0.2.0/24"},
		{"192.0.2.0-192.0.2.255", "192.0.2.0/24"},
		{"192.0.2.0-192.0.2.99", "192.0.2.0-192.0.2.99"},
		{"192.0.2.7", "192.0.2.7/32"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"AS64496", "AS64496"},
		{"as64496", "AS64496"},
		{"AS64496-AS64511", "AS64496-AS64511"},
		{"AS64496-64511", "AS64496-AS64511"},
		{"AS1.10", "AS65546"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"::/0", "::/0"},
		{"::ffff:0:0/96", "::ffff:0.0.0.0/96"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			r, err := ParseResource(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.String(); got != c.want {
				t.Fatalf("String() = %q, want %q", got, c.want)
			}
			if back := MustParseResource(r.String()); back != r {
				t.Fatalf("round trip: %v != %v", back, r)
			}
		})
	}
	for _, bad := range []string{"", "192.0.2.1/24", "192.0.2.9-192.0.2.1", "1.2.3.4-::1", "AS", "AS01", "AS4294967296", "ASx", "fe80::1%eth0", "AS5-AS3", "banana", "192.0.2.0/33"} {
		if r, err := ParseResource(bad); err == nil {
			t.Errorf("ParseResource(%q) = %v, want error", bad, r)
		}
	}
}

func TestAddrCount(t *testing.T) {
	r, err := AddrCount(netip.MustParseAddr("2.0.0.0"), 1048576)
	if err != nil || r.String() != "2.0.0.0/12" {
		t.Fatalf("%v %v", r, err)
	}
	r, err = AddrCount(netip.MustParseAddr("196.10.0.0"), 768)
	if err != nil || r.String() != "196.10.0.0-196.10.2.255" {
		t.Fatalf("%v %v", r, err)
	}
	want := []string{"196.10.0.0/23", "196.10.2.0/24"}
	for i, p := range r.Prefixes() {
		if p.String() != want[i] {
			t.Fatalf("prefix %d = %s", i, p)
		}
	}
	if _, err := AddrCount(netip.MustParseAddr("255.255.255.0"), 257); err == nil {
		t.Fatal("range past the end accepted")
	}
	if _, err := AddrCount(netip.MustParseAddr("1.0.0.0"), 0); err == nil {
		t.Fatal("zero count accepted")
	}
}

// ref is the slow, obviously-correct model of a resource: big integers.
type ref struct{ lo, hi *big.Int }

func toRef(r Resource) ref {
	conv := func(v Number) *big.Int {
		b := new(big.Int).SetUint64(v.hi)
		b.Lsh(b, 64)
		return b.Or(b, new(big.Int).SetUint64(v.lo))
	}
	return ref{conv(r.first), conv(r.last)}
}

// refPrefixes decomposes [lo, hi] into CIDR blocks one aligned block at a time.
func refPrefixes(lo, hi *big.Int, width int) []string {
	var out []string
	one := big.NewInt(1)
	cur := new(big.Int).Set(lo)
	for cur.Cmp(hi) <= 0 {
		size := 0
		for size < width {
			blk := new(big.Int).Lsh(one, uint(size+1))
			if new(big.Int).Mod(cur, blk).Sign() != 0 {
				break
			}
			end := new(big.Int).Add(cur, blk)
			end.Sub(end, one)
			if end.Cmp(hi) > 0 {
				break
			}
			size++
		}
		out = append(out, cur.String()+"/"+big.NewInt(int64(width-size)).String())
		cur.Add(cur, new(big.Int).Lsh(one, uint(size)))
	}
	return out
}

func bigOf(a netip.Addr) *big.Int { return new(big.Int).SetBytes(a.AsSlice()) }

// FuzzRangeArithmetic checks Prefixes, Contains, Overlaps, Subtract and Size against the
// big-integer reference.
func FuzzRangeArithmetic(f *testing.F) {
	f.Add(uint64(0x0A000000), uint64(300), uint64(0x0A000010), uint64(5), false)
	f.Add(uint64(0xC0000200), uint64(256), uint64(0xC0000200), uint64(256), false)
	f.Add(uint64(0x20010db8), uint64(1<<40), uint64(0x20010db8), uint64(77), true)
	f.Fuzz(func(t *testing.T, a, na, b, nb uint64, v6 bool) {
		mk := func(start, n uint64) (Resource, bool) {
			if v6 {
				var x [16]byte
				for i := 0; i < 8; i++ {
					x[i] = byte(start >> (56 - 8*i))
				}
				r, err := AddrCount(netip.AddrFrom16(x), n%(1<<62)+1)
				return r, err == nil
			}
			r, err := AddrCount(netip.AddrFrom4([4]byte{byte(start >> 24), byte(start >> 16), byte(start >> 8), byte(start)}), n%(1<<32)+1)
			return r, err == nil
		}
		r, ok1 := mk(a, na)
		o, ok2 := mk(b, nb)
		if !ok1 || !ok2 {
			return
		}
		rr, oo := toRef(r), toRef(o)
		width := 32
		if v6 {
			width = 128
		}
		// Exact CIDR decomposition.
		var got []string
		for _, p := range r.Prefixes() {
			got = append(got, bigOf(p.Addr()).String()+"/"+big.NewInt(int64(p.Bits())).String())
		}
		want := refPrefixes(rr.lo, rr.hi, width)
		if len(got) != len(want) {
			t.Fatalf("%s: %d prefixes, reference %d", r, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s prefix %d: %s, reference %s", r, i, got[i], want[i])
			}
		}
		overlap := rr.lo.Cmp(oo.hi) <= 0 && oo.lo.Cmp(rr.hi) <= 0
		if r.Overlaps(o) != overlap {
			t.Fatalf("%s overlaps %s: %v", r, o, !overlap)
		}
		contains := rr.lo.Cmp(oo.lo) <= 0 && oo.hi.Cmp(rr.hi) <= 0
		if r.Contains(o) != contains {
			t.Fatalf("%s contains %s: %v", r, o, !contains)
		}
		// Subtract conserves the count: |r| = |r − o| + |r ∩ o|.
		total := new(big.Int)
		for _, p := range r.Subtract(o) {
			pr := toRef(p)
			if p.Overlaps(o) || !r.Contains(p) {
				t.Fatalf("%s − %s gave %s", r, o, p)
			}
			total.Add(total, new(big.Int).Sub(pr.hi, pr.lo))
			total.Add(total, big.NewInt(1))
		}
		if overlap {
			lo, hi := rr.lo, rr.hi
			if oo.lo.Cmp(lo) > 0 {
				lo = oo.lo
			}
			if oo.hi.Cmp(hi) < 0 {
				hi = oo.hi
			}
			total.Add(total, new(big.Int).Sub(hi, lo))
			total.Add(total, big.NewInt(1))
		}
		size := new(big.Int).Sub(rr.hi, rr.lo)
		size.Add(size, big.NewInt(1))
		if total.Cmp(size) != 0 {
			t.Fatalf("%s − %s: pieces hold %s numbers, want %s", r, o, total, size)
		}
		if n, ok := r.Size(); ok && new(big.Int).SetUint64(n).Cmp(size) != 0 {
			t.Fatalf("%s: Size %d, reference %s", r, n, size)
		}
		if back := MustParseResource(r.String()); back != r {
			t.Fatalf("%s does not round-trip", r)
		}
		// The smallest aligned block containing r: the most leading bits first and last
		// share, by shifting.
		bits := width
		for new(big.Int).Rsh(rr.lo, uint(width-bits)).Cmp(new(big.Int).Rsh(rr.hi, uint(width-bits))) != 0 {
			bits--
		}
		if got := r.CommonBits(); got != bits {
			t.Fatalf("%s: CommonBits %d, reference %d", r, got, bits)
		}
		for _, n := range []int{0, bits / 2, bits, (bits + width) / 2, width} {
			b := toRef(r.Block(n))
			host := uint(width - n)
			lo := new(big.Int).Lsh(new(big.Int).Rsh(rr.lo, host), host)
			hi := new(big.Int).Sub(new(big.Int).Add(lo, new(big.Int).Lsh(big.NewInt(1), host)), big.NewInt(1))
			if b.lo.Cmp(lo) != 0 || b.hi.Cmp(hi) != 0 {
				t.Fatalf("%s: Block(%d) = %s, reference %s-%s", r, n, r.Block(n), lo, hi)
			}
			if n <= bits && !r.Block(n).Contains(r) {
				t.Fatalf("%s: Block(%d) = %s does not contain it", r, n, r.Block(n))
			}
		}
	})
}

// TestCommonBits checks the smallest aligned block of examples in every family.
func TestCommonBits(t *testing.T) {
	for _, c := range []struct {
		res   string
		bits  int
		block string
	}{
		{"193.0.0.0/16", 16, "193.0.0.0/16"},
		{"193.1.0.0-193.1.0.99", 25, "193.1.0.0/25"},
		{"192.255.255.255-193.0.0.0", 7, "192.0.0.0/7"},
		{"127.255.255.255-128.0.0.0", 0, "0.0.0.0/0"},
		{"10.0.0.1", 32, "10.0.0.1/32"},
		{"2001:600::/23", 23, "2001:600::/23"},
		{"2001:800::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "::/0"},
		{"AS1000-AS1009", 27, "AS992-AS1023"},
		{"AS1000-AS1999", 21, "AS0-AS2047"},
		{"AS4294967295", 32, "AS4294967295"},
	} {
		r := MustParseResource(c.res)
		if got := r.CommonBits(); got != c.bits {
			t.Errorf("%s: CommonBits %d, want %d", c.res, got, c.bits)
		}
		if got := r.Block(r.CommonBits()); got != MustParseResource(c.block) {
			t.Errorf("%s: Block %s, want %s", c.res, got, c.block)
		}
	}
}

func FuzzParseResource(f *testing.F) {
	fuzzRoundTrip(f, ParseResource, "192.0.2.0/24", "10.0.0.0-10.0.2.255", "AS64496-AS64511", "2001:db8::/32", "AS1.10", "::1", "1.2.3.4")
}

// fuzzRoundTrip fuzzes parse, seeded with seeds: whatever it accepts prints (String) as
// text that parses back to an equal value.
func fuzzRoundTrip[T interface {
	comparable
	String() string
}](f *testing.F, parse func(string) (T, error), seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parse(s)
		if err != nil {
			return
		}
		back, err := parse(v.String())
		if err != nil || back != v {
			t.Fatalf("%q parsed to %+v, which prints %q and parses back to %+v (%v)", s, v, v.String(), back, err)
		}
	})
}

// TestNumberRangeOf: Bounds and RangeOf are inverses; Next and Prev stop at the ends of
// the 128-bit space; RangeOf refuses what is not a range of the family.
func TestNumberRangeOf(t *testing.T) {
	for _, s := range []string{"0.0.0.0/0", "193.0.0.0-193.0.0.99", "::/0", "2001:db8::/32", "AS0-AS4294967295", "AS3333"} {
		r := MustParseResource(s)
		first, last := r.Bounds()
		if got, err := RangeOf(r.Family(), first, last); err != nil || got != r {
			t.Errorf("RangeOf(Bounds(%s)) = %v, %v", s, got, err)
		}
	}
	top := NumberFrom(^uint64(0), ^uint64(0))
	if _, ok := top.Next(); ok {
		t.Error("Next of 2^128-1")
	}
	if _, ok := (Number{}).Prev(); ok {
		t.Error("Prev of 0")
	}
	if n, ok := NumberFrom(0, ^uint64(0)).Next(); !ok || n != NumberFrom(1, 0) {
		t.Errorf("Next of 2^64-1 = %v", n)
	}
	if p, ok := NumberFrom(1, 0).Prev(); !ok || p != NumberFrom(0, ^uint64(0)) {
		t.Errorf("Prev of 2^64 = %v", p)
	}
	if NumberFrom(0, 1).Compare(NumberFrom(1, 0)) != -1 || !NumberFrom(0, 1).Less(NumberFrom(1, 0)) || top.Compare(top) != 0 {
		t.Error("Compare and Less")
	}
	for _, c := range []struct {
		f           Family
		first, last Number
	}{
		{0, Number{}, Number{}},
		{IPv4, NumberFrom(0, 2), NumberFrom(0, 1)},
		{IPv4, Number{}, NumberFrom(0, 1<<32)},
		{ASN, Number{}, NumberFrom(1, 0)},
	} {
		if r, err := RangeOf(c.f, c.first, c.last); err == nil {
			t.Errorf("RangeOf(%v, %v, %v) = %v", c.f, c.first, c.last, r)
		}
	}
}
