package httpapi

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// TestMarketBooks: an ask and a bid show in the books list and in the class's book, as JSON
// and CSV; after the clearing the fill is a trade of venue "auction" with its class.
func TestMarketBooks(t *testing.T) {
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
	apply(ipledger.KindMint, 1, ipledger.MintBody{To: "ORG-A", Amount: 1_000_000}, ipledgertest.Signer(ipledgertest.Agent))
	apply(ipledger.KindAsk, 1, ipledger.AskBody{Resource: ipledger.MustParseResource("193.0.1.0/24"), MinPrice: 5}, orgB)
	anyClass := ipledger.MustParseAuctionClass("ipv4-24-any-any-A")
	apply(ipledger.KindOrder, 2, ipledger.OrderBody{Class: anyClass, Quantity: 2, Limit: 9, Expiry: block.Time.Add(24 * time.Hour).Unix()}, orgA)
	h := memServer(t, kv, nil)

	bl := getJSON[apitypes.BookList](t, h, "/v1/market/books")
	if len(bl.Books) != 2 || bl.Books[1].Class != "ipv4-24-any-any-A" || bl.Books[1].Asks != 1 || bl.Books[1].Bids != 1 ||
		bl.Books[1].BlocksBid != 2 || bl.Books[1].BestAsk != 5 || bl.Books[1].BestBid != 9 || bl.Books[0].Asks != 1 || bl.Books[0].Bids != 0 {
		t.Fatalf("books %+v", bl)
	}
	bp := getJSON[apitypes.BookPage](t, h, "/v1/market/books/ipv4-24-any-any-A")
	if bp.Units != 256 || len(bp.Asks) != 1 || bp.Asks[0] != (ipledger.BookLevel{Price: 5, Orders: 1, Blocks: 1}) || len(bp.Bids) != 1 || bp.Bids[0].Blocks != 2 {
		t.Fatalf("book %+v", bp)
	}
	for path, want := range map[string][]string{
		"/v1/market/books?format=csv":                   {strings.Join(bookListColumns, ","), bl.Books[0].Class + ",1,0,0,5,0", "ipv4-24-any-any-A,1,1,2,5,9"},
		"/v1/market/books/ipv4-24-any-any-A?format=csv": {strings.Join(bookColumns, ","), "ask,5,1,1", "bid,9,1,2"},
	} {
		w := getQuery(h, path)
		recs, err := csv.NewReader(strings.NewReader(w.Body.String())).ReadAll()
		if w.Code != http.StatusOK || err != nil || len(recs) != len(want) {
			t.Fatalf("%s: %d %v:\n%s", path, w.Code, err, w.Body)
		}
		for i, line := range want {
			if got := strings.Join(recs[i], ","); got != line {
				t.Errorf("%s row %d: %s, want %s", path, i, got, line)
			}
		}
	}
	for _, path := range []string{"/v1/market/books/ipv4-24-any-any-D", "/v1/market/books/asn-1-any-any-A", "/v1/market/books?format=xml"} {
		if w := getQuery(h, path); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", path, w.Code)
		}
	}

	block.Height++
	block.Time = time.Unix((block.Time.Unix()/3600+1)*3600, 0)
	if _, err := l.EndBlock(kv, block); err != nil {
		t.Fatal(err)
	}
	h = memServer(t, kv, nil)
	tl := getJSON[apitypes.TradeList](t, h, "/v1/market/trades?venue=auction")
	if len(tl.Trades) != 1 || tl.Trades[0].Class != "ipv4-24-any-any-A" || tl.Trades[0].PricePerUnit != 7 || tl.Trades[0].Buyer != "ORG-A" {
		t.Fatalf("auction trades %+v", tl)
	}
	if bl := getJSON[apitypes.BookList](t, h, "/v1/market/books"); len(bl.Books) != 1 || bl.Books[0].Asks != 0 || bl.Books[0].BlocksBid != 1 {
		t.Fatalf("books after the clearing %+v", bl)
	}
}
