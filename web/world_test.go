package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/httpapi"
	"github.com/ipledger/ipledger/iana"
	"github.com/ipledger/ipledger/importer"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ipledgertest/chaintest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/rdap"
)

// hostileName is an organisation name a page must show as text.
const hostileName = `<script>alert(1)</script>`

// world is a chain with a real delegated import and every kind of object a page shows: a
// holder with a key (ORG-A) whose block is offered and leased to ORG-B, a route
// authorisation in force and one suppressed by the lease, a geolocation, credits, an
// organisation with a hostile name holding a block, and the market: a listing sold to
// ORG-C, one open with its bid, and a swap.
type world struct {
	c       *chaintest.Chain
	srv     *httptest.Server
	block   ipledger.Resource // ORG-A's allocation
	leased  ipledger.Resource // the leased part of it
	hostile ipledger.Resource // ORG-X's block
	listed  ipledger.Resource // listing 2, open, with ORG-C's bid
	sold    ipledger.Resource // listing 1's block, sold to ORG-C
	txs     []ipledger.Hash
	handler *handler
}

// newWorld imports paths (delegated-statistics files of one date) into a fresh chain whose
// genesis has IANA's pools and a settlement agent, adds the leasing objects (in the first
// file's registry) in the next blocks and serves the pages.
func newWorld(t testing.TB, paths ...string) *world {
	t.Helper()
	g := ipledgertest.GenesisOf(iana.DefaultPools())
	g.SettlementAgents = []ledger.GenesisOrg{{Handle: ipledgertest.Agent, Name: "Settlement agent", Keys: []ipledger.PublicKey{ipledgertest.Key(ipledgertest.Agent).Public()}}}
	c := chaintest.NewChain(t, "web-test", g)
	var files []*importer.File
	for _, path := range paths {
		f, err := importer.ParseFile(path, false)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	plan, err := importer.PlanImport(files, iana.DefaultPools(), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var txs [][]byte
	for _, st := range plan.Steps {
		txs = append(txs, c.Tx(st.Kind, st.Body, st.Signers...))
	}
	c.Block(txs...)
	w := &world{c: c}
	// Free space of the registry's pool for the new holders, found rather than assumed.
	reg := files[0].Registry
	free := freeBlock(t, c.App().Committed().State, reg, 21)
	first := free
	w.block = mustPrefix(t, first, 22)
	w.leased = mustPrefix(t, first, 24)
	w.hostile = mustPrefix(t, nextAddr(w.block.LastAddr()), 24)
	a, b := ipledgertest.Signer("ORG-A"), ipledgertest.Signer("ORG-B")
	add := func(txs ...[]byte) {
		for _, tx := range txs {
			w.txs = append(w.txs, ipledger.HashTx(tx))
		}
		c.Block(txs...)
	}
	add(c.Tx(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: "ORG-A", Name: "Alpha Networks", Country: "KE", Keys: []ipledger.PublicKey{a.Key.Public()}},
		{Handle: "ORG-B", Name: "Beta Hosting", Country: "NG", Keys: []ipledger.PublicKey{b.Key.Public()}},
		{Handle: "ORG-X", Name: hostileName},
	}}, reg))
	add(c.Tx(ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: w.block, Org: "ORG-A", Status: ipledger.StatusAllocated},
		{Resource: w.hostile, Org: "ORG-X", Status: ipledger.StatusAssigned},
	}}, reg))
	add(c.Tx(ipledger.KindMint, ipledger.MintBody{To: "ORG-B", Amount: 1_000_000}, ipledgertest.Agent),
		c.Tx(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: mustNetip(t, w.block), MaxLength: 24, ASN: 64500}, "ORG-A"))
	add(c.Tx(ipledger.KindOffer, ipledger.OfferBody{Resource: w.leased, Price: 2, Period: 30 * 86400, MinPeriods: 1, MaxPeriods: 12, Renewable: true}, "ORG-A"),
		c.Tx(ipledger.KindOffer, ipledger.OfferBody{Resource: mustPrefix(t, nextAddr(w.leased.LastAddr()), 24), Price: 3, Period: 30 * 86400, MinPeriods: 1, MaxPeriods: 6}, "ORG-A"))
	add(c.Tx(ipledger.KindLease, ipledger.LeaseBody{Offer: 1, ASN: 64501, Periods: 3}, "ORG-B"))
	add(c.Tx(ipledger.KindSetGeo, ipledger.SetGeoBody{Resource: w.leased, Country: "NG", Region: "NG-LA", City: "Lagos"}, "ORG-B"))
	// The market: ORG-C buys the block's third /24 at auction (listing 1, ending two blocks
	// on) and the first /26 of its fourth by swap; listing 2 (the second /26) stays open
	// with ORG-C's bid.
	second := mustPrefix(t, w.leased.LastAddr().Next(), 24) // offer 2's
	third := mustPrefix(t, second.LastAddr().Next(), 24)
	fourth := mustPrefix(t, third.LastAddr().Next(), 26)
	w.listed = mustPrefix(t, fourth.LastAddr().Next(), 26)
	w.sold = third
	cc := ipledgertest.Signer("ORG-C")
	add(c.Tx(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-C", Name: "Gamma Transit", Country: "GH", Keys: []ipledger.PublicKey{cc.Key.Public()}}}}, reg),
		c.Tx(ipledger.KindMint, ipledger.MintBody{To: "ORG-C", Amount: 1_000_000}, ipledgertest.Agent))
	now := chaintest.GenesisTime.Add(time.Duration(c.Height()+1) * time.Minute)
	add(c.Tx(ipledger.KindList, ipledger.ListBody{Resource: third, Reserve: 25_600, End: now.Add(2 * time.Minute).Unix()}, "ORG-A"),
		c.Tx(ipledger.KindList, ipledger.ListBody{Resource: w.listed, Reserve: 6_400, MinIncrement: 100, End: now.Add(36 * time.Hour).Unix()}, "ORG-A"))
	add(c.Tx(ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 30_000, ASN: 64502}, "ORG-C"),
		c.Tx(ipledger.KindBid, ipledger.BidBody{Listing: 2, Amount: 7_000}, "ORG-C"))
	add(c.Tx(ipledger.KindSwap, ipledger.SwapBody{Resource: fourth, Buyer: "ORG-C", Price: 9_600}, "ORG-A", "ORG-C"))
	for range 30 { // listing 1 ends (its bid came in the soft close and moved the end on) and settles
		if l, _ := ledger.ListingByID(c.App().Committed().State, 1); l != nil && l.State == ipledger.ListingSold {
			break
		}
		c.Block()
	}
	w.srv, w.handler = serve(t, c.App())
	t.Cleanup(w.srv.Close)
	return w
}

// serve serves the pages of app as a node does: mounted beside the JSON API, with RDAP.
func serve(t testing.TB, app *chain.App) (*httptest.Server, *handler) {
	t.Helper()
	rd, err := rdap.New(rdap.Options{Source: app, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	mounts := map[string]http.Handler{rdap.Prefix: rd}
	explorer := New(Options{Reader: app}).(*handler)
	for _, p := range Patterns() {
		mounts[p] = explorer
	}
	return httptest.NewServer(httpapi.New(httpapi.Options{Node: readOnly{app}, Mounts: mounts})), explorer
}

// readOnly is an httpapi.Backend that refuses submissions.
type readOnly struct{ app *chain.App }

func (b readOnly) Submit(context.Context, []byte) (ipledger.Hash, error) {
	return ipledger.Hash{}, ipledger.Errorf(ipledger.CodeUnavailable, "read-only test node")
}

func (b readOnly) Status(context.Context) (ipledger.NodeStatus, error) {
	return ipledger.NodeStatus{}, nil
}

func (b readOnly) Reader() ipledger.Reader { return b.app }

func mustPrefix(t testing.TB, a netip.Addr, bits int) ipledger.Resource {
	t.Helper()
	r, err := ipledger.PrefixResource(netip.PrefixFrom(a, bits).Masked())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustNetip(t testing.TB, r ipledger.Resource) netip.Prefix {
	t.Helper()
	p, ok := r.Prefix()
	if !ok {
		t.Fatalf("%s is no prefix", r)
	}
	return p
}

// freeBlock returns the first address of an aligned IPv4 block of bits in a depth-0 pool of
// reg that no holding below the pool overlaps.
func freeBlock(t testing.TB, kv ipledger.KV, reg string, bits int) netip.Addr {
	t.Helper()
	var pools []*ipledger.Holding
	ledger.Holdings(kv, func(h *ipledger.Holding) bool {
		if h.Depth == 0 && h.Holder == reg && h.Resource.Family() == ipledger.IPv4 {
			pools = append(pools, h)
		}
		return true
	})
	for _, pool := range pools {
		kids, _, err := ledger.ChildrenPage(context.Background(), kv, pool, ipledger.Resource{}, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		next := pool.Resource.FirstAddr()
		try := func(until netip.Addr) (netip.Addr, bool) {
			p := netip.PrefixFrom(next, bits).Masked()
			if p.Addr().Less(next) {
				a := p.Addr()
				for i := 0; i < 1<<(32-bits); i++ {
					a = a.Next()
				}
				p = netip.PrefixFrom(a, bits)
			}
			r, err := ipledger.PrefixResource(p)
			if err != nil || !pool.Resource.Contains(r) || !r.LastAddr().Less(until) {
				return netip.Addr{}, false
			}
			return p.Addr(), true
		}
		for _, k := range kids {
			if a, ok := try(k.Resource.FirstAddr()); ok {
				return a
			}
			next = k.Resource.LastAddr().Next()
		}
		if a, ok := try(pool.Resource.LastAddr().Next()); ok {
			return a
		}
	}
	t.Fatalf("no free /%d in %s's pools", bits, reg)
	return netip.Addr{}
}

func nextAddr(a netip.Addr) netip.Addr { return a.Next() }

// get fetches path without following redirects and returns the status, the Location and
// the body.
func (w *world) get(t testing.TB, path string) (int, string, string) {
	t.Helper()
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(w.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusSeeOther && !strings.HasPrefix(ct, "text/html") && !strings.HasPrefix(path, "/static/") {
		t.Errorf("%s: content type %q", path, ct)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}
