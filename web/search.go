package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// searchData is the search page's model: the matches of a name, or why nothing matched.
type searchData struct {
	Query   string
	Orgs    []orgMatch
	More    bool
	Nothing string // what was looked for and not found
}

type orgMatch struct {
	Handle, Name string
}

func (h *handler) search(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	q := r.URL.Query().Get("q")
	kind, v := ipledger.ClassifyQuery(q)
	p := &Page{Title: "Search", name: "search", Query: q, JSON: "/v1/search?q=" + url.QueryEscape(q)}
	d := &searchData{Query: q}
	p.Data = d
	kv := snap.State
	switch kind {
	case ipledger.QueryEmpty:
		return p, nil
	case ipledger.QueryHash:
		hash, _ := ipledger.ParseHash(v)
		_, ok, err := h.o.Reader.Outcome(hash)
		if err != nil {
			return nil, err
		}
		if ok {
			p.redirect = "/tx/" + v
			return p, nil
		}
		d.Nothing = "no committed transaction has the hash " + v + " (it may still be waiting in a mempool)"
	case ipledger.QueryHolding:
		id, _ := strconv.ParseUint(v, 10, 64)
		hd, err := ledger.HoldingByID(kv, id)
		if err != nil {
			return nil, err
		}
		if hd != nil {
			p.redirect = resLink(hd.Resource)
			return p, nil
		}
		d.Nothing = "no holding IPL-H" + v
	case ipledger.QueryAS, ipledger.QueryResource:
		res, _ := ipledger.ParseResource(v)
		chn, err := ledger.Lookup(kv, res)
		if err != nil {
			return nil, err
		}
		if len(chn) > 0 {
			p.redirect = resLink(res)
			if kind == ipledger.QueryResource {
				p.redirect = "/ip/" + v // an address stays one
			}
			return p, nil
		}
		d.Nothing = "no single holding contains all of " + v
	case ipledger.QueryHandle:
		o, err := ledger.Org(kv, v)
		if err != nil {
			return nil, err
		}
		if o != nil {
			p.redirect = "/org/" + url.PathEscape(v)
			return p, nil
		}
		fallthrough
	case ipledger.QueryName:
		idx, err := h.idx.get(h.o.Reader, snap)
		if err != nil {
			return nil, err
		}
		d.Orgs, d.More = idx.findOrgs(v, MaxRows)
		if len(d.Orgs) == 0 {
			d.Nothing = "no organisation's handle or name contains " + strconv.Quote(q)
		}
	}
	return p, nil
}
