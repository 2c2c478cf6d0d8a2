package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ipledger/ipledger/ipledgertest"
)

// TestBrowserNewcomer: a newcomer opens the front page in Chromium, searches the leased
// address with the search box and follows the page to its lease and its payment schedule.
func TestBrowserNewcomer(t *testing.T) {
	exe := ipledgertest.Program(t, "chromium", "apt-get install chromium")
	w := newWorld(t, ipledgertest.Data(t, "delegated/2014-06/delegated-afrinic-latest"))
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Headless, chromedp.WindowSize(360, 740), chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first run starts the browser, which lives as long as its context: no timeout
	// on that one, one on the steps after it.
	if err := chromedp.Do(ctx, chromedp.Navigate(w.srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	addr := w.leased.FirstAddr().String()
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// A phone-sized window: the search box is there and usable.
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), addr),
		chromedp.Submit(chromedp.CSS("#q")),
		chromedp.WaitVisible(chromedp.CSS("#lease-h")),
	); err != nil {
		t.Fatal(err)
	}
	if h1 := text("h1"); !strings.Contains(h1, addr) {
		t.Fatalf("the search led to %q, want the page of %s", h1, addr)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`a[href^="/lease/"]`)),
		chromedp.WaitVisible(chromedp.CSS("#schedule-h")),
	); err != nil {
		t.Fatal(err)
	}
	if h1 := text("h1"); h1 != "Lease 1: "+w.leased.String() {
		t.Fatalf("the lease link led to %q", h1)
	}
	if sched := text("#schedule-h + .scroll table"); !strings.Contains(sched, "paid") {
		t.Fatalf("payment schedule %q", sched)
	}
	// The page's script added the reader's local time beside a block time.
	if local := text(".local"); !strings.Contains(local, "your time") {
		t.Fatalf("local time %q", local)
	}
}
