package store

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// The hashing rules are in the package documentation.
//
// For storage the binary tree is cut every four levels into nodes of 16 slots, one per
// nibble of the key hash (Diem's Jellyfish Merkle tree does the same). A slot holds the
// subtree four levels down: nothing, a single leaf (stored in the slot itself: its key hash,
// value hash and the version that wrote it) or another node. A node exists only for a
// subtree with at least two leaves; its hash is computed from its slots with the hashing
// rules, so nodes are a storage layout, invisible in hashes and proofs.

// Hash is a SHA-256 digest.
type Hash = [32]byte

// emptyHash is the hash of a subtree with no leaves, and the root hash of an empty map:
// 32 zero bytes. (A variable, so that pointers to it can stand for any empty subtree; it is
// never written.)
var emptyHash Hash

// Kinds of slots and of subtrees.
const (
	kindEmpty = 0
	kindLeaf  = 1
	kindNode  = 2
)

// maxDepth is the nibble depth of the deepest possible node (its slots are at bit 256).
const maxDepth = 63

func hashLeaf(kh, vh *Hash) Hash { return hashPair(0x00, kh, vh) }

func hashInner(l, r *Hash) Hash { return hashPair(0x01, l, r) }

// hashPair is SHA-256 of tag ‖ a ‖ b: tag 0 hashes a leaf (key hash, value hash), tag 1 an
// inner node (left, right).
func hashPair(tag byte, a, b *Hash) Hash {
	var in [65]byte
	in[0] = tag
	copy(in[1:33], a[:])
	copy(in[33:], b[:])
	return sha256.Sum256(in[:])
}

// nibble returns nibble d (0 = the high half of byte 0) of h.
func nibble(h *Hash, d int) int {
	b := h[d/2]
	if d%2 == 0 {
		return int(b >> 4)
	}
	return int(b & 0x0f)
}

// withNibble returns path with nibble d set to v; path's nibbles from d on must be zero.
func withNibble(path Hash, d, v int) Hash {
	if d%2 == 0 {
		path[d/2] |= byte(v) << 4
	} else {
		path[d/2] |= byte(v)
	}
	return path
}

// samePrefix reports whether a and b agree on their first n bits.
func samePrefix(a, b *Hash, n int) bool {
	full := n / 8
	for i := 0; i < full; i++ {
		if a[i] != b[i] {
			return false
		}
	}
	if rem := n % 8; rem > 0 {
		mask := byte(0xff) << (8 - rem)
		return a[full]&mask == b[full]&mask
	}
	return true
}

// slot is one of a node's 16 children, or a root.
type slot struct {
	kind uint8
	ver  uint64 // leaf: version that wrote its value; node: version of the child's record
	hash Hash   // leaf: its leaf hash; node: the child's hash
	kh   Hash   // leaf: key hash
	vh   Hash   // leaf: value hash
	// child is the node, when loaded (working tree only).
	child *node
}

func leafSlot(kh, vh *Hash, ver uint64) slot {
	return slot{kind: kindLeaf, ver: ver, kh: *kh, vh: *vh, hash: hashLeaf(kh, vh)}
}

// subtreeHash is the hash of the subtree the slot holds.
func (s *slot) subtreeHash() Hash {
	if s.kind == kindEmpty {
		return emptyHash
	}
	return s.hash
}

// node is a stored subtree of at least two leaves, at nibble depth depth: its slots hold
// the subtrees at depth+1 under path's first depth nibbles.
type node struct {
	depth   uint8
	dirty   bool   // created or changed in the working version, not yet written
	path    Hash   // the first depth nibbles of every key hash below; the rest zero
	version uint64 // version of its record (the working version while dirty)
	used    uint64 // working-tree epoch of the last update that passed through it
	present uint16 // bit j set: slot j is not empty
	touched uint16 // bit j set: slot j changed since the last rehash
	slots   []slot // the present slots in nibble order
	hash    Hash
	inner   *innerCache // nil: not kept
}

// rank is the index in slots of slot j.
func (n *node) rank(j int) int { return bits.OnesCount16(n.present & (1<<j - 1)) }

// slot returns slot j (kind empty if absent).
func (n *node) slot(j int) slot {
	if n.present&(1<<j) == 0 {
		return slot{}
	}
	return n.slots[n.rank(j)]
}

// setSlot replaces slot j.
func (n *node) setSlot(j int, s slot) {
	bit := uint16(1) << j
	n.touched |= bit
	r := n.rank(j)
	switch {
	case s.kind == kindEmpty && n.present&bit != 0:
		n.slots = append(n.slots[:r], n.slots[r+1:]...)
		n.present &^= bit
	case s.kind == kindEmpty:
	case n.present&bit != 0:
		n.slots[r] = s
	default:
		n.slots = append(n.slots, slot{})
		copy(n.slots[r+1:], n.slots[r:])
		n.slots[r] = s
		n.present |= bit
	}
}

// The binary subtrees inside a node are numbered in heap order: 1 is the node itself, 2i
// and 2i+1 are the halves of i, and 16+j is slot j. A subtree's kind follows the hashing
// rules: empty, a lone leaf (hashed as that leaf), or two or more leaves (hashed as an
// inner node).

// subtrees holds the kinds and hashes of a node's subtrees 1…31.
type subtrees struct {
	kind [32]uint8
	hash [32]Hash
}

// innerCache keeps a node's subtrees 1…15 between updates, so that a change of one slot
// costs the four hashes on its way up instead of up to fifteen. Only nodes with at least
// denseSlots slots carry one: it costs 0.5 KB, and sparse nodes hash cheaply anyway.
type innerCache struct {
	kind [16]uint8
	hash [16]Hash
}

const denseSlots = 8

// combine sets subtree i of kind/hash from its halves, per the hashing rules.
func combine(kind *uint8, hash *Hash, lk uint8, lh *Hash, rk uint8, rh *Hash) {
	switch {
	case lk == kindEmpty && rk == kindEmpty:
		*kind = kindEmpty
	case lk == kindEmpty && rk == kindLeaf:
		*kind, *hash = kindLeaf, *rh
	case rk == kindEmpty && lk == kindLeaf:
		*kind, *hash = kindLeaf, *lh
	default:
		if lk == kindEmpty {
			lh = &emptyHash
		}
		if rk == kindEmpty {
			rh = &emptyHash
		}
		*kind, *hash = kindNode, hashInner(lh, rh)
	}
}

// subtrees computes every subtree of n into st.
func (n *node) subtrees(st *subtrees) {
	for j := range 16 {
		st.kind[16+j] = kindEmpty
	}
	for i, j := 0, 0; j < 16; j++ {
		if n.present&(1<<j) != 0 {
			st.kind[16+j], st.hash[16+j] = n.slots[i].kind, n.slots[i].hash
			i++
		}
	}
	for i := 15; i >= 1; i-- {
		combine(&st.kind[i], &st.hash[i], st.kind[2*i], &st.hash[2*i], st.kind[2*i+1], &st.hash[2*i+1])
	}
}

// rehash recomputes n.hash from its slots: incrementally from the slots changed since the
// last rehash if n keeps an innerCache, else in full (one SHA-256 per subtree of two or
// more leaves: at most fifteen).
func (n *node) rehash() {
	if n.inner == nil {
		var st subtrees
		n.subtrees(&st)
		n.hash = st.hash[1]
		if bits.OnesCount16(n.present) >= denseSlots {
			n.inner = &innerCache{}
			copy(n.inner.kind[:], st.kind[:16])
			copy(n.inner.hash[:], st.hash[:16])
		}
		n.touched = 0
		return
	}
	c := n.inner
	var dirty uint32
	for t := n.touched; t != 0; t &= t - 1 {
		dirty |= 1 << (8 + bits.TrailingZeros16(t)>>1)
	}
	for i := 15; i >= 1; i-- {
		if dirty&(1<<i) == 0 {
			continue
		}
		if i >= 8 {
			l, r := n.slotRef(2*i-16), n.slotRef(2*i-15)
			combine(&c.kind[i], &c.hash[i], l.kind, &l.hash, r.kind, &r.hash)
		} else {
			combine(&c.kind[i], &c.hash[i], c.kind[2*i], &c.hash[2*i], c.kind[2*i+1], &c.hash[2*i+1])
		}
		dirty |= 1 << (i >> 1)
	}
	n.hash, n.touched = c.hash[1], 0
}

var emptySlot slot

// slotRef returns slot j, or an empty slot; the result must not be modified.
func (n *node) slotRef(j int) *slot {
	if n.present&(1<<j) == 0 {
		return &emptySlot
	}
	return &n.slots[n.rank(j)]
}

// valid reports whether n has the shape of a stored node: at least two leaves below.
func (n *node) valid() bool {
	c := bits.OnesCount16(n.present)
	return c >= 2 || (c == 1 && n.slots[0].kind == kindNode)
}

// Node records. The Pebble key of a node is
//
//	'n' ‖ version(8, big-endian) ‖ depth(1) ‖ path (the first depth nibbles, packed)
//
// so the nodes one Commit writes are contiguous and every version appends after the last:
// the LSM moves them down without rewriting. The value is
//
//	0x01 ‖ present(2) ‖ leaves(2) ‖ for each present slot in nibble order:
//	    leaf: key hash(32) ‖ value hash(32) ‖ uvarint(version)
//	    node: child hash(32) ‖ uvarint(child version)
//
// with present and leaves bitmaps (bit j = slot j, big-endian). The node's own hash is
// not stored: the parent holds it, and loading a node recomputes and checks it.
const nodeFormat = 0x01

func nodeKey(version uint64, depth int, path *Hash) []byte {
	k := make([]byte, 0, 10+(depth+1)/2)
	k = append(k, spaceNode)
	k = binary.BigEndian.AppendUint64(k, version)
	k = append(k, byte(depth))
	return append(k, path[:(depth+1)/2]...)
}

// appendNodeKey appends the node key to a key list (see encodeKeyList).
func appendNodeKey(list []byte, version uint64, depth int, path *Hash) []byte {
	list = binary.AppendUvarint(list, uint64(10+(depth+1)/2))
	list = append(list, spaceNode)
	list = binary.BigEndian.AppendUint64(list, version)
	list = append(list, byte(depth))
	return append(list, path[:(depth+1)/2]...)
}

// encodedLen is the length of n's record.
func (n *node) encodedLen() int {
	l := 5
	for i := range n.slots {
		if n.slots[i].kind == kindLeaf {
			l += 64
		} else {
			l += 32
		}
		l += uvarintLen(n.slots[i].ver)
	}
	return l
}

func (n *node) encode(dst []byte) []byte {
	var leaves uint16
	for i, j := 0, 0; j < 16; j++ {
		if n.present&(1<<j) == 0 {
			continue
		}
		if n.slots[i].kind == kindLeaf {
			leaves |= 1 << j
		}
		i++
	}
	dst = append(dst, nodeFormat)
	dst = binary.BigEndian.AppendUint16(dst, n.present)
	dst = binary.BigEndian.AppendUint16(dst, leaves)
	for i := range n.slots {
		s := &n.slots[i]
		if s.kind == kindLeaf {
			dst = append(dst, s.kh[:]...)
			dst = append(dst, s.vh[:]...)
		} else {
			dst = append(dst, s.hash[:]...)
		}
		dst = binary.AppendUvarint(dst, s.ver)
	}
	return dst
}

var errCorrupt = errors.New("corrupt tree record")

// decodeNode decodes the record of the node at depth and path written at version. It
// checks the record's shape: that every leaf lies under path and in its slot, that child
// versions are not newer than the node, and that nothing trails. It does not check hashes.
func decodeNode(b []byte, version uint64, depth int, path *Hash) (*node, error) {
	if depth < 0 || depth > maxDepth {
		return nil, fmt.Errorf("%w: node depth %d", errCorrupt, depth)
	}
	if len(b) < 5 || b[0] != nodeFormat {
		return nil, fmt.Errorf("%w: node header", errCorrupt)
	}
	present := binary.BigEndian.Uint16(b[1:])
	leaves := binary.BigEndian.Uint16(b[3:])
	if leaves&^present != 0 {
		return nil, fmt.Errorf("%w: leaf bitmap %04x outside present %04x", errCorrupt, leaves, present)
	}
	n := &node{depth: uint8(depth), path: *path, version: version, present: present,
		slots: make([]slot, 0, bits.OnesCount16(present))}
	b = b[5:]
	for j := range 16 {
		if present&(1<<j) == 0 {
			continue
		}
		var s slot
		if leaves&(1<<j) != 0 {
			if len(b) < 64 {
				return nil, fmt.Errorf("%w: short leaf", errCorrupt)
			}
			s.kind = kindLeaf
			copy(s.kh[:], b[:32])
			copy(s.vh[:], b[32:64])
			b = b[64:]
			if !samePrefix(&s.kh, path, 4*depth) || nibble(&s.kh, depth) != j {
				return nil, fmt.Errorf("%w: leaf %x out of place", errCorrupt, s.kh)
			}
			s.hash = hashLeaf(&s.kh, &s.vh)
		} else {
			if len(b) < 32 {
				return nil, fmt.Errorf("%w: short child", errCorrupt)
			}
			if depth == maxDepth {
				return nil, fmt.Errorf("%w: child below the deepest level", errCorrupt)
			}
			s.kind = kindNode
			copy(s.hash[:], b[:32])
			b = b[32:]
		}
		v, m := binary.Uvarint(b)
		if m <= 0 || m != uvarintLen(v) {
			return nil, fmt.Errorf("%w: slot version", errCorrupt)
		}
		if v == 0 || v > version {
			return nil, fmt.Errorf("%w: slot version %d in a node of version %d", errCorrupt, v, version)
		}
		s.ver = v
		b = b[m:]
		n.slots = append(n.slots, s)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(b))
	}
	if !n.valid() {
		return nil, fmt.Errorf("%w: node with fewer than two leaves", errCorrupt)
	}
	return n, nil
}

func uvarintLen(v uint64) int {
	return (bits.Len64(v|1) + 6) / 7
}

// Root records: 'r' ‖ version(8) holds the root slot of every retained version:
//
//	0x00                                               empty map
//	0x01 ‖ key hash(32) ‖ value hash(32) ‖ uvarint(version)   a single leaf
//	0x02 ‖ hash(32) ‖ uvarint(version)                 the root node and its record version
func encodeRoot(s *slot) []byte {
	b := []byte{s.kind}
	switch s.kind {
	case kindLeaf:
		b = append(append(b, s.kh[:]...), s.vh[:]...)
		b = binary.AppendUvarint(b, s.ver)
	case kindNode:
		b = append(b, s.hash[:]...)
		b = binary.AppendUvarint(b, s.ver)
	}
	return b
}

func decodeRoot(b []byte, version uint64) (slot, error) {
	if len(b) == 0 {
		return slot{}, fmt.Errorf("%w: empty root", errCorrupt)
	}
	var s slot
	s.kind = b[0]
	b = b[1:]
	switch s.kind {
	case kindEmpty:
		if len(b) != 0 {
			return slot{}, fmt.Errorf("%w: root", errCorrupt)
		}
		return s, nil
	case kindLeaf:
		if len(b) < 64 {
			return slot{}, fmt.Errorf("%w: root", errCorrupt)
		}
		copy(s.kh[:], b[:32])
		copy(s.vh[:], b[32:64])
		b = b[64:]
		s.hash = hashLeaf(&s.kh, &s.vh)
	case kindNode:
		if len(b) < 32 {
			return slot{}, fmt.Errorf("%w: root", errCorrupt)
		}
		copy(s.hash[:], b[:32])
		b = b[32:]
	default:
		return slot{}, fmt.Errorf("%w: root kind %d", errCorrupt, s.kind)
	}
	v, m := binary.Uvarint(b)
	if m <= 0 || m != len(b) || m != uvarintLen(v) || v == 0 || v > version {
		return slot{}, fmt.Errorf("%w: root version", errCorrupt)
	}
	s.ver = v
	return s, nil
}
