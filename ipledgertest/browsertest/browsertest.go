// Package browsertest starts Debian's chromium for a test and drives it with chromedp. It is
// a package of its own so that only the browser tests link chromedp.
package browsertest

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ipledger/ipledger/ipledgertest"
)

// New starts a headless chromium with a window of width × height pixels and a profile of its
// own, and returns a context that runs chromedp actions in it until timeout. Without chromium
// the test is skipped, or fails under CI=true. The browser stops when the test ends.
func New(tb testing.TB, width, height int, timeout time.Duration) context.Context {
	tb.Helper()
	exe := ipledgertest.Program(tb, "chromium", "apt-get install chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Headless, chromedp.WindowSize(width, height), chromedp.UserDataDir(tb.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	tb.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	// The first run starts the browser, which lives as long as its context: no timeout on
	// that one, one on the steps after it.
	if err := chromedp.Do(bctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, timeout)
	tb.Cleanup(cancel)
	return ctx
}

// Text returns the text of the first element the CSS selector sel matches, failing tb if
// none shows before ctx ends.
func Text(tb testing.TB, ctx context.Context, sel string) string {
	tb.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.Fatalf("text of %s: %v", sel, err)
	}
	return s
}
