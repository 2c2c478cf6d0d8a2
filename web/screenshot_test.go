package web

import (
	"bytes"
	"flag"
	"fmt"
	"html/template"
	"image"
	"image/draw"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ipledgertest/browsertest"
	"github.com/ipledger/ipledger/ledger"
)

var screenshots = flag.Bool("screenshots", false, "write PNGs of the main pages to docs/screenshots (TestScreenshots)")

// Screenshot sizes: a desktop window and a phone's. A capture is cut at its width's
// maxHeight, which keeps each PNG near 100 KB.
var screenSizes = []struct {
	name                 string
	width, height, maxHt int
}{
	{"desktop", 1200, 900, 1000},
	{"phone", 360, 740, 1300},
}

// TestScreenshots renders the main pages in Chromium at a desktop and a phone width and
// writes them to docs/screenshots/ (the README shows them). It runs only with
// -screenshots, so CI never rewrites them: go test ./web -run TestScreenshots -screenshots.
// At both widths it fails when a page is wider than the window: only tables may scroll,
// inside their .scroll box.
func TestScreenshots(t *testing.T) {
	if !*screenshots {
		t.Skip("regenerate with: go test ./web -run TestScreenshots -screenshots")
	}
	w := newWorld(t, ipledgertest.Data(t, "delegated/2014-06/delegated-afrinic-latest"))
	// The wallet's confirm page, rendered by the wallet's Renderer with a lease of the
	// world's second offer, beside the explorer (which serves the style sheet).
	rd := NewRenderer()
	mux := http.NewServeMux()
	mux.Handle("/", w.srv.Config.Handler)
	mux.HandleFunc("GET /wallet/confirm", func(rw http.ResponseWriter, r *http.Request) {
		rd.Render(rw, http.StatusOK, "wallet-confirm", confirmPage(t, w))
	})
	// The wallet's view of the open listing: the explorer's content with the bid and
	// cancel forms (the wallet keeps the node's main content through its allow-lists; here
	// the content is the test's own page).
	mux.HandleFunc("GET /wallet/listing", func(rw http.ResponseWriter, r *http.Request) {
		rd.Render(rw, http.StatusOK, "wallet-explore", walletListingPage(t, w))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// Pages without a name are checked for width, not shot.
	pages := []struct{ name, path string }{
		{"home", "/"},
		{"resource", "/ip/" + w.leased.String()},
		{"org", "/org/ORG-A"},
		{"leases", "/leases"},
		{"lease", "/lease/1"},
		{"log", "/log"},
		{"wallet-confirm", "/wallet/confirm"},
		{"market", "/market"},
		{"listing", "/listing/2"},
		{"wallet-listing", "/wallet/listing"},
		{"", "/as/37100"},
		{"", "/org/ORG-X"},
		{"", "/search?q=networks"},
		{"", "/tx/" + w.txs[0].String()},
		{"", "/tx/" + w.txs[len(w.txs)-1].String()},
		{"", "/nope"},
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, size := range screenSizes {
		ctx := browsertest.New(t, size.width, size.height, 2*time.Minute)
		// Headless Chromium keeps a window at least 500 px wide: the phone's width is
		// emulated.
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(size.width), int64(size.height))); err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+p.path), chromedp.WaitVisible(chromedp.CSS("footer"))); err != nil {
				t.Fatalf("%s: %v", p.path, err)
			}
			if wide := overflow(t, ctx); wide != "" {
				t.Errorf("%s at %d px: %s", p.path, size.width, wide)
			}
			if p.name == "" {
				continue
			}
			shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot of %s: %v", p.path, err)
			}
			b, err := cropPNG(shot, size.maxHt)
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			name := filepath.Join(dir, p.name+"-"+size.name+".png")
			if err := os.WriteFile(name, b, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d KB", name, len(b)/1024)
		}
	}
}

// cropPNG cuts a PNG at maxHeight pixels and encodes it again at best compression.
func cropPNG(b []byte, maxHeight int) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode screenshot: %w", err)
	}
	r := img.Bounds()
	r.Max.Y = min(r.Max.Y, r.Min.Y+maxHeight)
	out := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(out, out.Bounds(), img, r.Min, draw.Src)
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, out); err != nil {
		return nil, fmt.Errorf("encode screenshot: %w", err)
	}
	return buf.Bytes(), nil
}

// confirmPage is the wallet's confirm page for ORG-B taking the world's second offer.
func confirmPage(t testing.TB, w *world) *Page {
	snap := w.c.App().Committed()
	balance, err := ledger.Balance(snap.State, "ORG-B")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"offer": 2, "asn": 64501, "periods": 3}`
	offer := mustPrefix(t, nextAddr(w.leased.LastAddr()), 24)
	return &Page{Title: "Confirm: lease", Height: snap.Height, Time: snap.Block.Time,
		Actions: []Action{{Label: "Sign and submit", Method: "post", Path: "/wallet/confirm", Fields: []Field{{Name: "csrf", Type: "hidden", Value: "t"}}}},
		Data: map[string]any{
			"Kind": "lease", "ChainID": "web-test", "Body": body,
			"Price": "pays 768 credits a period (3 per address) for 3 periods of 30 days, the first now", "Fee": "none",
			"Signers":  []map[string]any{{"Org": "ORG-B", "Key": ipledgertest.Key("ORG-B").Public().String(), "State": "signs"}},
			"Sequence": 3, "Expiry": snap.Block.Time.Add(time.Hour).UTC().Format(time.DateTime),
			"Facts": []string{"offer 2 of ORG-A for " + offer.String() + " is open", "ORG-B holds " + fmt.Sprint(balance) + " credits"},
			"Proof": map[string]any{"Height": snap.Height, "AppHash": fmt.Sprintf("%X", snap.Block.AppHash), "Header": snap.Height + 1,
				"ChainID": "web-test", "Signatures": 1, "Validators": 1},
			"Hash": ipledger.HashTx([]byte(body)).String(), "Multi": false, "NodeURL": "http://127.0.0.1:8080",
		}}
}

// walletListingPage is the wallet's page of the world's open listing (2), signing as ORG-B.
func walletListingPage(t testing.TB, w *world) *Page {
	_, _, body := w.get(t, "/listing/2")
	_, rest, _ := strings.Cut(body, "</h1>")
	content, _, _ := strings.Cut(rest, "</main>")
	snap := w.c.App().Committed()
	hidden := []Field{{Name: "as", Type: "hidden", Value: "ORG-B"}, {Name: "csrf", Type: "hidden", Value: "t"}}
	return &Page{Title: "Listing 2: " + w.listed.String(), Height: snap.Height, Time: snap.Block.Time,
		Actions: []Action{
			{Label: "Bid", Method: "post", Path: "/wallet/bid", Fields: append(hidden, Field{Name: "listing", Label: "Listing number", Type: "number", Value: "2"},
				Field{Name: "amount", Label: "Bid for the whole block, in credits", Type: "number"}, Field{Name: "asn", Label: "Origin AS to authorise if the bid wins (optional)", Type: "text"})},
			{Label: "Cancel the listing", Method: "post", Path: "/wallet/cancel-listing", Fields: append(hidden, Field{Name: "listing", Label: "Listing number", Type: "number", Value: "2"})},
		},
		Data: map[string]any{"Content": template.HTML(content), "As": "ORG-B", "NodeURL": "http://127.0.0.1:8080/listing/2"}}
}
