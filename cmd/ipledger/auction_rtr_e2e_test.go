package main

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/cli"
	"github.com/ipledger/ipledger/ipledgertest"
)

// TestAuctionRTR is issue 16's benchmark of the class auction's end to the buyer's
// authorisation reaching a connected RTR client (BIRD 2), with --rtr-notify-interval 1s: a
// chain whose genesis sets a 5 s auction interval, a seller's ask of a whole /24 and a
// buyer's bid naming AS64500; from the clearing's boundary (or the bid's commit, if later)
// to the route in BIRD's ROA table. The target is 2 s.
func TestAuctionRTR(t *testing.T) {
	bird := ipledgertest.Program(t, "bird", "Debian package bird2")
	birdc := ipledgertest.Program(t, "birdc", "Debian package bird2")
	home := initHome(t, "auction-rtr")
	const interval = 5
	setGenesisParam(t, home, "auction_interval", interval)
	addr := ipledgertest.FreeAddr(t)
	n := launchNode(t, "node", home, "--rtr", addr, "--rtr-notify-interval", "1s")
	waitListen(t, addr, 60*time.Second, n.out.String)
	_, port, _ := net.SplitHostPort(addr)
	b := startBird(t, bird, birdc, t.TempDir(), port)
	cl, ctx := n.cl, context.Background()
	st, err := cl.Status(ctx)
	for err != nil || st.Height < 1 {
		time.Sleep(50 * time.Millisecond)
		st, err = cl.Status(ctx)
	}
	ripe, agent := signer(t, home, ipledger.RIPENCC), signer(t, home, cli.SettlementAgent)
	sk, _ := ipledger.GenerateKey(nil)
	bk, _ := ipledger.GenerateKey(nil)
	seller, buyer := ipledger.Signer{Org: "ORG-SELLER", Key: sk}, ipledger.Signer{Org: "ORG-BUYER", Key: bk}
	send := func(kind ipledger.Kind, seq uint64, body any, by ipledger.Signer) {
		t.Helper()
		commit(t, ctx, cl, st.ChainID, kind, seq, body, by)
	}
	send(ipledger.KindRegisterOrg, 1, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: seller.Org, Name: "Seller", Keys: []ipledger.PublicKey{sk.Public()}},
		{Handle: buyer.Org, Name: "Buyer", Keys: []ipledger.PublicKey{bk.Public()}},
	}}, ripe)
	send(ipledger.KindAllocate, 2, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.7.0/24"), Org: seller.Org, Status: ipledger.StatusAllocatedPA}}}, ripe)
	send(ipledger.KindMint, 1, ipledger.MintBody{To: buyer.Org, Amount: 100_000}, agent)
	send(ipledger.KindAsk, 1, ipledger.AskBody{Resource: ipledger.MustParseResource("193.0.7.0/24"), MinPrice: 10}, seller)
	send(ipledger.KindOrder, 1, ipledger.OrderBody{Class: ipledger.MustParseAuctionClass("ipv4-24-any-any-A"), Quantity: 1, Limit: 12,
		Expiry: time.Now().Add(time.Hour).Unix(), ASN: 64500}, buyer)
	placed := time.Now()
	end := time.Unix((placed.Unix()/interval+1)*interval, 0)
	// A block after the boundary clears the book (one commits when a transaction comes).
	time.Sleep(time.Until(end))
	from := end
	if placed.After(end) {
		from = placed
	}
	send(ipledger.KindPay, 2, ipledger.PayBody{To: seller.Org, Amount: 1}, buyer)
	b.wait("the buyer's authorisation", 20*time.Second, func() bool {
		return slices.Contains(b.routes("r4"), "193.0.7.0/24-24 AS64500")
	})
	took := time.Since(from)
	t.Logf("from the auction's end to the buyer's authorisation in BIRD: %v (target 2 s)", took.Round(10*time.Millisecond))
	var trades apitypes.TradeList
	if err := cl.Get(ctx, "/v1/market/trades", url.Values{"venue": {"auction"}}, &trades); err != nil ||
		len(trades.Trades) != 1 || trades.Trades[0].Buyer != buyer.Org || trades.Trades[0].PricePerUnit != 11 {
		t.Fatalf("auction trades %+v %v", trades, err)
	}
	if took > 2*time.Second {
		t.Errorf("the buyer's authorisation took %v to reach BIRD, over the 2 s target", took)
	}
}

// setGenesisParam sets one of the ledger's parameters in home's genesis before its first
// start.
func setGenesisParam(t *testing.T, home, name string, value any) {
	t.Helper()
	path := chain.GenesisPath(home)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var app map[string]json.RawMessage
	if err := json.Unmarshal(doc["app_state"], &app); err != nil {
		t.Fatal(err)
	}
	params := map[string]any{}
	if p, ok := app["params"]; ok {
		if err := json.Unmarshal(p, &params); err != nil {
			t.Fatal(err)
		}
	}
	params[name] = value
	if app["params"], err = json.Marshal(params); err != nil {
		t.Fatal(err)
	}
	if doc["app_state"], err = json.Marshal(app); err != nil {
		t.Fatal(err)
	}
	if b, err = json.MarshalIndent(doc, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
