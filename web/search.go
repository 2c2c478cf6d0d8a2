package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// queryKind is what a search box query names.
type queryKind int

// The kinds of query classify tells apart.
const (
	queryEmpty    queryKind = iota
	queryResource           // an address, prefix or range: value is the resource as it parses
	queryAS                 // an AS number or range: value is "ASn" or "ASn-ASm"
	queryHash               // a transaction hash: value is 64 lower-case hexadecimal digits
	queryHolding            // a holding handle IPL-Hn: value is n
	queryHandle             // an organisation handle, or a name: value is the upper-cased handle
	queryName               // words to find in organisations' names: value is upper-cased
)

// maxQuery is the longest query classified; longer ones are names cut to it.
const maxQuery = 200

// classify tells what a search box query names. It never fails: what is no number
// resource, hash or handle is a name to search for.
func classify(s string) (queryKind, string) {
	s = strings.TrimSpace(s)
	if len(s) > maxQuery {
		s = s[:maxQuery]
	}
	if s == "" {
		return queryEmpty, ""
	}
	up := strings.ToUpper(s)
	if len(s) == 64 {
		if h, err := ipledger.ParseHash(strings.ToLower(s)); err == nil {
			return queryHash, h.String()
		}
	}
	if n, ok := strings.CutPrefix(up, "IPL-H"); ok {
		if id, err := strconv.ParseUint(n, 10, 64); err == nil && id > 0 {
			return queryHolding, strconv.FormatUint(id, 10)
		}
	}
	if as, ok := asQuery(up); ok {
		return queryAS, as
	}
	if r, err := ipledger.ParseResource(s); err == nil && r.Family() != ipledger.ASN {
		return queryResource, r.String()
	}
	if ipledger.ValidHandle(up) {
		return queryHandle, up
	}
	return queryName, strings.Join(strings.Fields(up), " ")
}

// asQuery reads "AS64496", "64496", "AS64496-AS64511" or "as 64496" as an AS query. A
// bare number is an AS number (addresses have dots or colons).
func asQuery(up string) (string, bool) {
	s := strings.ReplaceAll(up, " ", "")
	a, b, rng := strings.Cut(s, "-")
	a, b = strings.TrimPrefix(a, "AS"), strings.TrimPrefix(b, "AS")
	if !asDigits(a) || rng && !asDigits(b) {
		return "", false
	}
	out := "AS" + a
	if rng {
		out += "-AS" + b
	}
	r, err := ipledger.ParseResource(out)
	if err != nil || r.Family() != ipledger.ASN {
		return "", false
	}
	return out, true
}

func asDigits(x string) bool {
	return x != "" && len(x) <= 10 && (len(x) == 1 || x[0] != '0') && strings.Trim(x, "0123456789") == ""
}

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
	kind, v := classify(q)
	p := &Page{Title: "Search", name: "search", Query: q}
	d := &searchData{Query: q}
	p.Data = d
	kv := snap.State
	if kv == nil {
		d.Nothing = "the chain has no state yet"
		return p, nil
	}
	switch kind {
	case queryEmpty:
		return p, nil
	case queryHash:
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
	case queryHolding:
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
	case queryAS, queryResource:
		res, _ := ipledger.ParseResource(v)
		chn, err := ledger.Lookup(kv, res)
		if err != nil {
			return nil, err
		}
		if len(chn) > 0 {
			p.redirect = resLink(res)
			return p, nil
		}
		d.Nothing = "no single holding contains all of " + v
	case queryHandle:
		o, err := ledger.Org(kv, v)
		if err != nil {
			return nil, err
		}
		if o != nil {
			p.redirect = "/org/" + url.PathEscape(v)
			return p, nil
		}
		fallthrough
	case queryName:
		idx, err := h.idx.get(snap)
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
