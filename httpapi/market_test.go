package httpapi

import (
	"context"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/geofeed"
	"github.com/ipledger/ipledger/ipledgertest"
)

// TestMarketAPI runs a short lease on a real node: the listings show the offer, the lease,
// the balances and the lessee's authorisation in force with the lessor's suppressed; after
// the term the lease has ended by block time, its history shows the end-of-block events,
// and an AS0 authorisation is in force.
func TestMarketAPI(t *testing.T) {
	_, srv, c := startNode(t)
	ctx := context.Background()
	ripe, orgA, orgB, agent := ipledgertest.Signer(ipledger.RIPENCC), ipledgertest.Signer("ORG-A"), ipledgertest.Signer("ORG-B"), ipledgertest.Signer("AGENT")
	commit(t, c, "register", mustTx(t, ipledger.KindRegisterOrg, 1, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: "ORG-A", Name: "Alpha Networks", Keys: []ipledger.PublicKey{orgA.Key.Public()}},
		{Handle: "ORG-B", Name: "Beta Hosting", Keys: []ipledger.PublicKey{orgB.Key.Public()}},
	}}, ripe))
	commit(t, c, "allocate", mustTx(t, ipledger.KindAllocate, 2, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.0.0/16"), Org: "ORG-A", Status: ipledger.StatusAllocatedPA},
	}}, ripe))
	commit(t, c, "mint", mustTx(t, ipledger.KindMint, 1, ipledger.MintBody{To: "ORG-B", Amount: 1000}, agent))
	commit(t, c, "authorise", mustTx(t, ipledger.KindAuthorise, 1, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.0.0/16"), MaxLength: 24, ASN: 3333}, orgA))
	commit(t, c, "offer", mustTx(t, ipledger.KindOffer, 2, ipledger.OfferBody{Resource: ipledger.MustParseResource("193.0.7.0/24"), Price: 1, Period: 2, MinPeriods: 2, MaxPeriods: 2}, orgA))
	offers, err := c.Offers(ctx, "org-a")
	if err != nil || len(offers.Offers) != 1 || offers.Offers[0].Resource.String() != "193.0.7.0/24" {
		t.Fatalf("offers %+v %v", offers, err)
	}
	commit(t, c, "lease", mustTx(t, ipledger.KindLease, 1, ipledger.LeaseBody{Offer: 1, ASN: 64500, Periods: 2}, orgB))
	commit(t, c, "geo", mustTx(t, ipledger.KindSetGeo, 2, ipledger.SetGeoBody{Resource: ipledger.MustParseResource("193.0.7.0/24"), Country: "KE", Region: "KE-110", City: "Nairobi"}, orgB))
	for _, path := range []string{"/geofeed.csv", "/geofeed/org-b.csv"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		feed, err := geofeed.Read(resp.Body)
		resp.Body.Close()
		if err != nil || len(feed) != 1 || feed[0].Prefix.String() != "193.0.7.0/24" || feed[0].City != "Nairobi" || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("%s: %+v %v", path, feed, err)
		}
	}
	// The resource answer names the geolocation: the LEASED holding's registration country
	// stays its own (the lessor's holding had none).
	for _, q := range []string{"193.0.7.1", "193.0.0.0/16"} {
		info, err := c.Resource(ctx, q)
		if err != nil || len(info.Geo) != 1 || info.Geo[0].Resource.String() != "193.0.7.0/24" || info.Geo[0].Country != "KE" ||
			info.Geo[0].City != "Nairobi" || info.Geo[0].Holder != "ORG-B" || info.GeoTruncated {
			t.Fatalf("resource %s: geo %+v %v", q, info, err)
		}
	}
	if info, err := c.Resource(ctx, "193.0.8.1"); err != nil || len(info.Geo) != 0 {
		t.Fatalf("resource 193.0.8.1: geo %+v %v", info, err)
	}
	// Periods are two seconds long, so one more may have been paid by now on a slow machine.
	if l, err := c.Lease(ctx, "1"); err != nil || l.Paid < 1 || l.Paid > 2 {
		t.Fatalf("lease %+v %v", l, err)
	} else if b, err := c.Balance(ctx, "ORG-B"); err != nil || b.Balance != 1000-256*uint64(l.Paid) && b.Balance != 1000-512 {
		t.Fatalf("lessee balance %+v %v after %d periods", b, err, l.Paid)
	}
	routes, err := c.Routes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var inForce []string
	for _, r := range routes.Routes {
		if r.InForce {
			inForce = append(inForce, r.Prefix.String()+" AS"+strconv.FormatUint(uint64(r.ASN), 10))
		}
	}
	if !slices.Equal(inForce, []string{"193.0.7.0/24 AS64500"}) {
		t.Fatalf("in force during the lease: %v (all: %+v)", inForce, routes.Routes)
	}
	// Two two-second periods: after five seconds a block (made by any transaction) ends it.
	time.Sleep(5 * time.Second)
	commit(t, c, "pay", mustTx(t, ipledger.KindPay, 3, ipledger.PayBody{To: "ORG-A", Amount: 1}, orgB))
	deadline := time.Now().Add(10 * time.Second)
	var l *apitypes.LeaseInfo
	for {
		if l, err = c.Lease(ctx, "1"); err != nil {
			t.Fatal(err)
		}
		if l.State == ipledger.LeaseEnded || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if l.State != ipledger.LeaseEnded || l.EndReason != "expired" || l.Paid != 2 {
		t.Fatalf("lease after its term: %+v", l.Lease)
	}
	var evKinds []string
	for _, h := range l.History {
		evKinds = append(evKinds, h.Kind)
	}
	if !slices.Contains(evKinds, "lease") || !slices.ContainsFunc(evKinds, func(k string) bool { return k == "events:lease-ended" || k == "events:lease-paid,lease-ended" }) {
		t.Fatalf("lease history %v", evKinds)
	}
	if b, _ := c.Balance(ctx, "ORG-A"); b.Balance != 512+1 {
		t.Fatalf("lessor balance %+v", b)
	}
	routes, _ = c.Routes(ctx, "ORG-A")
	inForce = nil
	for _, r := range routes.Routes {
		if r.InForce {
			inForce = append(inForce, r.Prefix.String()+" AS"+strconv.FormatUint(uint64(r.ASN), 10))
		}
	}
	slices.Sort(inForce)
	if !slices.Equal(inForce, []string{"193.0.0.0/16 AS3333", "193.0.7.0/24 AS0"}) {
		t.Fatalf("in force after the lease: %v", inForce)
	}
	resp, err := http.Get(srv.URL + "/geofeed.csv")
	if err != nil {
		t.Fatal(err)
	}
	if feed, err := geofeed.Read(resp.Body); err != nil || len(feed) != 0 {
		t.Fatalf("geofeed after the lease: %+v %v", feed, err)
	}
	resp.Body.Close()
	if st, _, _ := rawCall(t, http.MethodGet, srv.URL+"/v1/leases/x", "", nil); st != http.StatusBadRequest {
		t.Fatalf("bad lease id: %d", st)
	}
	if st, _, _ := rawCall(t, http.MethodGet, srv.URL+"/v1/leases/99", "", nil); st != http.StatusNotFound {
		t.Fatalf("unknown lease: %d", st)
	}
	if st, _, _ := rawCall(t, http.MethodGet, srv.URL+"/v1/balances/ORG-NONE", "", nil); st != http.StatusNotFound {
		t.Fatalf("unknown org balance: %d", st)
	}
}
