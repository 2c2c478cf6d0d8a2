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

// TestMarketStats: two priced swaps, a transfer, a lease and a listing with a bid on the
// ledger; GET /v1/market/stats gives the hand-computed figures, as JSON and CSV, filtered,
// and the lease start is listed with the trades.
func TestMarketStats(t *testing.T) {
	kv := memState(t)
	l := ledger.New(testChain)
	block := ipledger.Block{Height: 3, Time: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)}
	ripe, orgA, orgB := ipledgertest.Signer(ipledger.RIPENCC), ipledgertest.Signer("ORG-A"), ipledgertest.Signer("ORG-B")
	seq := map[string]uint64{}
	apply := func(kind ipledger.Kind, body any, ss ...ipledger.Signer) {
		block.Height++
		block.Time = block.Time.Add(time.Minute)
		seq[ss[0].Org]++
		ipledgertest.Apply(t, l, kv, block, kind, seq[ss[0].Org]+map[string]uint64{ipledger.RIPENCC: 2}[ss[0].Org], body, ss...)
	}
	apply(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-B", Name: "Beta", Keys: []ipledger.PublicKey{orgB.Key.Public()}}}}, ripe)
	apply(ipledger.KindMint, ipledger.MintBody{To: "ORG-B", Amount: 10_000_000}, ipledgertest.Signer(ipledgertest.Agent))
	apply(ipledger.KindSwap, ipledger.SwapBody{Resource: ipledger.MustParseResource("193.0.1.0/24"), Buyer: "ORG-B", Price: 844800}, orgA, orgB)  // 3300
	apply(ipledger.KindSwap, ipledger.SwapBody{Resource: ipledger.MustParseResource("193.0.2.0/23"), Buyer: "ORG-B", Price: 1700000}, orgA, orgB) // 3320
	apply(ipledger.KindTransfer, ipledger.TransferBody{Resource: ipledger.MustParseResource("193.0.5.0/24"), To: "ORG-B"}, orgA, orgB)
	apply(ipledger.KindOffer, ipledger.OfferBody{Resource: ipledger.MustParseResource("193.0.8.0/24"), Price: 40, Period: 2592000, MinPeriods: 1, MaxPeriods: 12}, orgA)
	apply(ipledger.KindLease, ipledger.LeaseBody{Offer: 1, ASN: 64500, Periods: 1}, orgB)
	apply(ipledger.KindList, ipledger.ListBody{Resource: ipledger.MustParseResource("193.0.12.0/22"), Reserve: 500, End: block.Time.Add(time.Hour).Unix()}, orgA)
	apply(ipledger.KindBid, ipledger.BidBody{Listing: 1, Amount: 600}, orgB)
	h := memServer(t, kv, nil)

	st := getJSON[apitypes.MarketStats](t, h, "/v1/market/stats?family=ipv4")
	// 2,544,800 ÷ 768 = 3313.5; median of 3300 and 3320 is the lower; 12 × 40 ÷ 3300 =
	// 14.54 %; turnover 768 ÷ 65,536 = 117.2 bp.
	want := apitypes.StatsRow{Family: "ipv4", Trades: 2, Units: 768, Volume: 2544800, VWAP: 3313, MedianPrice: 3300, Transfers: 1, TransferUnits: 256,
		UnitsHeld: 65536, TurnoverBP: 117, Leases: 1, LeaseUnits: 256, MedianLease: 40, LeaseYieldBP: 1454, OpenAsks: 1, OpenBids: 1}
	if len(st.Rows) == 0 || st.Rows[0] != want || st.Height != 2 {
		t.Fatalf("ipv4 statistics at %d:\n got %+v\nwant %+v", st.Height, st.Rows, want)
	}
	for _, r := range st.Rows {
		if r.Family != "ipv4" {
			t.Errorf("family filter let %+v through", r)
		}
	}
	st = getJSON[apitypes.MarketStats](t, h, "/v1/market/stats?class=ipv4/23&from=2024-01-02&to=2024-01-02")
	if len(st.Rows) != 2 || st.Rows[0].VWAP != 3320 || st.Rows[1].Day != "2024-01-02" || st.Rows[1].Trades != 1 {
		t.Fatalf("class ipv4/23: %+v", st.Rows)
	}
	st = getJSON[apitypes.MarketStats](t, h, "/v1/market/stats?from=2024-01-03")
	if len(st.Rows) != 3 || st.Rows[0].Family != "asn" || st.Rows[0].UnitsHeld != 1 || st.Rows[1].Trades != 0 || st.Rows[1].OpenAsks != 1 {
		t.Fatalf("from a day without trades: %+v", st.Rows)
	}

	w := getQuery(h, "/v1/market/stats?family=ipv4&format=csv")
	recs, err := csv.NewReader(strings.NewReader(w.Body.String())).ReadAll()
	if w.Code != http.StatusOK || err != nil || len(recs) < 2 || strings.Join(recs[0], ",") != strings.Join(statsColumns, ",") ||
		strings.Join(recs[1], ",") != "ipv4,,,2,768,2544800,3313,3300,1,256,65536,117,1,256,40,1454,1,1" {
		t.Fatalf("csv: %d %v\n%s", w.Code, err, w.Body)
	}

	ls := getJSON[apitypes.LeaseStartList](t, h, "/v1/market/trades?venue=lease")
	if len(ls.Leases) != 1 || ls.Leases[0].PricePerUnitMonth != 40 || ls.Leases[0].Lessee != "ORG-B" || ls.Leases[0].Class != "ipv4/24" || ls.Leases[0].Venue != "lease" {
		t.Fatalf("lease starts %+v", ls)
	}
	if ls := getJSON[apitypes.LeaseStartList](t, h, "/v1/market/trades?venue=lease&org=ORG-C"); len(ls.Leases) != 0 {
		t.Fatalf("ORG-C's lease starts %+v", ls)
	}
	w = getQuery(h, "/v1/market/trades?venue=lease&format=csv")
	if !strings.HasPrefix(w.Body.String(), strings.Join(leaseStartColumns, ",")+"\n1,") {
		t.Fatalf("lease starts csv:\n%s", w.Body)
	}

	for path, code := range map[string]int{
		"/v1/market/stats?family=ipv5":    http.StatusBadRequest,
		"/v1/market/stats?from=2024-1-2":  http.StatusBadRequest,
		"/v1/market/stats?height=x":       http.StatusBadRequest,
		"/v1/market/stats?format=xml":     http.StatusBadRequest,
		"/v1/market/stats?height=1":       http.StatusNotFound, // this app keeps no past states
		"/v1/market/stats?class=ipv4/24":  http.StatusOK,
		"/v1/market/stats?to=2024-01-01":  http.StatusOK,
		"/v1/market/stats?family=asn&x=y": http.StatusOK,
	} {
		if w := getQuery(h, path); w.Code != code {
			t.Errorf("%s: %d, want %d: %s", path, w.Code, code, w.Body)
		}
	}
}

// FuzzStatsQuery drives GET /v1/market/stats with arbitrary query strings: it never panics
// or answers 500; a 200 is JSON whose rows keep to the family and class asked, every
// error a JSON error body.
func FuzzStatsQuery(f *testing.F) {
	for _, s := range []string{"", "family=ipv4", "class=ipv4/24&from=2024-01-02&to=2024-01-03", "family=ipv5", "from=2024-13-01",
		"height=1", "height=-1", "format=csv", "format=xml", "class=" + strings.Repeat("x", 40), "family=asn&class=asn", "%zz", "to=2024-01-01&from=2025-01-01"} {
		f.Add(s)
	}
	h := memServer(f, memState(f), nil)
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/v1/market/stats", nil)
		r.URL.RawQuery = q
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			if strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
				return
			}
			var st apitypes.MarketStats
			if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
				t.Fatalf("%q: %v", q, err)
			}
			fam, class := r.URL.Query().Get("family"), r.URL.Query().Get("class")
			for _, row := range st.Rows {
				if fam != "" && row.Family != fam || class != "" && row.Class != class {
					t.Fatalf("%q: row %+v", q, row)
				}
			}
		case http.StatusBadRequest, http.StatusNotFound:
			var eb apitypes.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Message == "" {
				t.Fatalf("%q: %d with body %q", q, w.Code, w.Body)
			}
		default:
			t.Fatalf("%q: status %d %s", q, w.Code, w.Body)
		}
	})
}
