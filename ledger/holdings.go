package ledger

import (
	"github.com/ipledger/ipledger"
)

// newHolding stores a new holding with a fresh id.
func (a *apply) newHolding(h ipledger.Holding) (*ipledger.Holding, error) {
	id, err := a.nextID()
	if err != nil {
		return nil, err
	}
	h.ID = id
	h.Changed = a.block.Time
	if err := a.putHolding(&h); err != nil {
		return nil, err
	}
	a.touchHolding(&h)
	return &h, nil
}

// checkResource rejects the zero Resource and IPv6 space that is not a prefix.
func checkResource(r ipledger.Resource) error {
	if !r.IsValid() {
		return ipledger.Errorf(ipledger.CodeInvalid, "no resource given")
	}
	if r.Family() == ipledger.IPv6 {
		if _, ok := r.Prefix(); !ok {
			return ipledger.Errorf(ipledger.CodeInvalid, "IPv6 space is handed out as prefixes; %s is not one", r)
		}
	}
	return nil
}

// checkAddressSpace is checkResource for what only address space may be: an AS range is
// CodeInvalid with the message asMsg.
func checkAddressSpace(r ipledger.Resource, asMsg string) error {
	if err := checkResource(r); err != nil {
		return err
	}
	if r.Family() == ipledger.ASN {
		return ipledger.Errorf(ipledger.CodeInvalid, "%s", asMsg)
	}
	return nil
}

// pieces splits what is left of whole once part is taken out into holdable resources:
// ranges for IPv4 and AS numbers, prefixes for IPv6.
func pieces(whole, part ipledger.Resource) []ipledger.Resource {
	rest := whole.Subtract(part)
	if whole.Family() != ipledger.IPv6 {
		return rest
	}
	var out []ipledger.Resource
	for _, r := range rest {
		for _, p := range r.Prefixes() {
			pr, _ := ipledger.PrefixResource(p)
			out = append(out, pr)
		}
	}
	return out
}

// heldBy returns the chain of holdings containing r down to the deepest one held by org.
func (a *apply) heldBy(r ipledger.Resource, org string) ([]*ipledger.Holding, error) {
	chain, err := a.chain(r)
	if err != nil {
		return nil, err
	}
	for i := len(chain) - 1; i >= 0; i-- {
		if chain[i].Holder == org {
			return chain[:i+1], nil
		}
	}
	if len(chain) > 1 {
		return nil, ipledger.Errorf(ipledger.CodeUnauthorized, "%s does not hold %s (%s does, in %s)", org, r, chain[len(chain)-1].Holder, chain[len(chain)-1].Resource)
	}
	return nil, ipledger.Errorf(ipledger.CodeOutsideParent, "%s holds no holding containing all of %s", org, r)
}

// signersHolding returns the deepest holding containing r that the first signer holds, for
// a transaction (verb: assign, transfer, return) that changes r in it: it must not be pool
// space (CodeUnauthorized, "r is pool space; " and poolHint) and r must be free of
// encumbrances (checkFree).
func (a *apply) signersHolding(r ipledger.Resource, verb, poolHint string) (*ipledger.Holding, error) {
	chain, err := a.heldBy(r, a.signers[0].Handle)
	if err != nil {
		return nil, err
	}
	h := chain[len(chain)-1]
	if h.Depth == 0 {
		return nil, ipledger.Errorf(ipledger.CodeUnauthorized, "%s is pool space; %s", r, poolHint)
	}
	if err := a.checkFree(chain, r, verb); err != nil {
		return nil, err
	}
	return h, nil
}

// carve takes part out of h: h is replaced by holdings for each remaining piece (same holder
// and data) and, unless dropPart, a holding for part with holder newHolder. Children of h
// must not cross part's boundary; with dropPart none may overlap part at all.
func (a *apply) carve(h *ipledger.Holding, part ipledger.Resource, newHolder string, dropPart bool) (*ipledger.Holding, error) {
	kids, err := a.children(h, part)
	if err != nil {
		return nil, err
	}
	for _, c := range kids {
		if dropPart {
			return nil, ipledger.Errorf(ipledger.CodeHasChildren, "%s has a sub-holding %s (%s) inside %s; return that first", h.Resource, c.Resource, c.Holder, part)
		}
		if !part.Contains(c.Resource) {
			return nil, ipledger.Errorf(ipledger.CodeHasChildren, "%s would cut through the sub-holding %s (%s)", part, c.Resource, c.Holder)
		}
	}
	if part == h.Resource {
		if dropPart {
			a.touchHolding(h)
			return nil, a.deleteHolding(h)
		}
		h.Holder = newHolder
		h.Changed = a.block.Time
		a.touchHolding(h)
		return h, a.putHolding(h)
	}
	if err := a.deleteHolding(h); err != nil {
		return nil, err
	}
	a.touchHolding(h)
	for _, p := range pieces(h.Resource, part) {
		piece := *h
		piece.Resource, piece.Origin = p, h.ID
		if _, err := a.newHolding(piece); err != nil {
			return nil, err
		}
	}
	if dropPart {
		return nil, nil
	}
	moved := *h
	moved.Resource, moved.Origin, moved.Holder = part, h.ID, newHolder
	return a.newHolding(moved)
}

// poolOf returns the pool of registry containing all of r, for action (move, allocate):
// CodeOutsideParent if no pool of registry does, CodeInvalid if it is special-purpose space.
func (a *apply) poolOf(r ipledger.Resource, registry, action string) (*ipledger.Holding, error) {
	pool, err := a.at(r, 0)
	if err != nil {
		return nil, err
	}
	if pool == nil || pool.Holder != registry {
		return nil, ipledger.Errorf(ipledger.CodeOutsideParent, "%s is not inside one pool of %s", r, registry)
	}
	if pool.SpecialPurpose() {
		return nil, ipledger.Errorf(ipledger.CodeInvalid, "cannot %s %s: it is special-purpose space", action, r)
	}
	return pool, nil
}

// checkFreePool rejects action (move, mark) on r in pool unless r is free pool space: no
// encumbrance (checkFree) and no holding below it (CodeHasChildren).
func (a *apply) checkFreePool(pool *ipledger.Holding, r ipledger.Resource, action string) error {
	if err := a.checkFree([]*ipledger.Holding{pool}, r, action); err != nil {
		return err
	}
	kids, err := a.children(pool, r)
	if err != nil {
		return err
	}
	if len(kids) > 0 {
		return ipledger.Errorf(ipledger.CodeHasChildren, "cannot %s %s, which has holdings in it (%s): only free pool space", action, r, kids[0].Resource)
	}
	return nil
}

// registryTransfer moves pool space between registries; both sign.
func (a *apply) registryTransfer(body *ipledger.RegistryTransferBody) error {
	if len(body.Items) == 0 || len(body.Items) > ipledger.MaxBatchItems {
		return ipledger.Errorf(ipledger.CodeInvalid, "registry-transfer carries %d items; 1 to %d allowed", len(body.Items), ipledger.MaxBatchItems)
	}
	for _, it := range body.Items {
		if err := checkResource(it.Resource); err != nil {
			return err
		}
		if !a.signedBy(it.From) || !a.signedBy(it.To) {
			return ipledger.Errorf(ipledger.CodeUnauthorized, "moving %s from %s to %s needs both registries' signatures", it.Resource, it.From, it.To)
		}
		if it.From == it.To {
			return ipledger.Errorf(ipledger.CodeInvalid, "moving %s from %s to itself", it.Resource, it.From)
		}
		to, err := a.mustOrg(it.To)
		if err != nil {
			return err
		}
		if err := requireRegistry(to); err != nil {
			return err
		}
		pool, err := a.poolOf(it.Resource, it.From, "move")
		if err != nil {
			return err
		}
		if err := a.checkFreePool(pool, it.Resource, "move"); err != nil {
			return err
		}
		moved, err := a.carve(pool, it.Resource, it.To, false)
		if err != nil {
			return err
		}
		moved.Status = ipledger.StatusRIRPool
		if it.To == ipledger.IANA {
			moved.Status = ipledger.StatusIANAPool
		}
		if err := a.putHolding(moved); err != nil {
			return err
		}
		if err := a.coalesce(moved); err != nil {
			return err
		}
	}
	return nil
}

// coalesce merges pool h with the adjacent pools of the same registry and status, so a
// registry's contiguous space is one pool and allocations may span what were two.
func (a *apply) coalesce(h *ipledger.Holding) error {
	merged := *h
	var gone []*ipledger.Holding
	if h.Resource != ipledger.Whole(h.Resource.Family()) {
		if prev, err := a.neighbourBefore(h); err != nil {
			return err
		} else if prev != nil && prev.Holder == h.Holder && prev.Status == h.Status {
			merged.Resource = prev.Resource.Span(merged.Resource)
			gone = append(gone, prev)
		}
		if next, err := a.neighbourAfter(h); err != nil {
			return err
		} else if next != nil && next.Holder == h.Holder && next.Status == h.Status {
			merged.Resource = merged.Resource.Span(next.Resource)
			gone = append(gone, next)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	gone = append(gone, h)
	for _, g := range gone {
		if err := a.deleteHolding(g); err != nil {
			return err
		}
		a.touchHolding(g)
		if g.Registered < merged.Registered && g.Registered != "" {
			merged.Registered = g.Registered
		}
	}
	merged.Origin = h.ID
	_, err := a.newHolding(merged)
	return err
}

func (a *apply) neighbourBefore(h *ipledger.Holding) (*ipledger.Holding, error) {
	p, ok := h.Resource.Before()
	if !ok {
		return nil, nil
	}
	return a.at(p, h.Depth)
}

func (a *apply) neighbourAfter(h *ipledger.Holding) (*ipledger.Holding, error) {
	p, ok := h.Resource.After()
	if !ok {
		return nil, nil
	}
	return a.at(p, h.Depth)
}

// allocate gives space from the signing registry's pools to organisations (the signer rule
// is requireRegistry). An item naming the registry itself with a pool status
// (ipledger.ValidPoolStatus) marks free pool space instead: it stays at depth 0, as the
// registry's AVAILABLE or RESERVED pool. Space given out of an AVAILABLE or RESERVED pool is
// first marked back as ordinary pool (ipledger.StatusRIRPool), so such pools never have
// holdings below them.
func (a *apply) allocate(body *ipledger.AllocateBody) error {
	reg := a.signers[0]
	if len(body.Items) == 0 || len(body.Items) > ipledger.MaxBatchItems {
		return ipledger.Errorf(ipledger.CodeInvalid, "allocate carries %d items; 1 to %d allowed", len(body.Items), ipledger.MaxBatchItems)
	}
	for _, it := range body.Items {
		if err := a.checkItem(it); err != nil {
			return err
		}
		mark := it.Org == reg.Handle && ipledger.ValidPoolStatus(it.Status)
		if !mark && !ipledger.ValidAllocateStatus(it.Resource.Family(), it.Status) {
			return ipledger.Errorf(ipledger.CodeInvalid, "a registry cannot allocate %s with status %q", it.Resource, it.Status)
		}
		pool, err := a.poolOf(it.Resource, reg.Handle, "allocate")
		if err != nil {
			return err
		}
		if mark {
			if err := a.markPool(pool, it); err != nil {
				return err
			}
			continue
		}
		if pool.Status == ipledger.StatusAvailable || pool.Status == ipledger.StatusReserved {
			if _, err := a.remark(pool, it.Resource, ipledger.StatusRIRPool, ""); err != nil {
				return err
			}
		}
		if err := a.place(it, 1); err != nil {
			return err
		}
	}
	if !reg.Authoritative {
		// Its first allocation: the registry's records live on the ledger from now on. The
		// sequence update in Apply re-reads and stores the organisation.
		reg.Authoritative = true
		return a.putOrg(reg)
	}
	return nil
}

// markPool gives free space of an RIR's pool the pool status of it (AVAILABLE or
// RESERVED): the space must hold no holding and no encumbrance. IANA's pools are not
// marked (its reserved space is genesis's special-purpose space).
func (a *apply) markPool(pool *ipledger.Holding, it ipledger.AllocateItem) error {
	if pool.Holder == ipledger.IANA {
		return ipledger.Errorf(ipledger.CodeInvalid, "IANA's pools are not marked %s; its reserved space is the special-purpose space of genesis", it.Status)
	}
	if pool.Status != ipledger.StatusRIRPool && !ipledger.ValidPoolStatus(pool.Status) {
		return ipledger.Errorf(ipledger.CodeInvalid, "%s is in a pool of status %q, which is not marked %s", it.Resource, pool.Status, it.Status)
	}
	if err := a.checkFreePool(pool, it.Resource, "mark"); err != nil {
		return err
	}
	_, err := a.remark(pool, it.Resource, it.Status, it.Registered)
	return err
}

// remark gives part of pool, free space, the status st (and the registration date reg,
// unless empty) and merges it with its neighbours of that status. The rest of the pool
// stays as at most two ranges, IPv6 included: a pool is not handed out, so it need not be
// prefixes (carve would store an IPv6 remainder as up to 2×127 prefixes).
func (a *apply) remark(pool *ipledger.Holding, part ipledger.Resource, st ipledger.Status, reg string) (*ipledger.Holding, error) {
	if pool.Status == st && (reg == "" || pool.Registered == reg) {
		return pool, nil
	}
	if part == pool.Resource {
		// All of it: the pool keeps its id, as a holding that changes holder does.
		pool.Status = st
		if reg != "" {
			pool.Registered = reg
		}
		pool.Changed = a.block.Time
		a.touchHolding(pool)
		if err := a.putHolding(pool); err != nil {
			return nil, err
		}
		return pool, a.coalesce(pool)
	}
	if err := a.deleteHolding(pool); err != nil {
		return nil, err
	}
	a.touchHolding(pool)
	for _, r := range pool.Resource.Subtract(part) {
		rest := *pool
		rest.Resource, rest.Origin = r, pool.ID
		if _, err := a.newHolding(rest); err != nil {
			return nil, err
		}
	}
	marked := *pool
	marked.Resource, marked.Origin, marked.Status = part, pool.ID, st
	if reg != "" {
		marked.Registered = reg
	}
	h, err := a.newHolding(marked)
	if err != nil {
		return nil, err
	}
	return h, a.coalesce(h)
}

// checkItem validates the parts of an allocation or assignment that need no state.
func (a *apply) checkItem(it ipledger.AllocateItem) error {
	if err := checkResource(it.Resource); err != nil {
		return err
	}
	if !ipledger.ValidCountry(it.Country) {
		return ipledger.Errorf(ipledger.CodeInvalid, "country %q is not an ISO 3166 two-letter code", it.Country)
	}
	if it.Registered != "" && !validDate(it.Registered) {
		return ipledger.Errorf(ipledger.CodeInvalid, "registration date %q is not YYYY-MM-DD", it.Registered)
	}
	if _, err := a.mustOrg(it.Org); err != nil {
		return err
	}
	return nil
}

// place stores a new holding at depth after checking nothing at that depth overlaps it.
func (a *apply) place(it ipledger.AllocateItem, depth int) error {
	if depth > MaxDepth {
		return ipledger.Errorf(ipledger.CodeInvalid, "holding tree is at most %d levels deep", MaxDepth+1)
	}
	if o, err := a.overlapping(it.Resource, depth); err != nil {
		return err
	} else if o != nil {
		return ipledger.Errorf(ipledger.CodeOverlap, "%s overlaps %s held by %s", it.Resource, o.Resource, o.Holder)
	}
	reg := it.Registered
	if reg == "" {
		reg = dateOf(a.block.Time)
	}
	_, err := a.newHolding(ipledger.Holding{
		Resource: it.Resource, Depth: depth, Holder: it.Org, Status: it.Status,
		Country: it.Country, Registered: reg,
	})
	return err
}

// assign creates assignments or sub-allocations inside holdings of the signer.
func (a *apply) assign(body *ipledger.AssignBody) error {
	if len(body.Items) == 0 || len(body.Items) > ipledger.MaxBatchItems {
		return ipledger.Errorf(ipledger.CodeInvalid, "assign carries %d items; 1 to %d allowed", len(body.Items), ipledger.MaxBatchItems)
	}
	for _, it := range body.Items {
		if err := a.checkItem(it); err != nil {
			return err
		}
		if !ipledger.ValidAssignStatus(it.Resource.Family(), it.Status) {
			return ipledger.Errorf(ipledger.CodeInvalid, "a holder cannot assign %s with status %q", it.Resource, it.Status)
		}
		parent, err := a.signersHolding(it.Resource, "assign", "a registry allocates it")
		if err != nil {
			return err
		}
		if err := a.place(it, parent.Depth+1); err != nil {
			return err
		}
	}
	return nil
}

// transfer moves a holding, or part of one, from the first signer to the second, under the
// transfer policy (checkPolicy, a holding period) like a sale, but fee-free and unpriced.
func (a *apply) transfer(body *ipledger.TransferBody) error {
	if err := checkResource(body.Resource); err != nil {
		return err
	}
	if err := a.counterparty(body.To, "recipient"); err != nil {
		return err
	}
	from := a.signers[0].Handle
	h, err := a.signersHolding(body.Resource, "transfer", "registries move it with registry-transfer")
	if err != nil {
		return err
	}
	p, err := a.params()
	if err != nil {
		return err
	}
	if err := checkPolicy(h, body.Resource, p.Transfer); err != nil {
		return err
	}
	moved, err := a.carve(h, body.Resource, body.To, false)
	if err != nil {
		return err
	}
	if err := a.startPeriod(moved, p); err != nil {
		return err
	}
	// Market data counts it as an unpriced transfer.
	_, err = a.recordTrade(ipledger.Trade{Venue: "transfer", Resource: body.Resource, Seller: from, Buyer: body.To})
	return err
}

// returnHolding gives a holding, or part of one, back to its parent.
func (a *apply) returnHolding(body *ipledger.ReturnBody) error {
	if err := checkResource(body.Resource); err != nil {
		return err
	}
	h, err := a.signersHolding(body.Resource, "return", "it has no parent to return to")
	if err != nil {
		return err
	}
	_, err = a.carve(h, body.Resource, "", true)
	return err
}
