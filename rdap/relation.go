package rdap

import (
	"fmt"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// relation answers the RFC 9910 relation searches. For the argument's lookup chain (the
// holdings containing all of it): top is the registry pool; up the most specific holding
// strictly larger than the argument; down the holdings one level below the chain that lie
// inside the argument; bottom, for every number of the argument, the most specific holding
// containing it (so an enclosing holding comes too wherever the ones inside leave a gap).
// Top and up answer one object, down and bottom a result set.
func (rc *request) relation(q query) (any, error) {
	var x *index
	var err error
	if q.relation == "down" || q.relation == "bottom" {
		x, err = rc.index()
	} else {
		err = rc.ready()
	}
	if err != nil {
		return nil, err
	}
	chn, err := ledger.Lookup(rc.snap.State, q.res)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", q.res, err)
	}
	if len(chn) > 0 {
		if err := rc.authority(chn[0]); err != nil {
			return nil, err
		}
	}
	switch q.relation {
	case "top":
		if len(chn) == 0 {
			return nil, notFound("no registration contains all of %s", q.res)
		}
		return rc.topHolding(chn[:1])
	case "up":
		i := len(chn) - 1
		for i >= 0 && chn[i].Resource == q.res {
			i--
		}
		if i < 0 {
			return nil, notFound("no registration is larger than %s and contains it", q.res)
		}
		return rc.topHolding(chn[:i+1])
	}
	var enclosing *ipledger.Holding
	if len(chn) > 0 {
		enclosing = chn[len(chn)-1]
	}
	var found []int32
	var truncated bool
	if q.relation == "down" {
		found, truncated = x.down(q.res, len(chn), rc.h.max)
	} else {
		found, truncated = x.bottom(q.res, enclosing, rc.h.max)
	}
	if len(found) == 0 {
		return nil, notFound("no registrations %s %s", map[string]string{"down": "one level below", "bottom": "inside"}[q.relation], q.res)
	}
	class := classIP
	if q.res.Family() == ipledger.ASN {
		class = classAS
	}
	return rc.holdingResults(x, class, found, truncated)
}
