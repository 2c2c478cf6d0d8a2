package geofeed

import (
	"bytes"
	"net/netip"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ipledger/ipledger/ipledgertest"
)

func TestReadRealFeeds(t *testing.T) {
	for _, c := range []struct {
		dir  string
		want int
	}{{"APNIC-net", 1}, {"Eastlink-intcore", -1}} {
		path := ipledgertest.DataPath("geofeed/" + c.dir + "/geofeed.csv")
		b, err := os.ReadFile(path)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s: %v", path, err)
			}
			t.Skipf("%s: %v (operators publish geofeeds at the URLs in their inetnum geofeed: attributes, RFC 9632)", path, err)
		}
		es, err := Read(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", c.dir, err)
		}
		lines := 0
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				lines++
			}
		}
		if len(es) != lines || (c.want >= 0 && len(es) != c.want) {
			t.Fatalf("%s: %d entries of %d data lines", c.dir, len(es), lines)
		}
		// What is written reads back the same.
		var out bytes.Buffer
		for i := range es {
			es[i].Postal = ""
		}
		if err := Write(&out, "test", es); err != nil {
			t.Fatal(err)
		}
		back, err := Read(&out)
		if err != nil || len(back) != len(es) {
			t.Fatalf("round trip: %d entries, %v", len(back), err)
		}
		for i := range es {
			if back[i] != es[i] {
				t.Fatalf("round trip line %d: %+v != %+v", i, back[i], es[i])
			}
		}
	}
}

func TestReadRejects(t *testing.T) {
	for _, line := range []string{
		"192.0.2.1/24,NL,,,",             // host bits
		"192.0.2.0/24,NLD,,,",            // alpha-3
		"192.0.2.0/24,NL,DE-BE,,",        // region of another country
		"192.0.2.0/24,NL,NL,,",           // no subdivision
		"not-a-prefix,NL,,,",             // prefix
		"192.0.2.0/24,NL,,a,b,c",         // six fields
		"192.0.2.0/24,NL,,x\"y,",         // bare quote (RFC 4180 §2.5)
		"192.0.2.0/24,NL,,\"x,",          // unterminated quote
		"192.0.2.0/24,NL,,\"x\"y,",       // text after a closing quote
		"192.0.2.0/24,NL,,Ams\u202eter,", // bidi override
		"192.0.2.0/24,NL,,Am\u0085s,",    // C1 control
		"192.0.2.0/24,NL,,Ams\x00,",      // NUL
	} {
		if _, err := Read(strings.NewReader("# header\n" + line + "\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: err %v, want an error naming line 2", line, err)
		}
	}
	es, err := Read(strings.NewReader("\uFEFF2001:db8::/32,nl,nl-nh,Amsterdam\r\n\n# c\n192.0.2.0/24\n192.0.3.0/24,US,, \"Washington, \"\"D.C.\"\"\"\n"))
	if err != nil || len(es) != 3 || es[0].Region != "NL-NH" || es[0].Country != "NL" || es[1].Country != "" || es[2].City != `Washington, "D.C."` {
		t.Fatalf("lenient parts: %+v %v", es, err)
	}
}

func FuzzRead(f *testing.F) {
	f.Add("203.176.189.0/24,AU,,,\n")
	f.Add("24.89.192.0/20,CA,CA-NS,Sydney,\n# x\n2001:db8::/32,,,,\n")
	f.Fuzz(func(t *testing.T, s string) {
		es, err := Read(strings.NewReader(s))
		if err != nil {
			return
		}
		var out bytes.Buffer
		for i := range es {
			es[i].Postal = ""
		}
		if err := Write(&out, "", es); err != nil {
			t.Fatalf("accepted entries do not write: %v", err)
		}
		back, err := Read(&out)
		if err != nil || len(back) != len(es) {
			t.Fatalf("round trip: %v", err)
		}
		for i := range es {
			// What Read accepts is clean but for a leading formula character.
			if back[i] != Clean(es[i]) || noFormula(es[i].City) != back[i].City {
				t.Fatalf("round trip %+v != %+v", back[i], es[i])
			}
		}
	})
}

// hostileCities are cities a state written before the ledger checked them might hold:
// forged rows and columns, quotes, controls, a bidi override, invalid UTF-8, formulas.
var hostileCities = []string{
	"Nairobi\r\n6.6.6.0/24,KP,,Pyongyang,",
	"Nairobi\n# comment\n\n",
	"Nairobi,KP,KP-01",
	`Nairobi","KP`,
	`"Nairobi`,
	"Nai\x00robi\x1b[2J",
	"Nai\u0085robi\u202e\u2028",
	"Nai\xff\xferobi",
	"=HYPERLINK(\"http://evil.example\",\"x\")",
	"+1+1", "-1", "@SUM(A1)", " =1+1",
	"\u202e=1",
	strings.Repeat("x,", 3000),
}

// TestWriteHostile: whatever a city, region or country holds, the feed has one row per
// entry with five fields, reads back as the cleaned entries, and holds no control or format
// character and no line a spreadsheet runs as a formula.
func TestWriteHostile(t *testing.T) {
	var es []Entry
	for i, c := range hostileCities {
		es = append(es, Entry{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 0, byte(i), 0}), 24), Country: "KE", Region: "KE-110", City: c})
	}
	es = append(es,
		Entry{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Country: "K\nE", Region: "KE-1\r\n6.6.6.0/24", City: "x"},
		Entry{Prefix: netip.MustParsePrefix("2001:db8::/32"), Country: "ke", Region: "ke-110", City: "Nairobi"},
		Entry{Prefix: netip.MustParsePrefix("2001:db9::1/32"), Country: "KE", Region: "DE-BE"},
		Entry{}) // no prefix: skipped
	var out bytes.Buffer
	if err := Write(&out, "test\r\n# forged\x1b[2J", es); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !utf8.ValidString(text) || strings.ContainsFunc(strings.ReplaceAll(text, "\n", ""), unprintable) {
		t.Fatalf("feed holds unprintable text:\n%q", text)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 2+len(es)-1 {
		t.Fatalf("%d lines for %d entries:\n%s", len(lines), len(es)-1, text)
	}
	back, err := Read(strings.NewReader(text))
	if err != nil || len(back) != len(es)-1 {
		t.Fatalf("read back %d entries, %v:\n%s", len(back), err, text)
	}
	for i, e := range back {
		if want := Clean(es[i]); e != want {
			t.Errorf("row %d: %+v, want %+v", i, e, want)
		}
		if strings.ContainsAny(e.City[:min(1, len(e.City))], "=+-@") {
			t.Errorf("row %d: city %q is a formula", i, e.City)
		}
	}
	for i, want := range map[int]Entry{
		0:                      {Prefix: es[0].Prefix, Country: "KE", Region: "KE-110", City: "Nairobi6.6.6.0/24,KP,,Pyongyang,"},
		5:                      {Prefix: es[5].Prefix, Country: "KE", Region: "KE-110", City: "Nairobi[2J"},
		7:                      {Prefix: es[7].Prefix, Country: "KE", Region: "KE-110", City: "Nai\ufffdrobi"},
		8:                      {Prefix: es[8].Prefix, Country: "KE", Region: "KE-110", City: `'=HYPERLINK("http://evil.example","x")`},
		len(hostileCities):     {Prefix: es[len(hostileCities)].Prefix, City: "x"},
		len(hostileCities) + 1: {Prefix: es[len(hostileCities)+1].Prefix, Country: "KE", Region: "KE-110", City: "Nairobi"},
		len(hostileCities) + 2: {Prefix: netip.MustParsePrefix("2001:db9::/32"), Country: "KE"},
	} {
		if back[i] != want {
			t.Errorf("row %d: %+v, want %+v", i, back[i], want)
		}
	}
}

// FuzzWriteRead: any city, region and country write as one row that reads back as the
// cleaned entry.
func FuzzWriteRead(f *testing.F) {
	for _, c := range hostileCities {
		f.Add(c, "KE-110", "KE")
	}
	f.Add("Amsterdam", "NL-NH", "NL")
	f.Fuzz(func(t *testing.T, city, region, country string) {
		es := []Entry{
			{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Country: country, Region: region, City: city},
			{Prefix: netip.MustParsePrefix("2001:db8::/32"), Country: "NL", City: "Amsterdam"},
		}
		var out bytes.Buffer
		if err := Write(&out, "", es); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(out.String(), "\n"); n != 2 {
			t.Fatalf("%d lines:\n%q", n, out.String())
		}
		back, err := Read(&out)
		if err != nil || len(back) != 2 || back[0] != Clean(es[0]) || back[1] != es[1] {
			t.Fatalf("read back %+v, %v; want %+v", back, err, Clean(es[0]))
		}
	})
}
