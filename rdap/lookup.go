package rdap

import (
	"fmt"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// authority redirects the request when pool, a depth-0 holding, belongs to a registry whose
// records are not on the ledger yet: RFC 7480 §5.2, to that registry's own service with the
// same relative path. IANA's space, and a registry without a known service, answer here.
func (rc *request) authority(pool *ipledger.Holding) error {
	if pool.Depth != 0 || pool.Holder == ipledger.IANA {
		return nil
	}
	o, err := rc.org(pool.Holder)
	if err != nil {
		return err
	}
	if o == nil || !o.IsRegistry || o.Authoritative {
		return nil
	}
	base, ok := rc.h.redirects[o.Handle]
	if !ok {
		return nil
	}
	return &redirect{registry: o.Handle, location: base + rc.rel}
}

// lookup answers ip/ and autnum/: the most specific holding containing all of res.
func (rc *request) lookup(res ipledger.Resource) (any, error) {
	if err := rc.ready(); err != nil {
		return nil, err
	}
	chn, err := ledger.Lookup(rc.snap.State, res)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", res, err)
	}
	if len(chn) == 0 {
		return nil, notFound("no registration contains all of %s", res)
	}
	if err := rc.authority(chn[0]); err != nil {
		return nil, err
	}
	return rc.topHolding(chn)
}

// topHolding renders the last holding of chn, with its parent, as a top-level object.
func (rc *request) topHolding(chn []*ipledger.Holding) (any, error) {
	h := chn[len(chn)-1]
	parent := ""
	if len(chn) > 1 {
		parent = chn[len(chn)-2].Handle()
	}
	obj, err := rc.holding(h, parent, true)
	if err != nil {
		return nil, err
	}
	obj.set(rc.top())
	return obj, nil
}
