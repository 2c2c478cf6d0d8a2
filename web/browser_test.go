package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ipledgertest/browsertest"
)

// TestBrowserNewcomer: a newcomer opens the front page in Chromium, searches the leased
// address with the search box and follows the page to its lease and its payment schedule.
func TestBrowserNewcomer(t *testing.T) {
	w := newWorld(t, ipledgertest.Data(t, "delegated/2014-06/delegated-afrinic-latest"))
	ctx := browsertest.New(t, 360, 740, 20*time.Second) // a phone-sized window
	if err := chromedp.Do(ctx, chromedp.Navigate(w.srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	addr := w.leased.FirstAddr().String()
	// The search box is there and usable.
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), addr),
		chromedp.Submit(chromedp.CSS("#q")),
		chromedp.WaitVisible(chromedp.CSS("#lease-h")),
	); err != nil {
		t.Fatal(err)
	}
	if h1 := browsertest.Text(t, ctx, "h1"); !strings.Contains(h1, addr) {
		t.Fatalf("the search led to %q, want the page of %s", h1, addr)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href^="/lease/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#schedule-h")),
	); err != nil {
		t.Fatal(err)
	}
	if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Lease 1: "+w.leased.String() {
		t.Fatalf("the lease link led to %q", h1)
	}
	if sched := browsertest.Text(t, ctx, "#schedule-h + .scroll table"); !strings.Contains(sched, "paid") {
		t.Fatalf("payment schedule %q", sched)
	}
	// The page's script added the reader's local time beside a block time.
	if local := browsertest.Text(t, ctx, ".local"); !strings.Contains(local, "your time") {
		t.Fatalf("local time %q", local)
	}
}
