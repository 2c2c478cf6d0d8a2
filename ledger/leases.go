package ledger

import (
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ipledger/ipledger"
)

// Lease offers and leases. An offer encumbers the block in the lessor's holding; taking it
// pays the first period, turns the offer's encumbrance into the lease's, puts a LEASED
// holding of the lessee one level below the lessor's, and places the lessee's route
// authorisation. Every later boundary is an event in the queue that EndBlock settles.

// Encumbrance kinds.
const (
	encOffer = "offer"
	encLease = "lease"
)

func offerRef(id uint64) string { return "offer/" + strconv.FormatUint(id, 10) }
func leaseRef(id uint64) string { return "lease/" + strconv.FormatUint(id, 10) }

// pricePerPeriod is what one period of r costs at price: per address for IPv4, per block
// for IPv6.
func pricePerPeriod(r ipledger.Resource, price uint64) (uint64, error) {
	if r.Family() != ipledger.IPv4 {
		return price, nil
	}
	n, _ := r.Size() // an IPv4 range holds at most 2^32 addresses
	hi, lo := bits.Mul64(price, n)
	if hi != 0 {
		return 0, ipledger.Errorf(ipledger.CodeOverflow, "%d per address for %d addresses overflows", price, n)
	}
	return lo, nil
}

func (a *apply) offerLease(body *ipledger.OfferBody) error {
	r := body.Resource
	if err := checkAddressSpace(r, "AS numbers are not leased; offer address space"); err != nil {
		return err
	}
	if body.Period <= 0 || body.Period > ipledger.MaxPeriodSeconds {
		return ipledger.Errorf(ipledger.CodeInvalid, "period %d s outside 1..%d", body.Period, ipledger.MaxPeriodSeconds)
	}
	if body.MinPeriods < 1 || body.MaxPeriods < body.MinPeriods || body.MaxPeriods > ipledger.MaxPeriods {
		return ipledger.Errorf(ipledger.CodeInvalid, "term of %d..%d periods; want 1 ≤ min ≤ max ≤ %d", body.MinPeriods, body.MaxPeriods, ipledger.MaxPeriods)
	}
	if body.BondPeriods < 0 || body.BondPeriods > ipledger.MaxPeriods {
		return ipledger.Errorf(ipledger.CodeInvalid, "a bond of %d periods outside 0..%d", body.BondPeriods, ipledger.MaxPeriods)
	}
	if ppp, err := pricePerPeriod(r, body.Price); err != nil {
		return err
	} else if hi, _ := bits.Mul64(ppp, uint64(body.BondPeriods)); hi != 0 {
		return ipledger.Errorf(ipledger.CodeOverflow, "a bond of %d periods of %d overflows", body.BondPeriods, ppp)
	}
	lessor := a.signers[0].Handle
	chain, err := a.heldBy(r, lessor)
	if err != nil {
		return err
	}
	h := chain[len(chain)-1]
	if h.Depth == 0 {
		return ipledger.Errorf(ipledger.CodeInvalid, "%s is registry pool space; allocate it first", r)
	}
	if h.Status == ipledger.StatusLeased {
		return ipledger.Errorf(ipledger.CodeInvalid, "%s is itself leased; a lessee cannot lease it on", r)
	}
	if h.Depth+1 > MaxDepth {
		return ipledger.Errorf(ipledger.CodeInvalid, "holding tree is at most %d levels deep", MaxDepth+1)
	}
	if kids, err := a.children(h, r); err != nil {
		return err
	} else if len(kids) > 0 {
		return ipledger.Errorf(ipledger.CodeHasChildren, "%s has a sub-holding %s (%s) inside %s", h.Resource, kids[0].Resource, kids[0].Holder, r)
	}
	if err := a.checkFree(chain, r, "offer"); err != nil {
		return err
	}
	id, err := a.next(counterOffer)
	if err != nil {
		return err
	}
	o := &ipledger.Offer{
		ID: id, Lessor: lessor, Resource: r, Depth: h.Depth, Price: body.Price, Period: body.Period,
		MinPeriods: body.MinPeriods, MaxPeriods: body.MaxPeriods, Renewable: body.Renewable, BondPeriods: body.BondPeriods,
		Created: a.block.Time,
	}
	if err := a.putJSON(u64Key(tagOffer, id), o, "offer"); err != nil {
		return err
	}
	a.touch("offer", strconv.FormatUint(id, 10))
	a.touchHolding(h)
	return a.putEncumbrance(&Encumbrance{Kind: encOffer, Ref: offerRef(id), Resource: r, Depth: h.Depth})
}

func (a *apply) dropOffer(o *ipledger.Offer) error {
	a.touch("offer", strconv.FormatUint(o.ID, 10))
	if err := a.kv.Delete(u64Key(tagOffer, o.ID)); err != nil {
		return err
	}
	return a.deleteEncumbrance(&Encumbrance{Kind: encOffer, Ref: offerRef(o.ID), Resource: o.Resource, Depth: o.Depth})
}

func (a *apply) withdrawOffer(body *ipledger.WithdrawOfferBody) error {
	o, err := signersOwn(a, tagOffer, body.Offer, "offer", func(o *ipledger.Offer) string { return o.Lessor })
	if err != nil {
		return err
	}
	a.touch("org", o.Lessor)
	return a.dropOffer(o)
}

func (a *apply) takeLease(body *ipledger.LeaseBody) error {
	o, err := found[ipledger.Offer](a.state, tagOffer, body.Offer, "offer")
	if err != nil {
		return err
	}
	lessee := a.signers[0].Handle
	if lessee == o.Lessor {
		return ipledger.Errorf(ipledger.CodeInvalid, "%s cannot lease its own block", lessee)
	}
	if body.ASN == 0 {
		return ipledger.Errorf(ipledger.CodeInvalid, "a lease needs the lessee's AS number; AS0 authorises nobody")
	}
	if body.Periods < o.MinPeriods || body.Periods > o.MaxPeriods {
		return ipledger.Errorf(ipledger.CodeInvalid, "term of %d periods outside the offer's %d..%d", body.Periods, o.MinPeriods, o.MaxPeriods)
	}
	parent, err := a.at(o.Resource, o.Depth)
	if err != nil {
		return err
	}
	if parent == nil || parent.Holder != o.Lessor {
		return ipledger.Errorf(ipledger.CodeInternal, "offer %d: %s no longer holds %s", o.ID, o.Lessor, o.Resource)
	}
	ppp, err := pricePerPeriod(o.Resource, o.Price)
	if err != nil {
		return err
	}
	if err := a.move(lessee, o.Lessor, ppp); err != nil {
		return err
	}
	// The lessee bond (issue 18) is held from the start, released at the end (endLease).
	bond := ppp * uint64(o.BondPeriods) // offerLease checked it does not overflow
	if bond > 0 {
		if err := a.hold(lessee, bond); err != nil {
			return err
		}
	}
	if err := a.dropOffer(o); err != nil {
		return err
	}
	id, err := a.next(counterLease)
	if err != nil {
		return err
	}
	now := a.block.Time.Unix()
	l := &ipledger.Lease{
		ID: id, Offer: o.ID, Lessor: o.Lessor, Lessee: lessee, Resource: o.Resource, Depth: o.Depth,
		ASN: body.ASN, PricePerPeriod: ppp, Period: o.Period, Start: now, Periods: body.Periods, Paid: 1,
		Renewable: o.Renewable, MinPeriods: o.MinPeriods, MaxPeriods: o.MaxPeriods, State: ipledger.LeaseActive, Bond: bond,
	}
	if l.End() < now || l.End() > 1<<62 {
		return ipledger.Errorf(ipledger.CodeOverflow, "a term of %d periods of %d s overflows", l.Periods, l.Period)
	}
	held, err := a.newHolding(ipledger.Holding{
		Resource: o.Resource, Depth: o.Depth + 1, Holder: lessee, Status: ipledger.StatusLeased,
		Country: parent.Country, Registered: dateOf(a.block.Time),
	})
	if err != nil {
		return err
	}
	l.Holding = held.ID
	if err := a.putEncumbrance(&Encumbrance{Kind: encLease, Ref: leaseRef(id), Resource: o.Resource, Depth: o.Depth}); err != nil {
		return err
	}
	// What covered the block before is gone: AS0 from an earlier lease, geolocation.
	if err := a.clearBlock(o.Resource, func(ra *ipledger.RouteAuth) bool { return ra.Lease != 0 && ra.ASN == 0 }); err != nil {
		return err
	}
	for _, p := range o.Resource.Prefixes() {
		if _, err := a.newAuth(ipledger.RouteAuth{Prefix: p, MaxLength: p.Bits(), ASN: body.ASN, Holder: lessee, Expires: l.End(), Lease: id}); err != nil {
			return err
		}
	}
	return a.schedule(l, l.Start+l.Period)
}

// clearBlock removes the geolocations overlapping r and the authorisations inside r that
// drop selects.
func (a *apply) clearBlock(r ipledger.Resource, drop func(*ipledger.RouteAuth) bool) error {
	auths, err := a.authsWithin(r)
	if err != nil {
		return err
	}
	for _, ra := range auths {
		if drop(ra) {
			if err := a.dropAuth(ra); err != nil {
				return err
			}
		}
	}
	geos, err := a.geosOverlapping(r)
	if err != nil {
		return err
	}
	for _, g := range geos {
		a.touch("org", g.Holder)
		if err := a.kv.Delete(geoKey(g.Resource)); err != nil {
			return err
		}
	}
	return nil
}

// schedule stores l with its next event at due (replacing the one queued before).
func (a *apply) schedule(l *ipledger.Lease, due int64) error {
	if l.Due != 0 {
		if err := a.kv.Delete(dueKey(l.Due, dueLease, l.ID)); err != nil {
			return err
		}
	}
	l.Due = due
	if due != 0 {
		if err := a.kv.Set(dueKey(due, dueLease, l.ID), []byte{}); err != nil {
			return err
		}
	}
	a.touch("lease", strconv.FormatUint(l.ID, 10))
	a.touch("org", l.Lessor)
	a.touch("org", l.Lessee)
	return a.putLease(l)
}

// lesseeLease loads lease id for a transaction its lessee signs.
func (a *apply) lesseeLease(id uint64) (*ipledger.Lease, error) {
	l, err := signersOwn(a, tagLease, id, "lease", func(l *ipledger.Lease) string { return l.Lessee })
	if err != nil {
		return nil, err
	}
	if l.State == ipledger.LeaseEnded {
		return nil, ipledger.Errorf(ipledger.CodeInvalid, "lease %d has ended", l.ID)
	}
	return l, nil
}

func (a *apply) renewLease(body *ipledger.RenewBody) error {
	l, err := a.lesseeLease(body.Lease)
	if err != nil {
		return err
	}
	if !l.Renewable {
		return ipledger.Errorf(ipledger.CodeInvalid, "lease %d is not renewable", l.ID)
	}
	if l.State != ipledger.LeaseActive || l.Terminating {
		return ipledger.Errorf(ipledger.CodeInvalid, "lease %d is %s; only a lease in good standing renews", l.ID, l.State)
	}
	if body.Periods < 1 || body.Periods > l.MaxPeriods || l.Periods+body.Periods > ipledger.MaxPeriods {
		return ipledger.Errorf(ipledger.CodeInvalid, "renewal by %d periods; 1..%d allowed, %d in all", body.Periods, l.MaxPeriods, ipledger.MaxPeriods)
	}
	l.Periods += body.Periods
	if l.End() > 1<<62 {
		return ipledger.Errorf(ipledger.CodeOverflow, "a term of %d periods of %d s overflows", l.Periods, l.Period)
	}
	return a.setTerm(l)
}

func (a *apply) terminateLease(body *ipledger.TerminateBody) error {
	l, err := a.lesseeLease(body.Lease)
	if err != nil {
		return err
	}
	if l.State != ipledger.LeaseActive {
		return ipledger.Errorf(ipledger.CodeInvalid, "lease %d is %s; it ends by itself", l.ID, l.State)
	}
	end := max(l.Paid, l.MinPeriods)
	if end >= l.Periods {
		return ipledger.Errorf(ipledger.CodeInvalid, "lease %d already ends after %d periods (minimum %d, paid %d)", l.ID, l.Periods, l.MinPeriods, l.Paid)
	}
	l.Periods, l.Terminating = end, true
	return a.setTerm(l)
}

// setTerm stores l after a renewal or termination changed its term, and moves the expiry of
// the lessee's authorisations to the lease's new end.
func (a *apply) setTerm(l *ipledger.Lease) error {
	auths, err := a.authsWithin(l.Resource)
	if err != nil {
		return err
	}
	for _, ra := range auths {
		if ra.Lease == l.ID && ra.ASN != 0 {
			ra.Expires = l.End()
			a.touch("route", strconv.FormatUint(ra.ID, 10))
			if err := a.putAuth(ra); err != nil {
				return err
			}
		}
	}
	return a.schedule(l, l.Due)
}

// settle handles lease l's event queued for time due (at or before the block time): it pays
// the next period, starts or ends a grace period, or ends the lease at the end of its term.
func (a *apply) settle(l *ipledger.Lease, due int64, p Params) error {
	now := a.block.Time.Unix()
	switch {
	case l.State == ipledger.LeaseGrace && l.GraceUntil >= l.End():
		return a.endLease(l, "unpaid", p)
	case l.State == ipledger.LeaseGrace:
		if err := a.move(l.Lessee, l.Lessor, l.PricePerPeriod); err != nil {
			if ipledger.ErrorCode(err) == ipledger.CodeNoFunds {
				return a.endLease(l, "unpaid", p)
			}
			return err
		}
		l.State, l.GraceUntil = ipledger.LeaseActive, 0
		l.Paid++
		return a.schedule(l, l.Start+int64(l.Paid)*l.Period)
	case l.Paid >= l.Periods:
		reason := "expired"
		if l.Terminating {
			reason = "terminated"
		}
		return a.endLease(l, reason, p)
	}
	if err := a.move(l.Lessee, l.Lessor, l.PricePerPeriod); err != nil {
		if ipledger.ErrorCode(err) != ipledger.CodeNoFunds && ipledger.ErrorCode(err) != ipledger.CodeOverflow {
			return err
		}
		// Unpaid: the lease runs on for the grace period (never past its term).
		l.State = ipledger.LeaseGrace
		l.GraceUntil = min(due+p.LeaseGrace, l.End())
		return a.schedule(l, max(l.GraceUntil, now))
	}
	l.Paid++
	return a.schedule(l, l.Start+int64(l.Paid)*l.Period)
}

// endLease ends l in this block: the LEASED holding, the lessee's authorisations, the
// geolocation and the encumbrance go; AS0 authorisations cover the block for the grace
// window.
func (a *apply) endLease(l *ipledger.Lease, reason string, p Params) error {
	now := a.block.Time.Unix()
	h, err := a.at(l.Resource, l.Depth+1)
	if err != nil {
		return err
	}
	if h != nil && h.Resource == l.Resource && h.Status == ipledger.StatusLeased && h.Holder == l.Lessee {
		a.touchHolding(h)
		if err := a.deleteHolding(h); err != nil {
			return err
		}
	}
	if err := a.clearBlock(l.Resource, func(ra *ipledger.RouteAuth) bool { return ra.Lease == l.ID }); err != nil {
		return err
	}
	if err := a.deleteEncumbrance(&Encumbrance{Kind: encLease, Ref: leaseRef(l.ID), Resource: l.Resource, Depth: l.Depth}); err != nil {
		return err
	}
	for _, pf := range l.Resource.Prefixes() {
		if _, err := a.newAuth(ipledger.RouteAuth{Prefix: pf, MaxLength: pf.Bits(), ASN: 0, Holder: l.Lessor, Expires: now + p.AS0Grace, Lease: l.ID}); err != nil {
			return err
		}
	}
	// The bond goes back unless an abuse case forfeited it (finalise or restore settle it).
	if l.Bond > 0 && l.BondCase == 0 {
		if err := a.release(l.Lessee, l.Bond); err != nil {
			return err
		}
		l.Bond = 0
	}
	l.State, l.Ended, l.EndReason, l.GraceUntil = ipledger.LeaseEnded, now, reason, 0
	return a.schedule(l, 0)
}

// setGeo publishes or removes the geolocation of a block. The signer must hold the deepest
// holding containing the block (a lessee, for leased space); geolocations entirely inside
// the block are replaced, ones that cross its edge are an overlap.
func (a *apply) setGeo(body *ipledger.SetGeoBody) error {
	r := body.Resource
	if err := checkAddressSpace(r, "geolocation is for address space, not AS numbers"); err != nil {
		return err
	}
	chain, err := a.chain(r)
	if err != nil {
		return err
	}
	by := a.signers[0].Handle
	if len(chain) == 0 {
		return ipledger.Errorf(ipledger.CodeOutsideParent, "%s is not inside one holding", r)
	}
	if h := chain[len(chain)-1]; h.Holder != by || h.Depth == 0 {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "the holding of %s is %s's (%s)", r, h.Holder, h.Resource)
	}
	old, err := a.geosOverlapping(r)
	if err != nil {
		return err
	}
	for _, g := range old {
		if !r.Contains(g.Resource) {
			return ipledger.Errorf(ipledger.CodeOverlap, "%s crosses the geolocation of %s", r, g.Resource)
		}
	}
	if body.Country == "" {
		if len(old) == 0 {
			return ipledger.Errorf(ipledger.CodeNotFound, "no geolocation inside %s", r)
		}
		if body.Region != "" || body.City != "" {
			return ipledger.Errorf(ipledger.CodeInvalid, "a region or city needs a country")
		}
	} else if err := checkGeo(*body); err != nil {
		return err
	}
	for _, g := range old {
		a.touch("org", g.Holder)
		if err := a.kv.Delete(geoKey(g.Resource)); err != nil {
			return err
		}
	}
	if body.Country == "" {
		return nil
	}
	a.touch("org", by)
	return a.putJSON(geoKey(r), &ipledger.Geo{Resource: r, Holder: by, Country: body.Country, Region: body.Region, City: body.City}, "geolocation")
}

// checkGeo validates the RFC 8805 fields: an alpha-2 country, an ISO 3166-2 region of that
// country, and a city that fits a CSV field without quoting.
func checkGeo(b ipledger.SetGeoBody) error {
	if !ipledger.ValidCountry(b.Country) {
		return ipledger.Errorf(ipledger.CodeInvalid, "country %q is not an ISO 3166 alpha-2 code", b.Country)
	}
	if b.Region != "" {
		sub, ok := strings.CutPrefix(b.Region, b.Country+"-")
		if !ok || len(sub) < 1 || len(sub) > 3 || strings.TrimFunc(sub, func(c rune) bool { return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }) != "" {
			return ipledger.Errorf(ipledger.CodeInvalid, "region %q is not an ISO 3166-2 code of %s (like %s-XX)", b.Region, b.Country, b.Country)
		}
	}
	if len(b.City) > ipledger.MaxGeoField || strings.ContainsFunc(b.City, func(c rune) bool { return c < ' ' || c == ',' || c == '"' || c == 0x7f }) ||
		!utf8.ValidString(b.City) {
		return ipledger.Errorf(ipledger.CodeInvalid, "city %q: at most %d bytes of UTF-8, no commas, quotes or control characters", b.City, ipledger.MaxGeoField)
	}
	return nil
}
