package web

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
)

// What a wallet (package wallet) takes from this package besides the Page model: its own
// pages rendered with the same layout, and the same style sheet and script. The wallet's
// page templates are templates/wallet-*.html; their text, like the explorer's, lives in
// the templates only.

// walletPageNames are the wallet's page templates, each parsed with the layout.
var walletPageNames = []string{"wallet-home", "wallet-confirm", "wallet-result", "wallet-keys", "wallet-cosign", "wallet-message", "wallet-block", "wallet-explore"}

// Renderer renders the wallet's pages. The zero Renderer is not usable; NewRenderer
// makes one.
type Renderer struct {
	pages map[string]*template.Template
}

// NewRenderer parses the wallet's page templates. It panics if one does not parse, which
// every test shows.
func NewRenderer() *Renderer {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	out := map[string]*template.Template{}
	for _, n := range walletPageNames {
		out[n] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+n+".html"))
	}
	return &Renderer{pages: out}
}

// Render writes page p with template name ("wallet-home", "wallet-confirm", …) and status
// to w, with the explorer's security headers. A template error answers 500 and is
// returned.
func (rd *Renderer) Render(w http.ResponseWriter, status int, name string, p *Page) error {
	t := rd.pages[name]
	var buf bytes.Buffer
	if t == nil {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return fmtError("no template " + strconv.Quote(name))
	}
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		http.Error(w, "render failed", http.StatusInternalServerError)
		return err
	}
	writeHTML(w, status, buf.Bytes())
	return nil
}

// Static returns the handler of the explorer's static files (style sheet, script), to
// mount at /static/.
func Static() http.Handler {
	static, _ := fs.Sub(staticFS, "static")
	return http.StripPrefix("/static/", http.FileServerFS(static))
}

// ObjectPath returns the explorer's path of an object a transaction touched
// ("holding/42", "org/ORG-A", "lease/7", "offer/3"), or "" for one without a page: where
// a wallet's result page links, on the node.
func ObjectPath(obj string) string { return objLink(obj) }

type fmtError string

func (e fmtError) Error() string { return string(e) }
