package wallet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/stateproof"
)

// memKeys is a Keyring in memory.
type memKeys struct {
	mu   sync.Mutex
	keys map[string]ipledger.PrivateKey
}

func (m *memKeys) Names() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for n := range m.keys {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

func (m *memKeys) Key(name string) (ipledger.PrivateKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[name]
	if !ok {
		return k, fmt.Errorf("no key %q", name)
	}
	return k, nil
}

func (m *memKeys) Create(name string) (ipledger.PublicKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[name]; ok || name == "" {
		return ipledger.PublicKey{}, fmt.Errorf("key %q exists or is unnamed", name)
	}
	k, err := ipledger.GenerateKey(nil)
	m.keys[name] = k
	return k.Public(), err
}

// testWallet serves a wallet whose node does not answer: the rules under test come before
// any read.
func testWallet(t *testing.T) (*Server, string, *memKeys) {
	t.Helper()
	k, _ := ipledger.GenerateKey(nil)
	keys := &memKeys{keys: map[string]ipledger.PrivateKey{"ORG-A": k}}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Node: &client.Client{Base: "http://127.0.0.1:1"}, Trust: &stateproof.Trust{ChainID: "test"}, Keys: keys}, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go s.Serve(ctx, ln)
	t.Cleanup(cancel)
	return s, "http://" + ln.Addr().String(), keys
}

// call makes one request as a browser (or an attacker) would, following no redirect.
func call(t *testing.T, method, u string, hdr map[string]string, form url.Values) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, r *http.Response) string {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestListenLoopbackOnly: the wallet refuses every address but a loopback IP.
func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:0", "localhost:0", "example.net:0", "127.0.0.1"} {
		ln, err := Listen(addr)
		if err == nil {
			ln.Close()
			t.Errorf("Listen(%q) took it", addr)
		} else if addr != "127.0.0.1" && !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Listen(%q): %v, want ErrNotLoopback", addr, err)
		}
	}
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

// TestSecurityRules tries what an attacker would: no session, a wrong token, another
// Host (DNS rebinding), a foreign or missing Origin, a missing or old CSRF token; each is
// refused, every answer forbids framing, and the login cookie is HttpOnly and
// SameSite=Strict.
func TestSecurityRules(t *testing.T) {
	s, base, keys := testWallet(t)
	// The old CSRF token: another wallet's.
	old, _ := New(Options{Node: &client.Client{Base: "http://127.0.0.1:1"}, Trust: &stateproof.Trust{ChainID: "test"}, Keys: keys}, s.addr)

	framing := func(name string, r *http.Response) {
		t.Helper()
		if r.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: framing headers %q, %q", name, r.Header.Get("X-Frame-Options"), r.Header.Get("Content-Security-Policy"))
		}
	}

	// No session, wrong token.
	r := call(t, "GET", base+"/", nil, nil)
	framing("no session", r)
	if r.StatusCode != http.StatusUnauthorized {
		t.Errorf("no session: %d", r.StatusCode)
	}
	if r := call(t, "GET", base+"/login?token="+old.token, nil, nil); r.StatusCode != http.StatusUnauthorized || r.Header.Get("Set-Cookie") != "" {
		t.Errorf("another start's token: %d, cookie %q", r.StatusCode, r.Header.Get("Set-Cookie"))
	}
	if r := call(t, "GET", base+"/login", nil, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d", r.StatusCode)
	}
	if r := call(t, "GET", base+"/", map[string]string{"Cookie": cookieName + "=" + old.session}, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("another start's cookie: %d", r.StatusCode)
	}

	// The printed URL logs in.
	r = call(t, "GET", s.URL(), nil, nil)
	framing("login", r)
	var session *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == cookieName {
			session = c
		}
	}
	if r.StatusCode != http.StatusSeeOther || session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || r.Header.Get("Location") != "/" {
		t.Fatalf("login: %d, cookie %+v, location %q", r.StatusCode, session, r.Header.Get("Location"))
	}
	cookie := cookieName + "=" + session.Value
	if r := call(t, "GET", base+"/wallet/keys", map[string]string{"Cookie": cookie}, nil); r.StatusCode != http.StatusOK {
		t.Errorf("with the session: %d", r.StatusCode)
	}

	// DNS rebinding: the right cookie, another name for the address.
	u, _ := url.Parse(base)
	for _, host := range []string{"evil.example", "evil.example:" + u.Port(), "localhost:" + u.Port(), "127.0.0.2:" + u.Port()} {
		r := call(t, "GET", base+"/wallet/keys", map[string]string{"Cookie": cookie, "Host": host}, nil)
		framing("host "+host, r)
		if r.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host %s: %d", host, r.StatusCode)
		}
	}

	// A post: create a key. Each rule on its own.
	good := url.Values{csrfField: {s.csrf}, "name": {"NEW-KEY"}}
	origin := "http://" + s.addr
	for _, c := range []struct {
		name string
		hdr  map[string]string
		form url.Values
	}{
		{"foreign origin", map[string]string{"Cookie": cookie, "Origin": "http://evil.example"}, good},
		{"null origin", map[string]string{"Cookie": cookie, "Origin": "null"}, good},
		{"no origin", map[string]string{"Cookie": cookie}, good},
		{"no csrf", map[string]string{"Cookie": cookie, "Origin": origin}, url.Values{"name": {"NEW-KEY"}}},
		{"old csrf", map[string]string{"Cookie": cookie, "Origin": origin}, url.Values{csrfField: {old.csrf}, "name": {"NEW-KEY"}}},
		{"no session", map[string]string{"Origin": origin}, good},
	} {
		r := call(t, "POST", base+"/wallet/keys", c.hdr, c.form)
		framing(c.name, r)
		if r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d", c.name, r.StatusCode)
		}
		if _, err := keys.Key("NEW-KEY"); err == nil {
			t.Fatalf("%s: the key was created", c.name)
		}
	}
	r = call(t, "POST", base+"/wallet/keys", map[string]string{"Cookie": cookie, "Origin": origin}, good)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("a good post: %d %s", r.StatusCode, readAll(t, r))
	}
	if _, err := keys.Key("NEW-KEY"); err != nil {
		t.Fatalf("a good post created no key: %v", err)
	}

	// The keys page: public keys only, and every post form carries the CSRF token.
	r = call(t, "GET", base+"/wallet/keys", map[string]string{"Cookie": cookie}, nil)
	framing("keys", r)
	page := readAll(t, r)
	for _, n := range []string{"ORG-A", "NEW-KEY"} {
		k, _ := keys.Key(n)
		if strings.Contains(page, fmt.Sprintf("%x", k.Seed())) {
			t.Errorf("the keys page shows %s's private key", n)
		}
		if !strings.Contains(page, k.Public().String()) {
			t.Errorf("the keys page lacks %s's public key", n)
		}
	}
	checkForms(t, page, s.csrf)

	// A pending transaction is signed once: an unknown id signs nothing.
	r = call(t, "POST", base+"/wallet/confirm", map[string]string{"Cookie": cookie, "Origin": origin}, url.Values{csrfField: {s.csrf}, "id": {"nope"}})
	if r.StatusCode != http.StatusGone {
		t.Errorf("confirm of no pending transaction: %d", r.StatusCode)
	}
}

// checkForms fails unless every POST form of page carries the CSRF token.
func checkForms(t *testing.T, page, csrf string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for f := range doc.Descendants() {
		if f.Type != html.ElementNode || f.Data != "form" || attr(f, "method") != "post" {
			continue
		}
		n++
		ok := false
		for in := range f.Descendants() {
			if in.Type == html.ElementNode && in.Data == "input" && attr(in, "name") == csrfField && attr(in, "value") == csrf {
				ok = true
			}
		}
		if !ok {
			t.Errorf("a form to %s has no CSRF token", attr(f, "action"))
		}
	}
	if n == 0 {
		t.Error("no post form on the page")
	}
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// TestNoPublicActions: the explorer's paths on the wallet go to the node; the wallet
// renders none of the node's pages in its own origin.
func TestExplorerPathsGoToTheNode(t *testing.T) {
	s, base, _ := testWallet(t)
	r := call(t, "GET", s.URL(), nil, nil)
	cookie := r.Header.Get("Set-Cookie")
	cookie, _, _ = strings.Cut(cookie, ";")
	for _, p := range []string{"/search?q=DEMO", "/org/DEMO", "/leases", "/lease/1", "/log", "/ip/192.0.2.0/24", "/v1/orgs/DEMO"} {
		r := call(t, "GET", base+p, map[string]string{"Cookie": cookie}, nil)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "http://127.0.0.1:1"+p {
			t.Errorf("%s: %d to %q", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
}

// TestRegistrationRequest: a request signed in the wallet verifies; one altered after
// signing, or signed by another key, does not.
func TestRegistrationRequest(t *testing.T) {
	k, _ := ipledger.GenerateKey(nil)
	b, err := SignRequest(RegistrationRequest{ChainID: "ipledger-dev", Org: ipledger.NewOrg{Handle: "ORG-NEW", Name: "A new network", Country: "BD", AbuseMailbox: "abuse@new.example"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	r, err := VerifyRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if r.Org.Handle != "ORG-NEW" || len(r.Org.Keys) != 1 || r.Org.Keys[0] != k.Public() || r.ChainID != "ipledger-dev" {
		t.Errorf("verified %+v", r)
	}
	for _, c := range []struct{ from, to string }{
		{"A new network", "A NEW network"},
		{`"BD"`, `"NG"`},
		{"ipledger-dev", "ipledger-dew"},
		{"ORG-NEW", "ORG-NEX"},
	} {
		if _, err := VerifyRequest([]byte(strings.Replace(string(b), c.from, c.to, 1))); err == nil {
			t.Errorf("%s changed to %s: verifies", c.from, c.to)
		}
	}
	other, _ := ipledger.GenerateKey(nil)
	b2, _ := SignRequest(RegistrationRequest{ChainID: "ipledger-dev", Org: ipledger.NewOrg{Handle: "ORG-NEW", Name: "A new network", Country: "BD"}}, other)
	swapped := strings.Replace(string(b2), other.Public().String(), k.Public().String(), -1)
	if _, err := VerifyRequest([]byte(swapped)); err == nil {
		t.Error("a signature of another key verifies")
	}
	if _, err := SignRequest(RegistrationRequest{Org: ipledger.NewOrg{Handle: "bad handle", Name: "x"}}, k); err == nil {
		t.Error("a bad handle signed")
	}
}

// FuzzVerifyRequest: the registration request decoder never panics, and what it accepts
// signs again to a request that verifies the same.
func FuzzVerifyRequest(f *testing.F) {
	k, _ := ipledger.KeyFromSeed(make([]byte, 32))
	b, _ := SignRequest(RegistrationRequest{ChainID: "ipledger-dev", Org: ipledger.NewOrg{Handle: "ORG-NEW", Name: "A new network", Country: "BD"}}, k)
	f.Add(b)
	f.Add([]byte(`{"chain_id":"x","org":{"handle":"A","name":"n","keys":["00"]},"signature":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := VerifyRequest(b)
		if err != nil {
			return
		}
		if r.Signature == nil || r.Signature.Key != r.Org.Keys[0] {
			t.Fatalf("accepted %+v", r)
		}
	})
}
