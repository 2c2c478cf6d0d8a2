package rdap

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ipledgertest/chaintest"
	"github.com/ipledger/ipledger/ledger"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// importChain puts one real delegated-statistics file on a fresh chain whose genesis has
// IANA's pools, through the real importer's plan: its signed transactions, in order, in
// block 2 at a fixed time, so the state, heights and times are the same on every run
// whatever size the importer's batches have.
func importChain(t *testing.T, path string) *chaintest.Chain {
	t.Helper()
	g, plan := chaintest.ImportPlan(t, path)
	c := chaintest.NewChain(t, "rdap-golden", g)
	var txs [][]byte
	for _, st := range plan.Steps {
		txs = append(txs, c.Tx(st.Kind, st.Body, st.Signers...))
	}
	c.Block(txs...)
	t.Logf("imported %s: %d records, %d holdings, %d organisations in %d transactions", filepath.Base(path), plan.Stats.Records, plan.Stats.Holdings, plan.Stats.Orgs, len(txs))
	return c
}

// TestGoldenAFRINIC2014 imports AFRINIC's delegated statistics of 2014-06-30 and pins the
// exact answers for a few real records: an allocation, space AFRINIC got from other
// registries (ERX), an AS number, an IPv6 allocation, the imported holder, a search and a
// bootstrap file. Run with -update after a deliberate change of the answers.
func TestGoldenAFRINIC2014(t *testing.T) {
	c := importChain(t, ipledgertest.Data(t, "delegated/2014-06/delegated-afrinic-latest"))
	h, err := New(Options{Source: c.App(), BaseURL: "https://rdap.example.net/rdap/", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	// The holder of 41.0.0.0/11 (record line 1100), found rather than assumed.
	chn, err := ledger.Lookup(c.App().Committed().State, ipledger.MustParseResource("41.0.0.0/11"))
	if err != nil || len(chn) != 2 {
		t.Fatalf("41.0.0.0/11 on the ledger: %v %v", chn, err)
	}
	holder := chn[1].Holder
	if holder != "AFRINIC-R0001100" {
		t.Errorf("holder of 41.0.0.0/11 is %s; the importer names keyless holders by registry and line", holder)
	}
	for _, tc := range []struct{ name, path string }{
		{"ip-41.0.0.1", "ip/41.0.0.1"},
		{"ip-64.57.112.1", "ip/64.57.112.1"},
		{"ip-137.158.1.1", "ip/137.158.1.1"},
		{"ip-2001-4200--1", "ip/2001:4200::1"},
		{"autnum-1228", "autnum/1228"},
		{"entity-" + holder, "entity/" + holder},
		{"entities-handle-AFRINIC-R000110x", "entities?handle=AFRINIC-R000110*"},
		{"bootstrap-asn", "bootstrap/asn.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, _ := call(t, h, http.MethodGet, "http://node.test/rdap/"+tc.path, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
			var out bytes.Buffer
			if err := json.Indent(&out, rec.Body.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "golden", tc.name+".json"), out.Bytes())
		})
	}
	// Space of registries whose records are not on the ledger goes to their services;
	// IANA's answers here.
	for path, want := range map[string]string{
		"ip/8.8.8.8":      "https://rdap.arin.net/registry/ip/8.8.8.8",
		"ip/193.0.0.1":    "https://rdap.db.ripe.net/ip/193.0.0.1",
		"autnum/3333":     "https://rdap.db.ripe.net/autnum/3333",
		"ip/2400:cb00::1": "https://rdap.apnic.net/ip/2400:cb00::1",
		"ip/200.1.1.1":    "https://rdap.lacnic.net/rdap/ip/200.1.1.1",
	} {
		rec, _ := call(t, h, http.MethodGet, "http://node.test/rdap/"+path, "")
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != want {
			t.Errorf("%s: %d to %q, want 302 to %s", path, rec.Code, rec.Header().Get("Location"), want)
		}
	}
	rec, body := call(t, h, http.MethodGet, "http://node.test/rdap/ip/192.0.2.1", "")
	if rec.Code != http.StatusOK || str(body, "name") != "IANA" || str(body, "status", 0) != "reserved" {
		t.Errorf("IANA special-purpose space: %d %s %v", rec.Code, str(body, "name"), at(body, "status"))
	}
}

// golden compares got, trimmed and ended by one newline, with the file, or rewrites the
// file with -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	ipledgertest.Golden(t, file, append(bytes.TrimSpace(got), '\n'), *update)
}

// TestRealPoolSpace imports AFRINIC's sample of 2019-09 (extended, with available and
// reserved records): its reserved IPv6 space answers as AFRINIC's RESERVED pool with the
// status "reserved", an available AS number as its AVAILABLE pool with "inactive", not as
// an ALLOCATED pool.
func TestRealPoolSpace(t *testing.T) {
	c := importChain(t, ipledgertest.Data(t, "delegated/samples-2019-09-truncated/afrinic"))
	h, err := New(Options{Source: c.App(), BaseURL: "https://rdap.example.net/rdap/", RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	// The ledger's own lookup: the registry's pool, at depth 0, nothing below it.
	for key, st := range map[string]ipledger.Status{"2001:4201::/32": ipledger.StatusReserved, "AS5536": ipledger.StatusAvailable} {
		chn, err := ledger.Lookup(c.App().Committed().State, ipledger.MustParseResource(key))
		if err != nil || len(chn) != 1 || chn[0].Holder != ipledger.AFRINIC || chn[0].Status != st || chn[0].SpecialPurpose() {
			t.Errorf("ledger lookup of %s: %+v %v", key, chn, err)
		}
	}
	for _, tc := range []struct {
		path, typ, status, start, end string
	}{
		// "afrinic|ZZ|ipv6|2001:4201::|32||reserved|", with the /31 and /30 after it: adjacent
		// pool space of one status is one pool.
		{"ip/2001:4201::1", "RESERVED", "reserved", "2001:4201::", "2001:4207:ffff:ffff:ffff:ffff:ffff:ffff"},
		// "afrinic|ZZ|asn|5536|1||available|"
		{"autnum/5536", "AVAILABLE", "inactive", "5536", "5536"},
	} {
		rec, body := call(t, h, http.MethodGet, "http://node.test/rdap/"+tc.path, "")
		start, end := str(body, "startAddress"), str(body, "endAddress")
		if strings.HasPrefix(tc.path, "autnum") {
			start, end = str(body, "startAutnum"), str(body, "endAutnum")
		}
		if rec.Code != http.StatusOK || str(body, "name") != ipledger.AFRINIC || str(body, "type") != tc.typ ||
			len(list(body, "status")) != 1 || str(body, "status", 0) != tc.status || start != tc.start || end != tc.end {
			t.Errorf("%s: %d %s", tc.path, rec.Code, rec.Body.String())
		}
	}
}
