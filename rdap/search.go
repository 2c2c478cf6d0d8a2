package rdap

import (
	"fmt"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// holdingSearch answers ips?handle=|name= and autnums?handle=|name=.
func (rc *request) holdingSearch(q query) (any, error) {
	x, err := rc.index()
	if err != nil {
		return nil, err
	}
	class := classIP
	what := "networks"
	if q.kind == kindAutnumSearch {
		class, what = classAS, "autnums"
	}
	var found []int32
	var truncated bool
	if q.field == "handle" {
		found, truncated = x.byHandle(class, q.pat, rc.h.max)
	} else {
		found, truncated = x.byName(class, q.pat, rc.h.max)
	}
	if len(found) == 0 {
		return nil, notFound("no %s with %s matching %s", what, q.field, q.pat)
	}
	return rc.holdingResults(x, class, found, truncated)
}

// entitySearch answers entities?fn=|handle=.
func (rc *request) entitySearch(q query) (any, error) {
	x, err := rc.index()
	if err != nil {
		return nil, err
	}
	var found []int32
	var truncated bool
	if q.field == "handle" {
		found, truncated = x.orgsByHandle(q.pat, rc.h.max)
	} else {
		found, truncated = x.orgsByName(q.pat, rc.h.max)
	}
	if len(found) == 0 {
		return nil, notFound("no entities with %s matching %s", q.field, q.pat)
	}
	var extra []notice
	if truncated {
		extra = append(extra, rc.truncation())
	}
	body := &entitySearch{top: rc.top(extra...), Results: []*entity{}}
	for _, i := range found {
		handle := x.orgs[i].handle
		o, err := rc.org(handle)
		if err != nil {
			return nil, err
		}
		if o == nil {
			return nil, fmt.Errorf("organisation %s of the search index is not in the state it was built from", handle)
		}
		e, err := rc.entity(o, nil, false)
		if err != nil {
			return nil, err
		}
		body.Results = append(body.Results, e)
	}
	return body, nil
}

// holdingResults renders found holdings (indices into x.hold) as search results.
func (rc *request) holdingResults(x *index, class int, found []int32, truncated bool) (any, error) {
	var extra []notice
	if truncated {
		extra = append(extra, rc.truncation())
	}
	if class == classAS {
		results, err := results[*autnum](rc, x, found)
		return &autnumSearch{top: rc.top(extra...), Results: results}, err
	}
	results, err := results[*network](rc, x, found)
	return &ipSearch{top: rc.top(extra...), Results: results}, err
}

// results renders found holdings (indices into x.hold) as results of type T, an *autnum
// or a *network as x's class says; never nil, so that an empty search is an empty array.
func results[T object](rc *request, x *index, found []int32) ([]T, error) {
	out := []T{}
	for _, i := range found {
		obj, err := rc.result(x, i)
		if err != nil {
			return nil, err
		}
		out = append(out, obj.(T))
	}
	return out, nil
}

// result renders holding x.hold[i] briefly (no history read), with its parent's handle.
func (rc *request) result(x *index, i int32) (object, error) {
	e := &x.hold[i]
	h, err := ledger.HoldingByID(rc.snap.State, e.id)
	if err != nil {
		return nil, fmt.Errorf("holding %d: %w", e.id, err)
	}
	if h == nil || h.Resource != e.res {
		return nil, fmt.Errorf("holding %d of the search index is not in the state it was built from", e.id)
	}
	parent := ""
	if p := x.parent(i); p >= 0 {
		parent = ipledger.HoldingHandle(x.hold[p].id)
	}
	return rc.holding(h, parent, false)
}

// truncation is the notice of a bounded result set (RFC 9083 §4.3, §10.2.1).
func (rc *request) truncation() notice {
	rc.h.m.truncated.Inc()
	return notice{Title: "Search Policy", Type: "result set truncated due to excessive load", Description: []string{
		fmt.Sprintf("At most %d objects are returned for one query; narrow it to see the rest.", rc.h.max)}}
}
