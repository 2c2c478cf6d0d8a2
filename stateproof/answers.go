package stateproof

import (
	"bytes"
	"fmt"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

// Prover is a committed version of the state that proves its keys: *store.View, the
// State of a snapshot from the node's ipledger.Reader.
type Prover interface {
	ipledger.KV
	// Prove returns key's value with a membership proof, or nil with a non-membership
	// proof, against the version's root.
	Prove(key []byte) ([]byte, *KeyProof, error)
}

// KeyProof is the proof of one key's value or absence in the state map: package store's
// Proof, named here so that a server caching proofs needs no import of the store.
type KeyProof = store.Proof

// MaxResourceEntries bounds the entries of an answer to "who holds X" that
// VerifyResource accepts: the chain (at most ledger.MaxDepth+1 holdings), the holder, one
// holding at the depth below, and for each of at most 129 aligned blocks (IPv6; 33 for
// IPv4 and AS numbers) its cover entry and the holding it names. ResourceEntries never
// gives more.
const MaxResourceEntries = ledger.MaxDepth + 1 + 1 + 1 + 2*maxLevels

// maxLevels is the number of prefix lengths of the widest family, IPv6: 0 to 128.
const maxLevels = 129

// builder collects entries, each key once.
type builder struct {
	v       Prover
	entries []Entry
}

// add proves key and returns its value (nil if absent).
func (b *builder) add(key []byte) ([]byte, error) {
	for i := range b.entries {
		if bytes.Equal(b.entries[i].Key, key) {
			return b.entries[i].Value, nil
		}
	}
	val, p, err := b.v.Prove(key)
	if err != nil {
		return nil, fmt.Errorf("prove %x: %w", key, err)
	}
	b.entries = append(b.entries, Entry{Key: key, Value: val, Proof: p.Marshal()})
	return val, nil
}

// addHolding proves the holding h, which must be stored as it is.
func (b *builder) addHolding(h *ipledger.Holding) error {
	val, err := b.add(ledger.HoldingKey(h.Resource, h.Depth))
	if err != nil {
		return err
	}
	if val == nil {
		return fmt.Errorf("holding %d at depth %d is not stored under its key", h.ID, h.Depth)
	}
	return nil
}

// ResourceEntries returns the entries that answer "who holds r" in v:
//
//   - every holding containing all of r, from the registry pool (depth 0) down to the
//     most specific (d), present, and the holder of the most specific one;
//   - what rules out a holding containing all of r one level further down (d+1): the
//     holding at d+1 containing r's first number (it cannot also contain all of r), or
//     else the cheaper of the two ways below.
//
// Start keys: a holding at every key where one containing r could start is absent, from
// the start of the holding at d (or just after the last holding at d+1 ending before r,
// which is then included) to r's first number; for IPv6 below the pools, where holdings
// are prefixes, only the first address of each prefix containing r. Used only below the
// pools, and only when no more keys are needed than cover entries.
//
// Cover entries (ledger.CoverKey): at d+1, of every aligned block containing the
// smallest one around r and inside the smallest one around the holding at d (for the
// pools, the whole number space), each absent or present with the holding it names: at
// most 33 for IPv4 and AS numbers, 129 for IPv6.
//
// So every answer rules out a more specific holding, with at most MaxResourceEntries
// entries. A resource no single holding contains gets the pool containing its first
// number, which does not contain it all, or the cover entries at depth 0.
func ResourceEntries(v Prover, r ipledger.Resource) ([]Entry, error) {
	if !r.IsValid() {
		return nil, fmt.Errorf("resource entries: invalid resource")
	}
	entries, err := resourceEntries(v, r)
	if err != nil {
		return nil, fmt.Errorf("resource entries for %s: %w", r, err)
	}
	return entries, nil
}

func resourceEntries(v Prover, r ipledger.Resource) ([]Entry, error) {
	chain, err := ledger.Lookup(v, r)
	if err != nil {
		return nil, err
	}
	b := &builder{v: v}
	for _, h := range chain {
		if err := b.addHolding(h); err != nil {
			return nil, err
		}
	}
	if len(chain) > 0 {
		if _, err := b.add(ledger.OrgKey(chain[len(chain)-1].Holder)); err != nil {
			return nil, err
		}
	}
	next := len(chain)
	if next > ledger.MaxDepth {
		return b.entries, nil
	}
	c, err := ledger.HoldingStartingBy(v, r, next)
	if err != nil {
		return nil, err
	}
	if c != nil && c.Resource.Contains(r.Point()) {
		// It contains r's first number but not all of r (else it would be in the chain).
		if err := b.addHolding(c); err != nil {
			return nil, err
		}
		return b.entries, nil
	}
	levels := coverLevels(r, chain)
	if next > 0 {
		lo, withC := startsFrom(chain[next-1], c)
		starts := candidates(r, lo, next, len(levels)+1)
		if n := len(starts) + len(withC); n <= len(levels) {
			for _, h := range withC {
				if err := b.addHolding(h); err != nil {
					return nil, err
				}
			}
			for _, s := range starts {
				val, err := b.add(ledger.HoldingKey(s, next))
				if err != nil {
					return nil, err
				}
				if val != nil {
					return nil, fmt.Errorf("a holding at depth %d starts at %s, which the lookup did not find", next, s)
				}
			}
			return b.entries, nil
		}
	}
	for _, bits := range levels {
		hk, err := b.add(ledger.CoverKey(r, next, bits))
		if err != nil {
			return nil, err
		}
		if hk == nil {
			continue
		}
		val, err := b.add(hk)
		if err != nil {
			return nil, err
		}
		if val == nil {
			return nil, fmt.Errorf("cover entry for %s at depth %d names key %x, which is absent", r.Block(bits), next, hk)
		}
	}
	return b.entries, nil
}

// coverLevels returns the prefix lengths of the aligned blocks that could be the smallest
// aligned block around a holding at depth len(chain) containing all of r: from that of
// the holding above, which contains it (0 for the pools), to that of r.
func coverLevels(r ipledger.Resource, chain []*ipledger.Holding) []int {
	lo := 0
	if len(chain) > 0 {
		lo = chain[len(chain)-1].Resource.CommonBits()
	}
	var out []int
	for bits := lo; bits <= r.CommonBits(); bits++ {
		out = append(out, bits)
	}
	return out
}

// startsFrom returns the first number at which a holding below parent containing r could
// start, given c, the holding at that depth starting last before r (nil if none), which
// ends before r's first number: parent's start, or just after c's end if that is inside
// parent, and then c must be proven too (withC).
func startsFrom(parent, c *ipledger.Holding) (lo ipledger.Resource, withC []*ipledger.Holding) {
	lo = parent.Resource.Point()
	if c != nil {
		if after, ok := c.Resource.After(); ok && after.Compare(lo) > 0 {
			return after, []*ipledger.Holding{c}
		}
	}
	return lo, nil
}

// candidates returns the numbers (as single-number resources) at which a holding at depth
// containing all of r could start, given that none starts before lo: from r's first number
// down to lo, or for IPv6 below the pools (holdings there are prefixes) the first address
// of each prefix containing r's first address that does not start before lo. It stops
// after max.
func candidates(r, lo ipledger.Resource, depth, max int) []ipledger.Resource {
	var out []ipledger.Resource
	if r.Family() == ipledger.IPv6 && depth > 0 {
		var last ipledger.Resource
		for bits := 128; bits >= 0 && len(out) < max; bits-- {
			p := r.Block(bits).Point()
			if p == last {
				continue
			}
			last = p
			if p.Compare(lo) < 0 {
				break // shorter prefixes start earlier still
			}
			out = append(out, p)
		}
		return out
	}
	for p, ok := r.Point(), true; ok && len(out) < max && p.Compare(lo) >= 0; p, ok = p.Before() {
		out = append(out, p)
	}
	return out
}

// ResourceAnswer is the verified answer to "who holds Resource at Height".
type ResourceAnswer struct {
	Resource ipledger.Resource `json:"resource"`
	Height   int64             `json:"height"`
	// Chain is every holding containing all of Resource, from the registry pool down, the
	// last of them the most specific; it is empty when no single holding contains it all.
	Chain []*ipledger.Holding `json:"chain"`
	// Holder is the holder of the last holding of Chain, when the proof includes it.
	Holder *ipledger.Organisation `json:"holder,omitempty"`
	// Complete is always true: VerifyResource rejects a proof that does not rule out a
	// holding below Chain containing all of Resource. It stays for clients of the JSON
	// form; before the cover index (ledger.CoverKey) a range starting deep inside a gap
	// between holdings got an answer with Complete false.
	Complete bool `json:"complete"`
}

// Holding returns the most specific holding proven, or nil.
func (a *ResourceAnswer) Holding() *ipledger.Holding {
	if len(a.Chain) == 0 {
		return nil
	}
	return a.Chain[len(a.Chain)-1]
}

// VerifyResource verifies p (Proof.Verify) and that its entries answer "who holds r":
// the holdings proven present that contain r form a chain from depth 0 down, each inside
// the one above, and the entries rule out a holding containing r one level further down
// (see ResourceEntries for the ways they can), with at most MaxResourceEntries entries.
// Errors wrap ErrRejected.
func (p *Proof) VerifyResource(r ipledger.Resource, t *Trust) (*ResourceAnswer, error) {
	if err := p.Verify(t); err != nil {
		return nil, err
	}
	return p.resourceAnswer(r)
}

// resourceAnswer draws the answer from entries already verified against the state root.
func (p *Proof) resourceAnswer(r ipledger.Resource) (*ResourceAnswer, error) {
	if !r.IsValid() {
		return nil, reject("no resource asked")
	}
	if len(p.Entries) > MaxResourceEntries {
		return nil, reject("%d entries answer who holds %s, at most %d", len(p.Entries), r, MaxResourceEntries)
	}
	ans := &ResourceAnswer{Resource: r, Height: p.Height}
	var byDepth [ledger.MaxDepth + 1][]*ipledger.Holding
	for i := range p.Entries {
		e := &p.Entries[i]
		if !e.Present() || !isHoldingKey(e.Key, r.Family()) {
			continue
		}
		h, err := ledger.DecodeHolding(e.Value)
		if err != nil {
			return nil, reject("entry %d: %v", i, err)
		}
		if h.Depth > ledger.MaxDepth || !bytes.Equal(ledger.HoldingKey(h.Resource, h.Depth), e.Key) {
			return nil, reject("entry %d: holding %d (%s at depth %d) is not stored under its own key", i, h.ID, h.Resource, h.Depth)
		}
		byDepth[h.Depth] = append(byDepth[h.Depth], h)
	}
	if err := p.checkCovers(); err != nil {
		return nil, err
	}
	for d := 0; d <= ledger.MaxDepth; d++ {
		var found *ipledger.Holding
		for _, h := range byDepth[d] {
			if !h.Resource.Contains(r) {
				continue
			}
			if found != nil {
				return nil, reject("two holdings at depth %d contain %s", d, r)
			}
			found = h
		}
		if found == nil {
			break
		}
		if d > 0 && !ans.Chain[d-1].Resource.Contains(found.Resource) {
			return nil, reject("holding %d at depth %d is not inside holding %d above it", found.ID, d, ans.Chain[d-1].ID)
		}
		ans.Chain = append(ans.Chain, found)
	}
	next := len(ans.Chain)
	for d := next + 1; d <= ledger.MaxDepth; d++ {
		for _, h := range byDepth[d] {
			if h.Resource.Contains(r) {
				return nil, reject("holding %d at depth %d contains %s, but no holding at depth %d does", h.ID, d, r, next)
			}
		}
	}
	if h := ans.Holding(); h != nil {
		if e := p.Lookup(ledger.OrgKey(h.Holder)); e != nil && e.Present() {
			o, err := ledger.DecodeOrg(e.Value)
			if err != nil {
				return nil, reject("holder %s: %v", h.Holder, err)
			}
			if o.Handle != h.Holder {
				return nil, reject("the organisation under the key of %s is %s", h.Holder, o.Handle)
			}
			ans.Holder = o
		}
	}
	if next <= ledger.MaxDepth && !p.ruledOut(r, ans.Chain, byDepth[next]) {
		return nil, reject("the proof does not rule out a holding at depth %d containing all of %s", next, r)
	}
	ans.Complete = true
	return ans, nil
}

// checkCovers checks every present cover entry of p: it names a holding the proof
// proves present under that key, whose smallest aligned block and depth are the entry's.
// ruledOut may then take a present cover entry as the one holding with that block.
func (p *Proof) checkCovers() error {
	for i := range p.Entries {
		e := &p.Entries[i]
		if !e.Present() || len(e.Key) == 0 || e.Key[0] != coverTag {
			continue
		}
		he := p.Lookup(e.Value)
		if he == nil || !he.Present() {
			return reject("cover entry %x names key %x, which the proof does not show present", e.Key, e.Value)
		}
		if len(he.Key) != 19 || he.Key[0] != holdingTag {
			return reject("cover entry %x names key %x, which is no holding key", e.Key, e.Value)
		}
		h, err := ledger.DecodeHolding(he.Value)
		if err != nil {
			return reject("holding under %x, named by cover entry %x: %v", he.Key, e.Key, err)
		}
		if !bytes.Equal(ledger.HoldingKey(h.Resource, h.Depth), he.Key) {
			return reject("holding %d (%s at depth %d) is not stored under its own key", h.ID, h.Resource, h.Depth)
		}
		if !bytes.Equal(ledger.CoverKey(h.Resource, h.Depth, h.Resource.CommonBits()), e.Key) {
			return reject("cover entry %x names holding %d (%s at depth %d), whose cover entry it is not", e.Key, h.ID, h.Resource, h.Depth)
		}
	}
	return nil
}

// ruledOut reports whether the entries rule out a holding at depth len(chain) containing
// all of r; level holds the holdings proven at that depth, and every present cover entry
// has passed checkCovers.
func (p *Proof) ruledOut(r ipledger.Resource, chain []*ipledger.Holding, level []*ipledger.Holding) bool {
	next := len(chain)
	// A holding containing r's first number: one containing all of r would overlap it.
	for _, h := range level {
		if h.Resource.Contains(r.Point()) {
			return true
		}
	}
	return p.coversRuleOut(r, chain) || next > 0 && p.startsRuleOut(r, chain, level)
}

// coversRuleOut: a holding h at depth len(chain) containing r has as its smallest aligned
// block B(h) an aligned block containing r's, inside that of the holding above (h lies in
// it). For each such block the cover entry is absent (no holding has it) or names the one
// holding that has it, which does not contain r (it would be in the chain).
func (p *Proof) coversRuleOut(r ipledger.Resource, chain []*ipledger.Holding) bool {
	for _, bits := range coverLevels(r, chain) {
		e := p.Lookup(ledger.CoverKey(r, len(chain), bits))
		if e == nil {
			return false
		}
		if e.Present() {
			he := p.Lookup(e.Value)
			if h, err := ledger.DecodeHolding(he.Value); err != nil || h.Resource.Contains(r) {
				return false
			}
		}
	}
	return true
}

// startsRuleOut: a holding containing r lies inside the holding above, and starts after
// the end of any holding at its own depth that ends before r (it would overlap it
// otherwise). Every remaining start must be proven: absent, or a holding (which, being
// neither containing r nor its first number, ends before r and cannot contain it).
func (p *Proof) startsRuleOut(r ipledger.Resource, chain []*ipledger.Holding, level []*ipledger.Holding) bool {
	next := len(chain)
	lo := chain[next-1].Resource.Point()
	for _, h := range level {
		if h.Resource.LastPoint().Compare(r.Point()) < 0 {
			if after, ok := h.Resource.After(); ok && after.Compare(lo) > 0 {
				lo = after
			}
		}
	}
	for _, s := range candidates(r, lo, next, len(p.Entries)+1) {
		if p.Lookup(ledger.HoldingKey(s, next)) == nil {
			return false
		}
	}
	return true
}

// holdingTag and coverTag are the table tags of holding keys and cover entries.
var (
	holdingTag = ledger.HoldingKey(ipledger.Whole(ipledger.IPv4), 0)[0]
	coverTag   = ledger.CoverKey(ipledger.Whole(ipledger.IPv4), 0, 0)[0]
)

// isHoldingKey reports whether key is a holding key of family f: tag ‖ family ‖ depth ‖
// first number (16 bytes).
func isHoldingKey(key []byte, f ipledger.Family) bool {
	return len(key) == 19 && key[0] == holdingTag && key[1] == byte(f)
}

// HoldingEntries returns the entries that answer "which holding has id" in v: the id's
// index entry and, if present, the holding it names and the holding's holder.
func HoldingEntries(v Prover, id uint64) ([]Entry, error) {
	b := &builder{v: v}
	key, err := b.add(ledger.HoldingIDKey(id))
	if err != nil || key == nil {
		return b.entries, err
	}
	val, err := b.add(key)
	if err != nil {
		return nil, err
	}
	if val == nil {
		return nil, fmt.Errorf("holding entries: holding %d names key %x, which is absent", id, key)
	}
	h, err := ledger.DecodeHolding(val)
	if err != nil {
		return nil, fmt.Errorf("holding entries: %w", err)
	}
	if _, err := b.add(ledger.OrgKey(h.Holder)); err != nil {
		return nil, err
	}
	return b.entries, nil
}

// HoldingAnswer is the verified answer to "which holding has ID at Height".
type HoldingAnswer struct {
	ID     uint64 `json:"id"`
	Height int64  `json:"height"`
	// Holding is the holding, or nil: the proof shows there is none with that id.
	Holding *ipledger.Holding `json:"holding"`
	// Holder is its holder, when the proof includes it.
	Holder *ipledger.Organisation `json:"holder,omitempty"`
}

// VerifyHolding verifies p (Proof.Verify) and that its entries answer "which holding has
// id". Errors wrap ErrRejected.
func (p *Proof) VerifyHolding(id uint64, t *Trust) (*HoldingAnswer, error) {
	if err := p.Verify(t); err != nil {
		return nil, err
	}
	return p.holdingAnswer(id)
}

func (p *Proof) holdingAnswer(id uint64) (*HoldingAnswer, error) {
	ans := &HoldingAnswer{ID: id, Height: p.Height}
	ie := p.Lookup(ledger.HoldingIDKey(id))
	if ie == nil {
		return nil, reject("no entry for the id of holding %d", id)
	}
	if !ie.Present() {
		return ans, nil
	}
	he := p.Lookup(ie.Value)
	if he == nil || !he.Present() {
		return nil, reject("holding %d is stored under key %x, but the proof has no value for it", id, ie.Value)
	}
	h, err := ledger.DecodeHolding(he.Value)
	if err != nil {
		return nil, reject("holding %d: %v", id, err)
	}
	if h.ID != id || !bytes.Equal(ledger.HoldingKey(h.Resource, h.Depth), ie.Value) {
		return nil, reject("the id index of holding %d names holding %d at key %x", id, h.ID, ie.Value)
	}
	ans.Holding = h
	if oe := p.Lookup(ledger.OrgKey(h.Holder)); oe != nil && oe.Present() {
		o, err := ledger.DecodeOrg(oe.Value)
		if err != nil || o.Handle != h.Holder {
			return nil, reject("holder %s of holding %d does not decode to itself", h.Holder, id)
		}
		ans.Holder = o
	}
	return ans, nil
}

// OrgEntries returns the entry that answers "which organisation has handle" in v.
func OrgEntries(v Prover, handle string) ([]Entry, error) {
	return KeyEntries(v, ledger.OrgKey(handle))
}

// VerifyOrg verifies p (Proof.Verify) and returns the organisation with handle, or nil
// if the proof shows there is none. Errors wrap ErrRejected.
func (p *Proof) VerifyOrg(handle string, t *Trust) (*ipledger.Organisation, error) {
	if err := p.Verify(t); err != nil {
		return nil, err
	}
	return p.orgAnswer(handle)
}

func (p *Proof) orgAnswer(handle string) (*ipledger.Organisation, error) {
	e := p.Lookup(ledger.OrgKey(handle))
	if e == nil {
		return nil, reject("no entry for organisation %s", handle)
	}
	val := e.Value
	if val == nil {
		return nil, nil
	}
	o, err := ledger.DecodeOrg(val)
	if err != nil {
		return nil, reject("organisation %s: %v", handle, err)
	}
	if o.Handle != handle {
		return nil, reject("the organisation under the key of %s is %s", handle, o.Handle)
	}
	return o, nil
}

// KeyEntries returns the entry of one state key in v.
func KeyEntries(v Prover, key []byte) ([]Entry, error) {
	b := &builder{v: v}
	if _, err := b.add(key); err != nil {
		return nil, err
	}
	return b.entries, nil
}

// VerifyKey verifies p (Proof.Verify) and returns the value of key, or nil if the proof
// shows it absent. Errors wrap ErrRejected.
func (p *Proof) VerifyKey(key []byte, t *Trust) ([]byte, error) {
	if err := p.Verify(t); err != nil {
		return nil, err
	}
	e := p.Lookup(key)
	if e == nil {
		return nil, reject("no entry for key %x", key)
	}
	return e.Value, nil
}
