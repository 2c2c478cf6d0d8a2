package cli

import (
	"net/http"
	"strings"
	"testing"
)

// queryAnswers are a node's JSON answers, by path, as the API writes them.
var queryAnswers = map[string]string{
	"/v1/status": `{"chain_id":"ipledger-dev","height":42,"time":"2026-12-07T20:00:00.5+01:00","app_hash":"AB12","node_id":"n1",
		"catching_up":false,"validators":[{"address":"VA1","pub_key":"PK1","power":10}],"peers":0,"log_size":99,"mempool_size":0,"halted":false,"disk_free":3221225472,
		"vrps":{"served":5,"router_keys":1,"aspas":2,"file":"/srv/vrps.json","file_served":3,"dropped_expired":7,"file_read":"2026-12-07T18:59:00Z","error":"open /srv/vrps.json: no such file or directory"}}`,
	"/v1/blocks/latest": `{"height":42,"time":"2026-12-07T19:00:00Z","app_hash":"q80=","state_root":"q80=","log_root":"q80=","log_size":99,
		"txs":[{"hash":"0102030405060708091011121314151617181920212223242526272829303132","kind":"pay","code":22,"log":"balance 3, needs 5","index":0}],
		"events":[{"kind":"lease-paid","ref":"lease/1","touched":["org/ORG-BOB"]}]}`,
	"/v1/tx/0102030405060708091011121314151617181920212223242526272829303132": `{"hash":"0102030405060708091011121314151617181920212223242526272829303132",
		"height":42,"index":0,"code":0,"code_name":"ok","time":"2026-12-07T19:00:00Z","kind":"pay","chain_id":"ipledger-dev","sequence":3,
		"signers":[{"org":"ORG-BOB","key":"0000000000000000000000000000000000000000000000000000000000000000"}],"body":{"to":"ORG-ALICE","amount":5},"size":180}`,
	"/v1/balances/ORG-ALICE": `{"org":"ORG-ALICE","balance":512,"height":42}`,
	"/v1/leases/1": `{"id":1,"offer":1,"lessor":"ORG-ALICE","lessee":"ORG-BOB","resource":"193.0.64.0/24","depth":2,"holding":7,"asn":64500,
		"price_per_period":512,"period":2592000,"start":1796670000,"periods":3,"paid":1,"min_periods":1,"max_periods":12,"due":1799262000,
		"state":"active","end":1804446000,"height":42,"history":[{"height":40,"index":0,"hash":"0102030405060708091011121314151617181920212223242526272829303132",
		"time":"2026-12-07T18:00:00Z","kind":"lease","code":0,"code_name":"ok","object":"lease/1"}]}`,
	"/v1/leases": `{"height":42,"leases":[{"id":1,"offer":1,"lessor":"ORG-ALICE","lessee":"ORG-BOB","resource":"193.0.64.0/24","asn":64500,
		"price_per_period":512,"period":2592000,"start":1796670000,"periods":3,"paid":1,"state":"active"}]}`,
	"/v1/offers": `{"height":42,"offers":[{"id":1,"lessor":"ORG-ALICE","resource":"193.0.64.0/24","price":2,"period":2592000,"min_periods":1,
		"max_periods":12,"created":"2026-12-07T17:00:00Z"}]}`,
	"/v1/routes": `{"height":42,"routes":[{"id":1,"prefix":"193.0.0.0/17","max_length":24,"asn":64496,"holder":"ORG-ALICE","created":"2026-12-07T17:00:00Z","in_force":false},
		{"id":2,"prefix":"193.0.64.0/24","max_length":24,"asn":64500,"holder":"ORG-BOB","expires":1804446000,"lease":1,"created":"2026-12-07T18:00:00Z","in_force":true}]}`,
	"/v1/resources/193.0.64.1": `{"resource":"193.0.64.1/32","height":42,
		"holding":{"handle":"IPL-H7","id":7,"resource":"193.0.64.0/24","depth":2,"holder":"ORG-BOB","holder_name":"Bob Hosting","status":"LEASED","changed":"2026-12-07T18:00:00Z"},
		"chain":[{"handle":"IPL-H1","id":1,"resource":"193.0.0.0/8","depth":0,"holder":"RIPE-NCC","status":"ALLOCATED","country":"NL","changed":"2026-12-07T17:00:00Z"},
		{"handle":"IPL-H7","id":7,"resource":"193.0.64.0/24","depth":2,"holder":"ORG-BOB","holder_name":"Bob Hosting","status":"LEASED","registered":"2026-12-07","changed":"2026-12-07T18:00:00Z"}],
		"history":[{"height":40,"index":0,"hash":"0102030405060708091011121314151617181920212223242526272829303132","time":"2026-12-07T18:00:00Z","kind":"lease","code":0,"code_name":"ok","object":"holding/7"}],
		"children":[],"geo":[{"resource":"193.0.64.0/24","holder":"ORG-BOB","country":"KE","region":"KE-110","city":"Nairobi"}]}`,
}

// TestQueryText checks every query prints text (labelled lines or tables, times in
// RFC 3339 UTC, Unix seconds as times) and --json the API's JSON.
func TestQueryText(t *testing.T) {
	url := serveNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := queryAnswers[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(b))
	}))
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"status"}, []string{"chain        ipledger-dev\n", "height       42 at 2026-12-07T19:00:00Z\n", "disk free    3.0 GiB\n",
			"vrps         5 VRPs, 1 router key, 2 ASPAs served\n", "vrps file    /srv/vrps.json: 3 entries served, 7 dropped as expired, read 2026-12-07T18:59:00Z\n",
			"vrps error   open /srv/vrps.json: no such file or directory\n",
			"1 validator:\n", "  VA1      10     PK1\n"}},
		{[]string{"block"}, []string{"time        2026-12-07T19:00:00Z\n", "app hash    ABCD\n",
			"  0      0102030405060708091011121314151617181920212223242526272829303132  pay   insufficient_funds: balance 3, needs 5  -\n",
			"  lease-paid  lease/1  org/ORG-BOB\n"}},
		{[]string{"tx", "0102030405060708091011121314151617181920212223242526272829303132"}, []string{
			"committed  height 42, index 0, at 2026-12-07T19:00:00Z\n", "result     ok\n", "signers    ORG-BOB 0000", "body:\n  {\n    \"to\": \"ORG-ALICE\",\n"}},
		{[]string{"balance", "ORG-ALICE"}, []string{"ORG-ALICE holds 512 credits at height 42\n"}},
		{[]string{"lease", "1"}, []string{"lease 1 at height 42\n", "asn        AS64500\n", "price      512 credits per 30d\n",
			"start      2026-12-07T19:00:00Z\n", "end        2027-03-07T19:00:00Z\n", "  40/0  2026-12-07T18:00:00Z  lease  ok"}},
		{[]string{"leases"}, []string{"1 lease at height 42\n", "ID  RESOURCE       LESSOR     LESSEE   ASN      PRICE  PERIOD  PAID  START                 END                   STATE\n",
			"1   193.0.64.0/24  ORG-ALICE  ORG-BOB  AS64500  512    30d     1/3   2026-12-07T19:00:00Z  2027-03-07T19:00:00Z  active\n"}},
		{[]string{"offers"}, []string{"1   193.0.64.0/24  ORG-ALICE  2      30d     1-12     no         2026-12-07T17:00:00Z\n"}},
		{[]string{"routes"}, []string{"2 route authorisations at height 42\n",
			"1   193.0.0.0/17   24          AS64496  ORG-ALICE  no        never                 -      2026-12-07T17:00:00Z\n",
			"2   193.0.64.0/24  24          AS64500  ORG-BOB    yes       2027-03-07T19:00:00Z  1      2026-12-07T18:00:00Z\n"}},
		{[]string{"resource", "193.0.64.1"}, []string{"193.0.64.1/32 at height 42 is held by ORG-BOB (Bob Hosting), LEASED\n",
			"0      IPL-H1  193.0.0.0/8    RIPE-NCC  ALLOCATED  NL       -    -\n",
			"2      IPL-H7  193.0.64.0/24  ORG-BOB   LEASED     -        KE   2026-12-07\n",
			"geolocations (set-geo, RFC 8805):\n  193.0.64.0/24  KE  KE-110  Nairobi  by ORG-BOB\n",
			"  40/0  2026-12-07T18:00:00Z  lease  ok"}},
	} {
		code, out, errs := run(append(append([]string{"query"}, tc.args...), "--node", url)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
		if strings.Contains(out, "{\n  \"") || strings.Contains(out, "1796670000") {
			t.Errorf("%v: raw JSON or Unix seconds in the text output:\n%s", tc.args, out)
		}
		// --json is the API's JSON, indented.
		_, js, _ := run(append(append([]string{"query"}, tc.args...), "--node", url, "--json")...)
		if !strings.HasPrefix(js, "{\n  \"") {
			t.Errorf("%v --json: %s", tc.args, js)
		}
	}
}
