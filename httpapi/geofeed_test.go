package httpapi

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/geofeed"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// TestGeofeedHostile serves a state whose geolocations hold what the ledger refuses now (a
// state from before, or an imported one): a city forging a row and a spreadsheet formula, a
// region forging a column, a bidi override. Both feeds have one row per prefix, read back
// as the cleaned entries, and a plain neighbour is untouched.
func TestGeofeedHostile(t *testing.T) {
	kv := memState(t)
	l := ledger.New(testChain)
	orgA := ipledgertest.Signer("ORG-A")
	for i, g := range []ipledger.SetGeoBody{
		{Resource: ipledger.MustParseResource("193.0.1.0/24"), Country: "KE", Region: "KE-110", City: "CITYONE"},
		{Resource: ipledger.MustParseResource("193.0.2.0/24"), Country: "KE", Region: "KE-110", City: "CITYTWO"},
		{Resource: ipledger.MustParseResource("193.0.3.0/24"), Country: "KE", Region: "KE-110", City: "Nairobi"},
	} {
		ipledgertest.Apply(t, l, kv, ipledger.Block{Height: int64(10 + i), Time: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)}, ipledger.KindSetGeo, uint64(i+1), g, orgA)
	}
	// Geolocations are JSON records: rewrite the cities and a region in place.
	patches := map[string]string{
		`"city":"CITYONE"`:                   `"city":"=HYPERLINK(\"http://evil.example\")\r\n6.6.6.0/24,KP,,Pyongyang,"`,
		`"city":"CITYTWO"`:                   `"city":"Nai\u202erobi\u0000,\"KP\""`,
		`"region":"KE-110","city":"CITYTWO"`: `"region":"KE-1\n6.6.6.0/24,KP","city":"CITYTWO"`,
	}
	var keys, vals [][]byte
	if err := kv.Iterate(nil, nil, false, func(k, v []byte) bool {
		nv := v
		for from, to := range patches {
			if strings.Contains(from, "region") {
				nv = bytes.ReplaceAll(nv, []byte(from), []byte(to))
			}
		}
		for from, to := range patches {
			nv = bytes.ReplaceAll(nv, []byte(from), []byte(to))
		}
		if !bytes.Equal(nv, v) {
			keys, vals = append(keys, bytes.Clone(k)), append(vals, nv)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("patched %d records, want 2", len(keys))
	}
	for i := range keys {
		if err := kv.Set(keys[i], vals[i]); err != nil {
			t.Fatal(err)
		}
	}
	h := memServer(t, kv, nil)
	for _, path := range []string{"/geofeed.csv", "/geofeed/ORG-A.csv"} {
		rec := get(h, path)
		if rec.Code != http.StatusOK || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s: %d %v\n%s", path, rec.Code, rec.Header(), rec.Body)
		}
		text := rec.Body.String()
		if strings.ContainsAny(text, "\r\x00\u202e") || strings.Contains(text, "\n6.6.6.0") {
			t.Fatalf("%s: forged row or raw control:\n%q", path, text)
		}
		feed, err := geofeed.Read(strings.NewReader(text))
		if err != nil || len(feed) != 3 {
			t.Fatalf("%s: %d rows, %v:\n%s", path, len(feed), err, text)
		}
		want := []string{
			`193.0.1.0/24 KE KE-110 '=HYPERLINK("http://evil.example")6.6.6.0/24,KP,,Pyongyang,`,
			`193.0.2.0/24 KE  Nairobi,"KP"`,
			`193.0.3.0/24 KE KE-110 Nairobi`,
		}
		for i, e := range feed {
			if got := strings.Join([]string{e.Prefix.String(), e.Country, e.Region, e.City}, " "); got != want[i] {
				t.Errorf("%s row %d: %q, want %q", path, i, got, want[i])
			}
		}
	}
}
