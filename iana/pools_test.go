package iana

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// dataDir returns the directory with IANA's registry files, the shared data's iana/
// folder (see ipledgertest.Data).
func dataDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Dir(ipledgertest.Data(tb, "iana/"+IPv4File))
}

// checkPools reports every problem poolProblems finds.
func checkPools(tb testing.TB, pools []Pool) {
	tb.Helper()
	for _, p := range poolProblems(pools) {
		tb.Error(p)
	}
}

// poolProblems checks that pools cover the IPv4, IPv6 and AS number spaces exactly, without
// gaps or overlaps, in Compare order, merged, with sane fields. The coverage check walks the
// boundaries with netip and uint64 arithmetic, not with ipledger's own.
func poolProblems(pools []Pool) []string {
	var out []string
	errorf := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if !slices.IsSortedFunc(pools, func(a, b Pool) int { return a.Resource.Compare(b.Resource) }) {
		errorf("pools are not sorted by Resource.Compare")
	}
	byFam := map[ipledger.Family][]Pool{}
	for _, p := range pools {
		byFam[p.Resource.Family()] = append(byFam[p.Resource.Family()], p)
		out = append(out, poolFieldProblems(p)...)
	}
	if len(byFam) != 3 {
		errorf("pools in %d families, want IPv4, IPv6 and ASN", len(byFam))
	}
	for _, f := range []ipledger.Family{ipledger.IPv4, ipledger.IPv6} {
		start, end := netip.IPv4Unspecified(), netip.MustParseAddr("255.255.255.255")
		if f == ipledger.IPv6 {
			start, end = netip.IPv6Unspecified(), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
		}
		next, done := start, false
		for _, p := range byFam[f] {
			first, last := p.Resource.FirstAddr(), p.Resource.LastAddr()
			switch {
			case done || first != next:
				errorf("%s: pool %s, want one starting at %s (gap or overlap)", f, p.Resource, next)
				return out
			case last.Less(first):
				errorf("%s: pool %s ends before it starts", f, p.Resource)
				return out
			}
			next, done = last.Next(), last == end
		}
		if !done {
			errorf("%s: pools end before %s", f, end)
		}
	}
	next, done := uint64(0), false
	for _, p := range byFam[ipledger.ASN] {
		first, last := uint64(p.Resource.FirstAS()), uint64(p.Resource.LastAS())
		if done || first != next || last < first {
			errorf("ASN: pool %s, want one starting at AS%d (gap or overlap)", p.Resource, next)
			return out
		}
		next, done = last+1, last == 1<<32-1
	}
	if !done {
		errorf("ASN: pools end before AS4294967295")
	}
	// Merged: no two neighbours of the same registry and status (IPv6 runs are split into
	// prefixes, which carry the run's date).
	for f, ps := range byFam {
		for i := 1; i < len(ps); i++ {
			a, b := ps[i-1], ps[i]
			if a.Registry != b.Registry || a.Status != b.Status {
				continue
			}
			if f != ipledger.IPv6 {
				errorf("%s and %s are both %s %s: not merged", a.Resource, b.Resource, a.Registry, a.Status)
			} else if a.Registered != b.Registered {
				errorf("%s and %s are one run of %s %s but dated %q and %q", a.Resource, b.Resource, a.Registry, a.Status, a.Registered, b.Registered)
			}
		}
	}
	return out
}

func poolFieldProblems(p Pool) []string {
	var out []string
	errorf := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if !slices.Contains(ipledger.Registries, p.Registry) {
		errorf("%s: registry %q is not a genesis registry", p.Resource, p.Registry)
	}
	switch p.Status {
	case ipledger.StatusRIRPool:
		if p.Registry == ipledger.IANA {
			errorf("%s: IANA space with status %s", p.Resource, p.Status)
		}
	case ipledger.StatusIANAPool, ipledger.StatusReserved:
		if p.Registry != ipledger.IANA {
			errorf("%s: %s space with status %s", p.Resource, p.Registry, p.Status)
		}
	default:
		errorf("%s: status %q", p.Resource, p.Status)
	}
	if p.Registered != "" {
		if _, err := time.Parse(time.DateOnly, p.Registered); err != nil {
			errorf("%s: registered %q: %v", p.Resource, p.Registered, err)
		}
	}
	if p.Resource.Family() == ipledger.IPv6 {
		if _, ok := p.Resource.Prefix(); !ok {
			errorf("IPv6 pool %s is not a prefix", p.Resource)
		}
	}
	return out
}

// TestPoolProblems checks the checker: it must catch each kind of broken pool list.
func TestPoolProblems(t *testing.T) {
	good := GenesisPools(Default())
	if p := poolProblems(good); len(p) > 0 {
		t.Fatalf("good pools: %q", p)
	}
	ipv4End := slices.IndexFunc(good, func(p Pool) bool { return p.Resource.Family() != ipledger.IPv4 })
	for name, broken := range map[string]func([]Pool) []Pool{
		"gap":            func(ps []Pool) []Pool { return slices.Delete(ps, 5, 6) },
		"no last IPv4":   func(ps []Pool) []Pool { return slices.Delete(ps, ipv4End-1, ipv4End) },
		"no first IPv6":  func(ps []Pool) []Pool { return slices.Delete(ps, ipv4End, ipv4End+1) },
		"no last AS":     func(ps []Pool) []Pool { return ps[:len(ps)-1] },
		"overlap":        func(ps []Pool) []Pool { ps[1].Resource = ps[1].Resource.Span(ps[2].Resource); return ps },
		"duplicate":      func(ps []Pool) []Pool { return slices.Insert(ps, 3, ps[3]) },
		"unsorted":       func(ps []Pool) []Pool { ps[1], ps[2] = ps[2], ps[1]; return ps },
		"not merged":     func(ps []Pool) []Pool { ps[1].Registry = ps[2].Registry; return ps },
		"RIR reserved":   func(ps []Pool) []Pool { ps[1].Status = ipledger.StatusReserved; return ps },
		"IANA allocated": func(ps []Pool) []Pool { ps[0].Status = ipledger.StatusRIRPool; return ps },
		"bad date":       func(ps []Pool) []Pool { ps[1].Registered = "2010-13-01"; return ps },
		"unknown reg":    func(ps []Pool) []Pool { ps[1].Registry = "NOBODY"; return ps },
		"no ASN": func(ps []Pool) []Pool {
			return slices.DeleteFunc(ps, func(p Pool) bool { return p.Resource.Family() == ipledger.ASN })
		},
	} {
		if p := poolProblems(broken(slices.Clone(good))); len(p) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
}

func TestDefaultPoolsCover(t *testing.T) {
	checkPools(t, DefaultPools())
}

func TestGenesisPoolsNil(t *testing.T) {
	for _, r := range []*Registries{nil, {}} {
		got := GenesisPools(r)
		checkPools(t, got)
		want := []Pool{
			{Resource: ipledger.Whole(ipledger.IPv4), Registry: ipledger.IANA, Status: ipledger.StatusIANAPool},
			{Resource: ipledger.Whole(ipledger.IPv6), Registry: ipledger.IANA, Status: ipledger.StatusIANAPool},
			{Resource: ipledger.Whole(ipledger.ASN), Registry: ipledger.IANA, Status: ipledger.StatusIANAPool},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GenesisPools(%v) = %v, want %v", r, got, want)
		}
	}
}

// poolOf returns the pool that holds all of r.
func poolOf(tb testing.TB, pools []Pool, r ipledger.Resource) Pool {
	tb.Helper()
	for _, p := range pools {
		if p.Resource.Contains(r) {
			return p
		}
	}
	tb.Fatalf("no single pool holds %s", r)
	return Pool{}
}

func res(tb testing.TB, s string) ipledger.Resource {
	tb.Helper()
	if p, err := netip.ParsePrefix(s); err == nil {
		r, err := ipledger.PrefixResource(p)
		if err != nil {
			tb.Fatal(err)
		}
		return r
	}
	r, err := ipledger.ParseResource(s)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestDefaultPoolsFacts(t *testing.T) {
	pools := DefaultPools()
	const (
		rir      = ipledger.StatusRIRPool
		pool     = ipledger.StatusIANAPool
		reserved = ipledger.StatusReserved
	)
	for _, tt := range []struct {
		res        string
		registry   string
		status     ipledger.Status
		registered string // checked when not "-"
	}{
		{"0.0.0.0/8", ipledger.IANA, reserved, "1981-09-01"},
		{"1.0.0.0/8", ipledger.APNIC, rir, "2010-01-01"},
		{"2.0.0.0/8", ipledger.RIPENCC, rir, "2009-09-01"},
		{"3.0.0.0/8", ipledger.ARIN, rir, "-"},              // legacy, administered by ARIN
		{"6.0.0.0/8", ipledger.ARIN, rir, "-"},              // legacy, "Army Information Systems Center", whois.arin.net
		{"25.0.0.0/8", ipledger.RIPENCC, rir, "1995-01-01"}, // legacy, administered by RIPE NCC
		{"41.0.0.0/8", ipledger.AFRINIC, rir, "2005-04-01"},
		{"43.0.0.0/8", ipledger.APNIC, rir, "-"},
		{"10.0.0.0/8", ipledger.IANA, reserved, "1996-02-01"},
		{"100.0.0.0/10", ipledger.ARIN, rir, "-"},
		{"100.64.0.0/10", ipledger.IANA, reserved, "2012-04-01"},
		{"100.128.0.0/9", ipledger.ARIN, rir, "2010-11-01"},
		{"127.0.0.0/8", ipledger.IANA, reserved, "1981-09-01"},
		{"154.0.0.0/8", ipledger.AFRINIC, rir, "1993-05-01"},
		{"169.254.0.0/16", ipledger.IANA, reserved, "2005-05-01"},
		{"172.16.0.0/12", ipledger.IANA, reserved, "1996-02-01"},
		{"191.0.0.0/8", ipledger.LACNIC, rir, "-"},
		{"192.0.0.0/24", ipledger.IANA, reserved, "2010-01-01"},
		{"192.0.1.0/24", ipledger.ARIN, rir, "1993-05-01"},
		{"192.0.2.0/24", ipledger.IANA, reserved, "2010-01-01"},
		{"192.168.0.0/16", ipledger.IANA, reserved, "1996-02-01"},
		{"198.18.0.0/15", ipledger.IANA, reserved, "1999-03-01"},
		{"200.0.0.0/8", ipledger.LACNIC, rir, "-"},
		{"203.0.113.0/24", ipledger.IANA, reserved, "2010-01-01"},
		{"224.0.0.0/4", ipledger.IANA, pool, "1981-09-01"},
		{"240.0.0.0/4", ipledger.IANA, reserved, "1984-10-01"}, // with 255.255.255.255/32 (1984-10)
		{"255.255.255.255/32", ipledger.IANA, reserved, "-"},

		{"::/128", ipledger.IANA, reserved, "-"},
		{"::ffff:0:0/96", ipledger.IANA, reserved, "2006-02-01"},
		{"2001::/23", ipledger.IANA, reserved, "2000-09-01"},
		{"2001:200::/23", ipledger.APNIC, rir, "1999-07-01"},
		{"2001:db8::/32", ipledger.IANA, reserved, "2004-07-01"},
		{"2001:c00::/25", ipledger.APNIC, rir, "2002-05-02"},
		{"2001:1000::/23", ipledger.IANA, pool, ""}, // not in the unicast table
		{"2002::/16", ipledger.IANA, reserved, "2001-02-01"},
		{"2400::/12", ipledger.APNIC, rir, "-"},
		{"2600::/12", ipledger.ARIN, rir, "-"},
		{"2620:4f:8000::/48", ipledger.IANA, reserved, "2011-05-01"},
		{"2800::/12", ipledger.LACNIC, rir, "2006-10-03"},
		{"2a00::/12", ipledger.RIPENCC, rir, "-"},
		{"2c00::/12", ipledger.AFRINIC, rir, "2006-10-03"},
		{"3ffe::/16", ipledger.IANA, pool, ""},
		{"3fff::/20", ipledger.IANA, reserved, "2024-07-01"},
		{"8000::/2", ipledger.IANA, pool, ""},
		{"fc00::/7", ipledger.IANA, reserved, "2005-10-01"},
		{"fe80::/10", ipledger.IANA, reserved, "2006-02-01"},
		{"ff00::/8", ipledger.IANA, pool, ""},

		{"AS0", ipledger.IANA, reserved, ""},
		{"AS1-AS111", ipledger.ARIN, rir, ""},
		{"AS112", ipledger.IANA, reserved, "2015-03-17"},
		{"AS113-AS1876", ipledger.ARIN, rir, ""},
		{"AS1877-AS1901", ipledger.RIPENCC, rir, ""},
		{"AS4608-AS4865", ipledger.APNIC, rir, ""},
		{"AS23456", ipledger.IANA, reserved, ""},
		{"AS27648-AS28671", ipledger.LACNIC, rir, "2002-11-01"},
		{"AS36864-AS37887", ipledger.AFRINIC, rir, "2005-04-01"},
		{"AS64496-AS64511", ipledger.IANA, reserved, ""},
		{"AS64512-AS65534", ipledger.IANA, reserved, ""},
		{"AS65552-AS131071", ipledger.IANA, pool, ""},
		{"AS131072-AS155961", ipledger.APNIC, rir, "2006-11-29"},
		{"AS196608-AS219547", ipledger.RIPENCC, rir, "2006-11-29"},
		{"AS262144-AS275868", ipledger.LACNIC, rir, "2006-11-29"},
		{"AS327680-AS330751", ipledger.AFRINIC, rir, "2006-11-29"},
		{"AS393216-AS404380", ipledger.ARIN, rir, "2006-11-30"},
		{"AS404381-AS4199999999", ipledger.IANA, pool, ""},
		{"AS4200000000-AS4294967295", ipledger.IANA, reserved, ""},
	} {
		t.Run(tt.res, func(t *testing.T) {
			p := poolOf(t, pools, res(t, tt.res))
			if p.Registry != tt.registry || p.Status != tt.status {
				t.Errorf("%s is in %s, %s %s; want %s %s", tt.res, p.Resource, p.Registry, p.Status, tt.registry, tt.status)
			}
			if tt.registered != "-" && p.Registered != tt.registered {
				t.Errorf("%s is in %s registered %q, want %q", tt.res, p.Resource, p.Registered, tt.registered)
			}
		})
	}
}

// TestDefaultPoolsFollowRows checks every row against the pools: a special-purpose block
// lies in one IANA reserved pool; space of any other row is in pools of the row's registry,
// except where special-purpose blocks were carved out of it.
func TestDefaultPoolsFollowRows(t *testing.T) {
	checkRows(t, Default(), DefaultPools())
}

func checkRows(tb testing.TB, r *Registries, pools []Pool) {
	tb.Helper()
	for _, e := range r.Special {
		p := poolOf(tb, pools, e.Resource)
		if p.Registry != ipledger.IANA || p.Status != ipledger.StatusReserved {
			tb.Errorf("special-purpose %s (%s) is in %s %s %s", e.Resource, e.Name, p.Resource, p.Registry, p.Status)
		}
	}
	for _, rows := range [][]Entry{r.IPv4, r.IPv6, r.ASN} {
		for _, e := range rows {
			for _, p := range pools {
				if !p.Resource.Overlaps(e.Resource) || p.Status == ipledger.StatusReserved {
					continue
				}
				if p.Registry != e.Registry {
					tb.Errorf("%s (%s, %s) overlaps pool %s of %s", e.Resource, e.Name, e.Registry, p.Resource, p.Registry)
				}
			}
		}
	}
}

func TestDefaultMatchesFiles(t *testing.T) {
	dir := dataDir(t)
	r, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := Default(); !reflect.DeepEqual(d, r) {
		t.Errorf("Default() differs from Load(%s): run go generate ./iana/", dir)
	}
	if got, want := DefaultPools(), GenesisPools(r); !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultPools() differs from GenesisPools(Load(%s)): run go generate ./iana/", dir)
	}
}

func TestDefaultPoolsIsACopy(t *testing.T) {
	a := DefaultPools()
	a[0].Registry = "CHANGED"
	if b := DefaultPools(); b[0].Registry == "CHANGED" {
		t.Error("DefaultPools returned a shared slice")
	}
}

// TestPoolsTextRoundTrip checks that every pool's Resource survives MarshalText and
// UnmarshalText, as it must in a genesis file (::ffff:0:0/96, printed "::ffff:0.0.0.0/96",
// included).
func TestPoolsTextRoundTrip(t *testing.T) {
	for _, p := range DefaultPools() {
		b, err := p.Resource.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var got ipledger.Resource
		err = got.UnmarshalText(b)
		if err != nil || got != p.Resource {
			t.Errorf("%s: parsed back as %s, %v", b, got, err)
		}
	}
}

// TestGenesisPoolsMerge checks the merge and carving rules on small hand-made rows.
func TestGenesisPoolsMerge(t *testing.T) {
	e := func(s, registry, date string) Entry {
		return Entry{Resource: res(t, s), Registry: registry, Status: Allocated, Registered: date}
	}
	special := func(s, date string) Entry {
		return Entry{Resource: res(t, s), Registry: ipledger.IANA, Status: Reserved, Registered: date}
	}
	r := &Registries{
		IPv4: []Entry{
			e("1.0.0.0/8", ipledger.ARIN, "1994-05-01"),
			e("2.0.0.0/8", ipledger.ARIN, "1992-12-01"), // merges with 1/8: the earliest date
			e("3.0.0.0/8", ipledger.LACNIC, ""),         // unknown date: the merged run has none
			e("4.0.0.0/8", ipledger.LACNIC, "2000-01-01"),
			e("5.0.0.0/8", ipledger.APNIC, "2001-01-01"),
			e("5.1.0.0/16", ipledger.RIPENCC, "2002-01-01"), // nested row: the inner one wins
		},
		Special: []Entry{
			special("5.0.0.0/24", "2009-01-01"), // nested in the next, listed first
			special("5.0.0.0/16", "2010-01-01"),
			special("5.1.0.0/24", "2011-01-01"), // carved out of RIPE's 5.1/16
		},
	}
	got := GenesisPools(r)
	checkPools(t, got)
	var v4 []Pool
	for _, p := range got {
		if p.Resource.Family() == ipledger.IPv4 {
			v4 = append(v4, p)
		}
	}
	want := []Pool{
		{Resource: res(t, "0.0.0.0/8"), Registry: ipledger.IANA, Status: ipledger.StatusIANAPool, Registered: ""},
		{Resource: res(t, "1.0.0.0-2.255.255.255"), Registry: ipledger.ARIN, Status: ipledger.StatusRIRPool, Registered: "1992-12-01"},
		{Resource: res(t, "3.0.0.0-4.255.255.255"), Registry: ipledger.LACNIC, Status: ipledger.StatusRIRPool, Registered: ""},
		{Resource: res(t, "5.0.0.0-5.1.0.255"), Registry: ipledger.IANA, Status: ipledger.StatusReserved, Registered: "2009-01-01"},
		{Resource: res(t, "5.1.1.0-5.1.255.255"), Registry: ipledger.RIPENCC, Status: ipledger.StatusRIRPool, Registered: "2002-01-01"},
		{Resource: res(t, "5.2.0.0-5.255.255.255"), Registry: ipledger.APNIC, Status: ipledger.StatusRIRPool, Registered: "2001-01-01"},
		{Resource: res(t, "6.0.0.0-255.255.255.255"), Registry: ipledger.IANA, Status: ipledger.StatusIANAPool, Registered: ""},
	}
	if !reflect.DeepEqual(v4, want) {
		t.Errorf("IPv4 pools:\n got %v\nwant %v", v4, want)
	}
}

func TestGenesisPoolsIPv6Prefixes(t *testing.T) {
	r := &Registries{IPv6: []Entry{
		{Resource: res(t, "2001:200::/23"), Registry: ipledger.APNIC, Status: Allocated, Registered: "1999-07-01"},
		{Resource: res(t, "2001:400::/23"), Registry: ipledger.APNIC, Status: Allocated, Registered: "1999-07-02"},
		{Resource: res(t, "2001:600::/23"), Registry: ipledger.APNIC, Status: Allocated, Registered: "1999-07-03"},
	}}
	got := GenesisPools(r)
	checkPools(t, got)
	var apnic []string
	for _, p := range got {
		if p.Registry == ipledger.APNIC {
			apnic = append(apnic, p.Resource.String()+" "+p.Registered)
		}
	}
	want := []string{"2001:200::/23 1999-07-01", "2001:400::/22 1999-07-01"}
	if !slices.Equal(apnic, want) {
		t.Errorf("APNIC pools %q, want %q", apnic, want)
	}
}

func TestLoadMini(t *testing.T) {
	r := loadMini(t)
	pools := GenesisPools(r)
	checkPools(t, pools)
	checkRows(t, r, pools)
	for _, tt := range []struct{ res, registry string }{
		{"4.0.0.0/8", ipledger.ARIN},
		{"100.64.0.0/10", ipledger.IANA},
		{"192.0.0.170/31", ipledger.IANA},
		{"2001:c00::/25", ipledger.APNIC},
		{"AS64496-AS64511", ipledger.IANA},
		{"AS131072-AS132095", ipledger.APNIC},
	} {
		if p := poolOf(t, pools, res(t, tt.res)); p.Registry != tt.registry {
			t.Errorf("%s in %s of %s, want %s", tt.res, p.Resource, p.Registry, tt.registry)
		}
	}
}

func BenchmarkDefaultPools(b *testing.B) {
	r := Default()
	for b.Loop() {
		GenesisPools(r)
	}
}
