package wallet

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/web"
)

// The explorer's pages in the wallet: the wallet fetches the node's page, keeps the
// content of its main landmark through an allow-list of elements and attributes, and
// serves it in its own layout with the action forms of what the page shows (a block: list
// it, offer it, authorise a route, swap it; a listing: bid, cancel; an organisation: pay
// it). What the node wrote is data here: no script, style, form, frame or attribute
// outside the list reaches the wallet's origin, links stay on the wallet's own paths, and
// every action still proves what it touches before the confirm page, so a page a lying
// node wrote cannot make the user sign what the confirm page does not say.

// maxExplorerPage bounds a node's page the wallet reads (the explorer's are under 100 KB).
const maxExplorerPage = 1 << 20

// exploreData is the model of wallet-explore.html.
type exploreData struct {
	Content template.HTML // the node's main content, sanitised
	As      string        // the organisation the actions sign for
	NodeURL string        // the same page on the node
}

// explore serves an explorer page of the node with the wallet's actions in place. A
// redirect of the node's to a path of its own (a search that names one page) sends the
// browser to that path on the wallet, whose actions then fit the page; the wallet follows
// no redirect itself.
func (s *Server) explore(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.nodeURL(r.URL.RequestURI()), nil)
	if err != nil {
		s.message(w, r, http.StatusBadRequest, "Not a page", err.Error())
		return
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if s.o.Node.HTTP != nil {
		hc.Transport = s.o.Node.HTTP.Transport
	}
	resp, err := hc.Do(req)
	if err != nil {
		s.message(w, r, http.StatusBadGateway, "The node does not answer", fmt.Sprintf("node %s: %v", s.o.Node.Base, err))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc := resp.Header.Get("Location"); ownPath(loc) && !strings.HasPrefix(loc, "#") {
			http.Redirect(w, r, loc, http.StatusSeeOther)
			return
		}
		s.message(w, r, http.StatusBadGateway, "The node sent the page elsewhere", "The node answered "+resp.Status+" to a place off its own pages; the wallet does not follow it.")
		return
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxExplorerPage+1))
	if err == nil && len(body) > maxExplorerPage {
		err = fmt.Errorf("over %d bytes", maxExplorerPage)
	}
	if err != nil {
		s.message(w, r, http.StatusBadGateway, "The node's page does not read", err.Error())
		return
	}
	status := resp.StatusCode
	title, content, err := sanitisePage(body)
	if err != nil {
		s.message(w, r, http.StatusBadGateway, "The node's page does not read", err.Error())
		return
	}
	as := s.actingAs()
	page := &web.Page{Title: title, Query: r.URL.Query().Get("q"),
		Data: exploreData{Content: content, As: as, NodeURL: s.nodeURL(r.URL.RequestURI())}}
	if status == http.StatusOK && as != "" {
		for _, a := range pageActions(r.URL.Path) {
			fields := append([]web.Field{{Name: "as", Type: "hidden", Value: as}, s.hidden()}, a.fields...)
			page.Actions = append(page.Actions, web.Action{Label: a.action.label, Method: "post", Path: "/wallet/" + a.action.name, Fields: fields})
		}
	}
	s.render(w, status, "wallet-explore", page)
}

// actingAs is the organisation the explorer pages' actions sign for: the one the front
// page last showed, else DEMO when the home has its key, else the home's first key named
// like an organisation.
func (s *Server) actingAs() string {
	s.mu.Lock()
	as := s.as
	s.mu.Unlock()
	if as != "" {
		return as
	}
	names, err := s.o.Keys.Names()
	if err != nil {
		return ""
	}
	for _, n := range names {
		if n == "DEMO" {
			return n
		}
	}
	for _, n := range names {
		if ipledger.ValidHandle(n) {
			return n
		}
	}
	return ""
}

// pageAction is an action offered on an explorer page, with its fields filled from what
// the page shows.
type pageAction struct {
	action *action
	fields []web.Field
}

// pageActions returns the actions of the explorer page at path.
func pageActions(path string) []pageAction {
	kind, arg, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	with := func(a *action, values map[string]string) pageAction {
		fs := make([]web.Field, len(a.fields))
		for i, f := range a.fields {
			if v, ok := values[f.Name]; ok {
				f.Value = v
			}
			fs[i] = f
		}
		return pageAction{action: a, fields: fs}
	}
	switch kind {
	case "ip":
		r, err := ipledger.ParseResource(arg)
		if err != nil || r.Family() == ipledger.ASN {
			return nil
		}
		res := map[string]string{"resource": r.String()}
		out := []pageAction{with(actionNamed("list"), res), with(actionNamed("offer"), res), with(actionNamed("swap"), res)}
		if p, ok := r.Prefix(); ok && p.Addr().Is4() && p.Bits() <= 24 || ok && p.Addr().Is6() && p.Bits() <= 48 {
			out = append(out, with(actionNamed("authorise"), map[string]string{"prefix": p.String(), "max_length": fmt.Sprint(p.Bits())}))
		}
		return append(out, with(actionNamed("set-geo"), res), with(actionNamed("transfer"), res))
	case "listing":
		id := map[string]string{"listing": arg}
		return []pageAction{with(actionNamed("bid"), id), with(actionNamed("cancel-listing"), id)}
	case "org":
		return []pageAction{with(actionNamed("pay"), map[string]string{"to": arg})}
	case "leases":
		return []pageAction{with(actionNamed("lease"), nil)}
	case "lease":
		return []pageAction{with(actionNamed("pay"), nil)}
	case "market":
		return []pageAction{with(actionNamed("list"), nil), with(actionNamed("swap"), nil)}
	}
	return nil
}

// actionNamed returns the action at /wallet/name; every name asked for exists.
func actionNamed(name string) *action {
	for _, a := range actions {
		if a.name == name {
			return a
		}
	}
	panic("wallet: no action " + name)
}

// Elements kept from a node's page, by name; any other is dropped with everything in it.
var keptElements = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`p a dl dt dd section h2 h3 table thead tbody tr th td div span time ol ul li code pre
		figure figcaption bdi strong em br small svg title desc rect line polyline circle text`) {
		keptElements[n] = true
	}
}

// Attributes kept; href only as a path of the wallet's own or a fragment.
var keptAttrs = map[string]bool{
	"id": true, "class": true, "datetime": true, "scope": true, "aria-labelledby": true, "aria-label": true, "role": true,
	"viewbox": true, "x": true, "y": true, "x1": true, "y1": true, "x2": true, "y2": true, "width": true, "height": true,
	"fill": true, "stroke": true, "stroke-width": true, "stroke-linecap": true, "stroke-linejoin": true, "points": true,
	"font-size": true, "text-anchor": true, "cx": true, "cy": true, "r": true, "href": true,
}

// sanitisePage returns the h1 text of a node's page and the content of its main element
// (the h1 and any action section aside), through the allow-lists.
func sanitisePage(page []byte) (string, template.HTML, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return "", "", fmt.Errorf("parse the node's page: %w", err)
	}
	main := find(doc, func(n *html.Node) bool { return n.DataAtom == atom.Main })
	if main == nil {
		return "", "", fmt.Errorf("the node's page has no main element")
	}
	title := "Explorer"
	if h1 := find(main, func(n *html.Node) bool { return n.DataAtom == atom.H1 }); h1 != nil {
		title = strings.TrimSpace(textOf(h1))
	}
	var buf bytes.Buffer
	for c := main.FirstChild; c != nil; c = c.NextSibling {
		if c.DataAtom == atom.H1 {
			continue
		}
		if n := clean(c); n != nil {
			if err := html.Render(&buf, n); err != nil {
				return "", "", fmt.Errorf("render the node's page: %w", err)
			}
		}
	}
	// Built from parsed nodes through the allow-lists and rendered with html.Render,
	// which escapes every text and attribute value.
	return title, template.HTML(buf.String()), nil
}

// clean returns a copy of n through the allow-lists, or nil for a node dropped.
func clean(n *html.Node) *html.Node {
	switch n.Type {
	case html.TextNode:
		return &html.Node{Type: html.TextNode, Data: n.Data}
	case html.ElementNode:
	default:
		return nil // comments, doctypes
	}
	if !keptElements[strings.ToLower(n.Data)] || n.DataAtom == atom.Section && hasClass(n, "actions") {
		return nil
	}
	out := &html.Node{Type: html.ElementNode, Data: n.Data, DataAtom: n.DataAtom, Namespace: n.Namespace}
	for _, a := range n.Attr {
		key := strings.ToLower(a.Key)
		if !keptAttrs[key] || a.Namespace != "" {
			continue
		}
		if key == "href" && !ownPath(a.Val) {
			continue
		}
		out.Attr = append(out.Attr, html.Attribute{Key: a.Key, Val: a.Val})
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if k := clean(c); k != nil {
			out.AppendChild(k)
		}
	}
	return out
}

// ownPath reports whether href stays on the wallet: an absolute path (not "//host") or a
// fragment.
func ownPath(href string) bool {
	return strings.HasPrefix(href, "#") || strings.HasPrefix(href, "/") && !strings.HasPrefix(href, "//") && !strings.ContainsAny(href, "\\\t\n\r")
}

func hasClass(n *html.Node, class string) bool {
	for _, a := range n.Attr {
		if a.Key == "class" && strings.Contains(" "+a.Val+" ", " "+class+" ") {
			return true
		}
	}
	return false
}

func find(n *html.Node, ok func(*html.Node) bool) *html.Node {
	if n.Type == html.ElementNode && ok(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := find(c, ok); f != nil {
			return f
		}
	}
	return nil
}

func textOf(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(textOf(c))
	}
	return b.String()
}
