package importer

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
)

// parseText parses a file given inline.
func parseText(tb testing.TB, name, text string) *File {
	tb.Helper()
	f, err := Parse(strings.NewReader(strings.TrimLeft(text, "\n")), name, false)
	if err != nil {
		tb.Fatal(err)
	}
	for _, fl := range f.Flaws {
		tb.Fatalf("fixture has a flaw: %s", fl)
	}
	return f
}

// checkFlaws wants flaws to read want, in order.
func checkFlaws(t *testing.T, flaws []Flaw, want ...string) {
	t.Helper()
	var got []string
	for _, fl := range flaws {
		got = append(got, fl.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("flaws:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func testPools(tb testing.TB, extra ...Pool) []Pool {
	ps := []Pool{
		{Resource: res("10.0.0.0/8"), Registry: ipledger.IANA, Status: ipledger.StatusReserved},
		{Resource: res("192.0.0.0/8"), Registry: ipledger.ARIN, Status: ipledger.StatusRIRPool},
		{Resource: res("193.0.0.0/8"), Registry: ipledger.RIPENCC, Status: ipledger.StatusRIRPool},
		{Resource: res("2001:600::/23"), Registry: ipledger.RIPENCC, Status: ipledger.StatusRIRPool},
		{Resource: res("AS1-AS1000"), Registry: ipledger.ARIN, Status: ipledger.StatusRIRPool},
		{Resource: res("AS64496-AS65535"), Registry: ipledger.IANA, Status: ipledger.StatusReserved},
	}
	return fillPools(tb, append(ps, extra...))
}

const ianaText = `
2|iana|20190911|4|19830101|20190612|+0000
iana|ZZ|ipv4|10.0.0.0|16777216|19830101|ietf
iana|ZZ|ipv4|194.0.0.0|16777216|19930501|arin
iana|ZZ|ipv4|194.128.0.0|65536|19930501|ripencc
iana|ZZ|asn|1001|1000|19930501|ripencc
`

const ripeText = `
2|ripencc|1404165599|11|19830705|20140630|+0200
ripencc|NL|ipv4|193.0.0.0|256|19930901|allocated
ripencc|NL|ipv4|193.255.255.0|512|19930902|allocated
ripencc|NL|ipv4|192.1.0.0|65536|19930903|allocated
ripencc|NL|ipv4|10.1.0.0|256|19930904|assigned
ripencc|DE|ipv4|195.0.0.0|256|19930905|assigned
ripencc|DE|ipv4|195.0.1.0|256|19930906|assigned
ripencc|NL|ipv4|193.0.0.128|10|19930907|allocated
ripencc|NL|asn|500|1|19930908|assigned
ripencc|NL|asn|1500|1|19930909|allocated
ripencc|NL|ipv6|2001:db8::|32|19930910|allocated
ripencc|NL|ipv6|2001:600::|32||allocated
`

const arinText = `
2.3|arin|1567951216119|4|19700101|20190908|-0400
arin|US|ipv4|192.1.0.0|65536|19930901|allocated|abc-1
arin|US|ipv4|192.2.0.0|256|19930901|assigned|ABC_1
arin|CA|ipv4|192.3.0.0|256|19930901|assigned|abc-1
arin|US|ipv4|194.1.0.0|256|19930901|allocated|
`

func testFiles(tb testing.TB) []*File {
	return []*File{
		parseText(tb, "ripe", ripeText),
		parseText(tb, "iana", ianaText),
		parseText(tb, "arin", arinText),
	}
}

// TestPlanSteps checks every step of a small import that has each case: space IANA's file
// moves, records in another RIR's pool, in IANA's pool, across a moved block and a native
// pool, in special-purpose space, overlapping, and organisations by opaque id.
func TestPlanSteps(t *testing.T) {
	pools := testPools(t)
	plan, err := PlanImport(testFiles(t), pools, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, pools, plan, Options{})
	const ripeTag = " (imported from RIPE-NCC delegated statistics of 2014-06-30, serial 1404165599)"
	const arinTag = " (imported from ARIN delegated statistics of 2019-09-08, serial 1567951216119)"
	want := strings.Join([]string{
		// Level 1: moves out of genesis pools, by (from, to).
		`registry-transfer ARIN,RIPE-NCC {"items":[{"resource":"AS500","from":"ARIN","to":"RIPE-NCC"}]}`,
		`registry-transfer IANA,ARIN {"items":[{"resource":"194.0.0.0/8","from":"IANA","to":"ARIN"}]}`,
		`registry-transfer IANA,RIPE-NCC {"items":[{"resource":"195.0.0.0/23","from":"IANA","to":"RIPE-NCC"},{"resource":"2001:db8::/32","from":"IANA","to":"RIPE-NCC"},{"resource":"AS1001-AS2000","from":"IANA","to":"RIPE-NCC"}]}`,
		// Level 2: part of what IANA's file just gave ARIN.
		`registry-transfer ARIN,RIPE-NCC {"items":[{"resource":"194.0.0.0/24","from":"ARIN","to":"RIPE-NCC"}]}`,
		`register-org ARIN {"orgs":[` +
			`{"handle":"ARIN-ABC-1","name":"Holder of record abc-1` + arinTag + `","country":"US","opaque_id":"abc-1"},` +
			`{"handle":"ARIN-ABC-1-2","name":"Holder of record ABC_1` + arinTag + `","country":"US","opaque_id":"ABC_1"},` +
			`{"handle":"ARIN-R0000005","name":"Holder of 194.1.0.0/24` + arinTag + `","country":"US"}]}`,
		`register-org RIPE-NCC {"orgs":[` +
			`{"handle":"RIPE-NCC-R0000002","name":"Holder of 193.0.0.0/24` + ripeTag + `","country":"NL"},` +
			`{"handle":"RIPE-NCC-R0000003","name":"Holder of 193.255.255.0-194.0.0.255` + ripeTag + `","country":"NL"},` +
			`{"handle":"RIPE-NCC-R0000006","name":"Holder of 195.0.0.0/24` + ripeTag + `","country":"DE"},` +
			`{"handle":"RIPE-NCC-R0000007","name":"Holder of 195.0.1.0/24` + ripeTag + `","country":"DE"},` +
			`{"handle":"RIPE-NCC-R0000009","name":"Holder of AS500` + ripeTag + `","country":"NL"},` +
			`{"handle":"RIPE-NCC-R0000010","name":"Holder of AS1500` + ripeTag + `","country":"NL"},` +
			`{"handle":"RIPE-NCC-R0000011","name":"Holder of 2001:db8::/32` + ripeTag + `","country":"NL"},` +
			`{"handle":"RIPE-NCC-R0000012","name":"Holder of 2001:600::/32` + ripeTag + `","country":"NL"}]}`,
		`allocate ARIN {"items":[` +
			`{"resource":"192.1.0.0/16","org":"ARIN-ABC-1","status":"ALLOCATED","country":"US","registered":"1993-09-01"},` +
			`{"resource":"192.2.0.0/24","org":"ARIN-ABC-1-2","status":"ASSIGNED","country":"US","registered":"1993-09-01"},` +
			`{"resource":"192.3.0.0/24","org":"ARIN-ABC-1","status":"ASSIGNED","country":"CA","registered":"1993-09-01"},` +
			`{"resource":"194.1.0.0/24","org":"ARIN-R0000005","status":"ALLOCATED","country":"US","registered":"1993-09-01"}]}`,
		`allocate RIPE-NCC {"items":[` +
			`{"resource":"193.0.0.0/24","org":"RIPE-NCC-R0000002","status":"ALLOCATED","country":"NL","registered":"1993-09-01"},` +
			`{"resource":"AS1500","org":"RIPE-NCC-R0000010","status":"ALLOCATED","country":"NL","registered":"1993-09-09"},` +
			`{"resource":"2001:600::/32","org":"RIPE-NCC-R0000012","status":"ALLOCATED","country":"NL"},` +
			`{"resource":"193.255.255.0-194.0.0.255","org":"RIPE-NCC-R0000003","status":"ALLOCATED","country":"NL","registered":"1993-09-02"},` +
			`{"resource":"195.0.0.0/24","org":"RIPE-NCC-R0000006","status":"ASSIGNED","country":"DE","registered":"1993-09-05"},` +
			`{"resource":"195.0.1.0/24","org":"RIPE-NCC-R0000007","status":"ASSIGNED","country":"DE","registered":"1993-09-06"},` +
			`{"resource":"AS500","org":"RIPE-NCC-R0000009","status":"ASSIGNED","country":"NL","registered":"1993-09-08"},` +
			`{"resource":"2001:db8::/32","org":"RIPE-NCC-R0000011","status":"ALLOCATED","country":"NL","registered":"1993-09-10"}]}`,
	}, "\n") + "\n"
	if got := steps(t, plan); got != want {
		t.Errorf("steps:\n%s\nwant:\n%s", got, want)
	}
	checkFlaws(t, plan.Flaws,
		"iana:4: 194.128.0.0/16 overlaps 194.0.0.0/8 of iana:3",
		"ripe:4: 192.1.0.0/16 overlaps 192.1.0.0/16 of arin:2",
		"ripe:5: 10.1.0.0/24 touches special-purpose space 10.0.0.0/8",
		"ripe:8: 193.0.0.128-193.0.0.137 overlaps 193.0.0.0/24 of ripe:2",
	)
	s := plan.Stats
	if s.Records != 19 || s.Holdings != 12 || s.NotHoldings != 3 || s.Rejected != 4 || s.Skipped != 4 || s.Orgs != 11 || s.Transfers != 6 {
		t.Errorf("stats %+v", s)
	}
	want0 := FileStats{Path: "ripe", Registry: ipledger.RIPENCC, Records: 11, Holdings: 8, Rejected: 3, Flaws: 3, Transfers: 5}
	if s.Files[0] != want0 {
		t.Errorf("file stats %+v, want %+v", s.Files[0], want0)
	}

	// Same input, same steps.
	again, err := PlanImport(testFiles(t), pools, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if steps(t, again) != steps(t, plan) {
		t.Error("two plans of the same input differ")
	}
}

// TestPlanCombined plans the NRO's combined file: the same as the registries' own files.
func TestPlanCombined(t *testing.T) {
	var b strings.Builder
	b.WriteString("2.3|nro|20230323|19|19830705|20230322|+0000\n")
	for _, text := range []string{ianaText, ripeText, arinText} {
		for _, l := range strings.Split(strings.TrimSpace(text), "\n")[1:] {
			b.WriteString(l + "\n")
		}
	}
	combined := parseText(t, "nro", b.String())
	if combined.Registry != "" || len(combined.Records) != 19 {
		t.Fatalf("combined file: registry %q, %d records", combined.Registry, len(combined.Records))
	}
	pools := testPools(t)
	plan, err := PlanImport([]*File{combined}, pools, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, pools, plan, Options{})
	separate, err := PlanImport(testFiles(t), pools, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The same transfers and holdings; organisations are named by line, which differ.
	if flat(plan, false) != flat(separate, false) || len(plan.Flaws) != len(separate.Flaws) {
		t.Errorf("the combined file plans differently from the registries' files")
	}
	if _, err := PlanImport([]*File{combined, parseText(t, "arin", arinText)}, pools, Options{}); err == nil ||
		!strings.Contains(err.Error(), "nro and arin both have records of ARIN") {
		t.Errorf("ARIN's records twice: %v", err)
	}
}

func TestPlanBatches(t *testing.T) {
	pools := testPools(t)
	for _, opt := range []Options{
		{MaxItems: 1},
		{MaxItems: 2},
		{MaxBodyBytes: 400}, // two or three items a body
		{MaxBodyBytes: 1 << 20, MaxItems: 3},
	} {
		plan, err := PlanImport(testFiles(t), pools, opt)
		if err != nil {
			t.Fatal(err)
		}
		checkPlan(t, pools, plan, opt)
		want, _ := PlanImport(testFiles(t), pools, Options{})
		if len(plan.Steps) <= len(want.Steps) && opt.MaxItems < 4 {
			t.Errorf("%+v: %d steps, no more than unbatched %d", opt, len(plan.Steps), len(want.Steps))
		}
		// Batching changes the cut, never the content or its order within a kind.
		if flat(plan, true) != flat(want, true) {
			t.Errorf("%+v: items differ from the unbatched plan", opt)
		}
	}
	if _, err := PlanImport(testFiles(t), pools, Options{MaxBodyBytes: 60}); err == nil {
		t.Error("an item larger than the body limit was planned")
	}
}

// flat lists every item of a plan without its batching, and with orgs the organisations.
func flat(p *Plan, orgs bool) string {
	var b strings.Builder
	for _, st := range p.Steps {
		switch body := st.Body.(type) {
		case *ipledger.RegistryTransferBody:
			for _, it := range body.Items {
				b.WriteString(it.Resource.String() + it.From + it.To + "\n")
			}
		case *ipledger.RegisterOrgBody:
			for _, o := range body.Orgs {
				if orgs {
					b.WriteString(o.Handle + "\n")
				}
			}
		case *ipledger.AllocateBody:
			for _, it := range body.Items {
				if orgs {
					b.WriteString(it.Org)
				}
				b.WriteString(it.Resource.String() + string(it.Status) + "\n")
			}
		}
	}
	return b.String()
}

func TestPlanStrict(t *testing.T) {
	_, err := PlanImport(testFiles(t), testPools(t), Options{Strict: true})
	var fl Flaw
	if !errors.As(err, &fl) || fl.File != "iana" || fl.Line != 4 {
		t.Fatalf("strict: %v, want the flaw of iana:4", err)
	}
	flawed, err := Parse(strings.NewReader("2|ripencc|1|2|||\nripencc|NL|asn|1|1||allocated\n"), "r", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PlanImport([]*File{flawed}, testPools(t), Options{Strict: true}); !errors.As(err, &fl) || fl.Line != 1 {
		t.Fatalf("strict with a flawed file: %v", err)
	}
	if _, err := PlanImport([]*File{flawed}, testPools(t), Options{}); err != nil {
		t.Fatalf("lenient with a flawed file: %v", err)
	}
}

func TestPlanBadInput(t *testing.T) {
	whole := wholeIANA()
	for _, c := range []struct {
		name  string
		files []*File
		pools []Pool
		want  string
	}{
		{"no pools", nil, nil, "do not cover the whole ipv4 space"},
		{"gap", nil, []Pool{{Resource: res("0.0.0.0/1"), Registry: ipledger.IANA, Status: ipledger.StatusIANAPool}, {Resource: res("192.0.0.0/2"), Registry: ipledger.IANA, Status: ipledger.StatusIANAPool}, whole[1], whole[2]}, "not adjacent"},
		{"overlap", nil, slices.Concat(whole, []Pool{{Resource: res("10.0.0.0/8"), Registry: ipledger.IANA, Status: ipledger.StatusReserved}}), "not adjacent"},
		{"late start", nil, []Pool{{Resource: res("1.0.0.0-255.255.255.255"), Registry: ipledger.IANA, Status: ipledger.StatusIANAPool}, whole[1], whole[2]}, "do not start"},
		{"unknown registry", nil, []Pool{{Resource: res("0.0.0.0/0"), Registry: "EXAMPLE", Status: ipledger.StatusIANAPool}, whole[1], whole[2]}, "unknown registry"},
		{"no resource", nil, slices.Concat(whole, []Pool{{}}), "has no resource"},
		{"two files of one registry", []*File{parseText(t, "a", ripeText), parseText(t, "b", ripeText)}, whole, "a and b both have records of RIPE-NCC"},
		{"nil file", []*File{nil}, whole, "nil"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := PlanImport(c.files, c.pools, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestPlanPoolBoundaries checks records that span pools: the ledger merges a moved piece
// with its new registry's neighbours of the same status, but never two genesis pools.
func TestPlanPoolBoundaries(t *testing.T) {
	pools := fillPools(t, []Pool{
		{Resource: res("193.0.0.0/9"), Registry: ipledger.RIPENCC, Status: ipledger.StatusRIRPool},
		{Resource: res("193.128.0.0/9"), Registry: ipledger.RIPENCC, Status: ipledger.StatusRIRPool}, // not merged with the one before
		{Resource: res("196.0.0.0/8"), Registry: ipledger.RIPENCC, Status: ipledger.StatusLegacy},
		{Resource: res("197.0.0.0/8"), Registry: ipledger.RIPENCC, Status: ipledger.StatusRIRPool},
	})
	f := parseText(t, "ripe", `
2|ripencc|1|4|||+0200
ripencc|NL|ipv4|193.127.255.0|512|19930901|allocated
ripencc|NL|ipv4|196.255.255.0|512|19930901|allocated
ripencc|NL|ipv4|193.255.255.0|512|19930901|allocated
ripencc|NL|ipv4|195.255.255.0|512|19930901|allocated
`)
	plan, err := PlanImport([]*File{f}, pools, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, pools, plan, Options{})
	checkFlaws(t, plan.Flaws,
		"ripe:2: 193.127.255.0-193.128.0.255 needs 193.0.0.0/9 (ALLOCATED) and 193.128.0.0/9 (ALLOCATED) in one pool of RIPE-NCC; the ledger keeps them apart",
		"ripe:3: 196.255.255.0-197.0.0.255 needs 196.0.0.0/8 (LEGACY) and 197.0.0.0/8 (ALLOCATED) in one pool of RIPE-NCC; the ledger keeps them apart",
		// The part that moves (from IANA's 194.0.0.0/7) cannot join LEGACY space.
		"ripe:5: 195.255.255.0-196.0.0.255 needs 194.0.0.0/7 (ALLOCATED) and 196.0.0.0/8 (LEGACY) in one pool of RIPE-NCC; the ledger keeps them apart",
	)
	// 193.255.255.0-194.0.0.255 spans RIPE's pool and IANA's: the moved /24 joins the pool.
	if plan.Stats.Holdings != 1 || plan.Stats.Transfers != 1 {
		t.Errorf("stats %+v", plan.Stats)
	}
}

func TestOrgHandles(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"F36B9F4B", "F36B9F4B"},
		{"87cfacbc-5809-4ddd-a668-06393fbd23d6", "87CFACBC-5809-4DDD-A668-06393FBD23D6"},
		{"--a__b--", "A-B"},
		{"ü", ""},
		{"", ""},
	} {
		if got := sanitize(c.in); got != c.want {
			t.Errorf("sanitize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abcdef", 3, "abc"}, {"aé", 2, "a"}, {"aé", 3, "aé"}} {
		if got := clip(c.in, c.n); got != c.want {
			t.Errorf("clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	p := &planner{used: map[string]bool{}}
	long := "RIPE-NCC-" + strings.Repeat("A", 80)
	seen := map[string]bool{}
	for _, base := range []string{"ARIN-X", "ARIN-X", "ARIN-X", long, long, long + "B"} {
		h := p.unique(base)
		if !ipledger.ValidHandle(h) || seen[h] {
			t.Errorf("unique(%q) = %q: invalid or repeated", base, h)
		}
		seen[h] = true
	}
	if !seen["ARIN-X"] || !seen["ARIN-X-2"] || !seen["ARIN-X-3"] {
		t.Errorf("handles %v", seen)
	}
}

// TestSpanSet checks the chunked range set against a plain list.
func TestSpanSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var s spanSet
	var naive []claim
	for i := 0; i < 20000; i++ {
		l := uint64(rng.IntN(1 << 20))
		h := l + uint64(rng.IntN(64))
		lo, hi := ipledger.NumberFrom(0, l), ipledger.NumberFrom(0, h)
		var want *claim
		for k := range naive {
			if !naive[k].hi.Less(lo) && !hi.Less(naive[k].lo) {
				want = &naive[k]
				break
			}
		}
		got, ok := s.overlap(lo, hi)
		if ok != (want != nil) {
			t.Fatalf("overlap(%d, %d) = %v, %v; want %v", l, h, got, ok, want)
		}
		if !ok {
			c := claim{lo: lo, hi: hi, ref: i}
			s.insert(c)
			naive = append(naive, c)
		}
	}
	// The chunks hold every range once, in order.
	var all []claim
	for _, ch := range s.chunks {
		all = append(all, ch...)
	}
	if len(all) != len(naive) {
		t.Fatalf("%d ranges kept, want %d", len(all), len(naive))
	}
	for i := 1; i < len(all); i++ {
		if !all[i-1].hi.Less(all[i].lo) {
			t.Fatalf("ranges %v and %v out of order", all[i-1], all[i])
		}
	}
}

func TestPoolMapAssign(t *testing.T) {
	n := func(x uint64) ipledger.Number { return ipledger.NumberFrom(0, x) }
	m := poolMap{segs: []seg{{lo: n(0), hi: n(99), reg: "A"}, {lo: n(100), hi: n(199), reg: "B"}}}
	m.assign(n(10), n(19), seg{reg: "C", lvl: 1})
	m.assign(n(90), n(109), seg{reg: "D", lvl: 2})
	m.assign(n(0), n(9), seg{reg: "E"})
	m.assign(n(190), n(199), seg{reg: "F"})
	var got []string
	for _, s := range m.segs {
		r, err := ipledger.RangeOf(ipledger.ASN, s.lo, s.hi)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s.reg+":"+r.String())
	}
	want := "E:AS0-AS9 C:AS10-AS19 A:AS20-AS89 D:AS90-AS109 B:AS110-AS189 F:AS190-AS199"
	if strings.Join(got, " ") != want {
		t.Errorf("segments %s, want %s", strings.Join(got, " "), want)
	}
	if ov := m.overlapping(n(15), n(95)); len(ov) != 3 || ov[0].reg != "C" || ov[2].reg != "D" {
		t.Errorf("overlapping: %+v", ov)
	}
}

// TestPlanPoolSpace: an RIR's available and reserved records become items that mark its
// pool (the registry itself as the org, AVAILABLE or RESERVED), after every holding and
// with the transfers their space needs; IANA's own are left alone; one that overlaps a
// holding (another registry's included) or special-purpose space is a flaw.
func TestPlanPoolSpace(t *testing.T) {
	files := []*File{
		parseText(t, "ripe", `
2|ripencc|1404165599|9|19830705|20140630|+0200
ripencc|NL|ipv4|193.0.0.0|256|19930901|allocated
ripencc|ZZ|ipv4|193.0.1.0|256|20100101|reserved
ripencc||ipv4|193.0.2.0|512||available
ripencc|ZZ|ipv4|193.0.0.128|128|20100102|reserved
ripencc|ZZ|ipv4|10.2.0.0|256|20100103|reserved
ripencc||ipv4|195.0.0.0|256||available
ripencc||ipv4|192.5.0.0|256||available
ripencc||ipv6|2001:600:1::|48||available
ripencc|ZZ|asn|600|10|20100104|reserved
`),
		parseText(t, "arin", `
2.3|arin|1567951216119|1|19700101|20190908|-0400
arin|US|ipv4|192.5.0.0|256|19930901|allocated|abc-1
`),
		parseText(t, "iana", `
2|iana|20190911|1|19830101|20190612|+0000
iana|ZZ|ipv4|196.0.0.0|16777216|19830101|available
`),
	}
	pools := testPools(t)
	plan, err := PlanImport(files, pools, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, pools, plan, Options{})
	got := steps(t, plan)
	want := strings.Join([]string{
		`registry-transfer ARIN,RIPE-NCC {"items":[{"resource":"AS600-AS609","from":"ARIN","to":"RIPE-NCC"}]}`,
		`registry-transfer IANA,RIPE-NCC {"items":[{"resource":"195.0.0.0/24","from":"IANA","to":"RIPE-NCC"}]}`,
		`register-org ARIN {"orgs":[{"handle":"ARIN-ABC-1","name":"Holder of record abc-1 (imported from ARIN delegated statistics of 2019-09-08, serial 1567951216119)","country":"US","opaque_id":"abc-1"}]}`,
		`register-org RIPE-NCC {"orgs":[{"handle":"RIPE-NCC-R0000002","name":"Holder of 193.0.0.0/24 (imported from RIPE-NCC delegated statistics of 2014-06-30, serial 1404165599)","country":"NL"}]}`,
		`allocate ARIN {"items":[{"resource":"192.5.0.0/24","org":"ARIN-ABC-1","status":"ALLOCATED","country":"US","registered":"1993-09-01"}]}`,
		`allocate RIPE-NCC {"items":[` +
			`{"resource":"193.0.0.0/24","org":"RIPE-NCC-R0000002","status":"ALLOCATED","country":"NL","registered":"1993-09-01"},` +
			`{"resource":"193.0.1.0/24","org":"RIPE-NCC","status":"RESERVED","registered":"2010-01-01"},` +
			`{"resource":"193.0.2.0/23","org":"RIPE-NCC","status":"AVAILABLE"},` +
			`{"resource":"2001:600:1::/48","org":"RIPE-NCC","status":"AVAILABLE"},` +
			`{"resource":"195.0.0.0/24","org":"RIPE-NCC","status":"AVAILABLE"},` +
			`{"resource":"AS600-AS609","org":"RIPE-NCC","status":"RESERVED","registered":"2010-01-04"}]}`,
	}, "\n") + "\n"
	if got != want {
		t.Errorf("steps:\n%s\nwant:\n%s", got, want)
	}
	checkFlaws(t, plan.Flaws,
		"ripe:5: 193.0.0.128/25 overlaps 193.0.0.0/24 of ripe:2",
		"ripe:6: 10.2.0.0/24 touches special-purpose space 10.0.0.0/8",
		"ripe:8: 192.5.0.0/24 overlaps 192.5.0.0/24 of arin:2",
	)
	s := plan.Stats
	if s.Records != 11 || s.Holdings != 2 || s.PoolPieces != 5 || s.NotHoldings != 6 || s.Rejected != 3 {
		t.Errorf("stats %+v", s)
	}
	if _, err := PlanImport(files, pools, Options{Strict: true}); err == nil || !strings.Contains(err.Error(), "ripe:5:") {
		t.Errorf("strict: %v", err)
	}
}
