package wallet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

// hostilePage is an explorer page as a lying node could write it: scripts, handlers,
// styles, frames, its own forms and links to other hosts, around real content.
const hostilePage = `<!DOCTYPE html><html lang="en"><head><title>x</title><script src="https://evil.example/a.js"></script></head><body>
<main id="main"><h1><bdi>Listing 7: 192.0.2.0/24</bdi></h1>
<script>steal(document.cookie)</script><style>body{background:url(https://evil.example/t.gif)}</style>
<dl class="facts"><dt>Seller</dt><dd><a href="/org/ORG-S" onclick="steal()">ORG-S</a></dd>
<dt>Bid</dt><dd><span style="background:url(https://evil.example/x)">500 credits</span></dd></dl>
<p><a href="https://evil.example/phish">log in again</a> <a href="//evil.example/x">x</a> <a href="javascript:steal()">y</a> <a href="/tx/AB#h">tx</a></p>
<form action="/wallet/confirm" method="post"><input name="id" value="1"><button>Sign</button></form>
<iframe src="https://evil.example/"></iframe><img src="https://evil.example/p.gif" alt="">
<svg class="chart" viewBox="0 0 10 10" onload="steal()"><polyline points="0,0 5,5" stroke="#0a4f96"/><foreignObject><p>f</p></foreignObject></svg>
<section class="actions"><h2>Actions</h2></section>
<a href="/ip/192.0.2.0/24" onmouseover="steal()">&lt;script&gt;alert(1)&lt;/script&gt;</a>
</main></body></html>`

// TestExplorerPages: the explorer's paths on the wallet show the node's page content
// through the allow-lists, in the wallet's layout, with the actions of what the page shows
// (the listing's bid and cancel forms, signing as the home's organisation with the CSRF
// token); nothing a lying node writes runs or sends a request from the wallet's origin.
// The JSON twins still go to the node.
func TestExplorerPages(t *testing.T) {
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("q") {
		case "192.0.2.1":
			http.Redirect(w, r, "/ip/192.0.2.0/24", http.StatusSeeOther)
			return
		case "evil":
			http.Redirect(w, r, "https://evil.example/", http.StatusSeeOther)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, hostilePage)
	}))
	defer node.Close()
	k, _ := ipledger.GenerateKey(nil)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Node: &client.Client{Base: node.URL}, Trust: &stateproof.Trust{ChainID: "test"}, Keys: &memKeys{keys: map[string]ipledger.PrivateKey{"ORG-A": k}}}, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go s.Serve(ctx, ln)
	defer cancel()
	base := "http://" + ln.Addr().String()
	r := call(t, "GET", s.URL(), nil, nil)
	cookie, _, _ := strings.Cut(r.Header.Get("Set-Cookie"), ";")
	hdr := map[string]string{"Cookie": cookie}
	for _, p := range []string{"/search?q=DEMO", "/org/DEMO", "/leases", "/lease/1", "/log", "/market", "/ip/192.0.2.0/24", "/listing/7"} {
		r := call(t, "GET", base+p, hdr, nil)
		page := readAll(t, r)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d\n%s", p, r.StatusCode, page)
		}
		if r.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("%s: headers %v", p, r.Header)
		}
		for _, bad := range []string{"evil.example/a.js", "steal(", "onclick", "onload", "onmouseover", "<style", "<iframe", "<img", "javascript:",
			"https://evil.example/phish", "//evil.example/x", "foreignObject", `name="id"`, "<script>alert"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s: the node's %q reached the wallet's page", p, bad)
			}
		}
		for _, good := range []string{"<h1><bdi>Listing 7: 192.0.2.0/24</bdi></h1>", `<a href="/org/ORG-S">ORG-S</a>`, "500 credits", `<a href="/tx/AB#h">tx</a>`,
			`<polyline points="0,0 5,5" stroke="#0a4f96">`, "&lt;script&gt;alert(1)&lt;/script&gt;", "sign as <strong>ORG-A</strong>", `<script src="/static/app.js" defer></script>`} {
			if !strings.Contains(page, good) {
				t.Errorf("%s: the page lacks %q:\n%s", p, good, page)
			}
		}
		if n := strings.Count(page, "<h1"); n != 1 {
			t.Errorf("%s: %d h1", p, n)
		}
	}
	page := readAll(t, call(t, "GET", base+"/listing/7", hdr, nil))
	for _, want := range []string{`action="/wallet/bid"`, `action="/wallet/cancel-listing"`, `name="listing" type="number" value="7"`, `name="as" value="ORG-A"`, `name="csrf" value="` + s.csrf + `"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the listing's page lacks %q:\n%s", want, page)
		}
	}
	page = readAll(t, call(t, "GET", base+"/ip/192.0.2.0/24", hdr, nil))
	for _, want := range []string{`action="/wallet/list"`, `action="/wallet/swap"`, `action="/wallet/offer"`, `action="/wallet/authorise"`, `value="192.0.2.0/24"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the block's page lacks %q", want)
		}
	}
	// A search that names one page goes to that page in the wallet; a redirect elsewhere
	// is not followed.
	if r := call(t, "GET", base+"/search?q=192.0.2.1", hdr, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/ip/192.0.2.0/24" {
		t.Errorf("search 192.0.2.1: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := call(t, "GET", base+"/search?q=evil", hdr, nil); r.StatusCode == http.StatusSeeOther {
		t.Errorf("search evil: sent to %q", r.Header.Get("Location"))
	}
	if r := call(t, "GET", base+"/v1/orgs/DEMO", hdr, nil); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != node.URL+"/v1/orgs/DEMO" {
		t.Errorf("/v1/orgs/DEMO: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	// Without the session, no page.
	if r := call(t, "GET", base+"/listing/7", nil, nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("/listing/7 without a session: %d", r.StatusCode)
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

// FuzzSanitisePage: whatever a node sends, what the wallet keeps of it holds no script,
// style, frame, form, event handler or link off the wallet's paths.
func FuzzSanitisePage(f *testing.F) {
	f.Add(hostilePage)
	f.Add(`<main><h1>t</h1><p><a href="/ip/1.2.3.0/24">x</a></p></main>`)
	f.Add(`<main><svg><a href="javascript:x()"><text>t</text></a><script>x</script></svg></main>`)
	f.Add(`<main><table><tr><td><a href=" //evil.example">x</a><math><mi>x</mi></math></td></tr></table></main>`)
	f.Fuzz(func(t *testing.T, page string) {
		_, content, err := sanitisePage([]byte(page))
		if err != nil {
			return
		}
		doc, err := html.Parse(strings.NewReader(string(content)))
		if err != nil {
			t.Fatal(err)
		}
		var walk func(n *html.Node)
		walk = func(n *html.Node) {
			if n.Type == html.ElementNode {
				switch strings.ToLower(n.Data) {
				case "script", "style", "iframe", "form", "input", "button", "img", "object", "embed", "link", "meta", "base", "foreignobject", "math":
					t.Fatalf("a %s element kept: %q", n.Data, content)
				}
				for _, a := range n.Attr {
					if strings.HasPrefix(strings.ToLower(a.Key), "on") || a.Key == "style" || a.Key == "src" {
						t.Fatalf("attribute %s kept: %q", a.Key, content)
					}
					if a.Key == "href" && !ownPath(a.Val) {
						t.Fatalf("href %q kept", a.Val)
					}
				}
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(doc)
	})
}
