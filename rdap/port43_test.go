package rdap

import (
	"net/netip"
	"strings"
	"testing"
)

// TestPort43 checks the WHOIS server named by Options.Port43 is the port43 member of every
// object class (RFC 9083 §4.7), nested entities included, and that no object carries one
// when it is unset.
func TestPort43(t *testing.T) {
	paths := []string{"/rdap/ip/193.0.1.5", "/rdap/autnum/3333", "/rdap/entity/ORG-B"}
	for _, port43 := range []string{"whois.example.net", ""} {
		w := newWorld(t, Options{Port43: port43})
		for _, p := range paths {
			rec, body := w.get(t, p)
			wantRDAP(t, p, rec, 200)
			if got := str(body, "port43"); got != port43 {
				t.Errorf("Port43 %q: %s has port43 %q", port43, p, got)
			}
			for _, e := range list(body, "entities") {
				if got := str(e, "port43"); got != port43 {
					t.Errorf("Port43 %q: %s: entity %s has port43 %q", port43, p, str(e, "handle"), got)
				}
			}
			if port43 == "" && strings.Contains(rec.Body.String(), `"port43"`) {
				t.Errorf("no Port43: %s names one:\n%s", p, rec.Body.String())
			}
		}
	}
}

// TestCheckPort43: a host name or an IP address, never a port, scheme or URL.
func TestCheckPort43(t *testing.T) {
	for _, ok := range []string{"", "whois.example.net", "whois.example.net.", "WHOIS-1.Example.NET", "localhost",
		"192.0.2.43", "2001:db8::43", strings.Repeat("a", 63) + ".example"} {
		if err := CheckPort43(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"whois.example.net:43", "192.0.2.43:43", "[2001:db8::43]", "[2001:db8::43]:43",
		"whois://whois.example.net", "https://whois.example.net/", "whois.example.net/x", "-whois.example.net",
		"whois-.example.net", "whois..example.net", ".", "..", "who is.example.net", "whois.example.net\r\n",
		"192.0.2.999", "1.2.3", "fe80::1%eth0", "whois_1.example.net", strings.Repeat("a", 64) + ".example",
		strings.Repeat("abcdefghi.", 26) + "net", "wh\u00f6is.example.net"} {
		if err := CheckPort43(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := New(Options{Source: newWorld(t, Options{}).c.App(), Port43: "whois.example.net:43"}); err == nil {
		t.Error("New took a port43 with a port")
	}
}

// FuzzCheckPort43: whatever CheckPort43 accepts is an IP address or dot-separated labels
// of letters, digits and hyphens: no port, scheme, path, space or control can pass.
func FuzzCheckPort43(f *testing.F) {
	for _, s := range []string{"whois.example.net", "192.0.2.43", "2001:db8::43", "whois.example.net:43", "[::1]", "https://x/", "a..b", "1.2.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckPort43(s) != nil || s == "" {
			return
		}
		if _, err := netip.ParseAddr(s); err == nil {
			return
		}
		if len(s) > 254 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != "" || strings.Contains(s, "..") {
			t.Fatalf("accepted %q", s)
		}
	})
}
