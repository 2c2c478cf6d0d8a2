package whois

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// resource answers an address, prefix, range or AS number query.
func (r *run) resource(res ipledger.Resource) error {
	chn, err := ledger.Lookup(r.kv, res)
	if err != nil {
		return fmt.Errorf("lookup %s: %w", res, err)
	}
	if len(chn) > 0 {
		if reg, err := r.referral(chn[0]); err != nil {
			return err
		} else if reg != "" {
			r.refer(reg, res)
			return nil
		}
	}
	var list []*ipledger.Holding
	switch r.q.Level {
	case LevelDefault:
		if len(chn) > 0 {
			list = chn[len(chn)-1:]
		}
	case LevelExact:
		for _, h := range chn {
			if h.Resource == res {
				list = append(list, h)
			}
		}
	case LevelOneLess:
		for i := len(chn) - 1; i >= 0; i-- {
			if chn[i].Resource != res {
				list = chn[i : i+1]
				break
			}
		}
	case LevelAllLess:
		list = chn
	case LevelOneMore, LevelAllMore:
		if tooLarge(res) {
			return qerr(errTooLarge, "unsupported query", "-m and -M are not allowed on ranges larger than an IPv4 /8, an IPv6 /12 or 65536 AS numbers.")
		}
		return r.moreSpecific(res, chn)
	}
	routes, err := r.routeObjects(res)
	if err != nil {
		return err
	}
	if len(list) == 0 && len(routes) == 0 {
		return notFound()
	}
	if len(list) > 0 {
		if err := r.holdings(list, chn); err != nil && !(len(routes) > 0 && isNotFound(err)) {
			return err
		}
	}
	for _, o := range routes {
		if r.wants(o.typ) {
			if err := r.emit(o, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// referral returns the registry whose own service holds the records of space in pool, or ""
// when the ledger answers for it: pools of an RIR that has not allocated on the ledger yet
// (not Authoritative). IANA's pools are IANA's registries, which genesis holds in full.
func (r *run) referral(pool *ipledger.Holding) (string, error) {
	if pool.Depth != 0 || whoisHosts[pool.Holder] == "" {
		return "", nil
	}
	reg, err := r.org(pool.Holder)
	if err != nil {
		return "", err
	}
	if reg == nil || reg.Authoritative {
		return "", nil
	}
	return pool.Holder, nil
}

// refer prints where the records of res are.
func (r *run) refer(registry string, res ipledger.Resource) {
	host := whoisHosts[registry]
	r.comment(fmt.Sprintf("%% This space is managed by %s; its records are not on this ledger yet.\n%% Query %s for them: whois -h %s %s",
		registry, host, host, keyText(res)))
	r.referred = true
}

// holdings prints each holding of list as a group with its referenced objects; chn is the
// lookup chain of the key when list comes from it (nil otherwise).
func (r *run) holdings(list, chn []*ipledger.Holding) error {
	printed := 0
	for _, h := range list {
		if !r.wants(objectType(h)) {
			continue
		}
		c := chn
		if len(c) <= h.Depth || c[h.Depth].ID != h.ID {
			var err error
			if c, err = r.chainOf(h); err != nil {
				return err
			}
		}
		if err := r.holding(h, c[:h.Depth+1]); err != nil {
			if errors.Is(err, errLimit) {
				r.truncated()
				return nil
			}
			return err
		}
		printed++
	}
	if printed == 0 {
		return notFound()
	}
	return nil
}

// chainOf returns the lookup chain of h down to h itself.
func (r *run) chainOf(h *ipledger.Holding) ([]*ipledger.Holding, error) {
	c, err := ledger.Lookup(r.kv, h.Resource)
	if err != nil {
		return nil, fmt.Errorf("lookup %s: %w", h.Resource, err)
	}
	if len(c) <= h.Depth || c[h.Depth].ID != h.ID {
		return nil, fmt.Errorf("holding %d at depth %d is not in the lookup chain of %s", h.ID, h.Depth, h.Resource)
	}
	return c[:h.Depth+1], nil
}

// abuseContact returns the abuse mailbox for the last holding of chn: its holder's, else
// the nearest holder's above it, as the RIPE Database falls back to the parent resource.
func (r *run) abuseContact(chn []*ipledger.Holding) (string, error) {
	for i := len(chn) - 1; i >= 0; i-- {
		o, err := r.org(chn[i].Holder)
		if err != nil {
			return "", err
		}
		if o != nil && o.AbuseMailbox != "" {
			return o.AbuseMailbox, nil
		}
	}
	return "", nil
}

// holding prints one holding's group: header, abuse contact, the object, then (without -r)
// its holder's organisation and abuse role. chn is its lookup chain ending at it.
func (r *run) holding(h *ipledger.Holding, chn []*ipledger.Holding) error {
	key := primaryKey(h)
	if r.seen[holdingIdent(h)] {
		return nil
	}
	if r.primary >= r.s.opt.MaxObjects {
		return errLimit
	}
	holder, err := r.org(h.Holder)
	if err != nil {
		return err
	}
	abuse, err := r.abuseContact(chn)
	if err != nil {
		return err
	}
	if !r.q.NoGrouping && !r.q.Brief {
		r.comment("% Information related to '" + key + "'")
	}
	if abuse != "" {
		r.comment("% Abuse contact for '" + key + "' is '" + escapeValue(abuse) + "'")
	} else if !r.q.KeysOnly {
		r.comment("% No abuse contact registered for " + key)
	}
	if err := r.openNotices(h); err != nil {
		return err
	}
	if r.q.Brief {
		o := newObject(objectType(h), key)
		o.ident = holdingIdent(h)
		o.add("abuse-mailbox", abuse)
		return r.emit(o, true)
	}
	if err := r.emit(holdingObject(h, holder), true); err != nil {
		return err
	}
	if holder != nil {
		return r.referenced(holder)
	}
	return nil
}

// referenced prints the objects an object of o refers to, unless -r or -K: the
// organisation, and its abuse role.
func (r *run) referenced(o *ipledger.Organisation) error {
	if r.q.NoRecurse || r.q.KeysOnly {
		return nil
	}
	if err := r.emit(orgObject(o), false); err != nil {
		return err
	}
	if o.AbuseMailbox != "" {
		return r.emit(roleObject(o, r.q.NoFilter), false)
	}
	return nil
}

// sortHoldings orders holdings as a tree: by address, a larger range before the ranges it
// contains, and an equal range by depth.
func sortHoldings(list []*ipledger.Holding) {
	slices.SortFunc(list, func(a, b *ipledger.Holding) int {
		if c := a.Resource.Compare(b.Resource); c != 0 {
			return c
		}
		return a.Depth - b.Depth
	})
}

// maxNotices bounds the open abuse notices a holding's answer names.
const maxNotices = 5

// openNotices comments the open abuse cases (issue 18) on blocks overlapping an address
// holding, beside its abuse contact: each case's block, category, state and cure window,
// and where the JSON API has it.
func (r *run) openNotices(h *ipledger.Holding) error {
	if h.Resource.Family() == ipledger.ASN || r.q.KeysOnly {
		return nil
	}
	cases, n, err := ledger.OpenCases(r.kv, h.Resource, maxNotices)
	if err != nil {
		return fmt.Errorf("open notices: %w", err)
	}
	for _, c := range cases {
		r.comment(fmt.Sprintf("%% Open abuse notice on '%s': case %d (%s, %s, cure by %s), /v1/abuse/cases/%d",
			c.Resource, c.ID, c.Category, c.State, time.Unix(c.CureBy, 0).UTC().Format(time.RFC3339), c.ID))
	}
	if n > len(cases) {
		r.comment(fmt.Sprintf("%% %d more open abuse notices: /v1/abuse/cases?resource=%s", n-len(cases), h.Resource))
	}
	return nil
}
