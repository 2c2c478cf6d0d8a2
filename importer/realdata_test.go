package importer

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// delegatedDir returns the folder of real delegated statistics (one subfolder per date),
// or skips the test (fails it under CI=true).
func delegatedDir(tb testing.TB) string {
	tb.Helper()
	return ipledgertest.Data(tb, "delegated")
}

// dateDirs lists the date folders of the real data.
func dateDirs(tb testing.TB) []string {
	tb.Helper()
	root := delegatedDir(tb)
	ents, err := os.ReadDir(root)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, filepath.Join(root, e.Name()))
		}
	}
	if len(out) == 0 {
		tb.Fatalf("no date folders in %s", root)
	}
	return out
}

// forEachDataDir runs fn in a subtest for each date folder of the real data, with the
// folder's files parsed.
func forEachDataDir(t *testing.T, fn func(t *testing.T, files []*File)) {
	for _, dir := range dateDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			files, err := ParseDir(dir, false)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, files)
		})
	}
}

func TestRealDataParses(t *testing.T) {
	forEachDataDir(t, func(t *testing.T, files []*File) {
		if len(files) == 0 {
			t.Fatal("no files")
		}
		for _, f := range files {
			t.Logf("%s: %s, %d records, %d available/reserved, extended=%v, md5=%q, %d flaws",
				filepath.Base(f.Path), f.Registry, len(f.Records), f.NotHoldings, f.Extended, f.MD5, len(f.Flaws))
			for i, fl := range f.Flaws {
				if i == 20 {
					t.Logf("  … %d more", len(f.Flaws)-i)
					break
				}
				t.Logf("  %s", fl)
			}
			if len(f.Records) == 0 {
				t.Errorf("%s: no records", f.Path)
			}
			// Strict parsing fails exactly when lenient parsing finds flaws, on the first.
			_, err := ParseFile(f.Path, true)
			switch {
			case len(f.Flaws) == 0 && err != nil:
				t.Errorf("strict: %v, lenient found no flaw", err)
			case len(f.Flaws) > 0:
				var fl Flaw
				if !errors.As(err, &fl) {
					t.Errorf("strict: got %v, want the flaw %s", err, f.Flaws[0])
				}
			}
		}
	})
}

// TestRealDataKnownFlaws checks the flaws DESIGN.md and PROVENANCE.md name are reported
// with their line numbers.
func TestRealDataKnownFlaws(t *testing.T) {
	root := delegatedDir(t)
	for _, c := range []struct {
		file string
		want []string // file:line: message prefixes
	}{
		{"2019-09/delegated-iana-latest", []string{
			":1007: truncated record \"|3|19990401|arin\"",
			":30: header declares 973 records, the file has 2531",
			":31: asn summary declares 133 records, the file has 1194",
		}},
		{"2019-09/delegated-lacnic-latest", []string{
			":1: header declares 35932 records, the file has 35719",
			":4: asn summary declares 10197 records, the file has 9984",
		}},
		{"samples-2019-09-truncated/afrinic", []string{":1: header declares 100 records, the file has 300"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join(root, c.file)
			f, err := ParseFile(path, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				found := false
				for _, fl := range f.Flaws {
					if strings.HasPrefix(fl.String(), path+w) {
						found = true
					}
				}
				if !found {
					t.Errorf("no flaw %s%s; got %v", path, w, f.Flaws)
				}
			}
			if _, err := ParseFile(path, true); err == nil {
				t.Error("strict parse succeeded")
			}
		})
	}
}

// TestRealDataCounts compares record counts by type and status with PROVENANCE.tsv, which
// was counted independently of this parser.
func TestRealDataCounts(t *testing.T) {
	root := delegatedDir(t)
	tsv, err := os.Open(filepath.Join(filepath.Dir(root), "PROVENANCE.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer tsv.Close()
	countRE := regexp.MustCompile(`([a-z0-9]+)/?([a-z0-9]*)=([0-9]+)`)
	checked := 0
	sc := bufio.NewScanner(tsv)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 10 || !strings.HasPrefix(cols[0], "delegated/") || cols[9] == "" {
			continue
		}
		name := strings.TrimPrefix(cols[0], "delegated/")
		byType, byStatus, _ := strings.Cut(cols[9], "|")
		t.Run(name, func(t *testing.T) {
			f, err := ParseFile(filepath.Join(root, name), false)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range countRE.FindAllStringSubmatch(byType, -1) {
				fam := map[string]ipledger.Family{"ipv4": ipledger.IPv4, "ipv6": ipledger.IPv6, "asn": ipledger.ASN}[m[2]]
				want, _ := strconv.Atoi(m[3])
				if got := f.ByFamily[fam]; got != want {
					t.Errorf("%s records: got %d, PROVENANCE.tsv says %d", m[2], got, want)
				}
			}
			for _, m := range countRE.FindAllStringSubmatch(strings.TrimPrefix(strings.TrimSpace(byStatus), "status:"), -1) {
				want, _ := strconv.Atoi(m[3])
				if got := f.ByStatus[m[1]]; got != want {
					t.Errorf("status %s: got %d, PROVENANCE.tsv says %d", m[1], got, want)
				}
			}
		})
		checked++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Errorf("only %d files checked against PROVENANCE.tsv", checked)
	}
}

// wholeIANA is the simplest genesis: IANA holds everything as its unallocated pool.
func wholeIANA() []Pool {
	var out []Pool
	for _, f := range []ipledger.Family{ipledger.IPv4, ipledger.IPv6, ipledger.ASN} {
		out = append(out, Pool{Resource: ipledger.Whole(f), Registry: ipledger.IANA, Status: ipledger.StatusIANAPool})
	}
	return out
}

// realisticPools is a rough genesis: IANA's special-purpose blocks reserved, a few /8s and
// the IPv6 and AS blocks of each RIR in its pool, everything else IANA's pool.
func realisticPools(tb testing.TB) []Pool {
	rows := []struct {
		res, reg string
		st       ipledger.Status
	}{
		{"0.0.0.0/8", ipledger.IANA, ipledger.StatusReserved},
		{"1.0.0.0/8", ipledger.APNIC, ipledger.StatusRIRPool},
		{"2.0.0.0/8", ipledger.RIPENCC, ipledger.StatusRIRPool},
		{"3.0.0.0-4.255.255.255", ipledger.ARIN, ipledger.StatusRIRPool},
		{"5.0.0.0/8", ipledger.RIPENCC, ipledger.StatusRIRPool},
		{"10.0.0.0/8", ipledger.IANA, ipledger.StatusReserved},
		{"41.0.0.0/8", ipledger.AFRINIC, ipledger.StatusRIRPool},
		{"58.0.0.0/7", ipledger.APNIC, ipledger.StatusRIRPool},
		{"62.0.0.0/8", ipledger.RIPENCC, ipledger.StatusRIRPool},
		{"127.0.0.0/8", ipledger.IANA, ipledger.StatusReserved},
		{"177.0.0.0/8", ipledger.LACNIC, ipledger.StatusRIRPool},
		{"181.0.0.0/8", ipledger.LACNIC, ipledger.StatusRIRPool},
		{"192.0.2.0/24", ipledger.IANA, ipledger.StatusReserved},
		{"193.0.0.0-195.255.255.255", ipledger.RIPENCC, ipledger.StatusRIRPool},
		{"196.0.0.0/8", ipledger.AFRINIC, ipledger.StatusRIRPool},
		{"200.0.0.0/7", ipledger.LACNIC, ipledger.StatusRIRPool},
		{"202.0.0.0/7", ipledger.APNIC, ipledger.StatusRIRPool},
		{"224.0.0.0/3", ipledger.IANA, ipledger.StatusReserved},
		{"::/8", ipledger.IANA, ipledger.StatusReserved},
		{"2001:200::/23", ipledger.APNIC, ipledger.StatusRIRPool},
		{"2001:600::/23", ipledger.RIPENCC, ipledger.StatusRIRPool},
		{"2001:db8::/32", ipledger.IANA, ipledger.StatusReserved},
		{"2400::/12", ipledger.APNIC, ipledger.StatusRIRPool},
		{"2800::/12", ipledger.LACNIC, ipledger.StatusRIRPool},
		{"2a00::/12", ipledger.RIPENCC, ipledger.StatusRIRPool},
		{"2c00::/12", ipledger.AFRINIC, ipledger.StatusRIRPool},
		{"fc00::/7", ipledger.IANA, ipledger.StatusReserved},
		{"AS0", ipledger.IANA, ipledger.StatusReserved},
		{"AS1-AS1876", ipledger.ARIN, ipledger.StatusRIRPool},
		{"AS23456", ipledger.IANA, ipledger.StatusReserved},
		{"AS24576-AS25599", ipledger.RIPENCC, ipledger.StatusRIRPool},
		{"AS36864-AS37887", ipledger.AFRINIC, ipledger.StatusRIRPool},
		{"AS64496-AS131071", ipledger.IANA, ipledger.StatusReserved},
		{"AS131072-AS132095", ipledger.APNIC, ipledger.StatusRIRPool},
		{"AS262144-AS263167", ipledger.LACNIC, ipledger.StatusRIRPool},
		{"AS4200000000-AS4294967295", ipledger.IANA, ipledger.StatusReserved},
	}
	var out []Pool
	for _, r := range rows {
		out = append(out, Pool{Resource: ipledger.MustParseResource(r.res), Registry: r.reg, Status: r.st})
	}
	return fillPools(tb, out)
}

// fillPools gives every gap between pools to IANA's unallocated pool.
func fillPools(tb testing.TB, pools []Pool) []Pool {
	tb.Helper()
	slices.SortFunc(pools, func(a, b Pool) int { return a.Resource.Compare(b.Resource) })
	var out []Pool
	gap := func(f ipledger.Family, lo, hi ipledger.Number) {
		r, err := ipledger.RangeOf(f, lo, hi)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, Pool{Resource: r, Registry: ipledger.IANA, Status: ipledger.StatusIANAPool})
	}
	for _, f := range []ipledger.Family{ipledger.IPv4, ipledger.IPv6, ipledger.ASN} {
		next, open := ipledger.Number{}, true
		for _, p := range pools {
			if p.Resource.Family() != f {
				continue
			}
			lo, hi := p.Resource.Bounds()
			if next.Less(lo) {
				before, _ := lo.Prev()
				gap(f, next, before)
			}
			out = append(out, p)
			next, open = hi.Next()
		}
		if _, whole := ipledger.Whole(f).Bounds(); open && !whole.Less(next) {
			gap(f, next, whole)
		}
	}
	return out
}

func TestRealDataPlans(t *testing.T) {
	forEachDataDir(t, func(t *testing.T, files []*File) {
		for _, pools := range []struct {
			name  string
			pools []Pool
		}{{"whole-iana", wholeIANA()}, {"realistic", realisticPools(t)}} {
			t.Run(pools.name, func(t *testing.T) {
				plan, err := PlanImport(files, pools.pools, Options{})
				if err != nil {
					t.Fatal(err)
				}
				s := plan.Stats
				t.Logf("%d steps: %d records, %d holdings, %d not holdings, %d rejected, %d orgs, %d transfers, %d flaws",
					len(plan.Steps), s.Records, s.Holdings, s.NotHoldings, s.Rejected, s.Orgs, s.Transfers, s.Skipped)
				for i, fl := range plan.Flaws {
					if i == 20 {
						t.Logf("  … %d more", len(plan.Flaws)-i)
						break
					}
					t.Logf("  %s", fl)
				}
				checkPlan(t, pools.pools, plan, Options{})
			})
		}
	})
}

// TestRealDataStatuses plans every date folder of real data and checks the words: every
// holding carries its record's own word (ALLOCATED, ASSIGNED: no RIR file there marks
// legacy space), every RIR available and reserved record becomes a mark of its registry's
// pool with AVAILABLE or RESERVED, and none of them is a flaw.
func TestRealDataStatuses(t *testing.T) {
	forEachDataDir(t, func(t *testing.T, files []*File) {
		spare := map[string]string{} // registry NUL resource → status word
		words := map[string]int{}
		for _, f := range files {
			for _, r := range f.Records {
				if r.Registry != ipledger.IANA {
					words[r.Status]++
				}
			}
			for _, r := range f.Spare {
				if r.Registry != ipledger.IANA {
					spare[r.Registry+"\x00"+r.Resource.String()] = r.Status
				}
			}
		}
		for w := range words {
			if w != StatusAllocated && w != StatusAssigned {
				t.Errorf("an RIR record has the status word %q", w)
			}
		}
		plan, err := PlanImport(files, wholeIANA(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		marks := 0
		for _, st := range plan.Steps {
			b, ok := st.Body.(*ipledger.AllocateBody)
			if !ok {
				continue
			}
			for _, it := range b.Items {
				if it.Org != st.Signers[0] {
					if it.Status != ipledger.StatusAllocated && it.Status != ipledger.StatusAssigned {
						t.Fatalf("%s planned as %q", it.Resource, it.Status)
					}
					continue
				}
				marks++
				want := map[string]ipledger.Status{StatusAvailable: ipledger.StatusAvailable, StatusReserved: ipledger.StatusReserved}[spare[it.Org+"\x00"+it.Resource.String()]]
				if want == "" || it.Status != want {
					t.Fatalf("%s of %s marked %q; its record says %q", it.Resource, it.Org, it.Status, spare[it.Org+"\x00"+it.Resource.String()])
				}
			}
		}
		if marks != len(spare) || plan.Stats.PoolPieces != marks {
			t.Errorf("%d available and reserved records of RIRs, %d marks, %d pool pieces counted", len(spare), marks, plan.Stats.PoolPieces)
		}
		t.Logf("%d holdings, %d marks", plan.Stats.Holdings, marks)
	})
}
