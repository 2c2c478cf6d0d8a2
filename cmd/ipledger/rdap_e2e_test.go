package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger/ipledgertest"
)

// TestRDAPWithOpenRDAP runs `ipledger dev` importing AFRINIC's real delegated statistics of
// 2014-06-30 and queries its RDAP service with the openrdap client: an IPv4 lookup (JSON
// and the client's own text rendering, which needs its decoder to recognise the answer),
// an AS number, an entity, entity and autnum searches, a lookup routed by this server's
// own RFC 9224 bootstrap file, and the redirect of space whose registry is not on the
// ledger.
func TestRDAPWithOpenRDAP(t *testing.T) {
	client := ipledgertest.Program(t, "rdap", "go install github.com/openrdap/rdap/cmd/rdap@v0.10.2")
	n := startImport(t, ipledgertest.Data(t, "delegated/2014-06/delegated-afrinic-latest"), 90*time.Second, "--whois-public-host", "whois.example.net")
	out := n.out
	server := "http://" + n.addr + "/rdap"
	// The client keeps its cache of bootstrap files there.
	cache := t.TempDir()
	t.Setenv("HOME", cache)
	t.Setenv("XDG_CACHE_HOME", cache)
	run := func(args ...string) string {
		t.Helper()
		b, err := ipledgertest.RunTimeout(30*time.Second, client, args...)
		if err != nil {
			t.Fatalf("rdap %s: %v\n%s\nnode output:\n%s", strings.Join(args, " "), err, b, out.String())
		}
		return string(b)
	}
	runJSON := func(args ...string) map[string]any {
		t.Helper()
		b := run(args...)
		var v map[string]any
		if err := json.Unmarshal([]byte(b), &v); err != nil {
			t.Fatalf("rdap %s: not JSON: %v\n%s", strings.Join(args, " "), err, b)
		}
		return v
	}
	registrant := func(obj map[string]any) string {
		ents, _ := obj["entities"].([]any)
		for _, e := range ents {
			em, _ := e.(map[string]any)
			roles, _ := em["roles"].([]any)
			for _, r := range roles {
				if r == "registrant" {
					h, _ := em["handle"].(string)
					return h
				}
			}
		}
		return ""
	}

	// 41.0.0.0/11, ZA, allocated 2007-11-26: line 1100 of the file.
	ip := runJSON("-s", server, "-j", "-t", "ip", "41.1.2.3")
	if ip["objectClassName"] != "ip network" || ip["startAddress"] != "41.0.0.0" || ip["endAddress"] != "41.31.255.255" ||
		ip["name"] != "AFRINIC-R0001100" || ip["country"] != "ZA" || registrant(ip) != "AFRINIC-R0001100" ||
		!strings.HasPrefix(ip["handle"].(string), "IPL-H") || ip["port43"] != "whois.example.net" {
		t.Errorf("ip 41.1.2.3: %v", ip)
	}
	text := run("-s", server, "-t", "ip", "41.1.2.3")
	for _, want := range []string{"IP Network", "Handle: " + ip["handle"].(string), "Name: AFRINIC-R0001100", "Start Address: 41.0.0.0", "Port43: whois.example.net"} {
		if !strings.Contains(text, want) {
			t.Errorf("openrdap text output lacks %q:\n%s", want, text)
		}
	}
	// AS1228, ZA, line 5.
	as := runJSON("-s", server, "-j", "-t", "autnum", "AS1228")
	if as["objectClassName"] != "autnum" || as["startAutnum"] != 1228.0 || as["name"] != "AFRINIC-R0000005" || registrant(as) != "AFRINIC-R0000005" || as["port43"] != "whois.example.net" {
		t.Errorf("autnum AS1228: %v", as)
	}
	ent := runJSON("-s", server, "-j", "-t", "entity", "AFRINIC-R0001100")
	if ent["objectClassName"] != "entity" || ent["handle"] != "AFRINIC-R0001100" || ent["port43"] != "whois.example.net" || !strings.Contains(run("-s", server, "-t", "entity", "AFRINIC-R0001100"), "Holder of 41.0.0.0/11") {
		t.Errorf("entity AFRINIC-R0001100: %v", ent)
	}
	search := runJSON("-s", server, "-j", "-t", "entity-search", "Holder of 41.0.0.0/11*")
	if res, _ := search["entitySearchResults"].([]any); len(res) != 1 || res[0].(map[string]any)["handle"] != "AFRINIC-R0001100" {
		t.Errorf("entity search: %v", search["entitySearchResults"])
	}
	byHandle := runJSON("-s", server, "-j", "-t", "entity-search-by-handle", "AFRINIC-R000110*")
	if res, _ := byHandle["entitySearchResults"].([]any); len(res) != 10 {
		t.Errorf("entity search by handle AFRINIC-R000110*: %d results, want 10 (lines 1100-1109)", len(res))
	}
	asSearch := runJSON("-s", server, "-j", "-t", "autnum-search", as["handle"].(string))
	if res, _ := asSearch["autnumSearchResults"].([]any); len(res) != 1 || res[0].(map[string]any)["startAutnum"] != 1228.0 {
		t.Errorf("autnum search %s: %v", as["handle"], asSearch["autnumSearchResults"])
	}
	// No --server: the client finds this server through its bootstrap file.
	boot := runJSON("--cache-dir=", "--bs-url", server+"/bootstrap/", "-j", "41.1.2.3")
	if boot["handle"] != ip["handle"] {
		t.Errorf("lookup through the bootstrap file: %v", boot["handle"])
	}

	// ARIN's space: ARIN's records are not on this ledger, so the answer is ARIN's service.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	resp, err := hc.Get(server + "/ip/8.8.8.8")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://rdap.arin.net/registry/ip/8.8.8.8" {
		t.Errorf("ip 8.8.8.8: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
