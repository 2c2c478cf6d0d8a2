package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ipledger/ipledger/ipledgertest/browsertest"
)

// TestWalletBrowser drives Debian's chromium through the wallet on a dev chain: starting
// from the demo organisation, it takes the demo lessor's lease, authorises a route for
// DEMO's AS in its own block, and bids on the lessor's listing from the listing's explorer
// page in the wallet, confirming each on the confirm page; then the lease, the route and
// the bid show on the node's public pages.
func TestWalletBrowser(t *testing.T) {
	home := t.TempDir()
	runDevLog(t, "demo organisations ready", func(out, log string) {
		api := "http://" + apiAddr(t, out)
		asn := demoASN(t, log)
		own := demoOwn(t, log)
		_, walletURL := serveWallet(t, home, api)

		ctx := browsertest.New(t, 1200, 900, 40*time.Second)
		css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
		// act fills and posts a form with steps, checks the confirm page's kind, confirms,
		// and checks the result page.
		act := func(what, kind string, steps ...chromedp.Action[chromedp.Void]) {
			t.Helper()
			if err := chromedp.Do(ctx, append(steps, chromedp.WaitVisible(css(`#kind`)))...); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if k := browsertest.Text(t, ctx, `#kind`); k != kind {
				t.Fatalf("%s: the confirm page's kind %q", what, k)
			}
			if err := chromedp.Do(ctx, chromedp.Click(css(`form[action="/wallet/confirm"] button`)), chromedp.WaitVisible(css(`#result`))); err != nil {
				t.Fatalf("%s: confirm: %v", what, err)
			}
			if r := browsertest.Text(t, ctx, `#result`); !strings.Contains(r, "applied") {
				t.Fatalf("%s: %q", what, r)
			}
		}

		// The printed URL logs in and lands on DEMO's page; take the demo lessor's offer.
		act("take the lease", "lease",
			chromedp.Navigate(walletURL),
			chromedp.WaitVisible(css(`#offer-1`)),
			chromedp.SendKeys(css(`#take-asn-1`), asn),
			chromedp.Click(css(`#offer-1 button`)))

		// Authorise a route for DEMO's AS in its own /24.
		auth := `form[action="/wallet/authorise"]`
		walletBase, _, _ := strings.Cut(walletURL, "/login")
		act("authorise the route", "authorise-route",
			chromedp.Navigate(walletBase+"/?as=DEMO"),
			chromedp.WaitVisible(css(auth)),
			chromedp.SendKeys(css(auth+` input[name="prefix"]`), own.String()),
			chromedp.SendKeys(css(auth+` input[name="max_length"]`), "24"),
			chromedp.SendKeys(css(auth+` input[name="asn"]`), "AS"+asn),
			chromedp.Click(css(auth+` button`)))

		// On the explorer's page of the demo lessor's listing, served by the wallet with its
		// actions in place, DEMO bids.
		bid := `form[action="/wallet/bid"]`
		act("bid on the listing", "bid",
			chromedp.Navigate(walletBase+"/listing/1"),
			chromedp.WaitVisible(css(bid)),
			chromedp.SendKeys(css(bid+` input[name="amount"]`), "13000"),
			chromedp.SendKeys(css(bid+` input[name="asn"]`), "AS"+asn),
			chromedp.Click(css(bid+` button`)))

		// The public node's pages show all three.
		if err := chromedp.Do(ctx, chromedp.Navigate(api+"/lease/1"), chromedp.WaitVisible(css(`main`))); err != nil {
			t.Fatal(err)
		}
		leasePage := browsertest.Text(t, ctx, `main`)
		if err := chromedp.Do(ctx, chromedp.Navigate(api+"/ip/"+own.String()), chromedp.WaitVisible(css(`main`))); err != nil {
			t.Fatal(err)
		}
		routePage := browsertest.Text(t, ctx, `main`)
		if !strings.Contains(leasePage, DemoOrg) || !strings.Contains(leasePage, "AS"+asn) {
			t.Errorf("the node's lease page does not show DEMO's lease:\n%s", leasePage)
		}
		if !strings.Contains(routePage, "AS"+asn) {
			t.Errorf("the node's page of %s does not show the route for AS%s:\n%s", own, asn, routePage)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(api+"/listing/1"), chromedp.WaitVisible(css(`main`))); err != nil {
			t.Fatal(err)
		}
		if p := browsertest.Text(t, ctx, `main`); !strings.Contains(p, "13000 credits by "+DemoOrg) {
			t.Errorf("the node's listing page does not show DEMO's bid:\n%s", p)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(api+"/market"), chromedp.WaitVisible(css(`#listing-1`))); err != nil {
			t.Fatal(err)
		}
		if p := browsertest.Text(t, ctx, `#listing-1`); !strings.Contains(p, "13000 by "+DemoOrg) {
			t.Errorf("the node's market page does not show DEMO's bid: %q", p)
		}
	}, "--home", home)
}
