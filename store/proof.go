package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Proof shows that a key holds a value, or holds none, in a map with a given root hash.
//
// Walking down from the root along the bits of SHA-256(key), the walk stops at the first
// subtree that is empty or holds a single leaf: at depth len(Siblings). Siblings are the
// hashes of the subtrees beside that path, from the root down. Leaf is the single leaf
// there, or nil if the subtree is empty. The key is present if Leaf's key hash is the
// key's; otherwise Leaf (or the empty subtree) stands where the key would be, proving it
// absent. A verifier recomputes the root from the bottom: the leaf's hash (32 zero bytes for
// an empty subtree), then H(0x01 ‖ left ‖ right) with each sibling on the side its bit of
// the key hash says (0: the path goes left, the sibling is on the right). The hashing is
// described in the package documentation.
//
// The zero Proof proves that a map is empty.
type Proof struct {
	Siblings []Hash
	Leaf     *ProofLeaf
}

// ProofLeaf is the leaf a proof ends at.
type ProofLeaf struct {
	KeyHash   Hash // SHA-256 of its key
	ValueHash Hash // SHA-256 of its value
}

// maxProofDepth is the deepest a proof can end: a subtree below bit 256 holds one key hash.
const maxProofDepth = 256

const proofHasLeaf = 0x01

// Marshal encodes p (all integers big-endian):
//
//	flags(1)          bit 0: a leaf follows; the other bits are zero
//	depth(2)          number of siblings, at most 256
//	[key hash(32) ‖ value hash(32)]   the leaf, if flagged
//	empty(⌈depth/8⌉)  bit i (most significant first) set: sibling i is the empty hash
//	                  (32 zero bytes) and is not listed; unused bits are zero
//	siblings          the other siblings, 32 bytes each, root first
//
// The encoding is canonical: Unmarshal accepts only what Marshal produces.
func (p *Proof) Marshal() []byte {
	d := len(p.Siblings)
	size := 3 + (d+7)/8 + 32*d
	if p.Leaf != nil {
		size += 64
	}
	b := make([]byte, 3, size)
	if p.Leaf != nil {
		b[0] = proofHasLeaf
	}
	binary.BigEndian.PutUint16(b[1:], uint16(d))
	if p.Leaf != nil {
		b = append(append(b, p.Leaf.KeyHash[:]...), p.Leaf.ValueHash[:]...)
	}
	mask := len(b)
	b = append(b, make([]byte, (d+7)/8)...)
	for i := range p.Siblings {
		if p.Siblings[i] == emptyHash {
			b[mask+i/8] |= 0x80 >> (i % 8)
		} else {
			b = append(b, p.Siblings[i][:]...)
		}
	}
	return b
}

// Unmarshal decodes b into p. Any error wraps ErrInvalidProof.
func (p *Proof) Unmarshal(b []byte) error {
	if len(b) < 3 {
		return fmt.Errorf("%w: %d bytes", ErrInvalidProof, len(b))
	}
	flags, d := b[0], int(binary.BigEndian.Uint16(b[1:]))
	if flags&^proofHasLeaf != 0 {
		return fmt.Errorf("%w: flags %02x", ErrInvalidProof, flags)
	}
	if d > maxProofDepth {
		return fmt.Errorf("%w: depth %d", ErrInvalidProof, d)
	}
	b = b[3:]
	var leaf *ProofLeaf
	if flags&proofHasLeaf != 0 {
		if len(b) < 64 {
			return fmt.Errorf("%w: short leaf", ErrInvalidProof)
		}
		leaf = &ProofLeaf{}
		copy(leaf.KeyHash[:], b[:32])
		copy(leaf.ValueHash[:], b[32:64])
		b = b[64:]
	}
	if len(b) < (d+7)/8 {
		return fmt.Errorf("%w: short bitmap", ErrInvalidProof)
	}
	mask := b[:(d+7)/8]
	b = b[(d+7)/8:]
	if d%8 != 0 && mask[len(mask)-1]&(0xff>>(d%8)) != 0 {
		return fmt.Errorf("%w: bitmap padding", ErrInvalidProof)
	}
	sibs := make([]Hash, d)
	for i := range sibs {
		if mask[i/8]&(0x80>>(i%8)) != 0 {
			continue // emptyHash
		}
		if len(b) < 32 {
			return fmt.Errorf("%w: short siblings", ErrInvalidProof)
		}
		copy(sibs[i][:], b[:32])
		b = b[32:]
		if sibs[i] == emptyHash {
			return fmt.Errorf("%w: listed empty sibling", ErrInvalidProof)
		}
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrInvalidProof, len(b))
	}
	if d == 0 {
		sibs = nil
	}
	p.Siblings, p.Leaf = sibs, leaf
	return nil
}

// ErrInvalidProof is wrapped by every VerifyProof failure and by Proof.Unmarshal's
// errors. Check with errors.Is.
var ErrInvalidProof = errors.New("invalid proof")

// VerifyProof checks proof against the root hash root: that key holds value if value is
// not nil, or that key is absent if value is nil.
func VerifyProof(root, key, value []byte, proof *Proof) error {
	if proof == nil {
		return fmt.Errorf("%w: no proof", ErrInvalidProof)
	}
	if len(root) != len(Hash{}) {
		return fmt.Errorf("%w: root of %d bytes", ErrInvalidProof, len(root))
	}
	d := len(proof.Siblings)
	if d > maxProofDepth {
		return fmt.Errorf("%w: depth %d", ErrInvalidProof, d)
	}
	kh := sha256.Sum256(key)
	h := emptyHash
	if l := proof.Leaf; l != nil {
		if !samePrefix(&l.KeyHash, &kh, d) {
			return fmt.Errorf("%w: the leaf is off the key's path", ErrInvalidProof)
		}
		switch {
		case l.KeyHash != kh && value != nil:
			return fmt.Errorf("%w: proves %x absent", ErrInvalidProof, key)
		case l.KeyHash == kh && value == nil:
			return fmt.Errorf("%w: proves %x present", ErrInvalidProof, key)
		case l.KeyHash == kh && sha256.Sum256(value) != l.ValueHash:
			return fmt.Errorf("%w: another value for %x", ErrInvalidProof, key)
		}
		h = hashLeaf(&l.KeyHash, &l.ValueHash)
	} else if value != nil {
		return fmt.Errorf("%w: proves %x absent", ErrInvalidProof, key)
	}
	// The walk stops at the first subtree of at most one leaf, so the subtree beside it
	// holds a leaf: an empty last sibling is a proof no tree gives.
	if d > 0 && proof.Siblings[d-1] == emptyHash {
		return fmt.Errorf("%w: empty last sibling", ErrInvalidProof)
	}
	for i := d - 1; i >= 0; i-- {
		if kh[i/8]&(0x80>>(i%8)) == 0 {
			h = hashInner(&h, &proof.Siblings[i])
		} else {
			h = hashInner(&proof.Siblings[i], &h)
		}
	}
	if !bytes.Equal(h[:], root) {
		return fmt.Errorf("%w: root %x, the proof gives %x", ErrInvalidProof, root, h)
	}
	return nil
}

// prove returns the proof for key hash kh in the tree with root s, reading nodes with
// load.
func prove(s slot, kh *Hash, load func(s *slot, d int, path *Hash) (*node, error)) (*Proof, error) {
	p := &Proof{}
	var path Hash
	for d := 0; ; d++ {
		switch s.kind {
		case kindEmpty:
			return p, nil
		case kindLeaf:
			p.Leaf = &ProofLeaf{KeyHash: s.kh, ValueHash: s.vh}
			return p, nil
		}
		if d > maxDepth {
			return nil, fmt.Errorf("%w: tree deeper than 256 bits", errCorrupt)
		}
		n, err := load(&s, d, &path)
		if err != nil {
			return nil, err
		}
		var st subtrees
		n.subtrees(&st)
		j := nibble(kh, d)
		for b := 1; b <= 4; b++ {
			// The sibling of the path's subtree b levels below the node's root.
			p.Siblings = append(p.Siblings, st.hash[((1<<b)+j>>(4-b))^1])
			if st.kind[((1<<b)+j>>(4-b))^1] == kindEmpty {
				p.Siblings[len(p.Siblings)-1] = emptyHash
			}
			g := (1 << b) + j>>(4-b)
			if b < 4 && st.kind[g] != kindNode {
				// The walk ends inside the node, at an empty subtree or a lone leaf.
				if st.kind[g] == kindLeaf {
					for k := j >> (4 - b) << (4 - b); k < (j>>(4-b)+1)<<(4-b); k++ {
						if l := n.slotRef(k); l.kind == kindLeaf {
							p.Leaf = &ProofLeaf{KeyHash: l.kh, ValueHash: l.vh}
						}
					}
				}
				return p, nil
			}
		}
		s = n.slot(j)
		path = withNibble(path, d, j)
	}
}
