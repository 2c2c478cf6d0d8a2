package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/stateproof"
	"github.com/ipledger/ipledger/wallet"
)

// walletSession is a browser's session with a wallet: its cookie and CSRF token.
type walletSession struct {
	t      *testing.T
	base   string
	cookie string
	csrf   string
}

// startWallet serves a wallet of home for the node at api and logs in as a browser would.
func startWallet(t *testing.T, home, api string) *walletSession {
	t.Helper()
	ws, _ := serveWallet(t, home, api)
	return ws
}

// serveWallet is startWallet that also returns the URL with the session token.
func serveWallet(t *testing.T, home, api string) (*walletSession, string) {
	t.Helper()
	trust, err := stateproof.TrustGenesisFile(chain.GenesisPath(home))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := wallet.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w, err := wallet.New(wallet.Options{Node: &client.Client{Base: api}, Trust: trust, Keys: homeKeys{home}}, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go w.Serve(ctx, ln)
	t.Cleanup(cancel)
	ws := &walletSession{t: t, base: "http://" + ln.Addr().String()}
	resp := ws.do("GET", w.URL(), "", nil)
	ws.cookie, _, _ = strings.Cut(resp.Header.Get("Set-Cookie"), ";")
	page := ws.get("/")
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the wallet's page:\n%s", page)
	}
	ws.csrf = m[1]
	return ws, w.URL()
}

func (ws *walletSession) do(method, u, ctype string, body []byte) *http.Response {
	ws.t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		ws.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if ws.cookie != "" {
		req.Header.Set("Cookie", ws.cookie)
	}
	if method == "POST" {
		req.Header.Set("Origin", ws.base)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		ws.t.Fatal(err)
	}
	return resp
}

func (ws *walletSession) get(path string) string {
	ws.t.Helper()
	resp := ws.do("GET", ws.base+path, "", nil)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		ws.t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
	}
	return string(b)
}

// post submits a form with the session's CSRF token and returns the status and page.
func (ws *walletSession) post(path string, form url.Values) (int, string) {
	ws.t.Helper()
	form.Set("csrf", ws.csrf)
	resp := ws.do("POST", ws.base+path, "application/x-www-form-urlencoded", []byte(form.Encode()))
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var pendingRE = regexp.MustCompile(`name="id" value="([0-9a-f]+)"`)

// act fills an action's form as organisation as, checks the confirm page, confirms and
// returns the result page.
func (ws *walletSession) act(as, action string, form url.Values, confirmHas ...string) string {
	ws.t.Helper()
	form.Set("as", as)
	start := time.Now()
	code, page := ws.post("/wallet/"+action, form)
	proved := time.Since(start)
	if code != http.StatusOK || !strings.Contains(page, "Confirm:") {
		ws.t.Fatalf("%s as %s: %d\n%s", action, as, code, page)
	}
	for _, s := range confirmHas {
		if !strings.Contains(page, s) {
			ws.t.Errorf("%s's confirm page lacks %q:\n%s", action, s, page)
		}
	}
	m := pendingRE.FindStringSubmatch(page)
	if m == nil {
		ws.t.Fatalf("%s: no pending transaction on the confirm page:\n%s", action, page)
	}
	start = time.Now()
	code, res := ws.post("/wallet/confirm", url.Values{"id": {m[1]}})
	if code != http.StatusOK || !strings.Contains(res, `<span class="ok">applied</span>`) {
		ws.t.Fatalf("%s as %s confirmed: %d\n%s", action, as, code, res)
	}
	ws.t.Logf("%s as %s: proved and shown in %s, signed and committed in %s", action, as, proved.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	// A confirm page signs once.
	if code, _ := ws.post("/wallet/confirm", url.Values{"id": {m[1]}}); code != http.StatusGone {
		ws.t.Errorf("%s: a second confirm answered %d", action, code)
	}
	return res
}

// demoASN reads the demo's AS number from its log line.
func demoASN(t *testing.T, log string) string {
	m := regexp.MustCompile(`demo organisations ready.* asn=(\d+)`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no demo log line:\n%s", log)
	}
	return m[1]
}

// demoOwn reads DEMO's own /24 from the demo's log line.
func demoOwn(t *testing.T, log string) netip.Prefix {
	m := regexp.MustCompile(`demo organisations ready.* own=([0-9./]+)`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no demo log line:\n%s", log)
	}
	return netip.MustParsePrefix(m[1])
}

// TestWalletActions runs every wallet action end to end on a dev chain's demo
// organisations: DEMO takes DEMO-LESSOR's offer, authorises a route for its AS, publishes
// the block's geolocation, pays, withdraws the route; the lessor offers and withdraws
// another block, and transfers one to DEMO, which co-signs the exported file; DEMO sells it
// back by swap, the lessor co-signing; the lessor lists a block and cancels the listing;
// DEMO bids on the demo's listing. Each change is then on the node; and the node's public
// listener has no action at all.
func TestWalletActions(t *testing.T) {
	home := t.TempDir()
	runDevLog(t, "demo organisations ready", func(out, log string) {
		api := "http://" + apiAddr(t, out)
		asn := demoASN(t, log)
		ws := startWallet(t, home, api)
		cl := &client.Client{Base: api}
		ctx := context.Background()
		offers, err := cl.Offers(ctx, DemoLessor)
		if err != nil || len(offers.Offers) != 1 {
			t.Fatalf("demo offers %+v %v", offers, err)
		}
		of := offers.Offers[0]
		front := ws.get("/?as=DEMO")
		for _, s := range []string{"Take offer " + strconv.FormatUint(of.ID, 10), "1000000 credits", of.Resource.String()} {
			if !strings.Contains(front, s) {
				t.Errorf("DEMO's wallet page lacks %q", s)
			}
		}

		// Take the lease: the confirm page shows the kind, the body, the price, the signer.
		ppp := uint64(demoPrice) * 256
		res := ws.act(DemoOrg, "lease", url.Values{"offer": {strconv.FormatUint(of.ID, 10)}, "asn": {"AS" + asn}, "periods": {"1"}},
			`lease`, `&#34;offer&#34;: `+strconv.FormatUint(of.ID, 10), "pays "+strconv.FormatUint(ppp, 10)+" credits now", "DEMO", "1000000 credits", "signed by 1 of 1 validators")
		if !strings.Contains(res, api+"/lease/") {
			t.Errorf("the result page links no lease:\n%s", res)
		}
		leases, err := cl.Leases(ctx, DemoOrg, false)
		if err != nil || len(leases.Leases) != 1 || leases.Leases[0].Lessee != DemoOrg {
			t.Fatalf("DEMO's leases %+v %v", leases, err)
		}
		block := leases.Leases[0].Resource
		p, _ := block.Prefix()

		if _, err := cl.Routes(ctx, DemoOrg); err != nil {
			t.Fatal(err)
		}
		// The lease placed the lessee's authorisation of the leased /24 for DEMO's AS
		// (no other may cover it while the lease runs); DEMO authorises its own /24.
		p = demoOwn(t, log)
		// DEMO's own /24, proven, with its holder's actions filled in.
		bp := ws.get("/wallet/block?as=DEMO&r=" + url.QueryEscape(p.String()))
		for _, want := range []string{"DEMO holds it", `name="prefix" type="text" value="` + p.String() + `"`, "signed by 1 of 1 validators", "ASSIGNED PI"} {
			if !strings.Contains(bp, want) {
				t.Errorf("the block page of %s lacks %q:\n%s", p, want, bp)
			}
		}
		if bp := ws.get("/wallet/block?as=DEMO-LESSOR&r=" + url.QueryEscape(p.String())); !strings.Contains(bp, "DEMO-LESSOR does not hold it") || strings.Contains(bp, `action="/wallet/authorise"`) {
			t.Errorf("the block page offers another's block its actions:\n%s", bp)
		}
		ws.act(DemoOrg, "authorise", url.Values{"prefix": {p.String()}, "max_length": {"24"}, "asn": {asn}}, "authorise-route", "&#34;asn&#34;: "+asn, p.String()+" lies in")
		ws.act(DemoOrg, "set-geo", url.Values{"resource": {block.String()}, "country": {"NG"}, "city": {"Lagos"}}, "set-geo", "Lagos")
		ws.act(DemoOrg, "pay", url.Values{"to": {DemoLessor}, "amount": {"100"}}, "pays 100 credits to DEMO-LESSOR")
		routes, err := cl.Routes(ctx, DemoOrg)
		var mine uint64
		for _, r := range routes.Routes {
			if r.Lease == 0 && r.Prefix == p && strconv.FormatUint(uint64(r.ASN), 10) == asn {
				mine = r.ID
			}
		}
		if err != nil || mine == 0 {
			t.Fatalf("DEMO's routes %+v %v", routes, err)
		}
		ws.act(DemoOrg, "withdraw-route", url.Values{"id": {strconv.FormatUint(mine, 10)}}, "withdraw-route")
		bal, _ := cl.Balance(ctx, DemoOrg)
		if want := uint64(demoCredits) - ppp - 100; bal.Balance != want {
			t.Errorf("DEMO's balance %d, want %d", bal.Balance, want)
		}
		info, err := cl.Resource(ctx, block.String())
		if err != nil || !strings.Contains(mustJSON(t, info), "Lagos") {
			t.Errorf("the block's geolocation: %v %s", err, mustJSON(t, info))
		}

		// The lessor offers and withdraws another /24 of its block.
		lessorBlock := of.Resource.Block(22)
		other := mustResource(t, lessorBlock, 1)
		ws.act(DemoLessor, "offer", url.Values{"resource": {other.String()}, "price": {"7"}, "period": {"2592000"}, "min_periods": {"1"}, "max_periods": {"6"}},
			"offer-lease", "asks 1792 credits per period")
		offers, _ = cl.Offers(ctx, DemoLessor)
		var newOffer uint64
		for _, o := range offers.Offers {
			if o.Resource == other {
				newOffer = o.ID
			}
		}
		if newOffer == 0 {
			t.Fatalf("no offer of %s: %+v", other, offers)
		}
		ws.act(DemoLessor, "withdraw-offer", url.Values{"offer": {strconv.FormatUint(newOffer, 10)}}, "withdraw-offer")

		// Two signers: the first signs and exports, the second imports, checks and
		// co-signs.
		cosign := func(what, first, action string, form url.Values, second string, facts ...string) {
			t.Helper()
			form.Set("as", first)
			code, page := ws.post("/wallet/"+action, form)
			if code != http.StatusOK || !strings.Contains(page, "still to sign") || strings.Contains(page, `action="/wallet/confirm"`) {
				t.Fatalf("%s: %d\n%s", what, code, page)
			}
			id := pendingRE.FindStringSubmatch(page)[1]
			resp := ws.do("POST", ws.base+"/wallet/export", "application/x-www-form-urlencoded", []byte(url.Values{"id": {id}, "csrf": {ws.csrf}}.Encode()))
			file, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tx, err := ipledger.DecodeTx(file)
			if err != nil || len(tx.Signatures) != 1 || tx.Signatures[0].Org != first {
				t.Fatalf("exported %s: %v %+v", what, err, tx)
			}
			var mp bytes.Buffer
			mw := multipart.NewWriter(&mp)
			mw.WriteField("csrf", ws.csrf)
			mw.WriteField("as", second)
			fw, _ := mw.CreateFormFile("tx", action+".tx")
			fw.Write(file)
			mw.Close()
			resp = ws.do("POST", ws.base+"/wallet/cosign", mw.FormDataContentType(), mp.Bytes())
			page2, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(page2), "signed first by "+first) {
				t.Fatalf("co-sign %s: %d\n%s", what, resp.StatusCode, page2)
			}
			for _, f := range facts {
				if !strings.Contains(string(page2), f) {
					t.Errorf("co-sign %s: the confirm page lacks %q:\n%s", what, f, page2)
				}
			}
			code, res := ws.post("/wallet/confirm", url.Values{"id": {pendingRE.FindStringSubmatch(string(page2))[1]}})
			if code != http.StatusOK || !strings.Contains(res, `<span class="ok">applied</span>`) {
				t.Fatalf("co-signed %s: %d\n%s", what, code, res)
			}
		}
		holder := func(r ipledger.Resource) string {
			info, err := cl.Resource(ctx, r.String())
			if err != nil {
				t.Fatal(err)
			}
			return info.Chain[len(info.Chain)-1].Holder
		}
		// A transfer: the lessor signs and exports, DEMO co-signs.
		third := mustResource(t, lessorBlock, 2)
		cosign("transfer", DemoLessor, "transfer", url.Values{"resource": {third.String()}, "to": {DemoOrg}}, DemoOrg, "the recipient DEMO is")
		if h := holder(third); h != DemoOrg {
			t.Errorf("the transferred block is held by %s", h)
		}
		// A swap: DEMO sells it back for 1000 credits; the lessor, paying, co-signs.
		cosign("swap", DemoOrg, "swap", url.Values{"resource": {third.String()}, "buyer": {DemoLessor}, "price": {"1000"}}, DemoLessor,
			"pays 1000 credits to DEMO", "the buyer DEMO-LESSOR is", "DEMO-LESSOR&#39;s balance is")
		if h := holder(third); h != DemoLessor {
			t.Errorf("the swapped block is held by %s", h)
		}

		// The market: the lessor lists a block and cancels the listing; DEMO bids on the
		// demo's listing (the lessor's last /24), which the node then shows.
		ws.act(DemoLessor, "list", url.Values{"resource": {other.String()}, "reserve": {"5000"}, "min_increment": {"10"}, "hours": {"24"}},
			"list", other.String()+" lies in", "the highest bid of at least 5000 credits")
		var ls apitypes.ListingList
		err = cl.Get(ctx, "/v1/market/listings", url.Values{"org": {DemoLessor}}, &ls)
		var listed uint64
		for _, l := range ls.Listings {
			if l.Resource == other {
				listed = l.ID
			}
		}
		if err != nil || listed == 0 {
			t.Fatalf("no listing of %s: %+v %v", other, ls, err)
		}
		ws.act(DemoLessor, "cancel-listing", url.Values{"listing": {strconv.FormatUint(listed, 10)}}, "cancel-listing", "open, without bids")
		if code, page := ws.post("/wallet/bid", url.Values{"as": {DemoLessor}, "listing": {"1"}, "amount": {"13000"}}); code != http.StatusConflict || !strings.Contains(page, "own") {
			t.Errorf("the seller's own bid: %d\n%s", code, page)
		}
		ws.act(DemoOrg, "bid", url.Values{"listing": {"1"}, "amount": {"13000"}}, "holds 13000 credits", "reserve 12800 credits")
		var l ipledger.Listing
		if err := cl.Get(ctx, "/v1/market/listings/1", nil, &l); err != nil || l.HighBid != 13000 || l.HighBidder != DemoOrg {
			t.Errorf("listing 1 after DEMO's bid: %+v %v", l, err)
		}

		// Onboarding: a new key and its registration request, which verifies.
		if code, _ := ws.post("/wallet/keys", url.Values{"name": {"ORG-NEWCOMER"}}); code != http.StatusSeeOther {
			t.Fatalf("create key: %d", code)
		}
		code, reqJSON := ws.post("/wallet/request", url.Values{"key": {"ORG-NEWCOMER"}, "handle": {"ORG-NEWCOMER"}, "org_name": {"Newcomer network"}, "country": {"BD"}})
		req, err := wallet.VerifyRequest([]byte(reqJSON))
		k, _ := loadKey(home, "ORG-NEWCOMER")
		if code != http.StatusOK || err != nil || req.Org.Keys[0] != k.Public() || req.ChainID != "ipledger-dev" {
			t.Fatalf("registration request: %d %v\n%s", code, err, reqJSON)
		}

		// The node's public listener: no action form, no action endpoint.
		pub, _ := http.Get(api + "/")
		b, _ := io.ReadAll(pub.Body)
		pub.Body.Close()
		if strings.Contains(strings.ToLower(string(b)), `method="post"`) {
			t.Errorf("the node's / has a post form:\n%s", b)
		}
		for _, path := range []string{"/wallet/lease", "/wallet/confirm", "/wallet/pay"} {
			r, err := http.PostForm(api+path, url.Values{"offer": {"1"}})
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("POST %s on the node: %d", path, r.StatusCode)
			}
		}
	}, "--home", home)
}

// mustResource is the i-th /24 of a block.
func mustResource(t *testing.T, block ipledger.Resource, i int) ipledger.Resource {
	a := block.FirstAddr().As4()
	a[2] += byte(i)
	r, err := ipledger.ParseResource(strings.Join([]string{strconv.Itoa(int(a[0])), strconv.Itoa(int(a[1])), strconv.Itoa(int(a[2])), "0/24"}, "."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
