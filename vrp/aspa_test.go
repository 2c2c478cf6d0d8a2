package vrp

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
)

func aspaSet(t *testing.T, as ...ASPA) *Set {
	t.Helper()
	var b Builder
	for _, a := range as {
		if err := b.AddASPA(a); err != nil {
			t.Fatal(err)
		}
	}
	return b.Set()
}

func aspaStrings(s *Set) []string {
	var out []string
	for a := range s.ASPAs() {
		out = append(out, a.String())
	}
	return out
}

func TestASPAValidate(t *testing.T) {
	for _, c := range []struct {
		a   ASPA
		err string
	}{
		{ASPA{Customer: 1, Providers: []uint32{2, 3}}, ""},
		{ASPA{Customer: 1, Providers: []uint32{0}}, ""},
		{ASPA{Customer: 1}, "no providers"},
		{ASPA{Customer: 1, Providers: []uint32{2, 1}}, "own provider"},
		{ASPA{Customer: 1, Providers: make([]uint32, MaxProviders+1)}, "providers (at most"},
	} {
		err := c.a.Validate()
		if (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%v: %v, want %q", c.a, err, c.err)
		}
	}
}

// One ASPA per customer: a customer's ASPAs merge into the union of their providers,
// sorted, in the builder and in Union.
func TestASPAMergeByCustomer(t *testing.T) {
	s := aspaSet(t,
		ASPA{Customer: 64496, Providers: []uint32{3, 2, 2}},
		ASPA{Customer: 10, Providers: []uint32{11}},
		ASPA{Customer: 64496, Providers: []uint32{4, 2}},
	)
	want := []string{"AS10 → AS11", "AS64496 → AS2,AS3,AS4"}
	if got := aspaStrings(s); !slices.Equal(got, want) {
		t.Fatalf("built %q, want %q", got, want)
	}
	u := s.Union(aspaSet(t, ASPA{Customer: 64496, Providers: []uint32{5}}))
	want = []string{"AS10 → AS11", "AS64496 → AS2,AS3,AS4,AS5"}
	if got := aspaStrings(u); !slices.Equal(got, want) || u.ASPALen() != 2 {
		t.Fatalf("union %q, want %q", got, want)
	}
}

// A change of providers is a withdrawal of the old ASPA and an announcement of the new.
func TestASPADiff(t *testing.T) {
	from := aspaSet(t, ASPA{Customer: 1, Providers: []uint32{2}}, ASPA{Customer: 5, Providers: []uint32{6}})
	to := aspaSet(t, ASPA{Customer: 1, Providers: []uint32{2, 3}}, ASPA{Customer: 5, Providers: []uint32{6}})
	a, w := Diff(from, to)
	if got := aspaStrings(a); !slices.Equal(got, []string{"AS1 → AS2,AS3"}) {
		t.Errorf("announced %q", got)
	}
	if got := aspaStrings(w); !slices.Equal(got, []string{"AS1 → AS2"}) {
		t.Errorf("withdrawn %q", got)
	}
	if a, w := Diff(to, to); a != nil || w != nil {
		t.Errorf("diff of a set with itself: %v %v", a, w)
	}
}

func TestASPAJSON(t *testing.T) {
	doc := `{"roas": [],
	"aspas": [
		{ "customer_asid": 945, "expires": 2000000000, "providers": [13213, 150369] },
		{ "customer_asid": "AS970", "expires": 1000, "providers": [54874] },
		{ "customer_asid": 11358, "providers": ["AS835", 924] }
	]}`
	f, err := ReadJSON(strings.NewReader(doc), time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"AS945 → AS13213,AS150369", "AS11358 → AS835,AS924"}
	if got := aspaStrings(f.Set); f.ASPAs != 3 || f.Expired != 1 || !slices.Equal(got, want) {
		t.Fatalf("%d aspas, %d expired, %q; want 3, 1, %q", f.ASPAs, f.Expired, got, want)
	}
	if next := f.Set.NextExpiry(); next.Unix() != 2000000000 {
		t.Errorf("next expiry %v", next)
	}
	if e := f.Set.Expire(time.Unix(2000000000, 0)); !slices.Equal(aspaStrings(e), want[1:]) {
		t.Errorf("after expiry: %q", aspaStrings(e))
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, f.Set, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	again, err := ReadJSON(&buf, time.Time{})
	if err != nil || !again.Set.Equal(f.Set) {
		t.Fatalf("round trip: %v, %q\n%s", err, aspaStrings(again.Set), buf.Bytes())
	}
	for _, bad := range []string{
		`{"roas":[],"aspas":[{"providers":[1]}]}`,
		`{"roas":[],"aspas":[{"customer_asid":1}]}`,
		`{"roas":[],"aspas":[{"customer_asid":1,"providers":[]}]}`,
		`{"roas":[],"aspas":[{"customer_asid":1,"providers":[1]}]}`,
		`{"roas":[],"aspas":[{"customer_asid":1,"customer_asid":2,"providers":[3]}]}`,
		`{"roas":[],"aspas":[{"customer_asid":1,"providers":[{"asid":2}]}]}`,
	} {
		if _, err := ReadJSON(strings.NewReader(bad), time.Time{}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestASPAJSONProviderAuthorizations reads ASPAs as rtrdump writes them, a list per address
// family: a customer's lists merge into one ASPA.
func TestASPAJSONProviderAuthorizations(t *testing.T) {
	doc := `{"roas": [], "provider_authorizations": {
		"ipv4": [{"customer_asid": 945, "providers": [13213, 150369]}, {"customer_asid": 970, "providers": [54874]}],
		"ipv6": [{"customer_asid": 945, "providers": [13213, 6939]}]
	}}`
	f, err := ReadJSON(strings.NewReader(doc), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"AS945 → AS6939,AS13213,AS150369", "AS970 → AS54874"}
	if got := aspaStrings(f.Set); f.ASPAs != 3 || !slices.Equal(got, want) {
		t.Fatalf("%d entries, ASPAs %q; want 3, %q", f.ASPAs, got, want)
	}
	if _, err := ReadJSON(strings.NewReader(`{"roas": [], "provider_authorizations": {"ipv4": [{"customer_asid": 1}]}}`), time.Time{}); err == nil || !strings.Contains(err.Error(), "provider_authorizations.ipv4[0]: no providers") {
		t.Errorf("an entry without providers: %v", err)
	}
}
