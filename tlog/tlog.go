// Package tlog is ipledger's transparency log: every transaction with its height, block
// time, index and result code, and one end-of-block leaf per block recording the events the
// state machine derived from block time, accumulated as an RFC 6962 Merkle tree
// (github.com/transparency-dev/merkle). Replaying the leaves alone reproduces the state.
//
// The tree keeps only its compact range (one hash per set bit of the size), so appending is
// O(log n) and the state to persist per block is small; leaf data is stored by the caller.
package tlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Leaf types, the first byte of every leaf.
const (
	LeafTx       byte = 0 // a transaction and its result
	LeafEndBlock byte = 1 // the end of a block and its time-driven events
)

var hasher = rfc6962.DefaultHasher
var factory = &compact.RangeFactory{Hash: hasher.HashChildren}

// TxLeaf is the log record of one transaction.
type TxLeaf struct {
	Height int64
	Time   time.Time
	Index  uint32 // position in the block
	Code   uint32 // result code; 0 = applied
	Tx     []byte // the transaction exactly as committed
}

// EndBlockLeaf is the log record closing a block.
type EndBlockLeaf struct {
	Height  int64
	Time    time.Time
	TxCount uint32
	Events  []byte // JSON list of the block's time-driven events ("null" if none)
}

// Encode returns the leaf bytes: 0x00 ‖ height(8) ‖ unix nanos(8) ‖ index(4) ‖ code(4) ‖ tx.
func (l TxLeaf) Encode() []byte {
	b := make([]byte, 0, 25+len(l.Tx))
	b = appendLeafHead(b, LeafTx, l.Height, l.Time)
	b = binary.BigEndian.AppendUint32(b, l.Index)
	b = binary.BigEndian.AppendUint32(b, l.Code)
	return append(b, l.Tx...)
}

// Encode returns the leaf bytes: 0x01 ‖ height(8) ‖ unix nanos(8) ‖ tx count(4) ‖ events.
func (l EndBlockLeaf) Encode() []byte {
	b := make([]byte, 0, 21+len(l.Events))
	b = appendLeafHead(b, LeafEndBlock, l.Height, l.Time)
	b = binary.BigEndian.AppendUint32(b, l.TxCount)
	return append(b, l.Events...)
}

// appendLeafHead appends what every leaf starts with: its type ‖ height(8) ‖ unix nanos(8).
func appendLeafHead(b []byte, typ byte, height int64, t time.Time) []byte {
	b = append(b, typ)
	b = binary.BigEndian.AppendUint64(b, uint64(height))
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
}

// leafFixed is, by leaf type, the name of the type and the size of its fixed part (type,
// height, time and the fields after them): a shorter leaf does not decode.
var leafFixed = [...]struct {
	name string
	size int
}{
	LeafTx:       {"transaction", 25},
	LeafEndBlock: {"end-of-block", 21},
}

// DecodeLeaf parses leaf bytes into a TxLeaf or an EndBlockLeaf.
func DecodeLeaf(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("empty leaf")
	}
	if int(b[0]) >= len(leafFixed) {
		return nil, fmt.Errorf("unknown leaf type %d", b[0])
	}
	if f := leafFixed[b[0]]; len(b) < f.size {
		return nil, fmt.Errorf("%s leaf of %d bytes is too short", f.name, len(b))
	}
	height, t := int64(binary.BigEndian.Uint64(b[1:])), time.Unix(0, int64(binary.BigEndian.Uint64(b[9:]))).UTC()
	if b[0] == LeafTx {
		return TxLeaf{
			Height: height,
			Time:   t,
			Index:  binary.BigEndian.Uint32(b[17:]),
			Code:   binary.BigEndian.Uint32(b[21:]),
			Tx:     bytes.Clone(b[25:]),
		}, nil
	}
	return EndBlockLeaf{
		Height:  height,
		Time:    t,
		TxCount: binary.BigEndian.Uint32(b[17:]),
		Events:  bytes.Clone(b[21:]),
	}, nil
}

// HashLeaf returns the RFC 6962 leaf hash SHA-256(0x00 ‖ leaf).
func HashLeaf(leaf []byte) []byte { return hasher.HashLeaf(leaf) }

// Tree is the log's Merkle tree as a compact range. The zero Tree is not usable; use New or
// Unmarshal.
type Tree struct{ r *compact.Range }

// New returns an empty tree.
func New() *Tree { return &Tree{r: factory.NewEmptyRange(0)} }

// Append adds a leaf by its leaf hash. visit, if not nil, is called with every node of
// the tree that the leaf completes (the leaf itself at level 0 first, then each perfect
// subtree it closes): storing them is what makes proofs and tiles servable.
func (t *Tree) Append(leafHash []byte, visit func(level uint, index uint64, hash []byte)) error {
	var fn compact.VisitFn
	if visit != nil {
		fn = func(id compact.NodeID, hash []byte) { visit(id.Level, id.Index, hash) }
	}
	if err := t.r.Append(leafHash, fn); err != nil {
		return fmt.Errorf("append leaf: %w", err)
	}
	return nil
}

// Size returns the number of leaves.
func (t *Tree) Size() uint64 { return t.r.End() }

// Root returns the RFC 6962 root hash (SHA-256 of the empty string for an empty tree).
func (t *Tree) Root() []byte {
	if t.r.End() == 0 {
		return hasher.EmptyRoot()
	}
	h, err := t.r.GetRootHash(nil)
	if err != nil {
		// A range starting at 0 always has a root; this cannot happen.
		panic(fmt.Sprintf("tlog: root of [0,%d): %v", t.r.End(), err))
	}
	return h
}

// Clone returns an independent copy.
func (t *Tree) Clone() *Tree {
	hs := make([][]byte, len(t.r.Hashes()))
	copy(hs, t.r.Hashes())
	r, _ := factory.NewRange(0, t.r.End(), hs)
	return &Tree{r: r}
}

// Marshal encodes the tree state: size(8) ‖ the compact range's hashes (32 bytes each).
func (t *Tree) Marshal() []byte {
	b := binary.BigEndian.AppendUint64(nil, t.r.End())
	for _, h := range t.r.Hashes() {
		b = append(b, h...)
	}
	return b
}

// Unmarshal decodes a state written by Marshal.
func Unmarshal(b []byte) (*Tree, error) {
	if len(b) < 8 || (len(b)-8)%sha256.Size != 0 {
		return nil, fmt.Errorf("tree state of %d bytes is malformed", len(b))
	}
	size := binary.BigEndian.Uint64(b)
	var hs [][]byte
	for p := b[8:]; len(p) > 0; p = p[sha256.Size:] {
		hs = append(hs, bytes.Clone(p[:sha256.Size]))
	}
	r, err := factory.NewRange(0, size, hs)
	if err != nil {
		return nil, fmt.Errorf("tree state: %w", err)
	}
	return &Tree{r: r}, nil
}

// AppHash returns the chain's app hash: SHA-256(state root ‖ log root).
func AppHash(stateRoot, logRoot []byte) []byte {
	h := sha256.New()
	h.Write(stateRoot)
	h.Write(logRoot)
	return h.Sum(nil)
}
