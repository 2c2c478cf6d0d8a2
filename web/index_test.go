package web

import (
	"slices"
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
