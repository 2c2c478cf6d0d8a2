package httpapi

import (
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// TestListingTwin: GET /v1/market/listings/{id} answers one listing with its bid; a bad id
// is 400, an unknown one 404.
func TestListingTwin(t *testing.T) {
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
	apply(ipledger.KindList, 1, ipledger.ListBody{Resource: ipledger.MustParseResource("193.0.4.0/22"), Reserve: 500, End: block.Time.Add(time.Hour).Unix()}, orgA)
	apply(ipledger.KindMint, 1, ipledger.MintBody{To: "ORG-B", Amount: 1000}, ipledgertest.Signer(ipledgertest.Agent))
	apply(ipledger.KindBid, 1, ipledger.BidBody{Listing: 1, Amount: 600}, orgB)
	h := memServer(t, kv, nil)
	li := getJSON[listingInfo](t, h, "/v1/market/listings/1")
	if li.ID != 1 || li.Seller != "ORG-A" || li.HighBid != 600 || li.HighBidder != "ORG-B" || li.Height != 2 {
		t.Fatalf("listing 1: %+v", li)
	}
	for path, code := range map[string]int{"/v1/market/listings/2": 404, "/v1/market/listings/0": 400, "/v1/market/listings/x": 400} {
		if w := getQuery(h, path); w.Code != code {
			t.Errorf("%s: %d, want %d: %s", path, w.Code, code, w.Body)
		}
	}
}
