package geofeed

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipledger/ipledger/importer"
)

func TestReadRealFeeds(t *testing.T) {
	for _, c := range []struct {
		dir  string
		want int
	}{{"APNIC-net", 1}, {"Eastlink-intcore", -1}} {
		dir, _ := importer.DataDir()
		path := filepath.Join(dir, "geofeed", c.dir, "geofeed.csv")
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
		"192.0.2.1/24,NL,,,",      // host bits
		"192.0.2.0/24,NLD,,,",     // alpha-3
		"192.0.2.0/24,NL,DE-BE,,", // region of another country
		"192.0.2.0/24,NL,NL,,",    // no subdivision
		"not-a-prefix,NL,,,",      // prefix
		"192.0.2.0/24,NL,,a,b,c",  // six fields
		"192.0.2.0/24,NL,,\"x\",", // quote
	} {
		if _, err := Read(strings.NewReader("# header\n" + line + "\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: err %v, want an error naming line 2", line, err)
		}
	}
	es, err := Read(strings.NewReader("\uFEFF2001:db8::/32,nl,nl-nh,Amsterdam\r\n\n# c\n192.0.2.0/24\n"))
	if err != nil || len(es) != 2 || es[0].Region != "NL-NH" || es[0].Country != "NL" || es[1].Country != "" {
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
			if back[i] != es[i] {
				t.Fatalf("round trip %+v != %+v", back[i], es[i])
			}
		}
	})
}
