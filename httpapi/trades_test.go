package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// TestMarketTrades: a swap and a plain transfer are trades, a listing with a bid is
// listed; both lists filter by organisation and venue, page by id and come as CSV.
func TestMarketTrades(t *testing.T) {
	kv := memState(t)
	l := ledger.New(testChain)
	block := ipledger.Block{Height: 3, Time: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)}
	ripe, orgA, orgB := ipledgertest.Signer(ipledger.RIPENCC), ipledgertest.Signer("ORG-A"), ipledgertest.Signer("ORG-B")
	apply := func(kind ipledger.Kind, seq uint64, body any, ss ...ipledger.Signer) {
		block.Height++
		block.Time = block.Time.Add(time.Minute)
		ipledgertest.Apply(t, l, kv, block, kind, seq, body, ss...)
	}
	apply(ipledger.KindRegisterOrg, 3, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-B", Name: "Beta", Keys: []ipledger.PublicKey{orgB.Key.Public()}}}}, ripe)
	apply(ipledger.KindSwap, 1, ipledger.SwapBody{Resource: ipledger.MustParseResource("193.0.1.0/24"), Buyer: "ORG-B"}, orgA, orgB)
	apply(ipledger.KindTransfer, 2, ipledger.TransferBody{Resource: ipledger.MustParseResource("193.0.2.0/24"), To: "ORG-B"}, orgA, orgB)
	apply(ipledger.KindList, 3, ipledger.ListBody{Resource: ipledger.MustParseResource("193.0.4.0/22"), Reserve: 500, End: block.Time.Add(time.Hour).Unix()}, orgA)
	apply(ipledger.KindMint, 1, ipledger.MintBody{To: "ORG-B", Amount: 1000}, ipledgertest.Signer(ipledgertest.Agent))
	apply(ipledger.KindBid, 1, ipledger.BidBody{Listing: 1, Amount: 600}, orgB)
	h := memServer(t, kv, nil)
	if b := getJSON[apitypes.BalanceInfo](t, h, "/v1/balances/ORG-B"); b.Balance != 1000 || b.Held != 600 {
		t.Fatalf("balance %+v: the bid holds 600", b)
	}

	tl := getJSON[apitypes.TradeList](t, h, "/v1/market/trades")
	if len(tl.Trades) != 2 || tl.Trades[0].Venue != "swap" || tl.Trades[1].Venue != "transfer" || tl.Trades[0].Units != 256 {
		t.Fatalf("trades %+v", tl)
	}
	tl = getJSON[apitypes.TradeList](t, h, "/v1/market/trades?venue=transfer")
	if len(tl.Trades) != 1 || tl.Trades[0].ID != 2 {
		t.Fatalf("transfers %+v", tl)
	}
	tl = getJSON[apitypes.TradeList](t, h, "/v1/market/trades?limit=1")
	if len(tl.Trades) != 1 || !tl.Truncated || tl.Next != 1 {
		t.Fatalf("first page %+v", tl)
	}
	tl = getJSON[apitypes.TradeList](t, h, "/v1/market/trades?after=1")
	if len(tl.Trades) != 1 || tl.Trades[0].ID != 2 || tl.Truncated {
		t.Fatalf("second page %+v", tl)
	}
	tl = getJSON[apitypes.TradeList](t, h, "/v1/market/trades?org=ORG-C")
	if len(tl.Trades) != 0 {
		t.Fatalf("ORG-C's trades %+v", tl)
	}
	ll := getJSON[apitypes.ListingList](t, h, "/v1/market/listings?org=org-a")
	if len(ll.Listings) != 1 || ll.Listings[0].Reserve != 500 || ll.Listings[0].State != ipledger.ListingOpen || ll.Listings[0].HighBid != 600 {
		t.Fatalf("listings %+v", ll)
	}

	for path, want := range map[string][]string{
		"/v1/market/trades?format=csv":             {strings.Join(tradeColumns, ","), "1,", "2,"},
		"/v1/market/listings?format=csv":           {strings.Join(listingColumns, ","), "1,ORG-A,193.0.4.0/22,500,1,"},
		"/v1/market/listings?org=ORG-B&format=csv": {strings.Join(listingColumns, ","), "1,ORG-A,193.0.4.0/22,500,1,"},
	} {
		w := getQuery(h, path)
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
			t.Fatalf("%s: %d %s", path, w.Code, w.Header().Get("Content-Type"))
		}
		recs, err := csv.NewReader(strings.NewReader(w.Body.String())).ReadAll()
		if err != nil || len(recs) != len(want) {
			t.Fatalf("%s: %d records, %v:\n%s", path, len(recs), err, w.Body)
		}
		for i, prefix := range want {
			if got := strings.Join(recs[i], ","); !strings.HasPrefix(got, prefix) {
				t.Errorf("%s row %d: %s, want %s…", path, i, got, prefix)
			}
		}
	}
	for _, path := range []string{"/v1/market/trades?format=xml", "/v1/market/trades?limit=0", "/v1/market/trades?after=x", "/v1/market/listings?org=bad%20handle"} {
		if w := getQuery(h, path); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", path, w.Code)
		}
	}
}

// getJSON serves a GET of path with its query string and decodes the answer, which must
// be 200 OK.
func getJSON[T any](t *testing.T, h http.Handler, path string) T {
	t.Helper()
	w := getQuery(h, path)
	var out T
	if w.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", path, w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// getQuery serves a GET of path with its query string and returns the recorder.
func getQuery(h http.Handler, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}
