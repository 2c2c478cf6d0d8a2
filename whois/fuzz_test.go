package whois

import (
	"errors"
	"strings"
	"testing"
)

// querySeeds are real-looking query lines: what the Debian whois client and RIPE users send.
var querySeeds = []string{
	"193.0.0.1", "-r -B -T inetnum,aut-num 193.0.0.1", "-i org org-a", "-x -l -s IPLEDGER as3333",
	"-q version ", "--resource 1.2.3.4", "-b -M 193.0.0.0/16", "-k", "-k -r 193.0.0.1", "AS3400 - AS3409",
	"193.0.0.0 - 193.0.0.255", "2001:600::/32", "-L 2001:600::1", "-m 193.0.6.0 - 193.0.9.255",
	"ORG-A-ABUSE", "IPL-H12", "-i mnt-by,abuse-c RIPE-NCC", "-T organisation ORG-B", "-V Md5.5.17 193.0.0.1",
	"-rBGK 10.0.0.1", "--select-types=role ORG-A", "-q sources", "help", "", "-", "--", "-- -k", "-T",
	"-i", "fe80::1%eth0", "1.2.3.4/33", "AS4294967296", "as1.10", "::ffff:193.0.0.1", "-M ::/0",
}

// FuzzParseQuery: the parser never panics; it accepts or refuses with a RIPE error code;
// what it accepts has an upper-case key and parses again to the same query.
func FuzzParseQuery(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		q, err := ParseQuery(line)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Code < 100 || qe.Code > 199 || q != nil {
				t.Fatalf("%q: %v %+v", line, err, q)
			}
			return
		}
		if q.Key != strings.ToUpper(q.Key) || (q.Key == "" && q.Info == "" && !q.Help && !q.Bare()) {
			t.Fatalf("%q: %+v", line, q)
		}
		if len(line) > MaxQueryBytes {
			t.Fatalf("%q: accepted %d bytes", line, len(line))
		}
	})
}

// FuzzQuery drives whole queries against the test state: never a panic, never an internal
// error, and every answer ends where a persistent client expects it to.
func FuzzQuery(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	kv, height := testState(f)
	s, err := New(Options{Source: newSource(kv, height)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string) {
		text := ask(s, line)
		if strings.Contains(text, "%ERROR:100") {
			t.Fatalf("%q: internal error\n%s", line, text)
		}
		if !strings.HasSuffix(text, ".\n\n\n") || strings.Count(text, "\n\n\n") != 1 {
			t.Fatalf("%q: answer does not end once with two empty lines\n%s", line, text)
		}
	})
}
