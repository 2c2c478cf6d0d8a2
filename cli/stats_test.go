package cli

import (
	"net/http"
	"strings"
	"testing"
)

// TestQueryMarketStats: query market stats passes its filters and prints the rows; trades
// --venue lease prints the lease starts.
func TestQueryMarketStats(t *testing.T) {
	var query string
	url := serveNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		switch {
		case r.URL.Path == "/v1/market/stats":
			w.Write([]byte(`{"height":42,"rows":[{"family":"ipv4","trades":2,"units":768,"volume":2544800,"vwap":3313,"median_price":3300,
				"units_held":65536,"turnover_bp":117,"leases":1,"lease_units":256,"median_lease":40,"lease_yield_bp":1454,"open_asks":1,"open_bids":1},
				{"family":"ipv4","class":"ipv4/24","day":"2024-01-02","trades":1,"units":256,"vwap":3300,"median_price":3300}]}`))
		case r.URL.Path == "/v1/market/trades" && r.URL.Query().Get("venue") == "lease":
			w.Write([]byte(`{"height":42,"leases":[{"id":3,"time":1796670000,"height":40,"venue":"lease","resource":"193.0.8.0/24","family":"ipv4",
				"class":"ipv4/24","lessor":"ORG-ALICE","lessee":"ORG-BOB","units":256,"price_per_unit_month":40}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	for _, c := range []struct {
		args  []string
		query string
		want  []string
	}{
		{[]string{"stats", "--family", "ipv4", "--class", "ipv4/24", "--from", "2024-01-01", "--to", "2024-01-31", "--height", "40"},
			"class=ipv4%2F24&family=ipv4&from=2024-01-01&height=40&to=2024-01-31",
			[]string{"2 rows at height 42", "ipv4    -        -           2       768    3313  3300", "117", "1454", "ipv4/24  2024-01-02"}},
		{[]string{"trades", "--venue", "lease"}, "venue=lease", []string{"1 lease start at height 42", "193.0.8.0/24  ipv4/24  ORG-ALICE  ORG-BOB  256    40"}},
	} {
		code, out, errs := run(append([]string{"query", "market", "--node", url}, c.args...)...)
		if code != 0 {
			t.Fatalf("%v: %s", c.args, errs)
		}
		if query != c.query {
			t.Errorf("%v: query %q, want %q", c.args, query, c.query)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: no %q in\n%s", c.args, w, out)
			}
		}
	}
}
