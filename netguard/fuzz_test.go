package netguard

import (
	"testing"
)

// FuzzParseTrusted: whatever parses prints as a list that parses to the same set.
func FuzzParseTrusted(f *testing.F) {
	for _, s := range []string{"", "127.0.0.1", "192.0.2.0/24,2001:db8::/32", "::ffff:10.0.0.0/104", " 10.0.0.1 ,, fe80::/10", "1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tr, err := ParseTrusted(s)
		if err != nil {
			return
		}
		again, err := ParseTrusted(tr.String())
		if err != nil || again.String() != tr.String() {
			t.Fatalf("%q printed %q, which parses to %v (%v)", s, tr.String(), again, err)
		}
	})
}

// FuzzClient: the client named through X-Forwarded-For is never a trusted address unless
// reported as trusted, and an untrusted peer is always its own client.
func FuzzClient(f *testing.F) {
	f.Add("10.0.0.1:80", "203.0.113.5, 10.0.0.2")
	f.Add("198.51.100.1:80", "10.0.0.1")
	f.Add("[::ffff:10.0.0.1]:1", "[2001:db8::1]:443, bogus")
	tr, _ := ParseTrusted("10.0.0.0/8")
	f.Fuzz(func(t *testing.T, remote, xff string) {
		a, trusted := tr.Client(remote, []string{xff})
		peer := ParseHostAddr(remote)
		if !tr.Contains(peer) && (a != peer || trusted) {
			t.Fatalf("untrusted peer %v: client %v trusted %v", peer, a, trusted)
		}
		if !trusted && a.IsValid() && tr.Contains(a) && a != peer {
			t.Fatalf("client %v is trusted but not reported so", a)
		}
		_ = KeyOf(a).String()
	})
}
