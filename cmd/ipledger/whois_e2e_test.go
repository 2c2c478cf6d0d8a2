package main

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger/ipledgertest"
)

// rpslAttrs reads the attributes of the objects in a WHOIS answer: type → attribute → values
// (objects of one type merged), skipping comments.
func rpslAttrs(text string) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	var cur map[string][]string
	for _, line := range strings.Split(text, "\n") {
		switch {
		case line == "":
			cur = nil
		case strings.HasPrefix(line, "%"):
		default:
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			value = strings.TrimSpace(value)
			if cur == nil {
				if cur = out[name]; cur == nil {
					cur = map[string][]string{}
					out[name] = cur
				}
			}
			cur[name] = append(cur[name], value)
		}
	}
	return out
}

// TestWHOISEndToEnd runs `ipledger dev` importing AFRINIC's real delegated statistics of
// 2014-06 and queries its WHOIS service with the Debian whois client: plain lookups, -r,
// -x, -l and -L, -B, -T, AS numbers, organisation handles, a referral, a flag the server
// refuses; then -k stop-and-wait over a raw TCP connection (the client has no persistent
// mode).
func TestWHOISEndToEnd(t *testing.T) {
	client := ipledgertest.Program(t, "whois", "Debian package whois")
	data := ipledgertest.Data(t, "delegated/2014-06/delegated-afrinic-latest")

	waddr, whois := devWHOIS(t, client, data)

	// The record "afrinic|ZA|ipv4|41.0.0.0|2097152|20071126|allocated" of the file.
	alloc := "41.0.0.0 - 41.31.255.255"
	out := whois("41.0.0.1")
	a := rpslAttrs(out)
	in := a["inetnum"]
	if in == nil || in["inetnum"][0] != alloc || in["country"][0] != "ZA" || in["created"][0] != "2007-11-26" ||
		in["status"][0] != "ALLOCATED" || in["source"][0] != "IPLEDGER" || !strings.Contains(out, "this output has been filtered") {
		t.Fatalf("41.0.0.1:\n%s", out)
	}
	holder := in["org"][0]
	if o := a["organisation"]; o == nil || o["organisation"][0] != holder || !strings.Contains(strings.Join(o["remarks"], "\n"), "registered by AFRINIC") {
		t.Errorf("41.0.0.1: no organisation %s:\n%s", holder, out)
	}

	for _, c := range []struct {
		args      []string
		types     []string // object types the answer must hold, exactly
		want, not []string // substrings that must, and must not, be in the answer
	}{
		{args: []string{"-r", "41.0.0.1"}, types: []string{"inetnum"}, want: []string{"inetnum:        " + alloc}},
		{args: []string{"-r", "-x", "41.0.0.0/11"}, types: []string{"inetnum"}, want: []string{"inetnum:        " + alloc}},
		{args: []string{"-x", "41.0.0.0/12"}, want: []string{"%ERROR:101: no entries found"}},
		{args: []string{"-r", "-l", "41.0.0.0/11"}, types: []string{"inetnum"}, want: []string{"inetnum:        41.0.0.0 - 41.255.255.255", "netname:        AFRINIC"}, not: []string{alloc}},
		{args: []string{"-r", "-L", "41.0.0.1"}, types: []string{"inetnum"}, want: []string{"41.0.0.0 - 41.255.255.255", alloc}},
		{args: []string{"-B", "41.0.0.1"}, types: []string{"inetnum", "organisation"}, not: []string{"this output has been filtered"}},
		{args: []string{"-T", "aut-num", "41.0.0.1"}, want: []string{"%ERROR:101"}},
		{args: []string{"-r", "-T", "inetnum,aut-num", "AS2561"}, types: []string{"aut-num"}, want: []string{"aut-num:        AS2561", "status:         ASSIGNED", "created:        2007-09-20"}, not: []string{"country:"}},
		// One number, two objects as RIPE has them: the registry's pool piece (moved from
		// ARIN for this record) as an as-block, the holder's aut-num.
		{args: []string{"-r", "-L", "AS2561"}, types: []string{"as-block", "aut-num"}, want: []string{"as-block:       AS2561 - AS2561", "aut-num:        AS2561", "status:         ASSIGNED"}, not: []string{"country:", "status:         ALLOCATED"}},
		{args: []string{"-r", "-L", "-T", "aut-num", "AS2561"}, types: []string{"aut-num"}},
		{args: []string{"as2561"}, types: []string{"aut-num", "organisation"}},
		{args: []string{holder}, types: []string{"organisation"}, want: []string{"organisation:   " + holder, "mnt-by:         AFRINIC"}},
		{args: []string{"-i", "org", "-r", holder}, types: []string{"inetnum"}, want: []string{alloc}},
		{args: []string{"afrinic"}, types: []string{"organisation"}, want: []string{"org-type:       RIR"}},
		{args: []string{"8.8.8.8"}, want: []string{"managed by ARIN", "whois.arin.net"}, not: []string{"inetnum:"}},
		{args: []string{"-s", "RIPE", "41.0.0.1"}, want: []string{"%ERROR:102"}},
		{args: []string{"--", "-Z", "41.0.0.1"}, want: []string{"%ERROR:111"}},
		{args: []string{"-q", "version"}, want: []string{"whois-server-ipledger-"}},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out := whois(c.args...)
			a := rpslAttrs(out)
			var types []string
			for ty := range a {
				types = append(types, ty)
			}
			if c.types != nil && !sameSet(types, c.types) || c.types == nil && len(types) != 0 && !strings.Contains(out, "%ERROR") {
				t.Errorf("object types %v, want %v:\n%s", types, c.types, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
			for _, w := range c.not {
				if strings.Contains(out, w) {
					t.Errorf("%q in:\n%s", w, out)
				}
			}
		})
	}

	// -k: stop and wait over one connection; a bare -k closes it.
	conn, err := net.DialTimeout("tcp", waddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	readAnswer := func() string {
		var b strings.Builder
		for !strings.HasSuffix(b.String(), "\n\n\n") {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil {
				t.Fatalf("-k answer: %v after %q", err, b.String())
			}
		}
		return b.String()
	}
	io.WriteString(conn, "-k\r\n")
	for _, q := range []struct{ query, want string }{
		{"-r 41.0.0.1", "inetnum:        " + alloc},
		{"-r AS2561", "aut-num:        AS2561"},
		{"-r " + strings.ToLower(holder), "organisation:   " + holder},
	} {
		io.WriteString(conn, q.query+"\r\n")
		if ans := readAnswer(); !strings.Contains(ans, q.want) {
			t.Errorf("-k %s:\n%s", q.query, ans)
		}
	}
	io.WriteString(conn, "-k\r\n")
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after the closing -k: %q %v", rest, err)
	}
}

// devWHOIS starts `ipledger dev` importing data, waits for the import, and returns its
// WHOIS address and a function that queries it with the whois client.
func devWHOIS(t *testing.T, client, data string) (string, func(args ...string) string) {
	t.Helper()
	waddr := ipledgertest.FreeAddr(t)
	logs := startImport(t, data, 120*time.Second, "--whois", waddr).out
	if !strings.Contains(logs.String(), "serving WHOIS") {
		t.Errorf("no start line for WHOIS in the log:\n%s", logs.String())
	}

	host, port, _ := net.SplitHostPort(waddr)
	whois := func(args ...string) string {
		t.Helper()
		out, err := ipledgertest.RunTimeout(20*time.Second, client, append([]string{"-h", host, "-p", port}, args...)...)
		if err != nil {
			t.Fatalf("whois %v: %v\n%s", args, err, out)
		}
		// The client's own note when it passes RIPE flags to a server it does not know.
		return strings.TrimPrefix(string(out), "Warning: RIPE flags used with a traditional server.\n")
	}
	return waddr, whois
}

// TestWHOISPoolSpaceEndToEnd imports AFRINIC's extended statistics of 2026-08 (with
// reserved and available records) into `ipledger dev` and queries it with the Debian whois
// client: reserved IPv4 and IPv6 space answers as AFRINIC's RESERVED pool, available space
// and an available AS number (an as-block) as AVAILABLE, not as ALLOCATED; an allocation
// between two reserved blocks stays the holder's.
func TestWHOISPoolSpaceEndToEnd(t *testing.T) {
	client := ipledgertest.Program(t, "whois", "Debian package whois")
	data := ipledgertest.Data(t, "delegated/2026-08/delegated-afrinic-extended-latest")
	_, whois := devWHOIS(t, client, data)
	for _, c := range []struct {
		args  []string
		typ   string
		attrs map[string]string // attribute → the one value it must have
		want  string
	}{
		// "afrinic|ZZ|ipv4|41.57.112.0|2048||reserved|"
		{[]string{"-r", "41.57.112.1"}, "inetnum", map[string]string{"inetnum": "41.57.112.0 - 41.57.119.255", "org": "AFRINIC", "status": "RESERVED"}, "at depth 0 (registry pool)"},
		// "afrinic|NG|ipv4|41.57.120.0|1024|20120426|allocated|F367C175", then reserved again
		{[]string{"-r", "41.57.120.1"}, "inetnum", map[string]string{"inetnum": "41.57.120.0 - 41.57.123.255", "status": "ALLOCATED", "country": "NG"}, "at depth 1 (from the registry)"},
		{[]string{"-r", "41.57.124.1"}, "inetnum", map[string]string{"inetnum": "41.57.124.0 - 41.57.127.255", "status": "RESERVED"}, ""},
		// "afrinic|ZZ|ipv4|102.192.0.0|524288||available|", merged with the available space after it
		{[]string{"-r", "102.192.0.1"}, "inetnum", map[string]string{"org": "AFRINIC", "status": "AVAILABLE"}, "at depth 0 (registry pool)"},
		// "afrinic|ZZ|ipv6|2001:4201::|32||reserved|"
		{[]string{"-r", "-L", "2001:4201::1"}, "inet6num", map[string]string{"org": "AFRINIC", "status": "RESERVED"}, ""},
		// "afrinic|ZZ|asn|8770|1||available|"
		{[]string{"-r", "AS8770"}, "as-block", map[string]string{"as-block": "AS8770 - AS8770", "org": "AFRINIC"}, "ledger status AVAILABLE"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out := whois(c.args...)
			a := rpslAttrs(out)
			if len(a) != 1 || a[c.typ] == nil {
				t.Fatalf("want one %s object:\n%s", c.typ, out)
			}
			for name, v := range c.attrs {
				if got := a[c.typ][name]; len(got) != 1 || got[0] != v {
					t.Errorf("%s: %q, want %q:\n%s", name, got, v, out)
				}
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("want %q in:\n%s", c.want, out)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}
