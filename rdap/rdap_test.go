package rdap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ipledgertest/chaintest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/netguard"
)

// worldGenesis gives RIPE NCC 193.0.0.0/8, 2001:600::/23 and AS3072-AS4095, AFRINIC
// 41.0.0.0/8 and AS36864-AS37887, IANA 192.0.2.0/24 as special-purpose space and the rest as
// its pool.
func worldGenesis() *ledger.Genesis {
	g := ipledgertest.GenesisWith(
		ipledgertest.Pool{Range: "0.0.0.0-40.255.255.255", Registry: ipledger.IANA},
		ipledgertest.Pool{Range: "41.0.0.0/8", Registry: ipledger.AFRINIC},
		ipledgertest.Pool{Range: "42.0.0.0-192.0.1.255", Registry: ipledger.IANA},
		ipledgertest.Pool{Range: "192.0.2.0/24", Registry: ipledger.IANA, Status: ipledger.StatusReserved},
		ipledgertest.Pool{Range: "192.0.3.0-192.255.255.255", Registry: ipledger.IANA},
		ipledgertest.Pool{Range: "193.0.0.0/8", Registry: ipledger.RIPENCC},
		ipledgertest.Pool{Range: "194.0.0.0-255.255.255.255", Registry: ipledger.IANA},
		ipledgertest.Pool{Range: "::-2001:5ff:ffff:ffff:ffff:ffff:ffff:ffff", Registry: ipledger.IANA},
		ipledgertest.Pool{Range: "2001:600::/23", Registry: ipledger.RIPENCC},
		ipledgertest.Pool{Range: "2001:800::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Registry: ipledger.IANA},
		ipledgertest.Pool{Range: "AS0-AS3071", Registry: ipledger.IANA},
		ipledgertest.Pool{Range: "AS3072-AS4095", Registry: ipledger.RIPENCC},
		ipledgertest.Pool{Range: "AS4096-AS36863", Registry: ipledger.IANA},
		ipledgertest.Pool{Range: "AS36864-AS37887", Registry: ipledger.AFRINIC},
		ipledgertest.Pool{Range: "AS37888-AS4294967295", Registry: ipledger.IANA},
	)
	for i := range g.Registries {
		o := &g.Registries[i]
		o.Name = ipledgertest.RegistryName(o.Handle)
		if o.Handle == ipledger.RIPENCC {
			o.Country, o.AbuseMailbox = "NL", "abuse@ripe.example"
		}
	}
	return g
}

// world is a small ledger: RIPE NCC allocates to three organisations (one of them keyless,
// imported with an opaque id), one assigns onward, and part of an allocation is transferred.
// AFRINIC allocates nothing, so it is not authoritative.
type world struct {
	c *chaintest.Chain
	h http.Handler
}

func item(res, org string, st ipledger.Status, country, date string) ipledger.AllocateItem {
	return ipledger.AllocateItem{Resource: ipledger.MustParseResource(res), Org: org, Status: st, Country: country, Registered: date}
}

func newWorld(t testing.TB, o Options) *world {
	t.Helper()
	c := chaintest.NewChain(t, "rdap-test", worldGenesis())
	ripe := ipledger.RIPENCC
	c.Block(c.Tx(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: "ORG-A", Name: "Alpha Networks", Country: "NL", AbuseMailbox: "abuse@alpha.example", Keys: []ipledger.PublicKey{ipledgertest.Key("ORG-A").Public()}},
		{Handle: "ORG-B", Name: "Beta Hosting", Country: "DE", Keys: []ipledger.PublicKey{ipledgertest.Key("ORG-B").Public()}},
		{Handle: "ORG-C", Name: "Gamma Telecom", Country: "FR", OpaqueID: "ripe-gamma-1"},
	}}, ripe))
	c.Block(c.Tx(ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		item("193.0.0.0/16", "ORG-A", ipledger.StatusAllocatedPA, "NL", "2001-05-04"),
		item("193.1.0.0-193.1.2.255", "ORG-C", ipledger.StatusAssignedPI, "FR", "1999-12-01"),
		item("2001:600::/32", "ORG-A", ipledger.StatusAllocatedPA, "NL", "2002-03-04"),
		item("AS3333", "ORG-A", ipledger.StatusAllocatedAS, "NL", "1995-01-02"),
		item("AS3400-AS3409", "ORG-C", ipledger.StatusAllocatedAS, "FR", ""),
	}}, ripe))
	c.Block(c.Tx(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{
		item("193.0.1.0/24", "ORG-B", ipledger.StatusAssignedPA, "DE", ""),
		item("193.0.2.0/24", "ORG-C", ipledger.StatusAssignedPA, "", ""),
	}}, "ORG-A"))
	c.Block(c.Tx(ipledger.KindTransfer, ipledger.TransferBody{Resource: ipledger.MustParseResource("193.0.128.0/17"), To: "ORG-B"}, "ORG-A", "ORG-B"))
	if o.Source == nil {
		o.Source = c.App()
	}
	if o.BaseURL == "" {
		o.BaseURL = "https://rdap.test/rdap/"
	}
	if o.RateLimit == 0 {
		o.RateLimit = -1
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &world{c: c, h: h}
}

// handle returns the handle of the holding with exactly range res (the deepest one).
func (w *world) handle(t testing.TB, res string) string {
	t.Helper()
	r := ipledger.MustParseResource(res)
	chn, err := ledger.Lookup(w.c.App().Committed().State, r)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(chn) - 1; i >= 0; i-- {
		if chn[i].Resource == r {
			return chn[i].Handle()
		}
	}
	t.Fatalf("no holding %s", res)
	return ""
}

func (w *world) get(t testing.TB, path string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	return call(t, w.h, http.MethodGet, "http://node.test"+path, "")
}

// wantRDAP checks the headers every answer carries and the status.
func wantRDAP(t *testing.T, what string, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, rec.Code, status, rec.Body.String())
	}
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("%s: Access-Control-Allow-Origin %q", what, got)
	}
	if status != http.StatusFound && status != http.StatusNoContent {
		if ct := rec.Header().Get("Content-Type"); ct != contentType {
			t.Errorf("%s: Content-Type %q", what, ct)
		}
	}
}

// wantError checks an RDAP error body (RFC 9083 §6).
func wantError(t *testing.T, what string, rec *httptest.ResponseRecorder, body map[string]any, status int) {
	t.Helper()
	wantRDAP(t, what, rec, status)
	if str(body, "errorCode") != strconv.Itoa(status) || str(body, "title") != http.StatusText(status) || str(body, "description", 0) == "" {
		t.Errorf("%s: error body %v", what, body)
	}
	if !slices.Contains(strs(body, "title", "notices"), "Terms of Service") {
		t.Errorf("%s: no terms of service notice", what)
	}
}

// wantTop checks the top-level members of an answer and that nested objects carry none.
func wantTop(t *testing.T, what string, body map[string]any) {
	t.Helper()
	var conf []string
	for _, c := range list(body, "rdapConformance") {
		conf = append(conf, c.(string))
	}
	for _, want := range []string{"rdap_level_0", "nro_rdap_profile_0", "nro_rdap_profile_asn_hierarchical_0", "cidr0", "rirSearch1", "ips", "autnums"} {
		if !slices.Contains(conf, want) {
			t.Errorf("%s: rdapConformance %v lacks %s", what, conf, want)
		}
	}
	rels := map[string]bool{}
	for _, n := range list(body, "notices") {
		for _, l := range list(n, "links") {
			rels[str(l, "rel")] = true
		}
	}
	if !rels["terms-of-service"] || !rels["inaccuracy-report"] {
		t.Errorf("%s: notices link %v; want terms-of-service and inaccuracy-report", what, rels)
	}
	var nested func(v any, depth int)
	nested = func(v any, depth int) {
		switch x := v.(type) {
		case map[string]any:
			if depth > 0 {
				if _, ok := x["rdapConformance"]; ok {
					t.Errorf("%s: a nested object carries rdapConformance", what)
				}
				if _, ok := x["objectClassName"]; ok && linkTo(x, "self") == "" {
					t.Errorf("%s: nested %s %s has no self link", what, str(x, "objectClassName"), str(x, "handle"))
				}
			}
			for k, e := range x {
				if k != "notices" {
					nested(e, depth+1)
				}
			}
		case []any:
			for _, e := range x {
				nested(e, depth)
			}
		}
	}
	nested(body, 0)
}

// events maps eventAction to its dates.
func events(obj any) map[string][]string {
	out := map[string][]string{}
	for _, e := range list(obj, "events") {
		out[str(e, "eventAction")] = append(out[str(e, "eventAction")], str(e, "eventDate"))
	}
	return out
}

// roles maps each nested entity's roles to its handle.
func roles(obj any) map[string]string {
	out := map[string]string{}
	for _, e := range list(obj, "entities") {
		for _, r := range list(e, "roles") {
			out[r.(string)] = str(e, "handle")
		}
	}
	return out
}

func blockTime(h int64) string {
	return chaintest.GenesisTime.Add(time.Duration(h) * time.Minute).Format(time.RFC3339)
}

func TestLookups(t *testing.T) {
	w := newWorld(t, Options{})
	pool193 := w.handle(t, "193.0.0.0/8")
	low := w.handle(t, "193.0.0.0/17")
	tests := []struct {
		path                  string
		class, handle, holder string
		start, end, typ       string
		parent                string
		status                string
		cidrs                 string
	}{
		{"/rdap/ip/193.0.1.5", "ip network", w.handle(t, "193.0.1.0/24"), "ORG-B", "193.0.1.0", "193.0.1.255", "ASSIGNED PA", low, "active", "193.0.1.0/24"},
		{"/rdap/ip/193.0.1.0/24", "ip network", w.handle(t, "193.0.1.0/24"), "ORG-B", "193.0.1.0", "193.0.1.255", "ASSIGNED PA", low, "active", "193.0.1.0/24"},
		// A prefix with host bits set is its network.
		{"/rdap/ip/193.0.1.77/24", "ip network", w.handle(t, "193.0.1.0/24"), "ORG-B", "193.0.1.0", "193.0.1.255", "ASSIGNED PA", low, "active", "193.0.1.0/24"},
		// The most specific holding containing all of the prefix: the /16 was split by the
		// transfer, so only the pool contains it now.
		{"/rdap/ip/193.0.0.0/16", "ip network", pool193, "RIPE-NCC", "193.0.0.0", "193.255.255.255", "ALLOCATED", "", "active administrative", "193.0.0.0/8"},
		{"/rdap/ip/193.0.200.1", "ip network", w.handle(t, "193.0.128.0/17"), "ORG-B", "193.0.128.0", "193.0.255.255", "ALLOCATED PA", pool193, "active", "193.0.128.0/17"},
		// A range that is not one prefix: cidr0 decomposes it exactly.
		{"/rdap/ip/193.1.2.3", "ip network", w.handle(t, "193.1.0.0-193.1.2.255"), "ORG-C", "193.1.0.0", "193.1.2.255", "ASSIGNED PI", pool193, "active", "193.1.0.0/23 193.1.2.0/24"},
		{"/rdap/ip/2001:600:0:1::1", "ip network", w.handle(t, "2001:600::/32"), "ORG-A", "2001:600::", "2001:600:ffff:ffff:ffff:ffff:ffff:ffff", "ALLOCATED PA", w.handle(t, "2001:600::/23"), "active", "2001:600::/32"},
		// IANA's space answers from the ledger.
		{"/rdap/ip/192.0.2.1", "ip network", w.handle(t, "192.0.2.0/24"), "IANA", "192.0.2.0", "192.0.2.255", "RESERVED", "", "reserved", "192.0.2.0/24"},
		{"/rdap/ip/8.8.8.8", "ip network", w.handle(t, "0.0.0.0-40.255.255.255"), "IANA", "0.0.0.0", "40.255.255.255", "IANA POOL", "", "inactive", "0.0.0.0/3 32.0.0.0/5 40.0.0.0/8"},
		{"/rdap/autnum/3333", "autnum", w.handle(t, "AS3333"), "ORG-A", "3333", "3333", "ALLOCATED", w.handle(t, "AS3072-AS4095"), "active", ""},
		// The registered block containing the number (NRO hierarchical ASN profile).
		{"/rdap/autnum/3405", "autnum", w.handle(t, "AS3400-AS3409"), "ORG-C", "3400", "3409", "ALLOCATED", w.handle(t, "AS3072-AS4095"), "active", ""},
		{"/rdap/autnum/0", "autnum", w.handle(t, "AS0-AS3071"), "IANA", "0", "3071", "IANA POOL", "", "inactive", ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			rec, body := w.get(t, tc.path)
			wantRDAP(t, tc.path, rec, http.StatusOK)
			wantTop(t, tc.path, body)
			startKey, endKey := "startAddress", "endAddress"
			if tc.class == "autnum" {
				startKey, endKey = "startAutnum", "endAutnum"
			}
			got := []string{str(body, "objectClassName"), str(body, "handle"), str(body, "name"), str(body, startKey), str(body, endKey), str(body, "type"), str(body, "parentHandle")}
			want := []string{tc.class, tc.handle, tc.holder, tc.start, tc.end, tc.typ, tc.parent}
			if !slices.Equal(got, want) {
				t.Errorf("got %q\nwant %q", got, want)
			}
			var st []string
			for _, s := range list(body, "status") {
				st = append(st, s.(string))
			}
			if join(st) != tc.status {
				t.Errorf("status %v, want %s", st, tc.status)
			}
			if tc.class == "ip network" {
				var cs []string
				for _, c := range list(body, "cidr0_cidrs") {
					cs = append(cs, str(c, "v4prefix")+str(c, "v6prefix")+"/"+str(c, "length"))
				}
				if join(cs) != tc.cidrs {
					t.Errorf("cidr0_cidrs %v, want %s", cs, tc.cidrs)
				}
			}
			if roles(body)["registrant"] != tc.holder {
				t.Errorf("registrant %v, want %s", roles(body), tc.holder)
			}
			id := strings.TrimPrefix(tc.handle, "IPL-H")
			if got := linkTo(body, "related"); got != "https://rdap.test/v1/holdings/"+id {
				t.Errorf("history link %q", got)
			}
			if self := linkTo(body, "self"); !strings.HasPrefix(self, "https://rdap.test/rdap/") {
				t.Errorf("self link %q", self)
			}
			if ev := events(body); len(ev["last changed"]) != 1 {
				t.Errorf("events %v: want one last changed", ev)
			}
		})
	}
}

func TestLookupDetails(t *testing.T) {
	w := newWorld(t, Options{})

	// The transferred half: registration date kept, the transfer's block time as an event,
	// the self link resolves to itself, and up/top relation links.
	_, body := w.get(t, "/rdap/ip/193.0.128.0/17")
	ev := events(body)
	if join(ev["registration"]) != "2001-05-04T00:00:00Z" || join(ev["transfer"]) != blockTime(5) || join(ev["last changed"]) != blockTime(5) {
		t.Errorf("transferred holding events %v", ev)
	}
	if got := linkTo(body, "self"); got != "https://rdap.test/rdap/ip/193.0.128.0/17" {
		t.Errorf("self %q", got)
	}
	if got := linkTo(body, "rdap-up"); got != "https://rdap.test/rdap/ips/rirSearch1/rdap-up/193.0.128.0/17" {
		t.Errorf("rdap-up %q", got)
	}
	// The half that stayed was touched by the transfer too (it was split off).
	_, body = w.get(t, "/rdap/ip/193.0.0.0/17")
	if ev := events(body); join(ev["transfer"]) != blockTime(5) || join(ev["registration"]) != "2001-05-04T00:00:00Z" {
		t.Errorf("split holding events %v", ev)
	}
	// The same events from block records, as a node restored by state sync, whose log
	// cannot detail its history entries, answers them.
	synced, err := New(Options{Source: &fakeSource{Reader: w.c.App(), snap: w.c.App().Committed()}, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"193.0.128.0/17", "193.0.0.0/17"} {
		_, body := call(t, synced, http.MethodGet, "http://node.test/rdap/ip/"+p, "")
		if ev := events(body); join(ev["transfer"]) != blockTime(5) || join(ev["registration"]) != "2001-05-04T00:00:00Z" {
			t.Errorf("%s from block records: events %v", p, ev)
		}
	}
	// An assignment never transferred has no transfer event; its registration defaults to
	// its block's date.
	_, body = w.get(t, "/rdap/ip/193.0.1.0/24")
	if ev := events(body); len(ev["transfer"]) != 0 || join(ev["registration"]) != "2024-01-01T00:00:00Z" {
		t.Errorf("assignment events %v", ev)
	}

	// Entities: registrant with jCard and its registry, abuse with the mailbox.
	_, body = w.get(t, "/rdap/ip/2001:600::/32")
	var reg, abuse any
	for _, e := range list(body, "entities") {
		switch str(e, "roles", 0) {
		case "registrant":
			reg = e
		case "abuse":
			abuse = e
		}
	}
	if str(reg, "handle") != "ORG-A" || vcardValue(reg, "fn") != "Alpha Networks" || vcardValue(reg, "kind") != "org" || vcardParam(reg, "adr", "cc") != "NL" {
		t.Errorf("registrant %v", reg)
	}
	if str(reg, "entities", 0, "handle") != "RIPE-NCC" || str(reg, "entities", 0, "roles", 0) != "registrar" {
		t.Errorf("registrant's registry %v", at(reg, "entities"))
	}
	if str(abuse, "handle") != "ORG-A" || vcardValue(abuse, "email") != "abuse@alpha.example" {
		t.Errorf("abuse entity %v", abuse)
	}
	if got := linkTo(reg, "related"); got != "https://rdap.test/v1/orgs/ORG-A" {
		t.Errorf("registrant history link %q", got)
	}

	// A keyless imported holder: registry-supplied data, the opaque id, unclaimed.
	_, body = w.get(t, "/rdap/entity/org-c")
	wantTop(t, "entity", body)
	if str(body, "objectClassName") != "entity" || str(body, "handle") != "ORG-C" || vcardValue(body, "fn") != "Gamma Telecom" || vcardParam(body, "adr", "cc") != "FR" {
		t.Errorf("entity %v", body)
	}
	if str(body, "publicIds", 0, "identifier") != "ripe-gamma-1" || str(body, "remarks", 0, "title") != "Unclaimed" {
		t.Errorf("imported entity: publicIds %v remarks %v", at(body, "publicIds"), at(body, "remarks"))
	}
	if str(body, "entities", 0, "handle") != "RIPE-NCC" {
		t.Errorf("imported entity's registry %v", at(body, "entities"))
	}
	if ev := events(body); join(ev["registration"]) != blockTime(2) {
		t.Errorf("entity events %v", ev)
	}
	// Registries: authoritative or not.
	_, body = w.get(t, "/rdap/entity/RIPE-NCC")
	if d := str(body, "remarks", 0, "description", 0); !strings.Contains(d, "keeps its records on this ledger") {
		t.Errorf("RIPE NCC remark %q", d)
	}
	_, body = w.get(t, "/rdap/entity/AFRINIC")
	if d := str(body, "remarks", 0, "description", 0); !strings.Contains(d, "redirected to https://rdap.afrinic.net/rdap/") {
		t.Errorf("AFRINIC remark %q", d)
	}
	// An entity lookup names the abuse mailbox too.
	_, body = w.get(t, "/rdap/entity/ORG-A")
	if roles(body)["abuse"] != "ORG-A" {
		t.Errorf("entity ORG-A entities %v", at(body, "entities"))
	}

	// The ledger-state notice names the height and links the block record.
	var state any
	for _, n := range list(body, "notices") {
		if str(n, "title") == "Ledger State" {
			state = n
		}
	}
	if !strings.Contains(str(state, "description", 0), "height 5") || str(state, "links", 0, "href") != "https://rdap.test/v1/blocks/5" {
		t.Errorf("ledger state notice %v", state)
	}
}

// vcardValue returns the value of the first jCard property name of an entity.
func vcardValue(e any, name string) string {
	for _, p := range list(e, "vcardArray", 1) {
		if str(p, 0) == name {
			return str(p, 3)
		}
	}
	return ""
}

func vcardParam(e any, name, param string) string {
	for _, p := range list(e, "vcardArray", 1) {
		if str(p, 0) == name {
			return str(p, 1, param)
		}
	}
	return ""
}

func TestRedirects(t *testing.T) {
	w := newWorld(t, Options{})
	for _, tc := range []struct{ path, want string }{
		{"/rdap/ip/41.1.2.3", "https://rdap.afrinic.net/rdap/ip/41.1.2.3"},
		{"/rdap/ip/41.0.0.0/16", "https://rdap.afrinic.net/rdap/ip/41.0.0.0/16"},
		{"/rdap/autnum/36900", "https://rdap.afrinic.net/rdap/autnum/36900"},
		{"/rdap/ips/rirSearch1/rdap-top/41.0.0.1?status=active", "https://rdap.afrinic.net/rdap/ips/rirSearch1/rdap-top/41.0.0.1?status=active"},
		{"/rdap/ips/rirSearch1/rdap-bottom/41.0.0.0/8", "https://rdap.afrinic.net/rdap/ips/rirSearch1/rdap-bottom/41.0.0.0/8"},
		{"/rdap/autnums/rirSearch1/rdap-up/37000", "https://rdap.afrinic.net/rdap/autnums/rirSearch1/rdap-up/37000"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec, body := w.get(t, tc.path)
			wantRDAP(t, tc.path, rec, http.StatusFound)
			if got := rec.Header().Get("Location"); got != tc.want {
				t.Errorf("Location %q, want %q", got, tc.want)
			}
			if body != nil {
				t.Errorf("redirect has a body %v", body)
			}
		})
	}
	// Once AFRINIC allocates, it is authoritative: its space answers here.
	w.c.Block(w.c.Tx(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-Z", Name: "Zeta"}}}, ipledger.AFRINIC))
	w.c.Block(w.c.Tx(ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{item("41.1.0.0/16", "ORG-Z", ipledger.StatusAllocatedPA, "ZA", "")}}, ipledger.AFRINIC))
	rec, body := w.get(t, "/rdap/ip/41.1.2.3")
	wantRDAP(t, "after AFRINIC's first allocation", rec, http.StatusOK)
	if str(body, "name") != "ORG-Z" {
		t.Errorf("name %q", str(body, "name"))
	}
	// The bootstrap file follows.
	_, body = w.get(t, "/rdap/bootstrap/ipv4.json")
	if got := join(toStrings(list(body, "services", 0, 0))); got != "41.0.0.0/8 193.0.0.0/8" {
		t.Errorf("bootstrap after AFRINIC became authoritative: %s", got)
	}
}

func toStrings(l []any) []string {
	var out []string
	for _, v := range l {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

func TestErrors(t *testing.T) {
	w := newWorld(t, Options{})
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/rdap/", 400},
		{"/rdap/ip/", 400},
		{"/rdap/ip/notanip", 400},
		{"/rdap/ip/193.0.1.0/33", 400},
		{"/rdap/ip/193.0.1.0/024", 400},
		{"/rdap/ip/fe80::1%25eth0", 400},
		{"/rdap/ip/193.0.1.0/24/1", 400},
		{"/rdap/autnum/AS3333", 400},
		{"/rdap/autnum/4294967296", 400},
		{"/rdap/autnum/-1", 400},
		{"/rdap/autnum/", 400},
		{"/rdap/entity/bad_handle", 400},
		{"/rdap/entity/", 400},
		{"/rdap/help/me", 400},
		{"/rdap/ips", 400},
		{"/rdap/ips?handle=a&name=b", 400},
		{"/rdap/ips?name=*", 400},
		{"/rdap/ips?name=a*b*", 400},
		{"/rdap/ips?name=a&name=b", 400},
		{"/rdap/ips?name=%zz", 400},
		{"/rdap/entities?name=x", 400},
		{"/rdap/ips/rirSearch1/sideways/193.0.0.0", 400},
		{"/rdap/ips/rirSearch2/rdap-up/193.0.0.0", 400},
		{"/rdap/autnums/rirSearch1/rdap-up/AS1", 400},
		{"/rdap/entity/NOBODY", 404},
		{"/rdap/ip/0.0.0.0/0", 404},
		{"/rdap/autnums/rirSearch1/rdap-down/3333", 404},
		{"/rdap/ips/rirSearch1/rdap-up/193.0.0.0/8", 404},
		{"/rdap/autnums/rirSearch1/rdap-down/3400-3300", 400},
		{"/rdap/autnums/rirSearch1/rdap-down/3400-", 400},
		{"/rdap/autnums/rirSearch1/rdap-up/0-4294967295", 404},
		{"/rdap/ips?name=NOBODY", 404},
		{"/rdap/entities?fn=nobody*", 404},
		{"/rdap/bootstrap/dns.json", 404},
		{"/rdap/domain/2.0.192.in-addr.arpa", 501},
		{"/rdap/nameserver/ns1.example", 501},
		{"/rdap/domains?name=example*", 501},
		{"/rdap/nameservers?ip=192.0.2.1", 501},
		{"/rdap/frobnicate/1", 501},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec, body := w.get(t, tc.path)
			wantError(t, tc.path, rec, body, tc.status)
		})
	}
	rec, body := call(t, w.h, http.MethodPost, "http://node.test/rdap/ip/193.0.1.1", "")
	wantError(t, "POST", rec, body, http.StatusMethodNotAllowed)
	if rec.Header().Get("Allow") == "" {
		t.Error("405 without Allow")
	}
	rec, _ = call(t, w.h, http.MethodOptions, "http://node.test/rdap/ip/193.0.1.1", "")
	wantRDAP(t, "OPTIONS", rec, http.StatusNoContent)
}

func TestHEAD(t *testing.T) {
	w := newWorld(t, Options{})
	get, gbody := w.get(t, "/rdap/ip/193.0.1.5")
	head, hbody := call(t, w.h, http.MethodHead, "http://node.test/rdap/ip/193.0.1.5", "")
	wantRDAP(t, "HEAD", head, http.StatusOK)
	if hbody != nil || head.Body.Len() != 0 {
		t.Errorf("HEAD has a body")
	}
	if gbody == nil || head.Header().Get("Content-Length") != strconv.Itoa(get.Body.Len()) {
		t.Errorf("HEAD Content-Length %q, GET body %d bytes", head.Header().Get("Content-Length"), get.Body.Len())
	}
	head, _ = call(t, w.h, http.MethodHead, "http://node.test/rdap/entity/NOBODY", "")
	wantRDAP(t, "HEAD 404", head, http.StatusNotFound)
	if head.Body.Len() != 0 {
		t.Errorf("HEAD 404 has a body")
	}
}

func TestSearches(t *testing.T) {
	w := newWorld(t, Options{})
	hA, hB := w.handle(t, "193.0.0.0/17"), w.handle(t, "193.0.128.0/17")
	tests := []struct {
		path    string
		results string // handles of the results, in order
		key     string // the member listing the results
	}{
		{"/rdap/ips?name=ORG-A", join([]string{hA, w.handle(t, "2001:600::/32")}), "ipSearchResults"},
		{"/rdap/ips?name=org-b", join([]string{w.handle(t, "193.0.1.0/24"), hB}), "ipSearchResults"},
		{"/rdap/ips?name=ORG-*", join([]string{hA, w.handle(t, "2001:600::/32"), w.handle(t, "193.0.1.0/24"), hB, w.handle(t, "193.0.2.0/24"), w.handle(t, "193.1.0.0-193.1.2.255")}), "ipSearchResults"},
		{"/rdap/ips?name=*-C", join([]string{w.handle(t, "193.0.2.0/24"), w.handle(t, "193.1.0.0-193.1.2.255")}), "ipSearchResults"},
		{"/rdap/ips?handle=" + hB, hB, "ipSearchResults"},
		{"/rdap/ips?handle=" + strings.ToLower(hB), hB, "ipSearchResults"},
		{"/rdap/autnums?name=ORG-C", w.handle(t, "AS3400-AS3409"), "autnumSearchResults"},
		{"/rdap/autnums?handle=" + w.handle(t, "AS3333"), w.handle(t, "AS3333"), "autnumSearchResults"},
		{"/rdap/entities?fn=alpha*", "ORG-A", "entitySearchResults"},
		{"/rdap/entities?fn=*TELECOM", "ORG-C", "entitySearchResults"},
		{"/rdap/entities?fn=Beta%20Hosting", "ORG-B", "entitySearchResults"},
		{"/rdap/entities?handle=ORG-*", "ORG-A ORG-B ORG-C", "entitySearchResults"},
		{"/rdap/entities?handle=R*-NCC", "RIPE-NCC", "entitySearchResults"},
		{"/rdap/entities?handle=afrinic", "AFRINIC", "entitySearchResults"},
		// Relation searches (RFC 9910), under their registered names and the bare words.
		{"/rdap/ips/rirSearch1/rdap-down/193.0.0.0/17", join([]string{w.handle(t, "193.0.1.0/24"), w.handle(t, "193.0.2.0/24")}), "ipSearchResults"},
		{"/rdap/ips/rirSearch1/down/193.0.0.0/16", join([]string{hA, hB}), "ipSearchResults"},
		{"/rdap/ips/rirSearch1/rdap-bottom/193.0.0.0/16", join([]string{hA, w.handle(t, "193.0.1.0/24"), w.handle(t, "193.0.2.0/24"), hB}), "ipSearchResults"},
		// Holdings inside leave gaps: the enclosing pool comes too.
		{"/rdap/ips/rirSearch1/bottom/193.0.0.0/15", join([]string{w.handle(t, "193.0.0.0/8"), hA, w.handle(t, "193.0.1.0/24"), w.handle(t, "193.0.2.0/24"), hB, w.handle(t, "193.1.0.0-193.1.2.255")}), "ipSearchResults"},
		{"/rdap/ips/rirSearch1/rdap-bottom/193.0.1.0/24", w.handle(t, "193.0.1.0/24"), "ipSearchResults"},
		{"/rdap/autnums/rirSearch1/rdap-down/3072-4095", join([]string{w.handle(t, "AS3333"), w.handle(t, "AS3400-AS3409")}), "autnumSearchResults"},
		// A number inside a block: the block is the most specific registration covering it.
		{"/rdap/autnums/rirSearch1/rdap-bottom/3405", w.handle(t, "AS3400-AS3409"), "autnumSearchResults"},
		{"/rdap/autnums/rirSearch1/rdap-bottom/3000-3500", join([]string{w.handle(t, "AS0-AS3071"), w.handle(t, "AS3072-AS4095"), w.handle(t, "AS3333"), w.handle(t, "AS3400-AS3409")}), "autnumSearchResults"},
		// Searches over several pools list only authoritative and IANA space.
		{"/rdap/ips/rirSearch1/rdap-down/0.0.0.0/0", join([]string{w.handle(t, "0.0.0.0-40.255.255.255"), w.handle(t, "42.0.0.0-192.0.1.255"), w.handle(t, "192.0.2.0/24"), w.handle(t, "192.0.3.0-192.255.255.255"), w.handle(t, "193.0.0.0/8"), w.handle(t, "194.0.0.0-255.255.255.255")}), "ipSearchResults"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			rec, body := w.get(t, tc.path)
			wantRDAP(t, tc.path, rec, http.StatusOK)
			wantTop(t, tc.path, body)
			if got := join(strs(body, "handle", tc.key)); got != tc.results {
				t.Errorf("results %s\nwant    %s", got, tc.results)
			}
			for _, n := range list(body, "notices") {
				if strings.HasPrefix(str(n, "type"), "result set truncated") {
					t.Errorf("truncated without reason")
				}
			}
		})
	}
	// Up and top answer one object.
	for _, tc := range []struct{ path, want string }{
		{"/rdap/ips/rirSearch1/rdap-up/193.0.1.0/24", hA},
		{"/rdap/ips/rirSearch1/up/193.0.1.7", w.handle(t, "193.0.1.0/24")},
		{"/rdap/ips/rirSearch1/rdap-up/193.0.0.0/17", w.handle(t, "193.0.0.0/8")},
		{"/rdap/ips/rirSearch1/rdap-top/193.0.1.7", w.handle(t, "193.0.0.0/8")},
		{"/rdap/autnums/rirSearch1/rdap-up/3333", w.handle(t, "AS3072-AS4095")},
		{"/rdap/autnums/rirSearch1/top/3405", w.handle(t, "AS3072-AS4095")},
		{"/rdap/autnums/rirSearch1/rdap-up/3405", w.handle(t, "AS3400-AS3409")},
		{"/rdap/autnums/rirSearch1/rdap-up/3400-3409", w.handle(t, "AS3072-AS4095")},
	} {
		rec, body := w.get(t, tc.path)
		wantRDAP(t, tc.path, rec, http.StatusOK)
		wantTop(t, tc.path, body)
		if str(body, "handle") != tc.want {
			t.Errorf("%s: %s, want %s", tc.path, str(body, "handle"), tc.want)
		}
	}
	// Every result is a whole object with its own links, entities and events.
	_, body := w.get(t, "/rdap/ips?name=ORG-B")
	for _, r := range list(body, "ipSearchResults") {
		if linkTo(r, "self") == "" || linkTo(r, "related") == "" || roles(r)["registrant"] != "ORG-B" || len(events(r)["last changed"]) != 1 || str(r, "parentHandle") == "" {
			t.Errorf("search result %v", r)
		}
	}
}

func TestTruncation(t *testing.T) {
	w := newWorld(t, Options{MaxResults: 2})
	for _, tc := range []struct{ path, results string }{
		{"/rdap/ips?name=ORG-*", "2"},
		{"/rdap/ips?handle=IPL-H*", "2"},
		{"/rdap/ips?handle=IPL-H1*", "2"},
		{"/rdap/entities?handle=*", ""}, // matches everything: refused (400)
		{"/rdap/entities?fn=*a*", ""},   // two wildcards: refused
		{"/rdap/entities?handle=ORG-*", "2"},
		{"/rdap/ips/rirSearch1/rdap-bottom/193.0.0.0/15", "2"},
		{"/rdap/ips/rirSearch1/rdap-down/0.0.0.0/0", "2"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec, body := w.get(t, tc.path)
			if tc.results == "" {
				wantError(t, tc.path, rec, body, http.StatusBadRequest)
				return
			}
			wantRDAP(t, tc.path, rec, http.StatusOK)
			n := 0
			for _, k := range []string{"ipSearchResults", "autnumSearchResults", "entitySearchResults"} {
				n += len(list(body, k))
			}
			if strconv.Itoa(n) != tc.results {
				t.Errorf("%d results, want %s", n, tc.results)
			}
			found := false
			for _, no := range list(body, "notices") {
				found = found || str(no, "type") == "result set truncated due to excessive load"
			}
			if !found {
				t.Errorf("no truncation notice in %v", at(body, "notices"))
			}
		})
	}
	// Exactly at the limit is not truncated.
	_, body := w.get(t, "/rdap/ips?name=ORG-B")
	for _, no := range list(body, "notices") {
		if str(no, "type") != "" {
			t.Errorf("notice %v on a complete result", no)
		}
	}
}

// TestHandleSearchRanges checks the id-range enumeration of handle searches against a plain
// scan of every id.
func TestHandleSearchRanges(t *testing.T) {
	x := &index{}
	var ids []uint64
	for id := uint64(1); id <= 2500; id += 7 {
		ids = append(ids, id)
	}
	for _, id := range ids {
		x.hold = append(x.hold, entry{id: id, served: true})
		x.byID[classIP] = append(x.byID[classIP], int32(len(x.hold)-1))
	}
	for _, p := range []string{"IPL-H1*", "IPL-H2*", "IPL-H24*", "IPL-H0*", "IPL-H*", "IPL-*", "I*", "IPL-H9999*", "IPL-H15", "IPL-H16", "*5", "IPL-H1*0", "X*"} {
		pat, err := parsePattern(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, limit := range []int{1, 5, 1000} {
			got, trunc := x.byHandle(classIP, pat, limit)
			var want []uint64
			for _, id := range ids {
				if pat.match("IPL-H" + strconv.FormatUint(id, 10)) {
					want = append(want, id)
				}
			}
			wantTrunc := len(want) > limit
			if wantTrunc {
				want = want[:limit]
			}
			var gotIDs []uint64
			for _, i := range got {
				gotIDs = append(gotIDs, x.hold[i].id)
			}
			if !slices.Equal(gotIDs, want) || trunc != wantTrunc {
				t.Errorf("%s limit %d: %v (truncated %v), want %v (%v)", p, limit, gotIDs, trunc, want, wantTrunc)
			}
		}
	}
}

func TestBootstrapFiles(t *testing.T) {
	w := newWorld(t, Options{})
	for _, tc := range []struct{ file, entries string }{
		{"ipv4.json", "193.0.0.0/8"},
		{"ipv6.json", "2001:600::/23"},
		{"asn.json", "3072-4095"},
	} {
		rec, body := w.get(t, "/rdap/bootstrap/"+tc.file)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("%s: %d %v", tc.file, rec.Code, rec.Header())
		}
		if str(body, "version") != "1.0" || str(body, "publication") != blockTime(5) {
			t.Errorf("%s: %v", tc.file, body)
		}
		if got := join(toStrings(list(body, "services", 0, 0))); got != tc.entries {
			t.Errorf("%s: entries %s, want %s", tc.file, got, tc.entries)
		}
		if got := join(toStrings(list(body, "services", 0, 1))); got != "https://rdap.test/rdap/" {
			t.Errorf("%s: URLs %s", tc.file, got)
		}
	}
	// Without a configured base URL, links and bootstrap files name the request's host.
	w2 := newWorld(t, Options{BaseURL: "", Source: w.c.App()})
	w2.h, _ = New(Options{Source: w.c.App(), RateLimit: -1})
	_, body := call(t, w2.h, http.MethodGet, "http://192.0.2.9:8080/rdap/bootstrap/asn.json", "")
	if got := join(toStrings(list(body, "services", 0, 1))); got != "http://192.0.2.9:8080/rdap/" {
		t.Errorf("derived base URL %s", got)
	}
	_, body = call(t, w2.h, http.MethodGet, "http://192.0.2.9:8080/rdap/ip/193.0.1.1", "")
	if got := linkTo(body, "related"); !strings.HasPrefix(got, "http://192.0.2.9:8080/v1/holdings/") {
		t.Errorf("derived history link %s", got)
	}
}

func TestHelp(t *testing.T) {
	w := newWorld(t, Options{})
	rec, body := w.get(t, "/rdap/help")
	wantRDAP(t, "help", rec, http.StatusOK)
	wantTop(t, "help", body)
	if str(body, "notices", 0, "title") != "Help" || len(list(body, "notices", 0, "description")) < 3 {
		t.Errorf("help %v", body)
	}
}

func TestRateLimit(t *testing.T) {
	reg := prometheus.NewRegistry()
	w := newWorld(t, Options{RateLimit: 0.5, RateBurst: 2, Registerer: reg})
	for i := range 2 {
		rec, _ := call(t, w.h, http.MethodGet, "http://node.test/rdap/help", "198.51.100.7:1000")
		wantRDAP(t, "within the burst", rec, http.StatusOK)
		_ = i
	}
	rec, body := call(t, w.h, http.MethodGet, "http://node.test/rdap/help", "198.51.100.7:1001")
	wantError(t, "over the limit", rec, body, http.StatusTooManyRequests)
	if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 || ra > 2 {
		t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	// Another client, and another IPv6 /64, have their own buckets; the same /64 does not.
	rec, _ = call(t, w.h, http.MethodGet, "http://node.test/rdap/help", "198.51.100.8:1000")
	wantRDAP(t, "another client", rec, http.StatusOK)
	for i := range 2 {
		rec, _ = call(t, w.h, http.MethodGet, "http://node.test/rdap/help", "[2001:db8:1:2::"+strconv.Itoa(i+1)+"]:443")
		wantRDAP(t, "IPv6 client in its burst", rec, http.StatusOK)
	}
	rec, _ = call(t, w.h, http.MethodGet, "http://node.test/rdap/help", "[2001:db8:1:2:ffff::9]:443")
	wantRDAP(t, "same IPv6 /64", rec, http.StatusTooManyRequests)
	if n := ipledgertest.MetricValue(t, w.h.(*handler).m.limited); n != 2 {
		t.Errorf("ipledger_rdap_rate_limited_total %v, want 2", n)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	requests := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "ipledger_rdap_requests_total" {
			for _, m := range mf.GetMetric() {
				requests += m.GetCounter().GetValue()
			}
		}
	}
	if requests != 7 {
		t.Errorf("ipledger_rdap_requests_total sums to %v, want 7", requests)
	}
}

// TestRateLimitTrusted: a trusted client is not limited; a trusted proxy's requests count
// against the client its X-Forwarded-For names; anyone else's X-Forwarded-For is ignored.
// (The limiter itself is tested in netguard.)
func TestRateLimitTrusted(t *testing.T) {
	trusted, err := netguard.ParseTrusted("192.0.2.1,10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, Options{RateLimit: 0.001, RateBurst: 1, Trusted: trusted})
	get := func(remote, xff string) int {
		req := httptest.NewRequest(http.MethodGet, "http://node.test/rdap/help", nil)
		req.RemoteAddr = remote
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		w.h.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range 5 {
		if c := get("192.0.2.1:1000", ""); c != http.StatusOK {
			t.Fatalf("trusted client, request %d: %d", i, c)
		}
	}
	// Through the trusted proxy 10.0.0.1: the client is 198.51.100.7, with one token.
	if c := get("10.0.0.1:1000", "203.0.113.9, 198.51.100.7, 10.0.0.2"); c != http.StatusOK {
		t.Fatalf("first request through the proxy: %d", c)
	}
	if c := get("10.0.0.1:1001", "1.2.3.4, 198.51.100.7"); c != http.StatusTooManyRequests {
		t.Fatalf("second request of the same client through the proxy: %d", c)
	}
	if c := get("10.0.0.1:1002", "198.51.100.8"); c != http.StatusOK {
		t.Fatalf("another client through the proxy: %d", c)
	}
	// An untrusted peer cannot name someone else, nor a trusted address, to dodge its limit.
	if c := get("198.51.100.9:1000", "192.0.2.1"); c != http.StatusOK {
		t.Fatalf("untrusted peer, first request: %d", c)
	}
	if c := get("198.51.100.9:1001", "192.0.2.1"); c != http.StatusTooManyRequests {
		t.Fatalf("untrusted peer with a spoofed X-Forwarded-For: %d", c)
	}
}

// fakeSource serves a given snapshot, can fail its history, and reads the rest from the
// app; like a node restored by state sync, its log cannot detail history entries, so the
// answers read block records instead.
type fakeSource struct {
	ipledger.Reader
	snap    *ipledger.Snapshot
	histErr error
}

func (f *fakeSource) Committed() *ipledger.Snapshot { return f.snap }
func (f *fakeSource) HistoryPage(ctx context.Context, obj string, after ipledger.HistoryPos, limit int) ([]ipledger.HistoryEntry, bool, error) {
	if f.histErr != nil {
		return nil, false, f.histErr
	}
	return f.Reader.HistoryPage(ctx, obj, after, limit)
}
func (f *fakeSource) HistoryDetailOf(ipledger.HistoryEntry) (ipledger.HistoryDetail, bool, error) {
	return ipledger.HistoryDetail{}, false, nil
}

func TestNotReadyAndFaults(t *testing.T) {
	w := newWorld(t, Options{})
	for _, snap := range []*ipledger.Snapshot{nil, {}, {Height: 0, State: w.c.App().Committed().State}} {
		h, err := New(Options{Source: &fakeSource{Reader: w.c.App(), snap: snap}, RateLimit: -1})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/rdap/ip/193.0.1.1", "/rdap/ips?name=ORG-A", "/rdap/entity/ORG-A", "/rdap/bootstrap/ipv4.json", "/rdap/ips/rirSearch1/rdap-up/193.0.1.1"} {
			rec, body := call(t, h, http.MethodGet, "http://node.test"+p, "")
			wantError(t, p+" before the first block", rec, body, http.StatusServiceUnavailable)
		}
		// Help needs no state.
		rec, _ := call(t, h, http.MethodGet, "http://node.test/rdap/help", "")
		wantRDAP(t, "help before the first block", rec, http.StatusOK)
	}
	h, _ := New(Options{Source: &fakeSource{Reader: w.c.App(), snap: w.c.App().Committed(), histErr: errors.New("disk on fire")}, RateLimit: -1})
	rec, body := call(t, h, http.MethodGet, "http://node.test/rdap/ip/193.0.1.1", "")
	wantError(t, "failing history", rec, body, http.StatusInternalServerError)
	if d := str(body, "description", 0); d != "internal error" {
		t.Errorf("internal details leak: %q", d)
	}
}

func TestParentURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://rdap.test/rdap/":       "https://rdap.test/",
		"https://x.test/registry/rdap/": "https://x.test/registry/",
		"http://127.0.0.1:8080/myrdap/": "http://127.0.0.1:8080/",
		"https://x.test/":               "https://x.test/",
	} {
		if got := parentURL(in); got != want {
			t.Errorf("parentURL(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestNewOptions(t *testing.T) {
	src := &fakeSource{}
	for _, o := range []Options{
		{},
		{Source: src, BaseURL: "ftp://x/rdap/"},
		{Source: src, BaseURL: "/rdap/"},
		{Source: src, APIBaseURL: "https://x/?q=1"},
		{Source: src, MaxResults: MaxMaxResults + 1},
		{Source: src, Redirects: map[string]string{"X": "not a url"}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Source: src, Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Source: src, Registerer: reg}); err == nil {
		t.Error("metrics registered twice without an error")
	}
}

// TestIndexReuse checks the search index is built once per state: a new block without a
// change reuses it, a change rebuilds it.
func TestIndexReuse(t *testing.T) {
	reg := prometheus.NewRegistry()
	w := newWorld(t, Options{Registerer: reg})
	m := w.h.(*handler).m
	w.get(t, "/rdap/ips?name=ORG-A")
	w.get(t, "/rdap/entities?fn=alpha*")
	if n := ipledgertest.MetricValue(t, m.indexBuilds); n != 1 {
		t.Fatalf("%v index builds for one state, want 1", n)
	}
	w.c.Block() // empty: same state root
	w.get(t, "/rdap/ips?name=ORG-A")
	if n := ipledgertest.MetricValue(t, m.indexBuilds); n != 1 {
		t.Fatalf("%v index builds after an empty block, want 1", n)
	}
	w.c.Block(w.c.Tx(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-D", Name: "Delta"}}}, ipledger.RIPENCC))
	_, body := w.get(t, "/rdap/entities?fn=delta")
	if n := ipledgertest.MetricValue(t, m.indexBuilds); n != 2 || str(body, "entitySearchResults", 0, "handle") != "ORG-D" {
		t.Fatalf("after a change: %v builds, results %v", n, at(body, "entitySearchResults"))
	}
}

// TestConcurrentSearches runs searches from several goroutines while blocks commit: every
// answer is complete for some committed state, and the index is built at most once per
// state a search saw (run with -race).
func TestConcurrentSearches(t *testing.T) {
	reg := prometheus.NewRegistry()
	w := newWorld(t, Options{Registerer: reg})
	const blocks = 5
	done := make(chan struct{})
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				path := []string{"/rdap/entities?handle=ORG-*", "/rdap/ips?name=ORG-B", "/rdap/ips/rirSearch1/rdap-bottom/193.0.0.0/15", "/rdap/ip/193.0.1.1"}[(g+i)%4]
				req := httptest.NewRequest(http.MethodGet, "http://node.test"+path, nil)
				rec := httptest.NewRecorder()
				w.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					errs <- fmt.Errorf("%s: %d %s", path, rec.Code, rec.Body.String())
					return
				}
			}
		})
	}
	for i := range blocks {
		w.c.Block(w.c.Tx(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: fmt.Sprintf("ORG-N%d", i), Name: "New"}}}, ipledger.RIPENCC))
		time.Sleep(20 * time.Millisecond)
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := ipledgertest.MetricValue(t, w.h.(*handler).m.indexBuilds); n < 1 || n > blocks+1 {
		t.Errorf("%v index builds for %d states", n, blocks+1)
	}
	_, body := w.get(t, "/rdap/entities?handle=ORG-N*")
	if got := len(list(body, "entitySearchResults")); got != blocks {
		t.Errorf("%d new organisations found, want %d", got, blocks)
	}
}

// TestClientGone: a lookup whose client has gone stops reading history and answers
// nothing, and logs nothing.
func TestClientGone(t *testing.T) {
	var logs bytes.Buffer
	w := newWorld(t, Options{RateLimit: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "https://rdap.test/rdap/ip/193.0.128.0/17", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	if rec.Body.Len() != 0 || logs.Len() != 0 {
		t.Fatalf("gone client: %d %s; log %s", rec.Code, rec.Body, logs.String())
	}
}

// TestIndexNotRebuiltForOlderState: a request holding a snapshot older than the indexed
// state is answered from the newer index, not by building the older one again (under
// load, requests that took their snapshot before a commit made the index flap between two
// states, one build each time).
func TestIndexNotRebuiltForOlderState(t *testing.T) {
	reg := prometheus.NewRegistry()
	w := newWorld(t, Options{Registerer: reg})
	h := w.h.(*handler)
	old := w.c.App().Committed()
	w.c.Block(w.c.Tx(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-NEW", Name: "New"}}}, ipledger.RIPENCC))
	cur := w.c.App().Committed()
	ctx := context.Background()
	x, err := h.idx.get(ctx, cur, h)
	if err != nil {
		t.Fatal(err)
	}
	y, err := h.idx.get(ctx, old, h)
	if err != nil {
		t.Fatal(err)
	}
	if n := ipledgertest.MetricValue(t, h.m.indexBuilds); n != 1 || y != x {
		t.Errorf("%v index builds; the older snapshot got index of height %d, want the newer one's (%d)", n, y.snap.Height, x.snap.Height)
	}
	if got := y.snapFor(old); got != cur {
		t.Errorf("answers on the newer index read height %d, want %d", got.Height, cur.Height)
	}
}
