package whois

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

// Objects of the test state, as "type key".
const (
	pool193   = "inetnum 193.0.0.0 - 193.255.255.255"
	alloc16   = "inetnum 193.0.0.0 - 193.0.255.255"
	assign24  = "inetnum 193.0.0.0 - 193.0.0.255"
	sub4      = "inetnum 193.0.4.0 - 193.0.7.255"
	sub8      = "inetnum 193.0.8.0 - 193.0.11.255"
	assign4   = "inetnum 193.0.4.0 - 193.0.5.255"
	assign6   = "inetnum 193.0.6.0 - 193.0.6.255"
	piB       = "inetnum 193.1.0.0 - 193.1.0.99"
	low17     = "inetnum 193.2.0.0 - 193.2.127.255"
	high17    = "inetnum 193.2.128.0 - 193.2.255.255"
	pool6     = "inet6num 2001:600::/23"
	alloc6    = "inet6num 2001:600::/32"
	assign6B  = "inet6num 2001:600::/48"
	as3333    = "aut-num AS3333"
	asBlockC  = "as-block AS3400 - AS3409"
	asPool    = "as-block AS3072 - AS4095"
	orgA      = "organisation ORG-A"
	orgB      = "organisation ORG-B"
	orgC      = "organisation ORG-C"
	orgRIPE   = "organisation RIPE-NCC"
	roleA     = "role Abuse contact of ORG-A"
	abuseA    = "abuse@alpha.example"
	reserved  = "inetnum 10.0.0.0 - 10.255.255.255"
	filterMsg = "this output has been filtered"
)

// queryCase is one query and what its answer must hold.
type queryCase struct {
	q        string
	ids      []string // objects in order; nil with err set means none
	err      string   // %ERROR code, "" for none
	warn     string   // %WARNING code
	comments []string // substrings some comment line must contain
	absent   []string // substrings the whole answer must not contain
	check    func(t *testing.T, p parsed)
}

func TestQueries(t *testing.T) {
	kv, height := testState(t)
	s := newTestServer(t, Options{Source: newSource(kv, height)})
	asID := holdingAt(t, kv, "AS3333", 1).ID
	arinPool := holdingAt(t, kv, "194.0.0.1", 0).ID
	abuseLine := func(key string) string { return "Abuse contact for '" + key + "' is '" + abuseA + "'" }
	for _, c := range []queryCase{
		// Lookups and the hierarchy flags.
		{q: "193.0.0.1", ids: []string{assign24, orgC},
			comments: []string{"Information related to '193.0.0.0 - 193.0.0.255'", abuseLine("193.0.0.0 - 193.0.0.255"), filterMsg}},
		{q: "-r 193.0.0.1", ids: []string{assign24}},
		{q: "-r 193.0.0.0 - 193.0.0.255", ids: []string{assign24}},
		{q: "-r 193.0.0.77/24", ids: []string{assign24}},
		{q: "-x -r 193.0.8.0/22", ids: []string{sub8, sub8}, check: func(t *testing.T, p parsed) {
			if p.objects[0].attrs["org"][0] != "ORG-C" || p.objects[1].attrs["org"][0] != "ORG-B" {
				t.Errorf("exact matches out of tree order: %v %v", p.objects[0].attrs["org"], p.objects[1].attrs["org"])
			}
		}},
		{q: "-x 193.0.8.0/23", err: "101"},
		{q: "-l -r 193.0.8.0/22", ids: []string{alloc16}},
		{q: "-l -r 193.0.0.1", ids: []string{assign24}},
		{q: "-L -r 193.0.0.1", ids: []string{pool193, alloc16, assign24}},
		{q: "-m -r 193.0.0.0/16", ids: []string{assign24, sub4, sub8}},
		{q: "-M -r 193.0.0.0/16", ids: []string{assign24, sub4, assign4, assign6, sub8, sub8}},
		{q: "-M -r 193.0.0.0/8", ids: []string{alloc16, assign24, sub4, assign4, assign6, sub8, sub8, piB, low17, high17}},
		// The key straddles two sub-allocations: what lies inside it below them is first level.
		{q: "-m -r 193.0.6.0 - 193.0.9.255", ids: []string{assign6}},
		{q: "-m -r 192.255.255.0 - 193.0.0.255", ids: []string{assign24}},
		{q: "-M 0.0.0.0/0", err: "112"},
		{q: "-M ::/0", err: "112"},
		{q: "-m 2000::/11", err: "112"},
		{q: "-M -r 2000::/12", ids: []string{pool6, alloc6, assign6B}},
		{q: "-m -r 2001:600::/32", ids: []string{assign6B}},
		{q: "-m AS0-AS65536", err: "112"},
		{q: "-m -r AS0-AS65535", ids: []string{"as-block AS0 - AS3071", asPool}, comments: []string{"Space managed by ARIN"}},
		{q: "-m 192.0.0.0/7", err: "112"},
		{q: "-M -r 193.0.0.0/24", err: "101"},
		{q: "0.0.0.0/0", err: "101"},
		{q: "192.0.0.0-193.0.0.5", err: "101"},
		{q: "193.0.0.0/33", err: "101"},
		{q: "-r 10.0.0.1", ids: []string{reserved}, check: func(t *testing.T, p parsed) {
			if o := p.objects[0]; o.attrs["status"][0] != "RESERVED" || o.attrs["netname"][0] != ipledger.IANA {
				t.Errorf("IANA space: %v", o.attrs)
			}
		}},
		{q: "2001:600::1", ids: []string{assign6B, orgB}},
		{q: "-r 2001:600:0:0:0:0:0:ABCD", ids: []string{assign6B}},
		{q: "-L -r 2001:600::/40", ids: []string{pool6, alloc6}},
		// Referrals for space of a registry not on the ledger.
		{q: "194.0.0.1", comments: []string{"managed by ARIN", "whois -h whois.arin.net 194.0.0.1"}},
		{q: "-L 194.0.0.0/16", comments: []string{"managed by ARIN"}},
		{q: "AS4100", comments: []string{"managed by ARIN", "whois.arin.net AS4100"}},
		{q: fmt.Sprintf("IPL-H%d", arinPool), comments: []string{"managed by ARIN"}},
		{q: "-m -r AS4000-AS5119", comments: []string{"Space managed by ARIN is not on this ledger yet"}},
		{q: "-m -r AS3300-AS5119", ids: []string{as3333, asBlockC}, comments: []string{"Space managed by ARIN"}},
		// AS numbers.
		{q: "AS3333", ids: []string{as3333, orgA, roleA}, absent: []string{"abuse-mailbox:"},
			comments: []string{abuseLine("AS3333"), filterMsg}, check: func(t *testing.T, p parsed) {
				if src := p.objects[2].attrs["source"][0]; src != "IPLEDGER # Filtered" {
					t.Errorf("filtered role's source is %q", src)
				}
			}},
		{q: "-B AS3333", ids: []string{as3333, orgA, roleA}, absent: []string{filterMsg}, check: func(t *testing.T, p parsed) {
			if got := p.objects[2].attrs["abuse-mailbox"]; !slices.Equal(got, []string{abuseA}) {
				t.Errorf("-B role abuse-mailbox %v", got)
			}
		}},
		{q: "as3333", ids: []string{as3333, orgA, roleA}},
		{q: "AS3405", ids: []string{asBlockC, orgC}},
		{q: "-r AS3072", ids: []string{asPool}},
		{q: "-L -r AS3333", ids: []string{asPool, as3333}},
		{q: "-x -r AS3400 - AS3409", ids: []string{asBlockC}},
		{q: fmt.Sprintf("-r IPL-H%d", asID), ids: []string{as3333}},
		{q: fmt.Sprintf("-r ipl-h%d", asID), ids: []string{as3333}},
		{q: "IPL-H999999", err: "101"},
		// Organisations and roles.
		{q: "ORG-A", ids: []string{orgA, roleA}},
		{q: "org-a", ids: []string{orgA, roleA}},
		{q: "-r ORG-A", ids: []string{orgA}},
		{q: "ORG-B", ids: []string{orgB}, check: func(t *testing.T, p parsed) {
			o := p.objects[0]
			if !slices.Equal(o.attrs["mnt-by"], []string{ipledger.RIPENCC}) || !slices.Contains(o.attrs["remarks"], "opaque-id B-1 in RIPE-NCC's delegated statistics") ||
				!slices.Equal(o.attrs["country"], []string{"DE"}) || !slices.Equal(o.attrs["org-name"], []string{"Holder of record B-1 (imported)"}) {
				t.Errorf("keyless imported holder: %v", o.attrs)
			}
		}},
		{q: "ORG-A-ABUSE", ids: []string{roleA, orgA}},
		{q: "org-c-abuse", err: "101"},
		{q: "NO-SUCH-ORG", err: "101"},
		{q: "-r RIPE-NCC", ids: []string{orgRIPE}, check: func(t *testing.T, p parsed) {
			if ty := p.objects[0].attrs["org-type"]; !slices.Equal(ty, []string{"RIR"}) {
				t.Errorf("org-type %v", ty)
			}
		}},
		// Type selection.
		{q: "-T inetnum 193.0.0.1", ids: []string{assign24, orgC}},
		{q: "-T INETNUM -r 193.0.0.1", ids: []string{assign24}},
		{q: "-T aut-num 193.0.0.1", err: "101"},
		{q: "-T route 193.0.0.1", err: "101"},
		{q: "--resource ORG-A", err: "101"},
		{q: "--resource -r 193.0.0.1", ids: []string{assign24}},
		{q: "-T organisation,role ORG-A", ids: []string{orgA, roleA}},
		// Inverse lookups.
		{q: "-i org -r ORG-C", ids: []string{assign24, sub4, sub8, high17, asBlockC}},
		{q: "-i org ORG-A", ids: []string{alloc16, orgA, roleA, low17, alloc6, as3333}},
		{q: "-i abuse-c -r ORG-A-ABUSE", ids: []string{orgA, alloc16, low17, alloc6, as3333}},
		{q: "-i mnt-by -r -T organisation RIPE-NCC", ids: []string{orgRIPE, orgA, orgB, orgC}},
		{q: "-i mnt-by -r -T inetnum,inet6num RIPE-NCC", ids: []string{pool193, pool6, assign4, assign6, sub8, piB, assign6B}},
		{q: "-i org NO-SUCH-ORG", err: "101"},
		{q: "-i mnt-by ORG-B", err: "101"},
		// Output forms.
		{q: "-b 193.0.0.1", ids: []string{assign24}, check: func(t *testing.T, p parsed) {
			if a := p.objects[0].attrs; len(a) != 2 || !slices.Equal(a["abuse-mailbox"], []string{abuseA}) {
				t.Errorf("brief: %v", a)
			}
		}},
		{q: "-b 193.2.200.1", ids: []string{high17}, comments: []string{"No abuse contact registered for 193.2.128.0 - 193.2.255.255"}},
		{q: "-K 193.0.0.1", ids: []string{assign24}, check: func(t *testing.T, p parsed) {
			if len(p.objects[0].attrs) != 1 {
				t.Errorf("-K: %v", p.objects[0].attrs)
			}
		}},
		{q: "-G -r 193.0.0.1", ids: []string{assign24}, absent: []string{"Information related"}},
		{q: "-x -l -r 193.0.8.0/22", ids: []string{alloc16}, warn: "901"},
		{q: "-l ORG-A", ids: []string{orgA, roleA}, warn: "902"},
		{q: "help", comments: []string{"-x exact match", "-k persistent"}},
		// Errors.
		{q: "", err: "106"},
		{q: "-r", err: "106"},
		{q: "-T foo 193.0.0.1", err: "103"},
		{q: "-s RIPE 193.0.0.1", err: "102"},
		{q: "-s ipledger -r 193.0.0.1", ids: []string{assign24}},
		{q: "-Z 193.0.0.1", err: "111"},
		{q: "--nonsense 193.0.0.1", err: "111"},
		{q: "-i netname X", err: "105"},
		{q: "-i foo X", err: "104"},
		{q: "193.0.0.1%eth0", err: "108"},
		{q: "-q foo", err: "111"},
		{q: "-q version ORG-A", err: "109"},
		{q: "-i org -x ORG-A", err: "109"},
		{q: "-T inetnum -T inetnum 193.0.0.1", err: "110"},
		{q: "-T", err: "111"},
		{q: strings.Repeat("1", MaxQueryBytes+1), err: "107"},
	} {
		t.Run(c.q, func(t *testing.T) {
			text := ask(s, c.q)
			p := parseAnswer(t, text)
			checkCase(t, c, text, p)
		})
	}
}

func checkCase(t *testing.T, c queryCase, text string, p parsed) {
	t.Helper()
	if !strings.HasSuffix(text, ".\n\n\n") || strings.Contains(strings.TrimSuffix(text, "\n\n\n"), "\n\n\n") {
		t.Errorf("answer does not end with one closing comment and two empty lines:\n%s", text)
	}
	var wantErr []string
	if c.err != "" {
		wantErr = []string{c.err}
	}
	if !slices.Equal(p.errors, wantErr) {
		t.Errorf("errors %v, want %v\n%s", p.errors, wantErr, text)
	}
	var wantWarn []string
	if c.warn != "" {
		wantWarn = []string{c.warn}
	}
	if !slices.Equal(p.warnings, wantWarn) {
		t.Errorf("warnings %v, want %v\n%s", p.warnings, wantWarn, text)
	}
	if !slices.Equal(p.ids(), c.ids) {
		t.Errorf("objects\n  %s\nwant\n  %s\n%s", strings.Join(p.ids(), "\n  "), strings.Join(c.ids, "\n  "), text)
	}
	for _, sub := range c.comments {
		if !p.hasComment(sub) {
			t.Errorf("no comment with %q:\n%s", sub, text)
		}
	}
	for _, sub := range c.absent {
		if strings.Contains(text, sub) {
			t.Errorf("answer holds %q:\n%s", sub, text)
		}
	}
	for _, o := range p.objects {
		if src := o.attrs["source"]; o.typ != "" && len(o.attrs) > 2 && (len(src) != 1 || !strings.HasPrefix(src[0], SourceName)) {
			t.Errorf("%s %s has source %v", o.typ, o.key, src)
		}
	}
	if c.check != nil && len(p.objects) == len(c.ids) {
		c.check(t, p)
	}
}

// holdingAt returns the holding at depth in the lookup chain of key.
func holdingAt(t testing.TB, kv ipledger.KV, key string, depth int) *ipledger.Holding {
	t.Helper()
	chn, err := ledger.Lookup(kv, res(key))
	if err != nil || len(chn) <= depth {
		t.Fatalf("lookup %s: %v %v", key, chn, err)
	}
	return chn[depth]
}

// TestHoldingObject pins the attributes of one holding against the ledger's record: handle,
// history path, holder data, dates.
func TestHoldingObject(t *testing.T) {
	kv, height := testState(t)
	s := newTestServer(t, Options{Source: newSource(kv, height)})
	for _, key := range []string{"193.2.200.1", "193.1.0.5", "2001:600::1", "AS3333", "AS3401"} {
		t.Run(key, func(t *testing.T) {
			chn, err := ledger.Lookup(kv, res(key))
			if err != nil {
				t.Fatal(err)
			}
			h := chn[len(chn)-1]
			holder, err := ledger.Org(kv, h.Holder)
			if err != nil {
				t.Fatal(err)
			}
			p := parseAnswer(t, ask(s, "-r "+key))
			if len(p.objects) != 1 {
				t.Fatalf("%d objects", len(p.objects))
			}
			a := p.objects[0].attrs
			want := map[string][]string{
				"org":           {h.Holder},
				"descr":         {holder.Name},
				"status":        {string(h.Status)},
				"created":       {h.Registered},
				"last-modified": {timestamp(h.Changed)},
				"mnt-by":        maintainers(holder),
				"source":        {SourceName},
			}
			// aut-num and as-block carry no country, as RIPE's; aut-num has RIPE's status
			// words, as-block none (the ledger's word is a remark).
			switch typ := p.objects[0].typ; {
			case typ == typeAutNum:
				want["status"] = []string{autNumStatus(h.Status)}
				want["country"] = nil
			case typ == typeASBlock:
				want["status"] = nil
				want["country"] = nil
			case h.Country != "":
				want["country"] = []string{h.Country}
			}
			for name, v := range want {
				if !slices.Equal(a[name], v) {
					t.Errorf("%s: %v, want %v", name, a[name], v)
				}
			}
			if typ := p.objects[0].typ; typ == typeInetnum || typ == typeInet6num {
				if !slices.Equal(a["netname"], []string{h.Holder}) {
					t.Errorf("netname %v", a["netname"])
				}
			}
			rem := strings.Join(a["remarks"], "\n")
			if !strings.Contains(rem, "ledger handle "+h.Handle()) || !strings.Contains(rem, fmt.Sprintf("/v1/holdings/%d ", h.ID)) {
				t.Errorf("remarks lack the handle or history path:\n%s", rem)
			}
			if h.Origin != 0 && !strings.Contains(rem, "split from "+ipledger.HoldingHandle(h.Origin)) {
				t.Errorf("remarks lack the origin %d:\n%s", h.Origin, rem)
			}
		})
	}
}

func TestInfoQueries(t *testing.T) {
	kv, height := testState(t)
	s := newTestServer(t, Options{Source: newSource(kv, height)})
	for _, c := range []struct{ q, want string }{
		{"-q version", "% whois-server-ipledger-" + Version + "\n"},
		{"-q TYPES", "\n" + strings.Join(servedTypes, "\n") + "\n\n"},
		{"--types", "\n" + strings.Join(servedTypes, "\n") + "\n\n"},
		{"-q sources", fmt.Sprintf("\n%s:3:N:1-%d\n\n", SourceName, height)},
		{"--list-sources", fmt.Sprintf("\n%s:3:N:1-%d\n\n", SourceName, height)},
	} {
		t.Run(c.q, func(t *testing.T) {
			text := ask(s, c.q)
			if !strings.Contains(text, c.want) || strings.Contains(text, "%ERROR") || strings.Contains(text, filterMsg) {
				t.Errorf("want %q in\n%s", c.want, text)
			}
		})
	}
}

// TestNotReady: a node that has not committed a block answers, and does not crash.
func TestNotReady(t *testing.T) {
	for name, src := range map[string]*fakeSource{
		"nil snapshot": {},
		"height 0":     newSource(store.NewMemKV(), 0),
	} {
		t.Run(name, func(t *testing.T) {
			s := newTestServer(t, Options{Source: src})
			for _, q := range []string{"193.0.0.1", "ORG-A", "-i org ORG-A", "-M 193.0.0.0/8", "-q sources"} {
				text := ask(s, q)
				p := parseAnswer(t, text)
				if q == "-q sources" {
					if !strings.Contains(text, SourceName+":3:N:1-0") {
						t.Errorf("%s: %s", q, text)
					}
					continue
				}
				if !slices.Equal(p.errors, []string{"101"}) || !p.hasComment("not committed its first block") {
					t.Errorf("%s: %s", q, text)
				}
			}
		})
	}
}

// TestInternalError: a failing store answers %ERROR:100 without details, and logs them.
func TestInternalError(t *testing.T) {
	var logs bytes.Buffer
	s := newTestServer(t, Options{Source: newSource(ipledgertest.FailKV{}, 5), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, q := range []string{"193.0.0.1", "ORG-A", "-i org ORG-A", "-M 193.0.0.0/16", "IPL-H4"} {
		logs.Reset()
		text := ask(s, q)
		p := parseAnswer(t, text)
		if !slices.Equal(p.errors, []string{"100"}) || strings.Contains(text, "sector 7") {
			t.Errorf("%s: %s", q, text)
		}
		if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "sector 7") {
			t.Errorf("%s: log %q", q, logs.String())
		}
	}
}

// TestObjectLimit: -M and inverse answers stop at MaxObjects and say so.
func TestObjectLimit(t *testing.T) {
	kv, height := testState(t)
	s := newTestServer(t, Options{Source: newSource(kv, height), MaxObjects: 3})
	for _, q := range []string{"-M -r 193.0.0.0/8", "-i mnt-by -r RIPE-NCC", "-i org -r ORG-C"} {
		p := parseAnswer(t, ask(s, q))
		if len(p.objects) != 3 || !p.hasComment("cut at 3 objects") {
			t.Errorf("%s: %v %v", q, p.ids(), p.comments)
		}
	}
	// Exactly at the limit is not cut.
	s = newTestServer(t, Options{Source: newSource(kv, height), MaxObjects: 3})
	if p := parseAnswer(t, ask(s, "-m -r 193.0.0.0/16")); len(p.objects) != 3 || p.hasComment("cut at") {
		t.Errorf("-m at the limit: %v %v", p.ids(), p.comments)
	}
}

// TestInverseIndexAge: the inverse index is rebuilt for a new height only after
// IndexMinAge; meanwhile answers never show what changed, and say which block they are from.
func TestInverseIndexAge(t *testing.T) {
	r := newTestRegistry(t)
	height := r.Height()
	src := newSource(r.KV(), height)
	now := genesisTime
	s := newTestServer(t, Options{Source: src, IndexMinAge: time.Minute, now: func() time.Time { return now }})
	if p := parseAnswer(t, ask(s, "-i org -r ORG-C")); len(p.objects) != 5 {
		t.Fatalf("before: %v", p.ids())
	}
	// ORG-C transfers 193.2.128.0/17 back to ORG-A in a later block.
	next := r.Fork(store.NewMemKV())
	next.Apply(ipledger.KindTransfer, ipledger.TransferBody{Resource: res("193.2.128.0/17"), To: "ORG-A"}, "ORG-C", "ORG-A")
	src.snap.Store(&ipledger.Snapshot{State: next.KV(), Height: next.Height()})
	p := parseAnswer(t, ask(s, "-i org -r ORG-C"))
	if slices.Contains(p.ids(), high17) || len(p.objects) != 4 || !p.hasComment(fmt.Sprintf("index of block %d", height)) {
		t.Errorf("stale index: %v %v", p.ids(), p.comments)
	}
	// ORG-A's new holding is missing until the rebuild, which comes after IndexMinAge.
	if p := parseAnswer(t, ask(s, "-i org -r ORG-A")); slices.Contains(p.ids(), high17) {
		t.Errorf("index rebuilt too early: %v", p.ids())
	}
	now = now.Add(2 * time.Minute)
	p = parseAnswer(t, ask(s, "-i org -r ORG-A"))
	if !slices.Contains(p.ids(), high17) || p.hasComment("index of block") {
		t.Errorf("after rebuild: %v %v", p.ids(), p.comments)
	}
}
