package web

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// The accessibility rules the pages keep, checked over their HTML and the CSS: every
// input labelled, exactly one h1, the landmarks (header, nav, main, footer), a language
// and a viewport for phones, and every colour pair of the stylesheet at a contrast of at
// least 4.5:1 (WCAG 2.x AA for body text).

// checkPage returns the accessibility rules doc breaks.
func checkPage(doc *html.Node) []string {
	var errs []string
	count := map[string]int{}
	labels := map[string]bool{}
	var inputs []*html.Node
	viewport := false
	var walk func(n *html.Node, inLabel bool)
	walk = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			count[n.Data]++
			switch n.Data {
			case "label":
				if f := attr(n, "for"); f != "" {
					labels[f] = true
				}
				inLabel = true
			case "input", "select", "textarea":
				if !inLabel {
					inputs = append(inputs, n)
				}
			case "meta":
				viewport = viewport || attr(n, "name") == "viewport" && strings.Contains(attr(n, "content"), "width=device-width")
			case "html":
				if attr(n, "lang") == "" {
					errs = append(errs, "html has no lang")
				}
			case "img":
				if _, ok := attrOK(n, "alt"); !ok {
					errs = append(errs, "img without alt")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel)
		}
	}
	walk(doc, false)
	for _, in := range inputs {
		switch attr(in, "type") {
		case "hidden", "submit", "button":
			continue
		}
		if id := attr(in, "id"); (id == "" || !labels[id]) && attr(in, "aria-label") == "" {
			errs = append(errs, fmt.Sprintf("%s name=%q has no label", in.Data, attr(in, "name")))
		}
	}
	if count["h1"] != 1 {
		errs = append(errs, fmt.Sprintf("%d h1 elements, want exactly one", count["h1"]))
	}
	for _, l := range []string{"header", "nav", "main", "footer"} {
		if count[l] == 0 {
			errs = append(errs, "no "+l+" landmark")
		}
	}
	if count["main"] > 1 {
		errs = append(errs, "more than one main")
	}
	if !viewport {
		errs = append(errs, "no viewport meta for phones")
	}
	return errs
}

func attr(n *html.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

var (
	cssRule   = regexp.MustCompile(`(?s)([^{}]+)\{([^{}]*)\}`)
	cssColour = regexp.MustCompile(`(?:^|;)\s*color:\s*(#[0-9a-fA-F]{6})`)
	cssBack   = regexp.MustCompile(`background(?:-color)?:\s*(#[0-9a-fA-F]{6})`)
)

// checkCSS returns the colour pairs of css under a contrast of 4.5:1. A rule that sets a
// colour is paired with its own background, or the body's when it sets none; one that
// sets only a background with the body's colour.
func checkCSS(css string) []string {
	css = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(css, "")
	css = regexp.MustCompile(`@media[^{]*\{`).ReplaceAllString(css, "")
	type rule struct{ sel, fg, bg string }
	var rules []rule
	bodyFG, bodyBG := "#000000", "#ffffff"
	for _, m := range cssRule.FindAllStringSubmatch(css, -1) {
		r := rule{sel: strings.TrimSpace(m[1])}
		if c := cssColour.FindStringSubmatch(m[2]); c != nil {
			r.fg = c[1]
		}
		if c := cssBack.FindStringSubmatch(m[2]); c != nil {
			r.bg = c[1]
		}
		if r.sel == "body" {
			bodyFG, bodyBG = or(r.fg, bodyFG), or(r.bg, bodyBG)
		}
		rules = append(rules, r)
	}
	var errs []string
	for _, r := range rules {
		if r.fg == "" && r.bg == "" {
			continue
		}
		fg, bg := or(r.fg, bodyFG), or(r.bg, bodyBG)
		if c := contrast(fg, bg); c < 4.5 {
			errs = append(errs, fmt.Sprintf("%s: %s on %s has contrast %.2f, want >= 4.5", r.sel, fg, bg, c))
		}
	}
	return errs
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// contrast is the WCAG 2.x contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

func luminance(hex string) float64 {
	var ch [3]float64
	for i := range ch {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			ch[i] = c / 12.92
		} else {
			ch[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*ch[0] + 0.7152*ch[1] + 0.0722*ch[2]
}

// TestStylesheetContrast checks every colour pair of the served stylesheet.
func TestStylesheetContrast(t *testing.T) {
	css, err := staticFS.ReadFile("static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(css), "max-width: 40rem") {
		t.Error("the stylesheet has no narrow-screen rules")
	}
	for _, e := range checkCSS(string(css)) {
		t.Error(e)
	}
}

// TestAccessibilityCheckFails shows the checks fail on a page and a stylesheet that break
// each rule, and pass on ones that keep them.
func TestAccessibilityCheckFails(t *testing.T) {
	good := `<!DOCTYPE html><html lang="en"><head><meta name="viewport" content="width=device-width"></head><body>
<header><nav><a href="/">x</a></nav></header><main><h1>T</h1><label for="a">A</label><input id="a" name="a">
<label>B <input name="b"></label><input type="hidden" name="c"></main><footer>f</footer></body></html>`
	if errs := checkPage(parse(t, good)); len(errs) != 0 {
		t.Fatalf("good page: %v", errs)
	}
	for _, tc := range []struct{ name, page, want string }{
		{"two h1", strings.Replace(good, "<h1>T</h1>", "<h1>T</h1><h1>U</h1>", 1), "2 h1"},
		{"no h1", strings.Replace(good, "<h1>T</h1>", "", 1), "0 h1"},
		{"unlabelled", strings.Replace(good, `<label for="a">A</label>`, "", 1), `name="a" has no label`},
		{"no main", strings.NewReplacer("<main>", "<div>", "</main>", "</div>").Replace(good), "no main"},
		{"no nav", strings.NewReplacer("<nav>", "<div>", "</nav>", "</div>").Replace(good), "no nav"},
		{"no viewport", strings.Replace(good, `name="viewport"`, `name="x"`, 1), "viewport"},
		{"no lang", strings.Replace(good, ` lang="en"`, "", 1), "lang"},
	} {
		errs := checkPage(parse(t, tc.page))
		if !strings.Contains(strings.Join(errs, "; "), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, errs, tc.want)
		}
	}
	if errs := checkCSS("body { color: #1b1b1b; background-color: #ffffff; }\n.muted { color: #545b63; }"); len(errs) != 0 {
		t.Fatalf("good css: %v", errs)
	}
	// #777777 on white is 4.48:1, just under.
	for _, css := range []string{
		"body { color: #777777; background-color: #ffffff; }",
		"body { color: #1b1b1b; }\n.muted { color: #777777; }",
		"body { color: #ffffff; background-color: #12355b; }\n.x { background-color: #5a7a9b; }",
	} {
		if errs := checkCSS(css); len(errs) != 1 {
			t.Errorf("%q: %v, want one contrast error", css, errs)
		}
	}
}

func parse(t testing.TB, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
