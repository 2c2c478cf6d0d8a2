package whois

import (
	"fmt"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

// handle answers a key that is not a resource: a holding handle (IPL-H42), an organisation
// handle, or an abuse role's nic-hdl.
func (r *run) handle(key string) error {
	found := false
	if id, ok := holdingID(key); ok {
		h, err := ledger.HoldingByID(r.kv, id)
		if err != nil {
			return fmt.Errorf("holding %d: %w", id, err)
		}
		if h != nil && r.wants(objectType(h)) {
			if reg, err := r.poolRegistry(h); err != nil {
				return err
			} else if reg != "" {
				r.refer(reg, h.Resource)
				return nil
			}
			if err := r.holdings([]*ipledger.Holding{h}, nil); err != nil {
				return err
			}
			found = true
		}
	}
	if ipledger.ValidHandle(key) {
		o, err := r.org(key)
		if err != nil {
			return err
		}
		if o != nil && r.wants(typeOrg) {
			if err := r.orgGroup(o); err != nil {
				return err
			}
			found = true
		}
	}
	if base, ok := strings.CutSuffix(key, roleSuffix); ok && ipledger.ValidHandle(base) {
		o, err := r.org(base)
		if err != nil {
			return err
		}
		if o != nil && o.AbuseMailbox != "" && r.wants(typeRole) {
			if err := r.roleGroup(o); err != nil {
				return err
			}
			found = true
		}
	}
	if !found {
		return notFound()
	}
	return nil
}

// poolRegistry is referral for the pool a holding lies in.
func (r *run) poolRegistry(h *ipledger.Holding) (string, error) {
	if h.Depth != 0 {
		return "", nil // below a pool: the registry allocated it on the ledger
	}
	return r.referral(h)
}

func (r *run) orgGroup(o *ipledger.Organisation) error {
	if r.seen[typeOrg+"/"+o.Handle] {
		return nil
	}
	if !r.q.NoGrouping {
		r.comment("% Information related to '" + escapeValue(o.Handle) + "'")
	}
	if err := r.emit(orgObject(o), true); err != nil {
		return err
	}
	if o.AbuseMailbox != "" && !r.q.NoRecurse && !r.q.KeysOnly {
		return r.emit(roleObject(o, r.q.NoFilter), false)
	}
	return nil
}

func (r *run) roleGroup(o *ipledger.Organisation) error {
	if r.seen[typeRole+"/"+roleHandle(o.Handle)] {
		return nil
	}
	if !r.q.NoGrouping {
		r.comment("% Information related to '" + escapeValue(roleHandle(o.Handle)) + "'")
	}
	if err := r.emit(roleObject(o, r.q.NoFilter), true); err != nil {
		return err
	}
	if !r.q.NoRecurse && !r.q.KeysOnly {
		return r.emit(orgObject(o), false)
	}
	return nil
}
