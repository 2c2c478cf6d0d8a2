package web

import (
	"context"
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
	ctx := browsertest.New(t, 360, 740, 20*time.Second)
	// A phone's width: emulated, since headless Chromium keeps its window 500 px wide.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 740), chromedp.Navigate(w.srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	fits := func(page string) {
		if wide := overflow(t, ctx); wide != "" {
			t.Errorf("%s at 360 px: %s", page, wide)
		}
	}
	fits("front page")
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
	fits("address page")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href^="/lease/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#schedule-h")),
	); err != nil {
		t.Fatal(err)
	}
	if h1 := browsertest.Text(t, ctx, "h1"); h1 != "Lease 1: "+w.leased.String() {
		t.Fatalf("the lease link led to %q", h1)
	}
	fits("lease page")
	if sched := browsertest.Text(t, ctx, "#schedule-h + .scroll table"); !strings.Contains(sched, "paid") {
		t.Fatalf("payment schedule %q", sched)
	}
	// The page's script added the reader's local time beside a block time.
	if local := browsertest.Text(t, ctx, ".local"); !strings.Contains(local, "your time") {
		t.Fatalf("local time %q", local)
	}
}

// overflow returns what makes the page in ctx wider than its window (the first element
// outside a .scroll box, the innermost, that reaches past the right edge or whose content
// spills out of it), or "".
func overflow(tb testing.TB, ctx context.Context) string {
	tb.Helper()
	const js = `(() => {
		const w = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth <= w) return "";
		let found = ""; // the last one: the innermost of those nested
		for (const e of document.body.querySelectorAll("*")) {
			if (e.closest(".scroll")) continue;
			const r = e.getBoundingClientRect();
			const spills = e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === "visible";
			if (r.right > w + 0.5 || spills) found = "<" + e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.getAttribute("class") ? "." + e.getAttribute("class") : "") + "> reaches " + Math.round(Math.max(r.right, r.left + e.scrollWidth)) + " px of " + w;
		}
		return found || "page " + document.documentElement.scrollWidth + " px wide in " + w;
	})()`
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		tb.Fatalf("measure the page: %v", err)
	}
	return s
}
