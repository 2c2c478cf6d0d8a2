package web

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestFindOrgs checks the search over the index's name text against a plain scan: every
// word in any order, a match at a line's edges, none across two lines, the limit.
func TestFindOrgs(t *testing.T) {
	x := &pageIndex{orgs: []orgEntry{
		{"ORG-A", "Lagos Telecom Ltd"},
		{"ORG-B", "Dhaka\nNet"}, // a line break in a name is no line of its own
		{"ORG-C", "telecom of Dhaka"},
		{"ORG-D", "Ünïcode Telecom"},
	}}
	handles := func(ms []orgMatch) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Handle)
		}
		return out
	}
	for _, c := range []struct {
		q     string
		limit int
		want  []string
		more  bool
	}{
		{"TELECOM", 10, []string{"ORG-A", "ORG-C", "ORG-D"}, false},
		{"TELECOM", 2, []string{"ORG-A", "ORG-C"}, true},
		{"DHAKA TELECOM", 10, []string{"ORG-C"}, false},
		{"TELECOM DHAKA", 10, []string{"ORG-C"}, false},
		{"DHAKA NET", 10, []string{"ORG-B"}, false},
		{"LTD ORG-B", 10, nil, false}, // the end of one line and the start of the next
		{"ORG-", 10, []string{"ORG-A", "ORG-B", "ORG-C", "ORG-D"}, false},
		{"ÜNÏCODE", 10, []string{"ORG-D"}, false},
		{"NOTHING", 10, nil, false},
		{"", 10, nil, false},
	} {
		got, more := x.findOrgs(c.q, c.limit)
		if !slices.Equal(handles(got), c.want) || more != c.more {
			t.Errorf("findOrgs(%q, %d) = %v, %v; want %v, %v", c.q, c.limit, handles(got), more, c.want, c.more)
		}
	}
	// A changed organisation's name is searched at once.
	x.text = nil
	x.orgs[0].name = "Accra Telecom"
	if got, _ := x.findOrgs("ACCRA", 10); !slices.Equal(handles(got), []string{"ORG-A"}) {
		t.Errorf("after a change: %v", handles(got))
	}
}

// TestFindOrgsAgainstScan compares the search (Bloom-filtered chunks, one Index per chunk)
// with a plain scan of every organisation, on names from a small alphabet so that words
// match often, across chunk edges, with limits small and large.
func TestFindOrgsAgainstScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ABC0- "[r.IntN(6)]
		}
		return string(b)
	}
	x := &pageIndex{}
	for i := range 1000 {
		x.orgs = append(x.orgs, orgEntry{handle: fmt.Sprintf("ORG-%04d", i), name: word(1 + r.IntN(30))})
	}
	for range 500 {
		q := strings.ToUpper(strings.Join(strings.Fields(word(1+r.IntN(4))+" "+word(r.IntN(5))), " "))
		limit := 1 + r.IntN(300)
		var want []string
		more := false
		for _, o := range x.orgs {
			line := strings.ToUpper(o.handle + " " + o.name)
			ok := len(strings.Fields(q)) > 0
			for _, w := range strings.Fields(q) {
				ok = ok && strings.Contains(line, w)
			}
			if ok {
				if len(want) == limit {
					more = true
					break
				}
				want = append(want, o.handle)
			}
		}
		got, gotMore := x.findOrgs(q, limit)
		var gh []string
		for _, m := range got {
			gh = append(gh, m.Handle)
		}
		if !slices.Equal(gh, want) || gotMore != more {
			t.Fatalf("findOrgs(%q, %d) = %d matches, more %v; the scan finds %d, more %v", q, limit, len(gh), gotMore, len(want), more)
		}
	}
}
