package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/tlog"
)

// State-sync snapshot format 1.
//
// A snapshot of height h is one byte stream cut into chunks of SnapshotChunkSize bytes (the
// last one shorter). The stream is a sequence of records
//
//	tag(1) ‖ uvarint(len key) ‖ key ‖ uvarint(len value) ‖ value
//
// in this order:
//
//	'h'  key "ipledger-snapshot", value h(8): the header
//	's'  every state pair at version h, in strictly ascending key order
//	'x'  side-table pairs in strictly ascending key order, from four tables only, each as
//	     of h: block records 'B' (heights first…h, contiguous), the tx-hash index 'H',
//	     log leaves 'L' (indexes 0…n-1) and the per-object history 'X'
//	'e'  empty key, value count of 's'(8) ‖ count of 'x'(8): the end
//
// The log's complete-subtree hashes 'N' and tree states 'S' are not sent: the restoring
// node computes them from the leaves, checking each block record's log root on the way,
// so that a peer cannot slip it proofs that contradict the log. The checkpoint a node
// signs ('C') is never copied: each node signs its own.
//
// The snapshot's metadata, which CometBFT passes around with the snapshot, is
//
//	h(8) ‖ app hash(32) ‖ stream length(8) ‖ chunk count(4) ‖ SHA-256 of each chunk
//
// and the snapshot's hash is SHA-256(metadata). The encoding is deterministic, so every
// node holding the same chain produces the same chunks and the same hash, and a joining
// node can fetch the chunks of one snapshot from several peers.
const (
	// SnapshotFormat is the format number of the snapshots this version writes and reads.
	SnapshotFormat = 1

	// SnapshotChunkSize is the number of stream bytes per chunk: a few MB, so that
	// several fetchers keep the connections busy and a bad chunk costs little.
	SnapshotChunkSize = 4 << 20

	// maxSnapshotChunk bounds a chunk a restoring node accepts: CometBFT's chunk messages
	// are at most 16 MB.
	maxSnapshotChunk = 16_000_000
	// maxSnapshotChunks bounds the chunk count in metadata (4 TiB of 4 MiB chunks).
	maxSnapshotChunks = 1 << 20
	// Bounds on one record: keys of state and side tables are short; values are at most a
	// block record of a full block.
	maxRecordKey   = 1 << 16
	maxRecordValue = 64 << 20
)

// Record tags of the stream.
const (
	recHeader = 'h'
	recState  = 's'
	recSide   = 'x'
	recEnd    = 'e'
)

var snapshotMagic = []byte("ipledger-snapshot")

// chunkSize is SnapshotChunkSize, smaller in tests.
var chunkSize = SnapshotChunkSize

// errMalformed marks a snapshot that breaks the format or contradicts itself; the restore
// rejects the snapshot. Check with errors.Is.
var errMalformed = errors.New("malformed snapshot")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
}

// snapshotMeta is the decoded metadata of a snapshot.
type snapshotMeta struct {
	Height  int64
	AppHash []byte
	Size    uint64     // stream length in bytes
	Chunks  [][32]byte // SHA-256 of each chunk
}

func (m *snapshotMeta) encode() []byte {
	b := make([]byte, 0, 52+32*len(m.Chunks))
	b = binary.BigEndian.AppendUint64(b, uint64(m.Height))
	b = append(b, m.AppHash...)
	b = binary.BigEndian.AppendUint64(b, m.Size)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Chunks)))
	for _, h := range m.Chunks {
		b = append(b, h[:]...)
	}
	return b
}

// decodeSnapshotMeta parses metadata and checks that it is self-consistent.
func decodeSnapshotMeta(b []byte) (*snapshotMeta, error) {
	if len(b) < 52 {
		return nil, malformed("metadata of %d bytes, want at least 52", len(b))
	}
	m := &snapshotMeta{
		Height:  int64(binary.BigEndian.Uint64(b)),
		AppHash: bytes.Clone(b[8:40]),
		Size:    binary.BigEndian.Uint64(b[40:]),
	}
	n := binary.BigEndian.Uint32(b[48:])
	if m.Height < 1 || m.Height > 1<<62 {
		return nil, malformed("snapshot height %d", m.Height)
	}
	if n == 0 || n > maxSnapshotChunks {
		return nil, malformed("%d chunks", n)
	}
	if uint64(len(b)) != 52+32*uint64(n) {
		return nil, malformed("metadata of %d bytes for %d chunks", len(b), n)
	}
	if m.Size == 0 || m.Size > uint64(n)*maxSnapshotChunk {
		return nil, malformed("stream of %d bytes in %d chunks", m.Size, n)
	}
	m.Chunks = make([][32]byte, n)
	for i := range m.Chunks {
		copy(m.Chunks[i][:], b[52+32*i:])
	}
	return m, nil
}

// appendRecord appends one stream record.
func appendRecord(dst []byte, tag byte, k, v []byte) []byte {
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(k)))
	dst = append(dst, k...)
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}

// streamDecoder splits a stream fed in arbitrary pieces into records. The zero value is
// ready.
type streamDecoder struct {
	buf []byte // bytes not yet decoded: at most the start of one record
}

// feed decodes the records completed by p and calls fn with each; the slices are valid
// only during the call. It returns fn's first error, or errMalformed for a record over the
// bounds.
func (d *streamDecoder) feed(p []byte, fn func(tag byte, k, v []byte) error) error {
	data := p
	if len(d.buf) > 0 {
		d.buf = append(d.buf, p...)
		data = d.buf
	}
	off := 0
	for {
		tag, k, v, n, err := parseRecord(data[off:])
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		if err := fn(tag, k, v); err != nil {
			return err
		}
		off += n
	}
	rest := data[off:]
	if len(d.buf) > 0 {
		d.buf = append(d.buf[:0], rest...) // overlapping copy towards the start is safe
	} else {
		d.buf = append(d.buf, rest...)
	}
	return nil
}

// pending returns the number of bytes of an incomplete record held.
func (d *streamDecoder) pending() int { return len(d.buf) }

// parseRecord decodes the record at the start of b; n is 0 if b holds only part of one.
func parseRecord(b []byte) (tag byte, k, v []byte, n int, err error) {
	if len(b) == 0 {
		return 0, nil, nil, 0, nil
	}
	tag = b[0]
	switch tag {
	case recHeader, recState, recSide, recEnd:
	default:
		return 0, nil, nil, 0, malformed("unknown record tag 0x%02x", tag)
	}
	k, p, ok, err := recordField(b, 1, "key", maxRecordKey)
	if !ok {
		return 0, nil, nil, 0, err
	}
	v, p, ok, err = recordField(b, p, "value", maxRecordValue)
	if !ok {
		return 0, nil, nil, 0, err
	}
	return tag, k, v, p, nil
}

// recordField decodes the field what of a record at b[p:]: its minimal uvarint length, at
// most max, and its bytes. ok is false on an error or when b holds only part of the field.
func recordField(b []byte, p int, what string, max uint64) (field []byte, next int, ok bool, err error) {
	n, m := binary.Uvarint(b[p:])
	if m < 0 || (m == 0 && len(b)-p >= binary.MaxVarintLen64) {
		return nil, 0, false, malformed("bad %s length", what)
	}
	if m == 0 {
		return nil, 0, false, nil
	}
	if m != uvarintSize(n) {
		return nil, 0, false, malformed("non-minimal %s length", what)
	}
	if n > max {
		return nil, 0, false, malformed("%s of %d bytes", what, n)
	}
	p += m
	if uint64(len(b)-p) < n {
		return nil, 0, false, nil
	}
	return b[p : p+int(n)], p + int(n), true, nil
}

func uvarintSize(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

// restoreSink receives what a checked snapshot stream says to write. Slices passed in are
// valid only during the call.
type restoreSink interface {
	setState(k, v []byte) error
	setSide(k, v []byte) error
}

// blockLog is what a block record says of the log after its block.
type blockLog struct {
	size uint64
	root []byte
}

// restorer checks a snapshot stream of height h record by record and passes what it says
// to a sink, with the log's subtree hashes and tree states it computes from the leaves. It
// does not touch a store; the caller checks the final app hash.
type restorer struct {
	height int64
	sink   restoreSink
	dec    streamDecoder

	started, ended bool
	nState, nSide  uint64
	lastState      []byte
	lastSide       []byte

	// Block records seen, by height from first.
	first  int64
	blocks []blockLog
	top    *ipledger.BlockRecord // the record of height h

	// The log rebuilt from the leaves; states[next] is the first block whose tree state
	// is not written yet.
	tree       *tlog.Tree
	nextBlock  int
	leavesDone bool
	nodeErr    error
}

func newRestorer(height int64, sink restoreSink) *restorer {
	return &restorer{height: height, sink: sink, tree: tlog.New()}
}

// feed checks and applies the records p completes.
func (r *restorer) feed(p []byte) error {
	if r.ended {
		if len(p) > 0 {
			return malformed("data after the end record")
		}
		return nil
	}
	return r.dec.feed(p, r.record)
}

// finish checks that the stream ended where it should and returns the record of the
// snapshot's block and the rebuilt log.
func (r *restorer) finish() (*ipledger.BlockRecord, *tlog.Tree, error) {
	if !r.ended {
		return nil, nil, malformed("the stream ends without its end record (%d bytes of a record pending)", r.dec.pending())
	}
	if r.dec.pending() > 0 {
		return nil, nil, malformed("data after the end record")
	}
	return r.top, r.tree, nil
}

func (r *restorer) record(tag byte, k, v []byte) error {
	if r.ended {
		return malformed("record after the end record")
	}
	if !r.started {
		if tag != recHeader || !bytes.Equal(k, snapshotMagic) || len(v) != 8 {
			return malformed("the stream does not start with an ipledger snapshot header")
		}
		if h := int64(binary.BigEndian.Uint64(v)); h != r.height {
			return malformed("stream of height %d in a snapshot of height %d", h, r.height)
		}
		r.started = true
		return nil
	}
	switch tag {
	case recState:
		if r.nSide > 0 {
			return malformed("state pair after side-table pairs")
		}
		if len(k) == 0 || (r.lastState != nil && bytes.Compare(r.lastState, k) >= 0) {
			return malformed("state key %x out of order", k)
		}
		r.lastState = append(r.lastState[:0], k...)
		r.nState++
		return r.sink.setState(k, v)
	case recSide:
		if len(k) == 0 || (r.lastSide != nil && bytes.Compare(r.lastSide, k) >= 0) {
			return malformed("side key %x out of order", k)
		}
		r.lastSide = append(r.lastSide[:0], k...)
		r.nSide++
		return r.side(k, v)
	case recEnd:
		if len(k) != 0 || len(v) != 16 {
			return malformed("bad end record")
		}
		if ns, nx := binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:]); ns != r.nState || nx != r.nSide {
			return malformed("end record counts %d state and %d side pairs, the stream has %d and %d", ns, nx, r.nState, r.nSide)
		}
		if err := r.endLeaves(); err != nil {
			return err
		}
		r.ended = true
		return nil
	}
	return malformed("header record inside the stream")
}

// side checks one side-table pair; the tables come in key order B, H, L, X.
func (r *restorer) side(k, v []byte) error {
	if k[0] != sideBlock {
		if err := r.endBlocks(); err != nil {
			return err
		}
	}
	if k[0] > sideLeaf {
		if err := r.endLeaves(); err != nil {
			return err
		}
	}
	switch k[0] {
	case sideBlock:
		return r.block(k, v)
	case sideTxIndex:
		if len(k) != 33 || len(v) != 12 {
			return malformed("tx index entry %x", k)
		}
		if err := r.inRange(int64(binary.BigEndian.Uint64(v)), "tx index entry"); err != nil {
			return err
		}
	case sideLeaf:
		return r.leaf(k, v)
	case sideHistory:
		// 'X' object ‖ 0 ‖ height(8) ‖ index(4) → hash(32)
		if len(k) < 15 || k[len(k)-13] != 0 || len(v) != 32 || bytes.IndexByte(k[1:len(k)-13], 0) >= 0 {
			return malformed("history entry %x", k)
		}
		if err := r.inRange(int64(binary.BigEndian.Uint64(k[len(k)-12:])), "history entry"); err != nil {
			return err
		}
	default:
		return malformed("side table %q is not part of a snapshot", k[0])
	}
	return r.sink.setSide(k, v)
}

func (r *restorer) inRange(h int64, what string) error {
	if len(r.blocks) == 0 || h < r.first || h > r.height {
		return malformed("%s at height %d, outside the snapshot's blocks", what, h)
	}
	return nil
}

// block checks a block record: heights contiguous up to h, the log never shrinking.
func (r *restorer) block(k, v []byte) error {
	if len(k) != 9 {
		return malformed("block key %x", k)
	}
	h := int64(binary.BigEndian.Uint64(k[1:]))
	var rec ipledger.BlockRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return malformed("block record %d: %v", h, err)
	}
	switch {
	case len(r.blocks) == 0 && (h < 1 || h > r.height):
		return malformed("first block record at height %d", h)
	case len(r.blocks) > 0 && h != r.first+int64(len(r.blocks)):
		return malformed("block record %d after %d", h, r.first+int64(len(r.blocks))-1)
	case rec.Height != h:
		return malformed("block record under height %d says height %d", h, rec.Height)
	case len(rec.LogRoot) != sha256.Size:
		return malformed("block record %d has a log root of %d bytes", h, len(rec.LogRoot))
	case len(r.blocks) > 0 && rec.LogSize < r.blocks[len(r.blocks)-1].size:
		return malformed("block record %d has a log of %d leaves, fewer than the block before", h, rec.LogSize)
	}
	if len(r.blocks) == 0 {
		r.first = h
	}
	r.blocks = append(r.blocks, blockLog{size: rec.LogSize, root: rec.LogRoot})
	if h == r.height {
		r.top = &rec
	}
	return r.sink.setSide(k, v)
}

// endBlocks checks that the block records reached h, once they are over.
func (r *restorer) endBlocks() error {
	if r.top == nil {
		return malformed("no block record of height %d", r.height)
	}
	return nil
}

// leaf appends the next log leaf, writing the subtree hashes it completes and the tree
// state of each block it closes.
func (r *restorer) leaf(k, v []byte) error {
	if len(k) != 9 || binary.BigEndian.Uint64(k[1:]) != r.tree.Size() {
		return malformed("log leaf %x out of order (the log has %d leaves)", k, r.tree.Size())
	}
	if err := r.closeBlocks(); err != nil {
		return err
	}
	if r.nextBlock >= len(r.blocks) {
		return malformed("log leaf %d beyond the last block's log", r.tree.Size())
	}
	if len(v) > tlog.MaxEntry {
		return malformed("log leaf %d of %d bytes", r.tree.Size(), len(v))
	}
	leaf, err := tlog.DecodeLeaf(v)
	if err != nil {
		return malformed("log leaf %d: %v", r.tree.Size(), err)
	}
	var h int64
	switch l := leaf.(type) {
	case tlog.TxLeaf:
		h = l.Height
	case tlog.EndBlockLeaf:
		h = l.Height
	}
	if want := r.first + int64(r.nextBlock); h != want {
		return malformed("log leaf %d is of height %d, the block records put it in block %d", r.tree.Size(), h, want)
	}
	if err := r.sink.setSide(k, v); err != nil {
		return err
	}
	if err := r.tree.Append(tlog.HashLeaf(v), func(level uint, index uint64, hash []byte) {
		if r.nodeErr == nil {
			r.nodeErr = r.sink.setSide(logNodeKey(level, index), hash)
		}
	}); err != nil {
		return fmt.Errorf("restore log: %w", err)
	}
	if r.nodeErr != nil {
		return r.nodeErr
	}
	return r.closeBlocks()
}

// closeBlocks writes the tree state of every block whose log ends at the current size,
// checking the log root its record claims.
func (r *restorer) closeBlocks() error {
	size := r.tree.Size()
	for r.nextBlock < len(r.blocks) && r.blocks[r.nextBlock].size == size {
		b := r.blocks[r.nextBlock]
		h := r.first + int64(r.nextBlock)
		if root := r.tree.Root(); !bytes.Equal(root, b.root) {
			return malformed("block %d claims log root %X, its %d leaves give %X", h, b.root, size, root)
		}
		if err := r.sink.setSide(u64key(sideTree, uint64(h)), r.tree.Marshal()); err != nil {
			return err
		}
		r.nextBlock++
	}
	if r.nextBlock < len(r.blocks) && r.blocks[r.nextBlock].size < size {
		return malformed("block %d has a log of %d leaves, not a block boundary", r.first+int64(r.nextBlock), r.blocks[r.nextBlock].size)
	}
	return nil
}

// endLeaves checks, once the leaves are over, that they made every block's log.
func (r *restorer) endLeaves() error {
	if r.leavesDone {
		return nil
	}
	if err := r.endBlocks(); err != nil {
		return err
	}
	if err := r.closeBlocks(); err != nil {
		return err
	}
	if r.nextBlock != len(r.blocks) {
		return malformed("the log has %d leaves; block %d says %d", r.tree.Size(), r.first+int64(r.nextBlock), r.blocks[r.nextBlock].size)
	}
	r.leavesDone = true
	return nil
}
