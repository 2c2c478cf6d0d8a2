package rdap

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// request is the context of one answer: where links point, the snapshot it reads, and
// caches of what it read.
type request struct {
	h      *handler
	r      *http.Request
	rel    string // the request below Prefix, escaped, with its query string
	base   string // RDAP base URL, ending in "/"
	api    string // JSON API root URL, ending in "/"
	snap   *ipledger.Snapshot
	orgs   map[string]*ipledger.Organisation
	blocks map[int64]*ipledger.BlockRecord
}

func (h *handler) newRequest(r *http.Request, rest string) *request {
	rc := &request{h: h, r: r, base: h.base, api: h.api,
		orgs: map[string]*ipledger.Organisation{}, blocks: map[int64]*ipledger.BlockRecord{}}
	if rc.base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		host := r.Host
		if host == "" {
			host = "localhost"
		}
		rc.base = scheme + "://" + host + Prefix
	}
	if rc.api == "" {
		rc.api = parentURL(rc.base)
	}
	if rest != "" {
		rc.rel, _ = strings.CutPrefix(r.URL.EscapedPath(), Prefix)
		if r.URL.RawQuery != "" {
			rc.rel += "?" + r.URL.RawQuery
		}
	}
	return rc
}

// parentURL drops the last path segment of a base URL: https://x/rdap/ gives https://x/.
func parentURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	p := strings.TrimSuffix(u.Path, "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		u.Path = p[:i+1]
	} else {
		u.Path = "/"
	}
	u.RawPath = ""
	return u.String()
}

// ready takes the committed snapshot, or fails with 503 before the first block.
func (rc *request) ready() error {
	s := rc.h.src.Committed()
	if s == nil || s.State == nil || s.Height < 1 {
		return statusErrorf(http.StatusServiceUnavailable, "the ledger has no committed block yet; retry shortly")
	}
	rc.snap = s
	return nil
}

// index takes the search index and the snapshot it belongs to.
func (rc *request) index() (*index, error) {
	s := rc.h.src.Committed()
	if s == nil || s.State == nil || s.Height < 1 {
		return nil, statusErrorf(http.StatusServiceUnavailable, "the ledger has no committed block yet; retry shortly")
	}
	x, err := rc.h.idx.get(rc.r.Context(), s, rc.h)
	if err != nil {
		return nil, err
	}
	rc.snap = x.snapFor(s)
	return x, nil
}

// self is the URL of this request, the context of top-level links.
func (rc *request) self() string { return rc.base + rc.rel }

// top is what the top-level object carries: conformance and notices.
func (rc *request) top(extra ...notice) top {
	return top{Conformance: conformance, Notices: append(extra, rc.notices(rc.snap)...)}
}

// notices are the terms of service, how to report an inaccuracy and, for answers read
// from the ledger, which committed state they were read from.
func (rc *request) notices(snap *ipledger.Snapshot) []notice {
	help := rc.base + "help"
	terms, termsType := rc.h.terms, "text/html"
	if terms == "" {
		terms, termsType = help, contentType
	}
	inacc, inaccType := rc.h.inaccuracy, "text/html"
	if inacc == "" {
		inacc, inaccType = help, contentType
	}
	self := rc.self()
	out := []notice{
		{Title: "Terms of Service", Description: []string{
			"Registration data of Internet number resources, read from a replicated ledger of signed transactions. It is public; use it for network operations, not to send bulk mail."},
			Links: []link{{Value: self, Rel: "terms-of-service", Href: terms, Type: termsType}}},
		{Title: "Inaccuracy Report", Description: []string{
			"Records change only through signed transactions: ask the holder, or the registry that registered it, to correct an inaccurate record."},
			Links: []link{{Value: self, Rel: "inaccuracy-report", Href: inacc, Type: inaccType}}},
	}
	if snap != nil && snap.Height > 0 {
		out = append(out, notice{Title: "Ledger State", Description: []string{
			fmt.Sprintf("Answered from the committed ledger state at height %d (block time %s); the block record names the app hash that commits to it.", snap.Height, rfc3339(snap.Block.Time))},
			Links: []link{{Value: self, Rel: "related", Href: rc.api + "v1/blocks/" + strconv.FormatInt(snap.Height, 10), Type: "application/json", Title: "Block record"}}})
	}
	return out
}

// answer serves every query that reads the ledger.
func (rc *request) answer(q query) (any, error) {
	switch q.kind {
	case kindIP, kindAutnum:
		return rc.lookup(q.res)
	case kindEntity:
		return rc.entityLookup(q.handle)
	case kindIPSearch, kindAutnumSearch:
		return rc.holdingSearch(q)
	case kindEntitySearch:
		return rc.entitySearch(q)
	case kindIPRelation, kindAutnumRelation:
		return rc.relation(q)
	}
	return nil, statusErrorf(http.StatusNotImplemented, "query not supported")
}

func (rc *request) org(handle string) (*ipledger.Organisation, error) {
	if o, ok := rc.orgs[handle]; ok {
		return o, nil
	}
	o, err := ledger.Org(rc.snap.State, handle)
	if err != nil {
		return nil, fmt.Errorf("organisation %s: %w", handle, err)
	}
	rc.orgs[handle] = o
	return o, nil
}

func (rc *request) block(height int64) (*ipledger.BlockRecord, error) {
	if rec, ok := rc.blocks[height]; ok {
		return rec, nil
	}
	rec, err := rc.h.src.Block(height)
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", height, err)
	}
	rc.blocks[height] = rec
	return rec, nil
}
