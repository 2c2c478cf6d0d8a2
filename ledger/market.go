package ledger

import (
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/kvbuffer"
)

// The market: listings with open ascending bids, bilateral swaps, large sales waiting out a
// challenge window, and one settlement for every venue (settleSale). A bid holds its credits
// (held, beside the balance) and a listing or pending sale encumbers its block until it is
// settled, cancelled or expires. Listing ends, large-sale settlements and the ends of
// holding periods are events in the due-queue.
//
//	'L' id(8)      → Listing JSON
//	'S' id(8)      → Sale JSON
//	'T' id(8)      → Trade JSON
//	'H' handle     → credits of the organisation held by its bids (8 bytes)
//	'P' id(8)      → the Encumbrance of a holding period
const (
	tagListing = 'L'
	tagSale    = 'S'
	tagTrade   = 'T'
	tagHeld    = 'H'
	tagPeriod  = 'P'
)

// Counters of the market's objects (under tagCounter).
const (
	counterListing = 'L'
	counterSale    = 'S'
	counterTrade   = 'T'
	counterPeriod  = 'P'
)

// Due kinds of the market (see the lease's in marketstate.go).
const (
	dueListing = 'L' // a listing's end
	dueSale    = 'S' // a large sale's challenge window ends
	duePeriod  = 'P' // a holding period ends
)

// Encumbrance kinds of the market.
const (
	encListing = "listing"
	encSale    = "sale"
	encHeld    = "held" // the holding period after a transfer or sale
)

// Sale states.
const (
	salePending   = "pending"
	saleSettled   = "settled"
	saleCancelled = "cancelled"
	saleFailed    = "failed"
)

func listingRef(id uint64) string { return "listing/" + strconv.FormatUint(id, 10) }
func saleRef(id uint64) string    { return "sale/" + strconv.FormatUint(id, 10) }
func periodRef(id uint64) string  { return "period/" + strconv.FormatUint(id, 10) }

func heldKey(org string) []byte { return append([]byte{tagHeld}, org...) }

// held returns the credits of org its open bids and pending purchases hold.
func (s state) held(org string) (uint64, error) { return s.getU64(heldKey(org)) }

// hold sets amount of org's credits aside: CodeNoFunds unless its balance less what it
// already holds covers it.
func (a *apply) hold(org string, amount uint64) error {
	_, h, err := a.free(org, amount)
	if err != nil {
		return err
	}
	a.touch("org", org)
	return a.setU64(heldKey(org), h+amount)
}

// release gives back amount of org's held credits.
func (a *apply) release(org string, amount uint64) error {
	h, err := a.held(org)
	if err != nil {
		return err
	}
	if h < amount {
		return ipledger.Errorf(ipledger.CodeInternal, "%s holds %d credits, not the %d released", org, h, amount)
	}
	a.touch("org", org)
	return a.setU64(heldKey(org), h-amount)
}

// checkPolicy applies the chain's transfer policy to moving r out of holding h, for every
// venue and for plain transfers: CodePolicy when the status may not move or r is under the
// minimum size. The holding period is an encumbrance (encHeld), checked with the others.
func checkPolicy(h *ipledger.Holding, r ipledger.Resource, tp TransferPolicy) error {
	if st := tp.Statuses; len(st) > 0 && !slices.Contains(st, h.Status) || len(st) == 0 && h.Status == ipledger.StatusLeased {
		return ipledger.Errorf(ipledger.CodePolicy, "holdings of status %q do not move under the transfer policy", h.Status)
	}
	switch r.Family() {
	case ipledger.IPv4:
		if n := ipledger.Units(r); n < tp.MinIPv4 {
			return ipledger.Errorf(ipledger.CodePolicy, "%s is %d addresses; the transfer policy moves at least %d", r, n, tp.MinIPv4)
		}
	case ipledger.IPv6:
		if p, ok := r.Prefix(); ok && tp.MaxIPv6Bits > 0 && p.Bits() > tp.MaxIPv6Bits {
			return ipledger.Errorf(ipledger.CodePolicy, "%s is longer than the /%d the transfer policy moves", r, tp.MaxIPv6Bits)
		}
	}
	return nil
}

// sellersHolding returns the seller's holding r is sold out of: the deepest holding of
// seller containing r, not pool space, r holdable (checkResource), within the transfer
// policy, and free of encumbrances that block a sale (a lease inside r does not: the sale
// is subject to it).
func (a *apply) sellersHolding(r ipledger.Resource, seller string, p Params) (*ipledger.Holding, error) {
	if err := checkResource(r); err != nil {
		return nil, err
	}
	chain, err := a.heldBy(r, seller)
	if err != nil {
		return nil, err
	}
	h := chain[len(chain)-1]
	if h.Depth == 0 {
		return nil, ipledger.Errorf(ipledger.CodeUnauthorized, "%s is pool space; registries move it with registry-transfer", r)
	}
	if err := checkPolicy(h, r, p.Transfer); err != nil {
		return nil, err
	}
	if err := a.checkFree(chain, r, "sell"); err != nil {
		return nil, err
	}
	return h, nil
}

// saleTerms is what settleSale settles: the block, the two sides and the price.
type saleTerms struct {
	venue, ref    string
	class         string // an auction's class
	seller, buyer string
	r             ipledger.Resource
	depth         int
	price         uint64
	asn           uint32
}

// fee returns the market's fee on price at bps basis points, rounded down.
func fee(price, bps uint64) uint64 {
	hi, lo := bits.Mul64(price, bps)
	q, _ := bits.Div64(hi, lo, 10000) // hi < 10000 as bps ≤ 10000
	return q
}

// settleSale is the settlement of every venue: the block moves to the buyer (its registry
// stays), the price moves from the buyer to the seller and the fee from the seller to the
// fee account, the seller's route authorisations on the block go (a covering one split into
// the complement), the seller's running leases inside the block get the buyer as lessor,
// the buyer's authorisation is created when the terms name an AS number (over what of the
// block no lease runs on: the lessee's stays the only one there), a holding period starts,
// and a trade is recorded. The buyer's credits must be
// free (a venue releases its hold first). The caller releases its own encumbrance first.
func (a *apply) settleSale(t saleTerms, p Params) (*ipledger.Trade, error) {
	chain, err := a.chain(t.r)
	if err != nil {
		return nil, err
	}
	if len(chain) <= t.depth || chain[t.depth].Holder != t.seller {
		return nil, ipledger.Errorf(ipledger.CodeInvalid, "%s no longer holds %s", t.seller, t.r)
	}
	chain = chain[:t.depth+1]
	h := chain[t.depth]
	if err := checkPolicy(h, t.r, p.Transfer); err != nil {
		return nil, err
	}
	if err := a.checkFree(chain, t.r, "sell"); err != nil {
		return nil, err
	}
	if _, err := a.mustOrg(t.buyer); err != nil {
		return nil, err
	}
	if err := a.move(t.buyer, t.seller, t.price); err != nil {
		return nil, err
	}
	f := fee(t.price, p.FeeBasisPoints)
	if f > 0 && p.FeeAccount != t.seller {
		if _, err := a.mustOrg(p.FeeAccount); err != nil {
			return nil, err
		}
		if err := a.move(t.seller, p.FeeAccount, f); err != nil {
			return nil, err
		}
	}
	if err := a.withdrawAuths(t.seller, t.r); err != nil {
		return nil, err
	}
	leased, err := a.passLeases(chain, t.r, t.seller, t.buyer)
	if err != nil {
		return nil, err
	}
	moved, err := a.carve(h, t.r, t.buyer, false)
	if err != nil {
		return nil, err
	}
	if t.asn != 0 && t.r.Family() != ipledger.ASN {
		// Over the space outside running leases: the lessee's stays the only one on a
		// leased block.
		free := []ipledger.Resource{t.r}
		for _, lr := range leased {
			var rest []ipledger.Resource
			for _, f := range free {
				rest = append(rest, f.Subtract(lr)...)
			}
			free = rest
		}
		for _, f := range free {
			for _, pf := range f.Prefixes() {
				if _, err := a.newAuth(ipledger.RouteAuth{Prefix: pf, MaxLength: pf.Bits(), ASN: t.asn, Holder: t.buyer}); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := a.startPeriod(moved, p); err != nil {
		return nil, err
	}
	return a.recordTrade(ipledger.Trade{
		Venue: t.venue, Ref: t.ref, Class: t.class, Resource: t.r, Seller: t.seller, Buyer: t.buyer,
		Price: t.price, Fee: f, SubjectToLease: len(leased) > 0,
	})
}

// recordTrade stores a trade with a fresh id, the block's time and height, and its units.
func (a *apply) recordTrade(tr ipledger.Trade) (*ipledger.Trade, error) {
	id, err := a.next(counterTrade)
	if err != nil {
		return nil, err
	}
	tr.ID, tr.Time, tr.Height = id, a.block.Time.Unix(), a.block.Height
	tr.Family = tr.Resource.Family().String()
	tr.Units = ipledger.Units(tr.Resource)
	if tr.Units > 0 {
		tr.PricePerUnit = tr.Price / tr.Units
	}
	a.touch("trade", strconv.FormatUint(id, 10))
	return &tr, a.putJSON(u64Key(tagTrade, id), &tr, "trade")
}

// startPeriod encumbers a block just received for the transfer policy's holding period,
// queueing its end; nothing when the policy has none.
func (a *apply) startPeriod(h *ipledger.Holding, p Params) error {
	if p.Transfer.HoldingPeriod <= 0 {
		return nil
	}
	id, err := a.next(counterPeriod)
	if err != nil {
		return err
	}
	e := &Encumbrance{Kind: encHeld, Ref: periodRef(id), Resource: h.Resource, Depth: h.Depth}
	if err := a.putEncumbrance(e); err != nil {
		return err
	}
	if err := a.putJSON(u64Key(tagPeriod, id), e, "holding period"); err != nil {
		return err
	}
	return a.kv.Set(dueKey(a.block.Time.Unix()+p.Transfer.HoldingPeriod, duePeriod, id), []byte{})
}

// endPeriod lifts holding period id (an event).
func (a *apply) endPeriod(id uint64) error {
	e, err := getJSON[Encumbrance](a.state, u64Key(tagPeriod, id), "holding period")
	if err != nil || e == nil {
		return err
	}
	if err := a.kv.Delete(u64Key(tagPeriod, id)); err != nil {
		return err
	}
	return a.deleteEncumbrance(e)
}

// passLeases makes buyer the lessor of seller's running leases inside r (a sale subject to
// the lease: the lessee's holding, authorisation and payments continue, and the payment of
// the next period goes to the buyer). A lease of a sub-holder inside r stays its own. It
// returns the blocks of the leases running inside r.
func (a *apply) passLeases(chain []*ipledger.Holding, r ipledger.Resource, seller, buyer string) ([]ipledger.Resource, error) {
	var ids []uint64
	var leased []ipledger.Resource
	err := a.encumbrances(chain, r, func(e *Encumbrance) bool {
		if e.Kind == encLease {
			id, _ := strconv.ParseUint(strings.TrimPrefix(e.Ref, "lease/"), 10, 64)
			ids = append(ids, id)
			leased = append(leased, e.Resource)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		l, err := a.lease(id)
		if err != nil {
			return nil, err
		}
		if l == nil {
			return nil, ipledger.Errorf(ipledger.CodeInternal, "encumbrance of lease %d without its lease", id)
		}
		if l.Lessor != seller {
			continue
		}
		l.Lessor = buyer
		a.touch("lease", strconv.FormatUint(l.ID, 10))
		a.touch("org", buyer)
		if err := a.putLease(l); err != nil {
			return nil, err
		}
	}
	return leased, nil
}

// withdrawAuths removes org's route authorisations overlapping r but those a lease placed;
// one reaching outside r is replaced by authorisations for the complement's prefixes (same
// AS, holder and expiry; maximum length the larger of the original's and the piece's
// length): DESIGN's partial-cover rule.
func (a *apply) withdrawAuths(org string, r ipledger.Resource) error {
	auths, err := a.authsOverlapping(r)
	if err != nil {
		return err
	}
	for _, ra := range auths {
		if ra.Holder != org || ra.Lease != 0 {
			continue
		}
		if err := a.dropAuth(ra); err != nil {
			return err
		}
		pr, _ := ipledger.PrefixResource(ra.Prefix)
		for _, rest := range pr.Subtract(r) {
			for _, pf := range rest.Prefixes() {
				piece := ipledger.RouteAuth{Prefix: pf, MaxLength: max(ra.MaxLength, pf.Bits()), ASN: ra.ASN, Holder: ra.Holder, Expires: ra.Expires}
				if _, err := a.newAuth(piece); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// authsOverlapping returns the authorisations whose prefix overlaps r: those starting inside
// r, then those starting before it, which contain r's first number and so start at one of
// the aligned blocks containing it.
func (s state) authsOverlapping(r ipledger.Resource) ([]*ipledger.RouteAuth, error) {
	ids, err := s.authIDs(nil, r)
	if err != nil {
		return nil, err
	}
	lo := r.Key()
	var last ipledger.Resource
	for b := r.Family().Bits() - 1; b >= 0; b-- {
		blk := r.Point().Block(b)
		if blk.Key() == lo || blk.Key() == last.Key() {
			continue
		}
		last = blk
		if ids, err = s.authIDs(ids, blk.Point()); err != nil {
			return nil, err
		}
	}
	return s.authsOf(ids, r.Overlaps)
}

func (s state) listing(id uint64) (*ipledger.Listing, error) {
	return getJSON[ipledger.Listing](s, u64Key(tagListing, id), "listing")
}

func (a *apply) putListing(l *ipledger.Listing) error {
	a.touch("listing", strconv.FormatUint(l.ID, 10))
	a.touch("org", l.Seller)
	return a.putJSON(u64Key(tagListing, l.ID), l, "listing")
}

func (a *apply) putSale(s *ipledger.Sale) error {
	a.touch("sale", strconv.FormatUint(s.ID, 10))
	a.touch("org", s.Seller)
	a.touch("org", s.Buyer)
	return a.putJSON(u64Key(tagSale, s.ID), s, "sale")
}

func listingEnc(l *ipledger.Listing) *Encumbrance {
	return &Encumbrance{Kind: encListing, Ref: listingRef(l.ID), Resource: l.Resource, Depth: l.Depth}
}

func saleEnc(s *ipledger.Sale) *Encumbrance {
	return &Encumbrance{Kind: encSale, Ref: saleRef(s.ID), Resource: s.Resource, Depth: s.Depth}
}

// list opens a listing of a block inside a holding of the signer.
func (a *apply) list(body *ipledger.ListBody) error {
	p, err := a.params()
	if err != nil {
		return err
	}
	now := a.block.Time.Unix()
	if body.End <= now || body.End-now > p.MaxListing {
		return ipledger.Errorf(ipledger.CodeInvalid, "end %d is not within %d s after the block time %d", body.End, p.MaxListing, now)
	}
	if body.Reserve == 0 {
		return ipledger.Errorf(ipledger.CodeInvalid, "a listing needs a reserve price above 0")
	}
	seller := a.signers[0].Handle
	h, err := a.sellersHolding(body.Resource, seller, p)
	if err != nil {
		return err
	}
	id, err := a.next(counterListing)
	if err != nil {
		return err
	}
	l := &ipledger.Listing{
		ID: id, Seller: seller, Resource: body.Resource, Depth: h.Depth, Reserve: body.Reserve,
		MinIncrement: max(body.MinIncrement, 1), End: body.End, Created: a.block.Time, State: ipledger.ListingOpen,
	}
	a.touchHolding(h)
	if err := a.putEncumbrance(listingEnc(l)); err != nil {
		return err
	}
	if err := a.kv.Set(dueKey(l.End, dueListing, id), []byte{}); err != nil {
		return err
	}
	return a.putListing(l)
}

// openListing loads listing id, which must be open and not past its end.
func (a *apply) openListing(id uint64) (*ipledger.Listing, error) {
	l, err := found[ipledger.Listing](a.state, tagListing, id, "listing")
	if err != nil {
		return nil, err
	}
	if l.State != ipledger.ListingOpen || a.block.Time.Unix() >= l.End {
		return nil, ipledger.Errorf(ipledger.CodeInvalid, "listing %d is closed", id)
	}
	return l, nil
}

// bid raises a listing's highest bid: at least the reserve and the highest bid plus the
// minimum increment. The bid's credits are held; the previous highest bid's are released at
// once. A bid in the soft-close window moves the end to the bid's time plus the window.
func (a *apply) bid(body *ipledger.BidBody) error {
	l, err := a.openListing(body.Listing)
	if err != nil {
		return err
	}
	bidder := a.signers[0].Handle
	if bidder == l.Seller {
		return ipledger.Errorf(ipledger.CodeInvalid, "%s cannot bid on its own listing", bidder)
	}
	want := l.Reserve
	if l.Bids > 0 {
		want = l.HighBid + l.MinIncrement
		if want < l.HighBid {
			return ipledger.Errorf(ipledger.CodeOverflow, "the highest bid %d cannot be raised", l.HighBid)
		}
	}
	if body.Amount < want {
		return ipledger.Errorf(ipledger.CodeInvalid, "a bid on listing %d must be at least %d", l.ID, want)
	}
	if l.Bids > 0 {
		if err := a.release(l.HighBidder, l.HighBid); err != nil {
			return err
		}
	}
	if err := a.hold(bidder, body.Amount); err != nil {
		return err
	}
	l.Bids++
	l.HighBidder, l.HighBid, l.HighASN = bidder, body.Amount, body.ASN
	p, err := a.params()
	if err != nil {
		return err
	}
	if now := a.block.Time.Unix(); l.End-now < p.SoftClose {
		if err := a.kv.Delete(dueKey(l.End, dueListing, l.ID)); err != nil {
			return err
		}
		l.End = now + p.SoftClose
		if err := a.kv.Set(dueKey(l.End, dueListing, l.ID), []byte{}); err != nil {
			return err
		}
	}
	return a.putListing(l)
}

// cancelListing withdraws an open listing without bids.
func (a *apply) cancelListing(body *ipledger.CancelListingBody) error {
	l, err := signersOwn(a, tagListing, body.Listing, "listing", func(l *ipledger.Listing) string { return l.Seller })
	if err != nil {
		return err
	}
	if l.State != ipledger.ListingOpen {
		return ipledger.Errorf(ipledger.CodeInvalid, "listing %d is %s", l.ID, l.State)
	}
	if l.Bids > 0 {
		return ipledger.Errorf(ipledger.CodeInvalid, "listing %d has a bid; it runs to its end", l.ID)
	}
	if err := a.kv.Delete(dueKey(l.End, dueListing, l.ID)); err != nil {
		return err
	}
	if err := a.deleteEncumbrance(listingEnc(l)); err != nil {
		return err
	}
	l.State = ipledger.ListingCancelled
	return a.putListing(l)
}

// swap sells a block from the first signer to the second for a price in one transaction;
// a large one waits out the challenge window as a Sale.
func (a *apply) swap(body *ipledger.SwapBody) error {
	if err := a.counterparty(body.Buyer, "buyer"); err != nil {
		return err
	}
	seller := a.signers[0].Handle
	p, err := a.params()
	if err != nil {
		return err
	}
	h, err := a.sellersHolding(body.Resource, seller, p)
	if err != nil {
		return err
	}
	t := saleTerms{venue: "swap", seller: seller, buyer: body.Buyer, r: body.Resource, depth: h.Depth, price: body.Price, asn: body.ASN}
	if ipledger.Units(t.r) >= p.LargeSaleUnits {
		_, err := a.pendSale(t, 0, p)
		return err
	}
	_, err = a.settleSale(t, p)
	return err
}

// pendSale holds the buyer's credits and the block for a large sale settling after the
// challenge window (the buyer's credits must be free: a listing releases its hold first).
func (a *apply) pendSale(t saleTerms, listing uint64, p Params) (*ipledger.Sale, error) {
	if err := a.hold(t.buyer, t.price); err != nil {
		return nil, err
	}
	id, err := a.next(counterSale)
	if err != nil {
		return nil, err
	}
	s := &ipledger.Sale{
		ID: id, Venue: t.venue, Class: t.class, Listing: listing, Seller: t.seller, Buyer: t.buyer, Resource: t.r, Depth: t.depth,
		Price: t.price, ASN: t.asn, Created: a.block.Time, Settles: a.block.Time.Unix() + p.ChallengeWindow, State: salePending,
	}
	if err := a.putEncumbrance(saleEnc(s)); err != nil {
		return nil, err
	}
	if err := a.kv.Set(dueKey(s.Settles, dueSale, id), []byte{}); err != nil {
		return nil, err
	}
	return s, a.putSale(s)
}

// cancelSale cancels a pending large sale: any key of the seller, within the window.
func (a *apply) cancelSale(body *ipledger.CancelSaleBody) error {
	s, err := signersOwn(a, tagSale, body.Sale, "sale", func(s *ipledger.Sale) string { return s.Seller })
	if err != nil {
		return err
	}
	if s.State != salePending {
		return ipledger.Errorf(ipledger.CodeInvalid, "sale %d is %s", s.ID, s.State)
	}
	if a.block.Time.Unix() >= s.Settles {
		return ipledger.Errorf(ipledger.CodeInvalid, "sale %d's challenge window ended at %d", s.ID, s.Settles)
	}
	if err := a.kv.Delete(dueKey(s.Settles, dueSale, s.ID)); err != nil {
		return err
	}
	return a.closeSale(s, saleCancelled)
}

// closeSale ends pending sale s without settling it (cancelled or failed): the buyer's
// credits and the block are released, and its listing closes as cancelled.
func (a *apply) closeSale(s *ipledger.Sale, st string) error {
	if err := a.release(s.Buyer, s.Price); err != nil {
		return err
	}
	if err := a.deleteEncumbrance(saleEnc(s)); err != nil {
		return err
	}
	s.State = st
	if s.Listing != 0 {
		l, err := a.listing(s.Listing)
		if err != nil || l == nil {
			return fmt.Errorf("listing %d of sale %d: %w", s.Listing, s.ID, err)
		}
		l.State = ipledger.ListingCancelled
		if err := a.putListing(l); err != nil {
			return err
		}
	}
	return a.putSale(s)
}

// endListing closes listing id at its end (an event): without a bid it expires; with one it
// sells to the highest bid (which is at or above the reserve), at once or, for a large
// block, as a pending sale. It returns the event's kind. A settlement the rules refuse
// (the transfer policy changed since the listing, as governance will change it) is a
// domain error: the caller drops this overlay's writes and calls failListing.
func (a *apply) endListing(l *ipledger.Listing, p Params) (string, error) {
	if err := a.deleteEncumbrance(listingEnc(l)); err != nil {
		return "", err
	}
	if l.Bids == 0 {
		l.State = ipledger.ListingExpired
		return "listing-unsold", a.putListing(l)
	}
	if err := a.release(l.HighBidder, l.HighBid); err != nil {
		return "", err
	}
	t := saleTerms{venue: "listing", ref: listingRef(l.ID), seller: l.Seller, buyer: l.HighBidder, r: l.Resource, depth: l.Depth, price: l.HighBid, asn: l.HighASN}
	if ipledger.Units(l.Resource) >= p.LargeSaleUnits {
		s, err := a.pendSale(t, l.ID, p)
		if err != nil {
			return "", err
		}
		l.State, l.Sale = ipledger.ListingPending, s.ID
		return "sale-pending", a.putListing(l)
	}
	tr, err := a.settleSale(t, p)
	if err != nil {
		return "", err
	}
	l.State, l.Trade = ipledger.ListingSold, tr.ID
	return "listing-sold", a.putListing(l)
}

// failListing closes a listing whose settlement the rules refused: the highest bid's
// credits and the block are released.
func (a *apply) failListing(l *ipledger.Listing) error {
	if err := a.deleteEncumbrance(listingEnc(l)); err != nil {
		return err
	}
	if l.Bids > 0 {
		if err := a.release(l.HighBidder, l.HighBid); err != nil {
			return err
		}
	}
	l.State = ipledger.ListingCancelled
	return a.putListing(l)
}

// settlePending settles a large sale whose challenge window ended (an event).
func (a *apply) settlePending(s *ipledger.Sale, p Params) error {
	if err := a.release(s.Buyer, s.Price); err != nil {
		return err
	}
	if err := a.deleteEncumbrance(saleEnc(s)); err != nil {
		return err
	}
	ref := saleRef(s.ID)
	if s.Listing != 0 {
		ref = listingRef(s.Listing)
	}
	tr, err := a.settleSale(saleTerms{venue: s.Venue, ref: ref, class: s.Class, seller: s.Seller, buyer: s.Buyer, r: s.Resource, depth: s.Depth, price: s.Price, asn: s.ASN}, p)
	if err != nil {
		return err
	}
	s.State, s.Trade = saleSettled, tr.ID
	if s.Listing != 0 {
		l, err := a.listing(s.Listing)
		if err != nil || l == nil {
			return fmt.Errorf("listing %d of sale %d: %w", s.Listing, s.ID, err)
		}
		l.State, l.Trade = ipledger.ListingSold, tr.ID
		if err := a.putListing(l); err != nil {
			return err
		}
	}
	return a.putSale(s)
}

// marketEvent handles a listing's end or a large sale's settlement, due at at (an event),
// and returns the event's kind and reference. The settlement runs in an overlay of its own:
// if the rules refuse it (a domain error), its writes go and the listing or sale closes
// instead with everything released ("listing-failed", "sale-failed").
func (a *apply) marketEvent(kind byte, id uint64, at int64, p Params) (string, string, error) {
	ov := kvbuffer.New(a.kv)
	b := &apply{state: state{ov}, block: a.block}
	var ev, ref string
	var err error
	var fail func() error
	switch kind {
	case dueListing:
		ref = listingRef(id)
		l, lerr := a.listing(id)
		if lerr != nil {
			return "", "", lerr
		}
		if l == nil || l.State != ipledger.ListingOpen || l.End != at {
			return "", "", fmt.Errorf("queued listing %d at %d does not match its record", id, at)
		}
		ev, err = b.endListing(l, p)
		fail = func() error { ev = "listing-failed"; return a.failListing(l) }
	default:
		ref = saleRef(id)
		s, serr := getJSON[ipledger.Sale](a.state, u64Key(tagSale, id), "sale")
		if serr != nil {
			return "", "", serr
		}
		if s == nil || s.State != salePending || s.Settles != at {
			return "", "", fmt.Errorf("queued sale %d at %d does not match its record", id, at)
		}
		ev, err = "sale-settled", b.settlePending(s, p)
		fail = func() error { ev = "sale-failed"; return a.closeSale(s, saleFailed) }
	}
	if err == nil {
		if err := ov.FlushTo(a.kv); err != nil {
			return "", "", err
		}
		for _, t := range b.touched {
			k, v, _ := strings.Cut(t, "/")
			a.touch(k, v)
		}
		return ev, ref, nil
	}
	if ipledger.ErrorCode(err) == ipledger.CodeInternal {
		return "", "", err
	}
	return ev, ref, fail()
}
