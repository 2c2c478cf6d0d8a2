package ledger

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/kvbuffer"
)

// Class auctions. An ask holds one whole holding (encumbrance "ask"); a bid holds
// Limit × units × Quantity of its bidder's credits. Orders are named by the hash of the
// transaction that placed them, so nothing about them depends on their order inside a
// block. Every AuctionInterval seconds of block time (at multiples of it) one queued event
// clears every book that has an open bid; each fill it makes is a queued event of its own,
// settled through settleSale at most MaxSettlements a block with the other events.
//
//	'A' hash(32)                                     → Ask JSON
//	'B' hash(32)                                     → Bid JSON
//	'K' id(8)                                        → Fill JSON
//	'Q' side family bits grade registry 0 country 0 hash → nothing: open orders by class
//	                                                   (side 'a' asks, 'b' bids; a bid's
//	                                                   registry or country empty for any)
const (
	tagAsk      = 'A'
	tagOrderBid = 'B'
	tagFill     = 'K'
	tagBook     = 'Q'
)

// counterFill numbers fills (under tagCounter).
const counterFill = 'K'

// Due kinds of class auctions. A dueClear with id 0 is the clearing of every book; with
// another id it is the expiry of the bids whose hash starts with the id's 8 bytes.
const (
	dueClear = 'A'
	dueFill  = 'B'
)

// encAsk is the encumbrance of an open or matched ask.
const encAsk = "ask"

// MaxOrderBlocks is the most blocks one bid asks for.
const MaxOrderBlocks = 4096

func askKey(id ipledger.Hash) []byte { return append([]byte{tagAsk}, id[:]...) }
func bidKey(id ipledger.Hash) []byte { return append([]byte{tagOrderBid}, id[:]...) }
func askRef(id ipledger.Hash) string { return "ask/" + id.String() }
func fillRef(id uint64) string       { return "fill/" + strconv.FormatUint(id, 10) }

// bidDueID is the id of a bid's expiry in the due-queue: its hash's first 8 bytes, never 0.
func bidDueID(id ipledger.Hash) uint64 { return max(binary.BigEndian.Uint64(id[:8]), 1) }

// classGroup is the part of a book key every class of one group of books shares.
func classGroup(side byte, c ipledger.AuctionClass) []byte {
	return []byte{tagBook, side, byte(c.Family), byte(c.Bits), c.Grade[0]}
}

func bookKey(side byte, c ipledger.AuctionClass, id ipledger.Hash) []byte {
	k := classGroup(side, c)
	k = append(append(k, c.Registry...), 0)
	k = append(append(k, c.Country...), 0)
	return append(k, id[:]...)
}

// parseBookKey returns the registry, country and order id of a book key.
func parseBookKey(k []byte) (reg, cc string, id ipledger.Hash, ok bool) {
	if len(k) < 5+2+32 {
		return "", "", id, false
	}
	rest := k[5 : len(k)-32]
	r, c, ok1 := bytes.Cut(rest, []byte{0})
	c, _, ok2 := bytes.Cut(c, []byte{0})
	copy(id[:], k[len(k)-32:])
	return string(r), string(c), id, ok1 && ok2
}

func askEnc(a *ipledger.Ask) *Encumbrance {
	return &Encumbrance{Kind: encAsk, Ref: askRef(a.ID), Resource: a.Resource, Depth: a.Depth}
}

func validGrade(g string) bool { return g == GradeA || g == GradeB || g == GradeC }

// auctionUnits returns c's units per block, or CodeInvalid for a class auctions do not trade.
func auctionUnits(c ipledger.AuctionClass) (uint64, error) {
	u := c.BlockUnits()
	if u == 0 || !validGrade(c.Grade) || c.Registry != "" && !ipledger.ValidHandle(c.Registry) ||
		c.Country != "" && c.Country != ipledger.NoCountry && !ipledger.ValidCountry(c.Country) {
		return 0, ipledger.Errorf(ipledger.CodeInvalid, "%s is not a class auctions trade (IPv4 or IPv6 up to /48, grade A, B or C)", c)
	}
	return u, nil
}

// perBlock returns price per unit × units, CodeOverflow past 2^64.
func perBlock(price, units, blocks uint64) (uint64, error) {
	hi, v := bits.Mul64(price, units)
	hi2, v2 := bits.Mul64(v, blocks)
	if hi != 0 || hi2 != 0 || blocks != 0 && v2/blocks != v {
		return 0, ipledger.Errorf(ipledger.CodeOverflow, "%d per unit for %d units × %d blocks overflows", price, units, blocks)
	}
	return v2, nil
}

// nextClearing returns the first multiple of the auction interval after now.
func nextClearing(now int64, p Params) int64 { return (now/p.AuctionInterval + 1) * p.AuctionInterval }

// scheduleClearing queues the clearing at the next multiple of the interval (setting a due
// key twice is one event).
func (a *apply) scheduleClearing(p Params) error {
	return a.kv.Set(dueKey(nextClearing(a.block.Time.Unix(), p), dueClear, 0), []byte{})
}

// askClass returns the class of the block h holds in chain, graded as of now.
func (a *apply) askClass(chain []*ipledger.Holding) (ipledger.AuctionClass, error) {
	h := chain[len(chain)-1]
	pf, _ := h.Resource.Prefix()
	grade, err := GradeOf(a.kv, h.Resource, a.block.Time.Unix())
	if err != nil {
		return ipledger.AuctionClass{}, err
	}
	cc := h.Country
	if cc == "" {
		cc = ipledger.NoCountry
	}
	return ipledger.AuctionClass{Family: h.Resource.Family(), Bits: pf.Bits(), Registry: chain[0].Holder, Country: cc, Grade: grade}, nil
}

// ask places a whole holding of the signer in its class's book.
func (a *apply) ask(body *ipledger.AskBody) error {
	p, err := a.params()
	if err != nil {
		return err
	}
	if body.MinPrice == 0 {
		return ipledger.Errorf(ipledger.CodeInvalid, "an ask needs a minimum price above 0")
	}
	r := body.Resource
	if err := checkResource(r); err != nil {
		return err
	}
	if _, ok := r.Prefix(); !ok || r.Family() == ipledger.ASN {
		return ipledger.Errorf(ipledger.CodeInvalid, "%s is not a CIDR prefix: list it instead", r)
	}
	seller := a.signers[0].Handle
	chain, err := a.heldBy(r, seller)
	if err != nil {
		return err
	}
	h := chain[len(chain)-1]
	if h.Depth == 0 {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "%s is pool space; registries move it with registry-transfer", r)
	}
	if h.Resource != r {
		return ipledger.Errorf(ipledger.CodeInvalid, "%s is part of the holding %s: an ask takes a whole holding (list part of one)", r, h.Resource)
	}
	if kids, err := a.children(h, r); err != nil {
		return err
	} else if len(kids) > 0 {
		return ipledger.Errorf(ipledger.CodeHasChildren, "%s has a sub-holding %s (%s): list it instead", r, kids[0].Resource, kids[0].Holder)
	}
	if err := checkPolicy(h, r, p.Transfer); err != nil {
		return err
	}
	if err := a.checkFree(chain, r, "sell"); err != nil {
		return err
	}
	class, err := a.askClass(chain)
	if err != nil {
		return err
	}
	if _, err := auctionUnits(class); err != nil {
		return err
	}
	ask := &ipledger.Ask{ID: a.tx.Hash, Seller: seller, Class: class, Resource: r, Depth: h.Depth, MinPrice: body.MinPrice, Created: a.block.Time, State: ipledger.OrderOpen}
	a.touchHolding(h)
	if err := a.putEncumbrance(askEnc(ask)); err != nil {
		return err
	}
	if err := a.kv.Set(bookKey('a', class, ask.ID), []byte{}); err != nil {
		return err
	}
	if err := a.scheduleClearing(p); err != nil {
		return err
	}
	return a.putAsk(ask)
}

// order places a bid for blocks of a class, holding its credits at its limit.
func (a *apply) order(body *ipledger.OrderBody) error {
	p, err := a.params()
	if err != nil {
		return err
	}
	units, err := auctionUnits(body.Class)
	if err != nil {
		return err
	}
	now := a.block.Time.Unix()
	switch {
	case body.Quantity == 0 || body.Quantity > MaxOrderBlocks:
		return ipledger.Errorf(ipledger.CodeInvalid, "a bid asks for 1 to %d blocks, not %d", MaxOrderBlocks, body.Quantity)
	case body.Limit == 0:
		return ipledger.Errorf(ipledger.CodeInvalid, "a bid needs a limit price above 0")
	case body.Expiry <= now || body.Expiry-now > p.MaxListing:
		return ipledger.Errorf(ipledger.CodeInvalid, "expiry %d is not within %d s after the block time %d", body.Expiry, p.MaxListing, now)
	}
	amount, err := perBlock(body.Limit, units, body.Quantity)
	if err != nil {
		return err
	}
	bidder := a.signers[0].Handle
	if err := a.hold(bidder, amount); err != nil {
		return err
	}
	b := &ipledger.Bid{
		ID: a.tx.Hash, Bidder: bidder, Class: body.Class, Quantity: body.Quantity, Limit: body.Limit,
		Expiry: body.Expiry, ASN: body.ASN, Created: a.block.Time, Held: amount, State: ipledger.OrderOpen,
	}
	if err := a.kv.Set(bookKey('b', b.Class, b.ID), []byte{}); err != nil {
		return err
	}
	if err := a.kv.Set(dueKey(b.Expiry, dueClear, bidDueID(b.ID)), []byte{}); err != nil {
		return err
	}
	if err := a.scheduleClearing(p); err != nil {
		return err
	}
	return a.putBid(b)
}

// cancelOrder withdraws an open ask or the open remainder of a bid of the signer.
func (a *apply) cancelOrder(body *ipledger.CancelOrderBody) error {
	ask, err := getJSON[ipledger.Ask](a.state, askKey(body.Order), "ask")
	if err != nil {
		return err
	}
	if ask != nil {
		if ask.Seller != a.signers[0].Handle {
			return ipledger.Errorf(ipledger.CodeUnauthorized, "ask %s is %s's", ask.ID, ask.Seller)
		}
		if ask.State != ipledger.OrderOpen {
			return ipledger.Errorf(ipledger.CodeInvalid, "ask %s is %s", ask.ID, ask.State)
		}
		return a.closeAsk(ask, ipledger.OrderCancelled)
	}
	b, err := getJSON[ipledger.Bid](a.state, bidKey(body.Order), "bid")
	if err != nil {
		return err
	}
	if b == nil {
		return ipledger.Errorf(ipledger.CodeNotFound, "no ask or bid %s", body.Order)
	}
	if b.Bidder != a.signers[0].Handle {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "bid %s is %s's", b.ID, b.Bidder)
	}
	if b.State != ipledger.OrderOpen {
		return ipledger.Errorf(ipledger.CodeInvalid, "bid %s is %s", b.ID, b.State)
	}
	if err := a.kv.Delete(dueKey(b.Expiry, dueClear, bidDueID(b.ID))); err != nil {
		return err
	}
	return a.closeBid(b, ipledger.OrderCancelled)
}

// closeAsk takes an open ask out of its book, releasing its block.
func (a *apply) closeAsk(ask *ipledger.Ask, st string) error {
	if err := a.kv.Delete(bookKey('a', ask.Class, ask.ID)); err != nil {
		return err
	}
	if err := a.deleteEncumbrance(askEnc(ask)); err != nil {
		return err
	}
	ask.State = st
	return a.putAsk(ask)
}

// closeBid takes an open bid out of its book, releasing the credits of its unmatched
// blocks; matched blocks keep theirs until their fills settle.
func (a *apply) closeBid(b *ipledger.Bid, st string) error {
	if err := a.kv.Delete(bookKey('b', b.Class, b.ID)); err != nil {
		return err
	}
	units, _ := auctionUnits(b.Class)
	rest, err := perBlock(b.Limit, units, b.Quantity-b.Matched)
	if err != nil {
		return err
	}
	if err := a.releaseBid(b, rest); err != nil {
		return err
	}
	b.State = st
	return a.putBid(b)
}

// releaseBid gives back amount of what bid b holds.
func (a *apply) releaseBid(b *ipledger.Bid, amount uint64) error {
	if b.Held < amount {
		return ipledger.Errorf(ipledger.CodeInternal, "bid %s holds %d, not the %d released", b.ID, b.Held, amount)
	}
	b.Held -= amount
	return a.release(b.Bidder, amount)
}

func (a *apply) putAsk(ask *ipledger.Ask) error {
	a.touch("org", ask.Seller)
	return a.putJSON(askKey(ask.ID), ask, "ask")
}

func (a *apply) putBid(b *ipledger.Bid) error {
	a.touch("org", b.Bidder)
	return a.putJSON(bidKey(b.ID), b, "bid")
}

// expireBids expires the open bids whose due id is id and expiry at (an event).
func (a *apply) expireBids(id uint64, at int64) (string, error) {
	var prefix [8]byte
	binary.BigEndian.PutUint64(prefix[:], id)
	start := append([]byte{tagOrderBid}, prefix[:]...)
	end := prefixEnd(start)
	if id == 1 { // bidDueID maps a hash starting with 8 zero bytes to 1 as well
		start = []byte{tagOrderBid}
	}
	var found []*ipledger.Bid
	var derr error
	err := a.kv.Iterate(start, end, false, func(_, v []byte) bool {
		b := new(ipledger.Bid)
		if derr = json.Unmarshal(v, b); derr != nil {
			derr = fmt.Errorf("decode bid: %w", derr)
			return false
		}
		if b.State == ipledger.OrderOpen && b.Expiry == at {
			found = append(found, b)
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return "", fmt.Errorf("scan bids: %w", err)
	}
	for _, b := range found {
		if err := a.closeBid(b, ipledger.OrderExpired); err != nil {
			return "", err
		}
	}
	return "bid/" + fmt.Sprintf("%016X", id), nil
}

// book is the open bids of one class at a clearing.
type book struct {
	class ipledger.AuctionClass
	bids  []ipledger.Hash
}

// specificity orders a group's books: both fields named, registry only, country only, any.
func specificity(c ipledger.AuctionClass) int {
	switch {
	case c.Registry != "" && c.Country != "":
		return 0
	case c.Registry != "":
		return 1
	case c.Country != "":
		return 2
	}
	return 3
}

// clearAuctions clears every book with an open bid (an event): groups of books (family,
// length, grade) in key order, within a group the books naming most first (a bid for
// "RIPE-NCC NL" before one for "any any"), each against the group's open asks its class
// matches and earlier books left. Each fill is queued for settlement. The clearing is
// queued again while open bids remain. It returns the number of fills.
func (a *apply) clearAuctions(p Params) (int, error) {
	var books []*book
	var derr error
	err := a.kv.Iterate([]byte{tagBook, 'b'}, []byte{tagBook, 'b' + 1}, false, func(k, _ []byte) bool {
		reg, cc, id, ok := parseBookKey(k)
		if !ok {
			derr = fmt.Errorf("bad book key %x", k)
			return false
		}
		c := ipledger.AuctionClass{Family: ipledger.Family(k[2]), Bits: int(k[3]), Grade: string(k[4:5]), Registry: reg, Country: cc}
		if n := len(books); n > 0 && books[n-1].class == c {
			books[n-1].bids = append(books[n-1].bids, id)
		} else {
			books = append(books, &book{class: c, bids: []ipledger.Hash{id}})
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return 0, fmt.Errorf("scan books: %w", err)
	}
	slices.SortStableFunc(books, func(x, y *book) int {
		gx, gy := classGroup('b', x.class), classGroup('b', y.class)
		if c := bytes.Compare(gx, gy); c != 0 {
			return c
		}
		return cmp.Compare(specificity(x.class), specificity(y.class))
	})
	now := a.block.Time.Unix()
	var group []byte
	var asks []*ipledger.Ask
	fills := 0
	for _, bk := range books {
		if g := classGroup('a', bk.class); !bytes.Equal(g, group) {
			group = g
			if asks, err = a.groupAsks(g, bk.class.Grade); err != nil {
				return 0, err
			}
		}
		var bids []*ipledger.Bid
		var in []BookBid
		for _, id := range bk.bids {
			b, err := getJSON[ipledger.Bid](a.state, bidKey(id), "bid")
			if err != nil {
				return 0, err
			}
			if b == nil || b.State != ipledger.OrderOpen {
				return 0, fmt.Errorf("book holds bid %s, which is not open", id)
			}
			if b.Expiry <= now {
				continue // its expiry is queued
			}
			bids = append(bids, b)
			in = append(in, BookBid{ID: b.ID, Limit: b.Limit, Quantity: b.Quantity - b.Matched})
		}
		var offered []*ipledger.Ask
		var out []BookAsk
		for _, ask := range asks {
			if ask.State == ipledger.OrderOpen && bk.class.Matches(ask.Class) {
				offered = append(offered, ask)
				out = append(out, BookAsk{ID: ask.ID, MinPrice: ask.MinPrice})
			}
		}
		price, matched := ClearBook(out, in)
		for _, m := range matched {
			if err := a.match(offered[m.Ask], bids[m.Bid], bk.class, price); err != nil {
				return 0, err
			}
		}
		fills += len(matched)
		for _, b := range bids {
			if err := a.putBid(b); err != nil {
				return 0, err
			}
		}
	}
	more := false
	if err := a.kv.Iterate([]byte{tagBook, 'b'}, []byte{tagBook, 'b' + 1}, false, func(_, _ []byte) bool { more = true; return false }); err != nil {
		return 0, fmt.Errorf("scan books: %w", err)
	}
	if more {
		return fills, a.scheduleClearing(p)
	}
	return fills, nil
}

// groupAsks loads the open asks of a group (classGroup), in key order. An ask whose block's
// grade is no longer its class's leaves the book (OrderRegraded), its block released.
func (a *apply) groupAsks(group []byte, grade string) ([]*ipledger.Ask, error) {
	var ids []ipledger.Hash
	var derr error
	err := a.kv.Iterate(group, prefixEnd(group), false, func(k, _ []byte) bool {
		_, _, id, ok := parseBookKey(k)
		if !ok {
			derr = fmt.Errorf("bad book key %x", k)
			return false
		}
		ids = append(ids, id)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("scan asks: %w", err)
	}
	out := make([]*ipledger.Ask, 0, len(ids))
	for _, id := range ids {
		ask, err := getJSON[ipledger.Ask](a.state, askKey(id), "ask")
		if err != nil {
			return nil, err
		}
		if ask == nil {
			return nil, fmt.Errorf("book holds ask %s, which is missing", id)
		}
		g, err := GradeOf(a.kv, ask.Resource, a.block.Time.Unix())
		if err != nil {
			return nil, err
		}
		if g != grade {
			if err := a.closeAsk(ask, ipledger.OrderRegraded); err != nil {
				return nil, err
			}
			continue
		}
		out = append(out, ask)
	}
	return out, nil
}

// match records one fill of a clearing and queues its settlement: the ask leaves its book
// (its block stays encumbered), the bid counts the block matched.
func (a *apply) match(ask *ipledger.Ask, b *ipledger.Bid, class ipledger.AuctionClass, price uint64) error {
	id, err := a.next(counterFill)
	if err != nil {
		return err
	}
	f := &ipledger.Fill{
		ID: id, Time: a.block.Time.Unix(), Class: class, Ask: ask.ID, Bid: b.ID, Seller: ask.Seller, Buyer: b.Bidder,
		Resource: ask.Resource, PricePerUnit: price, State: salePending,
	}
	if err := a.kv.Delete(bookKey('a', ask.Class, ask.ID)); err != nil {
		return err
	}
	ask.State, ask.Fill = ipledger.OrderMatched, id
	if err := a.putAsk(ask); err != nil {
		return err
	}
	b.Matched++
	if b.Matched == b.Quantity {
		b.State = ipledger.OrderMatched
		if err := a.kv.Delete(bookKey('b', b.Class, b.ID)); err != nil {
			return err
		}
		if err := a.kv.Delete(dueKey(b.Expiry, dueClear, bidDueID(b.ID))); err != nil {
			return err
		}
	}
	if err := a.kv.Set(dueKey(a.block.Time.Unix(), dueFill, id), []byte{}); err != nil {
		return err
	}
	return a.putFill(f)
}

func (a *apply) putFill(f *ipledger.Fill) error {
	return a.putJSON(u64Key(tagFill, f.ID), f, "fill")
}

// settleFill settles fill id (an event) through settleSale, in an overlay of its own: if the
// rules refuse it, its writes go and the fill fails with the ask's block and the bid's
// credits for it released. A block of the large-sale size becomes a pending sale. It returns
// the event's kind.
func (a *apply) settleFill(id uint64, p Params) (string, error) {
	f, err := getJSON[ipledger.Fill](a.state, u64Key(tagFill, id), "fill")
	if err != nil {
		return "", err
	}
	if f == nil || f.State != salePending {
		return "", fmt.Errorf("queued fill %d does not match its record", id)
	}
	ask, err := getJSON[ipledger.Ask](a.state, askKey(f.Ask), "ask")
	if err != nil {
		return "", err
	}
	b, err := getJSON[ipledger.Bid](a.state, bidKey(f.Bid), "bid")
	if err != nil {
		return "", err
	}
	if ask == nil || b == nil || ask.State != ipledger.OrderMatched {
		return "", fmt.Errorf("fill %d's orders do not match it", id)
	}
	units, _ := auctionUnits(f.Class)
	limit, err := perBlock(b.Limit, units, 1)
	if err != nil {
		return "", err
	}
	price, err := perBlock(f.PricePerUnit, units, 1)
	if err != nil {
		return "", err
	}
	ov := kvbuffer.New(a.kv)
	o := &apply{state: state{ov}, block: a.block}
	ev := "fill-settled"
	err = func() error {
		if err := o.releaseBid(b, limit); err != nil {
			return err
		}
		if ask.Seller == b.Bidder {
			// One book may hold both sides of an organisation; it does not trade with itself.
			return ipledger.Errorf(ipledger.CodeInvalid, "fill %d: %s would buy its own ask", id, ask.Seller)
		}
		if err := o.deleteEncumbrance(askEnc(ask)); err != nil {
			return err
		}
		t := saleTerms{venue: "auction", ref: fillRef(id), class: f.Class.String(), seller: ask.Seller, buyer: b.Bidder, r: ask.Resource, depth: ask.Depth, price: price, asn: b.ASN}
		if ipledger.Units(ask.Resource) >= p.LargeSaleUnits {
			ev = "fill-pending"
			s, err := o.pendSale(t, 0, p)
			if err == nil {
				f.Sale = s.ID
			}
			return err
		}
		tr, err := o.settleSale(t, p)
		if err != nil {
			return err
		}
		f.Trade = tr.ID
		return nil
	}()
	if err == nil {
		if err := ov.FlushTo(a.kv); err != nil {
			return "", err
		}
		for _, t := range o.touched {
			k, v, _ := strings.Cut(t, "/")
			a.touch(k, v)
		}
		f.State, ask.State = saleSettled, ipledger.OrderFilled
		if f.Sale != 0 {
			f.State = salePending + "-sale"
		}
		b.Filled++
		if b.Filled == b.Quantity {
			b.State = ipledger.OrderFilled
		}
	} else {
		if ipledger.ErrorCode(err) == ipledger.CodeInternal {
			return "", err
		}
		b.Held += limit // the overlay's release went with it
		ev = "fill-failed"
		if err := a.releaseBid(b, limit); err != nil {
			return "", err
		}
		if err := a.deleteEncumbrance(askEnc(ask)); err != nil {
			return "", err
		}
		f.State, ask.State = saleFailed, ipledger.OrderFailed
	}
	if b.State == ipledger.OrderMatched && b.Held == 0 {
		b.State = ipledger.OrderFilled
	}
	if err := a.putAsk(ask); err != nil {
		return "", err
	}
	if err := a.putBid(b); err != nil {
		return "", err
	}
	return ev, a.putFill(f)
}

// auctionEvent applies a due event of class auctions and returns its kind and reference.
func (a *apply) auctionEvent(kind byte, id uint64, at int64, p Params) (string, string, error) {
	switch {
	case kind == dueFill:
		ev, err := a.settleFill(id, p)
		return ev, fillRef(id), err
	case id == 0:
		n, err := a.clearAuctions(p)
		if err != nil {
			return "", "", err
		}
		// A clearing changes the orders of many organisations; their history gets the
		// fills' settlements, and the event's log leaf stays bounded.
		a.touched, a.seen = nil, nil
		ev := "auction-cleared"
		if n == 0 {
			ev = "auction-idle"
		}
		return ev, "clear/" + strconv.FormatInt(at, 10), nil
	default:
		ref, err := a.expireBids(id, at)
		return "bid-expired", ref, err
	}
}
