package cli

import (
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
)

// TestTxMarket: each market subcommand builds its kind's body from its flags and signs it
// (swap with the buyer as cosigner).
func TestTxMarket(t *testing.T) {
	home := t.TempDir()
	for _, org := range []string{"ORG-A", "ORG-B"} {
		if code, _, errs := run("key", "create", org, "--home", home); code != 0 {
			t.Fatal(errs)
		}
	}
	node := &fakeNode{commit: true}
	url := serveNode(t, node)
	for _, c := range []struct {
		args []string
		want any
	}{
		{[]string{"list", "--resource", "193.0.4.0/22", "--reserve", "1000", "--min-increment", "50", "--end", "1900000000"},
			&ipledger.ListBody{Resource: ipledger.MustParseResource("193.0.4.0/22"), Reserve: 1000, MinIncrement: 50, End: 1900000000}},
		{[]string{"bid", "--listing", "3", "--amount", "1200", "--asn", "64500"}, &ipledger.BidBody{Listing: 3, Amount: 1200, ASN: 64500}},
		{[]string{"cancel-listing", "--listing", "3"}, &ipledger.CancelListingBody{Listing: 3}},
		{[]string{"swap", "--resource", "193.0.8.0/24", "--cosigner", "ORG-B", "--price", "700"},
			&ipledger.SwapBody{Resource: ipledger.MustParseResource("193.0.8.0/24"), Buyer: "ORG-B", Price: 700}},
		{[]string{"cancel-sale", "--sale", "2"}, &ipledger.CancelSaleBody{Sale: 2}},
		{[]string{"ask", "--resource", "193.0.9.0/24", "--min-price", "30"}, &ipledger.AskBody{Resource: ipledger.MustParseResource("193.0.9.0/24"), MinPrice: 30}},
		{[]string{"order", "--class", "ipv4-24-any-NL-A", "--quantity", "3", "--limit", "35", "--until", "1900000000", "--asn", "64500"},
			&ipledger.OrderBody{Class: ipledger.MustParseAuctionClass("ipv4-24-any-NL-A"), Quantity: 3, Limit: 35, Expiry: 1900000000, ASN: 64500}},
		{[]string{"cancel-order", "--order", strings.Repeat("AB", 32)}, &ipledger.CancelOrderBody{Order: ipledger.Hash{0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB, 0xAB}}},
	} {
		args := append([]string{"tx", c.args[0], "--home", home, "--node", url, "--as", "ORG-A", "--sequence", "1"}, c.args[1:]...)
		if code, _, errs := run(args...); code != 0 {
			t.Fatalf("%v: %s", c.args, errs)
		}
		tx := node.last(t)
		got := reflect.New(reflect.TypeOf(c.want).Elem()).Interface()
		if err := tx.DecodeBodyInto(got); err != nil || !reflect.DeepEqual(got, c.want) || tx.Kind.String() != c.args[0] {
			t.Fatalf("%v: %s %+v %v, want %+v", c.args, tx.Kind, got, err, c.want)
		}
		if c.args[0] == "swap" && (len(tx.Signatures) != 2 || tx.Signatures[1].Org != "ORG-B") {
			t.Fatalf("swap signed by %+v", tx.Signatures)
		}
	}
	if code, _, errs := run("tx", "swap", "--home", home, "--node", url, "--as", "ORG-A", "--sequence", "1", "--price", "1"); code == 0 || !strings.Contains(errs, "--resource") {
		t.Fatalf("a swap without --resource: %d %s", code, errs)
	}
	if code, _, errs := run("tx", "order", "--home", home, "--node", url, "--as", "ORG-A", "--sequence", "1", "--class", "ipv4-24-any"); code == 0 || !strings.Contains(errs, "--class") {
		t.Fatalf("an order with a bad --class: %d %s", code, errs)
	}
}

// TestQueryMarket: query market trades, listings and books print tables and pass their
// filters.
func TestQueryMarket(t *testing.T) {
	var query string
	url := serveNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		switch r.URL.Path {
		case "/v1/market/trades":
			w.Write([]byte(`{"height":42,"trades":[{"id":7,"time":1796670000,"height":40,"venue":"listing","ref":"listing/2","resource":"193.0.4.0/22",
				"family":"ipv4","seller":"ORG-ALICE","buyer":"ORG-BOB","price":2048,"fee":10,"units":1024,"price_per_unit":2}],"truncated":true,"next":7}`))
		case "/v1/market/listings":
			w.Write([]byte(`{"height":42,"listings":[{"id":2,"seller":"ORG-ALICE","resource":"193.0.4.0/22","depth":1,"reserve":1000,"min_increment":1,
				"end":1796670000,"created":"2026-12-07T17:00:00Z","bids":1,"high_bidder":"ORG-BOB","high_bid":2048,"state":"open"}]}`))
		case "/v1/market/books":
			w.Write([]byte(`{"height":42,"books":[{"class":"ipv4-24-any-any-A","asks":3,"bids":2,"blocks_bid":5,"best_ask":31,"best_bid":36}]}`))
		case "/v1/market/books/ipv4-24-any-any-A":
			w.Write([]byte(`{"height":42,"class":"ipv4-24-any-any-A","units":256,"asks":[{"price":31,"orders":2,"blocks":2}],"bids":[{"price":36,"orders":1,"blocks":4}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	for _, c := range []struct {
		args  []string
		query string
		want  []string
	}{
		{[]string{"trades", "--org", "ORG-BOB", "--venue", "listing", "--after", "3"}, "after=3&org=ORG-BOB&venue=listing",
			[]string{"1 trade at height 42", "2026-12-07T", "listing  193.0.4.0/22  ORG-ALICE  ORG-BOB  2048", "more: --after 7"}},
		{[]string{"listings", "--all"}, "all=true", []string{"1 listing at height 42", "193.0.4.0/22  ORG-ALICE  1000", "ORG-BOB  open"}},
		{[]string{"books"}, "", []string{"1 book at height 42", "ipv4-24-any-any-A  3     2     5           31        36"}},
		{[]string{"books", "ipv4-24-any-any-A"}, "", []string{"ipv4-24-any-any-A (256 units a block) at height 42", "ask   31", "bid   36"}},
	} {
		code, out, errs := run(append([]string{"query", "market", "--node", url}, c.args...)...)
		if code != 0 {
			t.Fatalf("%v: %s", c.args, errs)
		}
		if query != c.query {
			t.Errorf("%v: query %q, want %q", c.args, query, c.query)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: no %q in\n%s", c.args, w, out)
			}
		}
	}
}

// TestPrintBalanceHeld: a balance says what of it bids hold.
func TestPrintBalanceHeld(t *testing.T) {
	var b strings.Builder
	printBalance(&b, &apitypes.BalanceInfo{Org: "ORG-A", Balance: 10, Held: 4, Height: 3})
	if want := "ORG-A holds 10 credits at height 3\n4 of them held by bids and pending purchases\n"; b.String() != want {
		t.Fatalf("%q, want %q", b.String(), want)
	}
}

// TestSwapOutNextStep: a swap the seller signs with --out names the buyer as the next
// signer.
func TestSwapOutNextStep(t *testing.T) {
	home := t.TempDir()
	if code, _, errs := run("key", "create", "ORG-A", "--home", home); code != 0 {
		t.Fatal(errs)
	}
	url := serveNode(t, &fakeNode{commit: true})
	file := filepath.Join(t.TempDir(), "swap.tx")
	_, out, errs := run("tx", "swap", "--home", home, "--node", url, "--sequence", "1", "--out", file, "--as", "ORG-A",
		"--buyer", "ORG-B", "--resource", "193.0.0.0/24", "--price", "9")
	if want := "next: ipledger tx sign " + file + " --as ORG-B\n"; !strings.Contains(out, want) {
		t.Fatalf("swap --out: stdout %q, stderr %q; want %q", out, errs, want)
	}
}
