package ledger

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ipledger/ipledger"
)

// State layout in the authenticated map. Every key starts with a one-byte table tag.
//
//	'o' handle                              → Organisation (binary, codec.go)
//	'h' family depth first(16)              → Holding (binary, codec.go; one depth never overlaps)
//	'i' id(8)                               → holding key    (lookup by handle)
//	'c' family depth bits(1) first(16)      → holding key (the cover index, below)
//	'e' family depth first(16) kind 0 ref   → the encumbered range (binary; encumbrance.go)
//	'n' "holding"                           → next holding id (8 bytes)
//	'm' name                                → chain parameters (genesis)
const (
	tagOrg         = 'o'
	tagHolding     = 'h'
	tagHoldingID   = 'i'
	tagCover       = 'c'
	tagEncumbrance = 'e'
	tagCounter     = 'n'
	tagMeta        = 'm'
)

// MaxDepth is the deepest level of the holding tree: pool 0, allocation 1, assignment or
// sub-allocation 2 and below, leases further down.
const MaxDepth = 8

func orgKey(handle string) []byte { return append([]byte{tagOrg}, handle...) }

// depthPrefix is the key prefix of all holdings of one family at one depth.
func depthPrefix(tag byte, f ipledger.Family, depth int) []byte {
	return []byte{tag, byte(f), byte(depth)}
}

// posKey is tag ‖ family ‖ depth ‖ first number of r.
func posKey(tag byte, r ipledger.Resource, depth int) []byte {
	k := r.Key()
	out := make([]byte, 0, 19)
	out = append(out, tag, k[0], byte(depth))
	return append(out, k[1:]...)
}

// lastKeyEnd returns the exclusive upper bound that includes every position key at depth
// whose first number is at most the last number of r.
func lastKeyEnd(tag byte, r ipledger.Resource, depth int) []byte {
	return append(posKey(tag, r.LastPoint(), depth), 0)
}

func prefixEnd(p []byte) []byte {
	end := append([]byte{}, p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// The cover index: one entry per holding, so that a state proof can show that no holding
// at a depth contains a range with a bounded number of keys (the state map is keyed by
// hash and cannot prove that no key lies between two others). The entry of a holding h at
// depth d is keyed by B(h), the smallest CIDR-aligned block of the family's number space
// containing all of h (Resource.CommonBits, Resource.Block), and holds h's holding key.
// Two holdings at one depth never share B: a holding whose B is b is b's single number or
// contains both the last number of b's lower half and the first of its upper half, and
// two disjoint ranges cannot both do that. A holding containing a range r has B ⊇ the
// smallest aligned block containing r, so it is one of at most 33 (IPv4, AS) or 129
// (IPv6) blocks; package stateproof proves each of those keys present or absent.

// coverKey is 'c' ‖ family ‖ depth ‖ bits ‖ the first number of the aligned block of
// prefix length bits containing r's first number (16 bytes, as in posKey): 20 bytes.
func coverKey(r ipledger.Resource, depth, bits int) []byte {
	k := r.Block(bits).Key()
	out := make([]byte, 0, 20)
	out = append(out, tagCover, k[0], byte(depth), byte(bits))
	return append(out, k[1:]...)
}

// holdingCoverKey is the key of the cover entry of a holding of r at depth.
func holdingCoverKey(r ipledger.Resource, depth int) []byte {
	return coverKey(r, depth, r.CommonBits())
}

func idKey(id uint64) []byte {
	k := []byte{tagHoldingID, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

// state wraps the state's KV with typed access (named so, not store, so that it does not
// read as the sibling package). Errors from the KV are internal faults and come back
// wrapped; domain failures are *ipledger.Error.
type state struct{ kv ipledger.KV }

func (s state) org(handle string) (*ipledger.Organisation, error) {
	b, err := s.kv.Get(orgKey(handle))
	if err != nil {
		return nil, fmt.Errorf("get organisation %s: %w", handle, err)
	}
	if b == nil {
		return nil, nil
	}
	o, err := decodeOrg(b)
	if err != nil {
		return nil, fmt.Errorf("organisation %s: %w", handle, err)
	}
	return o, nil
}

func (s state) mustOrg(handle string) (*ipledger.Organisation, error) {
	o, err := s.org(handle)
	if err == nil && o == nil {
		err = ipledger.Errorf(ipledger.CodeNotFound, "no organisation %s", handle)
	}
	return o, err
}

func (s state) putOrg(o *ipledger.Organisation) error {
	return s.kv.Set(orgKey(o.Handle), encodeOrg(o))
}

// putHolding stores h with its id index and cover entries. Every holding is created,
// changed and removed through putHolding and deleteHolding (genesis pools and imports
// too), which keeps the three in step; a holding's key, and so its cover key, never
// changes in place: a holding that changes its range is deleted and stored anew.
func (s state) putHolding(h *ipledger.Holding) error {
	k := posKey(tagHolding, h.Resource, h.Depth)
	if err := s.kv.Set(k, encodeHolding(h)); err != nil {
		return fmt.Errorf("put holding: %w", err)
	}
	if err := s.kv.Set(holdingCoverKey(h.Resource, h.Depth), k); err != nil {
		return fmt.Errorf("put holding cover entry: %w", err)
	}
	if err := s.kv.Set(idKey(h.ID), k); err != nil {
		return fmt.Errorf("put holding index: %w", err)
	}
	return nil
}

func (s state) deleteHolding(h *ipledger.Holding) error {
	if err := s.kv.Delete(posKey(tagHolding, h.Resource, h.Depth)); err != nil {
		return fmt.Errorf("delete holding: %w", err)
	}
	if err := s.kv.Delete(holdingCoverKey(h.Resource, h.Depth)); err != nil {
		return fmt.Errorf("delete holding cover entry: %w", err)
	}
	if err := s.kv.Delete(idKey(h.ID)); err != nil {
		return fmt.Errorf("delete holding index: %w", err)
	}
	return nil
}

func (s state) holdingByID(id uint64) (*ipledger.Holding, error) {
	k, err := s.kv.Get(idKey(id))
	if err != nil || k == nil {
		return nil, err
	}
	b, err := s.kv.Get(k)
	if err != nil || b == nil {
		return nil, err
	}
	return decodeHolding(b)
}

// nextID allocates a holding id.
func (s state) nextID() (uint64, error) { return s.next(counterHolding) }

// at returns the holding at depth whose range contains all of r, or nil.
func (s state) at(r ipledger.Resource, depth int) (*ipledger.Holding, error) {
	h, err := s.lastStartingBy(r.Point(), depth)
	if err != nil || h == nil || !h.Resource.Contains(r) {
		return nil, err
	}
	return h, nil
}

// lastStartingBy returns the holding at depth with the greatest first number not after the
// first number of p.
func (s state) lastStartingBy(p ipledger.Resource, depth int) (*ipledger.Holding, error) {
	_, found, err := ipledger.Floor(s.kv, depthPrefix(tagHolding, p.Family(), depth), lastKeyEnd(tagHolding, p, depth))
	if err != nil {
		return nil, fmt.Errorf("seek holding: %w", err)
	}
	if found == nil {
		return nil, nil
	}
	return decodeHolding(found) // keeps nothing of found
}

// overlapping returns a holding at depth that overlaps r, or nil. Holdings at one depth are
// disjoint and sorted, so the one starting last at or before r's end is the only candidate.
func (s state) overlapping(r ipledger.Resource, depth int) (*ipledger.Holding, error) {
	h, err := s.lastStartingBy(r.LastPoint(), depth)
	if err != nil || h == nil || !h.Resource.Overlaps(r) {
		return nil, err
	}
	return h, nil
}

// chain returns the holdings that contain r entirely, from the pool (depth 0) down.
func (s state) chain(r ipledger.Resource) ([]*ipledger.Holding, error) {
	var out []*ipledger.Holding
	for d := 0; d <= MaxDepth; d++ {
		h, err := s.at(r, d)
		if err != nil {
			return nil, err
		}
		if h == nil {
			break
		}
		out = append(out, h)
	}
	return out, nil
}

// children returns the holdings one level below h that overlap r (all of them when r is h's
// own range), in order: ChildrenPage over r at h's depth, unbounded.
func (s state) children(h *ipledger.Holding, r ipledger.Resource) ([]*ipledger.Holding, error) {
	out, _, err := ChildrenPage(context.Background(), s.kv, &ipledger.Holding{ID: h.ID, Depth: h.Depth, Resource: r}, ipledger.Resource{}, math.MaxInt)
	return out, err
}
