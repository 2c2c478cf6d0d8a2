package web

import (
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ipledger/ipledger"
)

// Templates: layout.html defines "layout" (the landmarks, the search box, the h1 from
// Page.Title, the JSON twin and the actions) around each page's "content". English text
// lives in the templates only, so a translation is a set of templates.

// pageNames are the page templates, each parsed with the layout.
var pageNames = []string{"home", "search", "resource", "org", "leases", "lease", "tx", "log", "market", "listing", "error"}

var funcs = template.FuncMap{
	"when":     when,
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"unix":     func(s int64) time.Time { return time.Unix(s, 0).UTC() },
	"resLink":  resLink,
	"objLink":  objLink,
	"short":    func(h ipledger.Hash) string { return h.String()[:12] + "…" },
	"p":        url.PathEscape,
	"duration": duration,
	"add":      func(a, b int) int { return a + b },
	"rdap":     rdapPath,
}

func parseTemplates() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	out := map[string]*template.Template{}
	for _, n := range pageNames {
		out[n] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+n+".html"))
	}
	return out
}

// when formats a block time: UTC to the second (the page's script adds the reader's local
// time beside it).
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// duration formats a period in seconds as the largest whole unit that fits.
func duration(s int64) string {
	switch {
	case s%86400 == 0 && s >= 86400:
		return plural(s/86400, "day")
	case s%3600 == 0 && s >= 3600:
		return plural(s/3600, "hour")
	case s%60 == 0 && s >= 60:
		return plural(s/60, "minute")
	}
	return plural(s, "second")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// resLink is the page of a resource: /as/N or /as/N-M for AS numbers, /ip/… for addresses.
func resLink(r ipledger.Resource) string {
	if r.Family() == ipledger.ASN {
		if r.FirstAS() == r.LastAS() {
			return "/as/" + strconv.FormatUint(uint64(r.FirstAS()), 10)
		}
		return "/as/" + strconv.FormatUint(uint64(r.FirstAS()), 10) + "-" + strconv.FormatUint(uint64(r.LastAS()), 10)
	}
	return "/ip/" + r.String()
}

// rdapPath is the RDAP lookup of a resource: /rdap/autnum/N, /rdap/ip/PREFIX, or the
// first address of a range that is no prefix.
func rdapPath(r ipledger.Resource) string {
	if r.Family() == ipledger.ASN {
		return "/rdap/autnum/" + strconv.FormatUint(uint64(r.FirstAS()), 10)
	}
	if p, ok := r.Prefix(); ok {
		return "/rdap/ip/" + p.String()
	}
	return "/rdap/ip/" + r.FirstAddr().String()
}

// objLink is the page of an object a transaction touched ("holding/42", "org/ORG-A",
// "lease/7"), or "" for one without a page.
func objLink(obj string) string {
	kind, id, _ := strings.Cut(obj, "/")
	switch kind {
	case "holding":
		return "/search?q=IPL-H" + url.QueryEscape(id)
	case "org":
		return "/org/" + url.PathEscape(id)
	case "lease":
		return "/lease/" + url.PathEscape(id)
	case "offer":
		return "/leases#offer-" + url.PathEscape(id)
	case "listing":
		return "/listing/" + url.PathEscape(id)
	}
	return ""
}
