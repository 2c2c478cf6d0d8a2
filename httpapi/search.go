package httpapi

import (
	"net/http"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// GET /v1/search?q=: what a search query names (ipledger.ClassifyQuery) and where the
// answer is, the JSON twin of the explorer's search page. A name lists the organisations
// whose handle or name holds every word of it.

// searchResult is the answer of GET /v1/search.
type searchResult struct {
	Query string `json:"query"`
	// Kind is "empty", "resource", "as", "tx", "holding", "org" or "name".
	Kind string `json:"kind"`
	// Path is the JSON API path of the object the query names, when there is one.
	Path      string      `json:"path,omitempty"`
	Orgs      []searchOrg `json:"orgs,omitempty"`
	Truncated bool        `json:"truncated,omitempty"`
	Height    int64       `json:"height"`
}

type searchOrg struct {
	Handle string `json:"handle"`
	Name   string `json:"name"`
}

// maxSearchOrgs is the most organisations a name search answers.
const maxSearchOrgs = 100

func (s *server) search(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query().Get("q")
	kind, v := ipledger.ClassifyQuery(q)
	snap := s.app.Committed()
	res := &searchResult{Query: q, Height: snap.Height}
	found := func(k, path string) { res.Kind, res.Path = k, path }
	switch kind {
	case ipledger.QueryEmpty:
		res.Kind = "empty"
	case ipledger.QueryResource:
		found("resource", "/v1/resources/"+v)
	case ipledger.QueryAS:
		found("as", "/v1/resources/"+v)
	case ipledger.QueryHash:
		found("tx", "/v1/tx/"+v)
	case ipledger.QueryHolding:
		found("holding", "/v1/holdings/"+v)
	case ipledger.QueryHandle:
		o, err := ledger.Org(snap.State, v)
		if err != nil {
			return err
		}
		if o != nil {
			found("org", "/v1/orgs/"+v)
			break
		}
		fallthrough
	case ipledger.QueryName:
		res.Kind, res.Orgs = "name", []searchOrg{}
		words := strings.Fields(v)
		err := ledger.Orgs(snap.State, func(o *ipledger.Organisation) bool {
			up := strings.ToUpper(o.Handle + " " + o.Name)
			for _, w := range words {
				if !strings.Contains(up, w) {
					return true
				}
			}
			return appendCapped(&res.Orgs, searchOrg{Handle: o.Handle, Name: o.Name}, maxSearchOrgs, &res.Truncated)
		})
		if err != nil {
			return err
		}
	}
	return s.writeJSON(w, http.StatusOK, res)
}
