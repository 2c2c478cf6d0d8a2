package web

import (
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// Page weight and third-party requests: every page kind stays under maxPageBytes before
// compression (the crawl of TestPages weighs each page it reaches and requires one page of
// every kind the handler routes) and makes its reader's browser ask nothing of another
// host: no absolute URL to another host in what a browser fetches without a click (scripts,
// styles, images, frames, media, CSS url() and @import), in the static files either, and
// the Content-Security-Policy header says default-src 'self' besides.

// pageKind is the kind of page a path shows: its first segment ("ip", "org"), or "/".
func pageKind(path string) string {
	path, _, _ = strings.Cut(path, "?")
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if seg == "" {
		return "/"
	}
	return seg
}

// routedKinds are the page kinds of the handler's routes (static files and the 404 page
// aside): a crawl must reach each.
func routedKinds() []string {
	var out []string
	for _, r := range routes {
		p := strings.TrimPrefix(r, "GET ")
		k := pageKind(p)
		switch {
		case k == "{$}":
			k = "/"
		case k == "static" || strings.HasPrefix(k, "{"):
			continue
		}
		out = append(out, k)
	}
	return out
}

// cssURL finds url(…) and @import "…" in a stylesheet or a style attribute.
var cssURL = regexp.MustCompile(`(?i)url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)`)

// fetched returns the URLs a browser fetches for a document without a click.
func fetched(doc *html.Node) []string {
	var out []string
	addCSS := func(s string) {
		for _, m := range cssURL.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1]+m[2])
		}
	}
	addSrcset := func(s string) {
		for _, c := range strings.Split(s, ",") {
			if f := strings.Fields(c); len(f) > 0 {
				out = append(out, f[0])
			}
		}
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				switch {
				case a.Key == "style":
					addCSS(a.Val)
				case a.Key == "srcset":
					addSrcset(a.Val)
				case a.Key == "src" || a.Key == "poster" || a.Key == "data" && n.Data == "object",
					a.Key == "href" && n.Data == "link",
					a.Key == "action" && n.Data == "form": // a submit goes there without leaving the page's links
					out = append(out, a.Val)
				case a.Key == "content" && n.Data == "meta" && strings.EqualFold(attr(n, "http-equiv"), "refresh"):
					if _, u, ok := strings.Cut(strings.ToLower(a.Val), "url="); ok {
						out = append(out, strings.Trim(u, `'" `))
					}
				}
			}
			if n.Data == "style" && n.FirstChild != nil {
				addCSS(n.FirstChild.Data)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

// thirdParty returns the URLs of list that leave base's host (protocol-relative ones too).
func thirdParty(base *url.URL, list []string) []string {
	var out []string
	for _, s := range list {
		u, err := base.Parse(strings.TrimSpace(s))
		if err == nil && u.Scheme == "data" {
			continue // inline: no request
		}
		if err != nil || u.Host != base.Host || u.Scheme != base.Scheme {
			out = append(out, s)
		}
	}
	return out
}

// checkRequests returns what is wrong with a page's own requests: a fetch of another host,
// or a Content-Security-Policy that would allow one.
func checkRequests(base *url.URL, doc *html.Node, csp string) []string {
	var errs []string
	for _, u := range thirdParty(base, fetched(doc)) {
		errs = append(errs, fmt.Sprintf("a request to another host: %s", u))
	}
	if !strings.Contains(csp, "default-src 'self'") {
		errs = append(errs, fmt.Sprintf("Content-Security-Policy %q does not keep requests to this host", csp))
	}
	return errs
}

// TestStaticFilesAskNoOtherHost reads the embedded stylesheets and scripts: no URL of
// another host in a stylesheet's url() or @import, none at all in a script.
func TestStaticFilesAskNoOtherHost(t *testing.T) {
	base, _ := url.Parse("http://node.example/static/")
	absolute := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]`)
	err := fs.WalkDir(staticFS, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(path)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(path, ".css"):
			var urls []string
			for _, m := range cssURL.FindAllStringSubmatch(string(b), -1) {
				urls = append(urls, m[1]+m[2])
			}
			for _, u := range thirdParty(base, urls) {
				t.Errorf("%s: a request to another host: %s", path, u)
			}
		case strings.HasSuffix(path, ".js"):
			if m := absolute.FindString(string(b)); m != "" {
				t.Errorf("%s: an absolute URL: %s", path, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRequestCheckFails shows checkRequests catching each way a page could ask another
// host for something, and passing a page that asks only its own.
func TestRequestCheckFails(t *testing.T) {
	base, _ := url.Parse("http://node.example/ip/192.0.2.0/24")
	const csp = "default-src 'self'; img-src 'self' data:"
	ok := `<link rel="stylesheet" href="/static/style.css"><script src="../static/app.js"></script>` +
		`<img src="data:image/png;base64,AA" alt=""><a href="https://rdap.example.org/">RDAP</a>` +
		`<div style="background: url(/static/x.png)"></div>`
	if errs := checkRequests(base, parse(t, ok), csp); len(errs) > 0 {
		t.Errorf("a page of its own host: %v", errs)
	}
	for _, bad := range []string{
		`<script src="https://cdn.example.com/x.js"></script>`,
		`<link rel="stylesheet" href="//fonts.example.com/css">`,
		`<img src="http://tracker.example.net/p.gif" alt="">`,
		`<img srcset="/a.png 1x, https://img.example.com/b.png 2x" alt="">`,
		`<iframe src="https://evil.example/"></iframe>`,
		`<div style="background: url('https://img.example.com/bg.png')"></div>`,
		`<style>@import "https://css.example.com/a.css";</style>`,
		`<form action="https://collect.example/"><label>x <input name="x"></label></form>`,
		`<meta http-equiv="refresh" content="0; url=https://elsewhere.example/">`,
		`<video poster="https://v.example/p.jpg"></video>`,
		`<script src="http://node.example:8080/x.js"></script>`, // another port is another origin
	} {
		if errs := checkRequests(base, parse(t, bad), csp); len(errs) == 0 {
			t.Errorf("not caught: %s", bad)
		}
	}
	if errs := checkRequests(base, parse(t, ok), "default-src *"); len(errs) == 0 {
		t.Error("a permissive Content-Security-Policy not caught")
	}
}

// checkKinds returns the routed page kinds a crawl's weights lack.
func checkKinds(weights map[string]int) []string {
	var missing []string
	for _, k := range routedKinds() {
		if _, ok := weights[k]; !ok {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	return missing
}

// TestCountdown: a listing's time left in its two largest units.
func TestCountdown(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "ended", -time.Hour: "ended", 40 * time.Second: "40 seconds", 90 * time.Second: "1 minute 30 seconds",
		36 * time.Hour: "1 day 12 hours", 24*time.Hour + 10*time.Second: "1 day", 3*time.Hour + 5*time.Minute + 7*time.Second: "3 hours 5 minutes",
	} {
		if got := countdown(d); got != want {
			t.Errorf("countdown(%s) = %q, want %q", d, got, want)
		}
	}
}
