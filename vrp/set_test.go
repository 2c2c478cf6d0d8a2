package vrp

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustVRP(s string) VRP {
	// "192.0.2.0/24-24 AS64496"
	var p string
	var ml, asn int
	f := strings.Fields(strings.NewReplacer("-", " ", "AS", "").Replace(s))
	p = f[0]
	fmt.Sscan(f[1], &ml)
	fmt.Sscan(f[2], &asn)
	return VRP{Prefix: netip.MustParsePrefix(p), MaxLength: uint8(ml), ASN: uint32(asn)}
}

func TestVRPValidate(t *testing.T) {
	for _, c := range []struct {
		v   VRP
		err string
	}{
		{mustVRP("192.0.2.0/24-24 AS1"), ""},
		{mustVRP("192.0.2.0/24-32 AS0"), ""},
		{mustVRP("2001:db8::/32-128 AS1"), ""},
		{mustVRP("0.0.0.0/0-0 AS1"), ""},
		{VRP{}, "invalid prefix"},
		{mustVRP("192.0.2.1/24-24 AS1"), "bits set beyond"},
		{mustVRP("192.0.2.0/24-23 AS1"), "maxLength 23"},
		{mustVRP("192.0.2.0/24-33 AS1"), "maxLength 33"},
		{mustVRP("2001:db8::/32-129 AS1"), "maxLength 129"},
	} {
		err := c.v.Validate()
		if (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%v: Validate = %v, want %q", c.v, err, c.err)
		}
	}
}

func TestNewSetSortsAndDeduplicates(t *testing.T) {
	in := []VRP{
		mustVRP("2001:db8::/32-48 AS3"),
		mustVRP("192.0.2.0/24-24 AS2"),
		mustVRP("192.0.2.0/24-24 AS1"),
		mustVRP("10.0.0.0/8-8 AS1"),
		mustVRP("192.0.2.0/24-24 AS1"),
		mustVRP("192.0.2.0/23-24 AS1"),
	}
	in[2].Source, in[2].Expires = "b", time.Unix(100, 0)
	in[4].Source, in[4].Expires = "a", time.Unix(200, 0) // expires later: kept
	s, err := NewSet(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for v := range s.All() {
		got = append(got, v.String()+" "+v.Source)
	}
	want := []string{"10.0.0.0/8-8 AS1 ", "192.0.2.0/24-24 AS1 a", "192.0.2.0/24-24 AS2 ", "192.0.2.0/23-24 AS1 ", "2001:db8::/32-48 AS3 "}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if s.Len() != 5 || s.Len4() != 4 || s.Len6() != 1 {
		t.Errorf("Len %d/%d/%d", s.Len(), s.Len4(), s.Len6())
	}
	if !s.NextExpiry().Equal(time.Unix(200, 0)) {
		t.Errorf("NextExpiry %v", s.NextExpiry())
	}
	if _, err := NewSet([]VRP{mustVRP("192.0.2.1/24-24 AS1")}, nil); err == nil {
		t.Error("NewSet accepted an unmasked prefix")
	}
	var nilSet *Set
	if nilSet.Len() != 0 || !nilSet.Empty() || nilSet.Contains(in[0]) || !nilSet.Equal(&Set{}) {
		t.Error("nil set is not empty")
	}
}

// randomSet builds a set from a small universe, so that sets overlap.
func randomSet(r *rand.Rand, n int) (*Set, map[string]bool) {
	var vs []VRP
	var ks []RouterKey
	ids := map[string]bool{}
	for range n {
		if r.IntN(10) == 0 {
			k := RouterKey{ASN: uint32(r.IntN(4)), SPKI: string([]byte{byte(r.IntN(3)) + 1})}
			k.SKI[0] = byte(r.IntN(3))
			ks = append(ks, k)
			ids[k.String()+fmt.Sprint(k.SPKI)] = true
			continue
		}
		var v VRP
		if r.IntN(2) == 0 {
			v.Prefix = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), 0, 0}), 16)
		} else {
			v.Prefix = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(r.IntN(4))}), 40)
		}
		v.MaxLength = uint8(v.Prefix.Bits() + r.IntN(3))
		v.ASN = uint32(r.IntN(4))
		if r.IntN(2) == 0 {
			v.Expires = time.Unix(int64(1000+r.IntN(5)), 0)
		}
		v.Source = []string{"", "ripe", "arin"}[r.IntN(3)]
		vs = append(vs, v)
		ids[v.String()] = true
	}
	s, err := NewSet(vs, ks)
	if err != nil {
		panic(err)
	}
	return s, ids
}

func setIDs(s *Set) map[string]bool {
	ids := map[string]bool{}
	for v := range s.All() {
		ids[v.String()] = true
	}
	for k := range s.Keys() {
		ids[k.String()+fmt.Sprint(k.SPKI)] = true
	}
	return ids
}

func checkSorted(t *testing.T, s *Set) {
	t.Helper()
	vs := slices.Collect(s.All())
	if !slices.IsSortedFunc(vs, VRP.Compare) {
		t.Fatal("VRPs not sorted")
	}
	for i := 1; i < len(vs); i++ {
		if vs[i-1].Compare(vs[i]) == 0 {
			t.Fatalf("duplicate %v", vs[i])
		}
	}
	ks := slices.Collect(s.Keys())
	for i := 1; i < len(ks); i++ {
		if ks[i-1].Compare(ks[i]) >= 0 {
			t.Fatalf("keys not sorted or duplicated at %v", ks[i])
		}
	}
}

// TestSetAlgebra checks Union, Subtract and Diff against maps of identities.
func TestSetAlgebra(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		a, ia := randomSet(r, r.IntN(40))
		b, ib := randomSet(r, r.IntN(40))
		u := a.Union(b)
		checkSorted(t, u)
		want := map[string]bool{}
		for k := range ia {
			want[k] = true
		}
		for k := range ib {
			want[k] = true
		}
		if !maps.Equal(setIDs(u), want) {
			t.Fatalf("case %d: union wrong", i)
		}
		d := a.Subtract(b)
		checkSorted(t, d)
		want = map[string]bool{}
		for k := range ia {
			if !ib[k] {
				want[k] = true
			}
		}
		if !maps.Equal(setIDs(d), want) {
			t.Fatalf("case %d: subtract wrong", i)
		}
		ann, wd := Diff(a, b)
		checkSorted(t, ann)
		checkSorted(t, wd)
		wantAnn, wantWd := map[string]bool{}, map[string]bool{}
		for k := range ib {
			if !ia[k] {
				wantAnn[k] = true
			}
		}
		for k := range ia {
			if !ib[k] {
				wantWd[k] = true
			}
		}
		if !maps.Equal(setIDs(ann), wantAnn) || !maps.Equal(setIDs(wd), wantWd) {
			t.Fatalf("case %d: diff wrong", i)
		}
		// Applying the diff to a gives b.
		if got := a.Subtract(wd).Union(ann); !maps.Equal(setIDs(got), ib) {
			t.Fatalf("case %d: a - withdrawn + announced != b", i)
		}
		if !a.Equal(a.Union(nil)) || !a.Union(a).Equal(a) {
			t.Fatalf("case %d: a ∪ a != a", i)
		}
	}
}

func TestUnionKeepsLaterExpiry(t *testing.T) {
	v := mustVRP("192.0.2.0/24-24 AS1")
	a, b := v, v
	a.Source, a.Expires = "ripe", time.Unix(100, 0)
	b.Source = "ledger" // never expires
	sa, _ := NewSet([]VRP{a}, nil)
	sb, _ := NewSet([]VRP{b}, nil)
	for _, u := range []*Set{sa.Union(sb), sb.Union(sa)} {
		got := slices.Collect(u.All())
		if len(got) != 1 || got[0].Source != "ledger" || !got[0].Expires.IsZero() {
			t.Errorf("union kept %+v, want the entry without expiry", got)
		}
		if !u.NextExpiry().IsZero() {
			t.Errorf("NextExpiry %v, want none", u.NextExpiry())
		}
	}
}

func TestExpire(t *testing.T) {
	vs := []VRP{mustVRP("192.0.2.0/24-24 AS1"), mustVRP("192.0.2.0/24-24 AS2"), mustVRP("2001:db8::/32-32 AS3")}
	vs[0].Expires = time.Unix(100, 0)
	vs[2].Expires = time.Unix(200, 0)
	s, _ := NewSet(vs, []RouterKey{{ASN: 1, SPKI: "k", Expires: time.Unix(150, 0)}})
	if s.Expire(time.Unix(99, 0)) != s {
		t.Error("Expire before any expiry copied the set")
	}
	e := s.Expire(time.Unix(150, 0))
	if e.Len() != 2 || e.KeyLen() != 0 || !e.NextExpiry().Equal(time.Unix(200, 0)) {
		t.Errorf("at 150: %d VRPs %d keys next %v", e.Len(), e.KeyLen(), e.NextExpiry())
	}
	if e := s.Expire(time.Unix(1000, 0)); e.Len() != 1 || !e.NextExpiry().IsZero() {
		t.Errorf("at 1000: %d VRPs next %v", e.Len(), e.NextExpiry())
	}
}

// TestSortDedupOrders checks the sorting of nearly sorted input (a sorted run and an
// unsorted tail) against a plain sort.
func TestSortDedupOrders(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		n := r.IntN(60)
		rs := make([]rec4, n)
		for i := range rs {
			rs[i] = rec4{addr: uint32(r.IntN(20)), bits: 24, maxLen: 24, asn: uint32(r.IntN(3))}
		}
		sorted := r.IntN(n + 1)
		slices.SortFunc(rs[:sorted], rec4.cmpID)
		want := slices.Clone(rs)
		slices.SortFunc(want, rec4.cmpID)
		want = slices.CompactFunc(want, func(a, b rec4) bool { return a.cmpID(b) == 0 })
		got := sortDedup(slices.Clone(rs), func(x, y rec4) bool { return false })
		if len(got) != len(want) || !slices.EqualFunc(got, want, func(a, b rec4) bool { return a.cmpID(b) == 0 }) {
			t.Fatalf("sortDedup(%v) = %v, want %v", rs, got, want)
		}
	}
}

func TestFilterCallsOnce(t *testing.T) {
	s, _ := NewSet([]VRP{mustVRP("192.0.2.0/24-24 AS1"), mustVRP("192.0.2.0/24-24 AS2"), mustVRP("192.0.2.0/24-24 AS3"), mustVRP("2001:db8::/32-32 AS4")}, nil)
	var seen []uint32
	f := s.Filter(func(v VRP) bool { seen = append(seen, v.ASN); return v.ASN != 2 }, nil)
	if !slices.Equal(seen, []uint32{1, 2, 3, 4}) || f.Len() != 3 || f.Contains(mustVRP("192.0.2.0/24-24 AS2")) {
		t.Errorf("keep called for %v; %d VRPs left", seen, f.Len())
	}
	if s.Filter(func(VRP) bool { return true }, nil) != s {
		t.Error("keeping everything copied the set")
	}
}

func TestEqual(t *testing.T) {
	v := mustVRP("192.0.2.0/24-24 AS1")
	a, _ := NewSet([]VRP{v}, nil)
	v.Source = "x"
	b, _ := NewSet([]VRP{v}, nil)
	v.Source, v.Expires = "", time.Unix(5, 0)
	c, _ := NewSet([]VRP{v}, nil)
	if a.Equal(b) || a.Equal(c) || !a.Equal(a) {
		t.Error("Equal ignores source or expiry")
	}
	if ann, wd := Diff(a, b); ann != nil || wd != nil {
		t.Error("Diff sees a change of source")
	}
}

func BenchmarkDiffSnapshot(b *testing.B) {
	f, err := ReadJSON(strings.NewReader(string(snapshotJSON(b))), time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	// Withdraw every 700th VRP.
	i := 0
	other := f.Set.Filter(func(VRP) bool { i++; return i%700 != 0 }, nil)
	for b.Loop() {
		ann, wd := Diff(f.Set, other)
		if ann.Len() != 0 || wd.Len() != f.Set.Len()/700 {
			b.Fatalf("diff %d/%d", ann.Len(), wd.Len())
		}
	}
}
