package tlog

import (
	"sync"
	"sync/atomic"
)

// NodeCache keeps node hashes a NodeReader returned in memory, so that serving proofs
// stops reading the store. The hash of a complete subtree never changes once the log has
// it (the log only appends), so an entry never goes stale; a reader that answers nil (the
// log does not have the node yet) is not cached. Hashes are kept 32 bytes apiece in
// chunks of consecutive nodes of one level, up to a memory bound; beyond it, reads of the
// lower levels go to the reader.
//
// A NodeCache is safe for concurrent use. The zero NodeCache is not usable; use
// NewNodeCache.
type NodeCache struct {
	read      NodeReader
	maxChunks int

	mu     sync.RWMutex
	chunks map[uint64]*nodeChunk // by level<<58 | index/chunkNodes
	lower  int                   // chunks below alwaysCached, bounded by maxChunks
}

// alwaysCached is the lowest level cached beyond the memory bound: every proof reads a
// node or two of each level from here up, and they are 1/256 of the leaves or fewer, so
// a log that outgrows the bound keeps serving its upper levels from memory.
const alwaysCached = 8

// chunkNodes is the number of consecutive nodes of one level a chunk holds (128 KiB).
const chunkNodes = 4096

// nodeChunk holds chunkNodes hashes; bit i of present says whether hash i is filled in.
// Writers hold mu; readers load the bit, whose atomic store orders the copy before it.
type nodeChunk struct {
	mu      sync.Mutex
	present [chunkNodes / 64]atomic.Uint64
	hashes  [chunkNodes * 32]byte
}

// DefaultNodeCacheBytes is the memory bound NewNodeCache uses for maxBytes 0: every node
// of a log of about two million leaves.
const DefaultNodeCacheBytes = 128 << 20

// NewNodeCache returns a cache over read holding at most about maxBytes of hashes of the
// levels below 8 (0: DefaultNodeCacheBytes), and every hash of the levels above.
func NewNodeCache(read NodeReader, maxBytes int) *NodeCache {
	if maxBytes <= 0 {
		maxBytes = DefaultNodeCacheBytes
	}
	return &NodeCache{read: read, maxChunks: max(1, maxBytes/(chunkNodes*32)), chunks: map[uint64]*nodeChunk{}}
}

// Read is a NodeReader: the hash of the node at level and index, from memory if it was
// read before. The slice returned is shared: callers must not change it.
func (c *NodeCache) Read(level uint, index uint64) ([]byte, error) {
	key := uint64(level)<<58 | index/chunkNodes
	slot := index % chunkNodes
	c.mu.RLock()
	ch := c.chunks[key]
	c.mu.RUnlock()
	if ch != nil && ch.present[slot/64].Load()&(1<<(slot%64)) != 0 {
		return ch.hashes[slot*32 : slot*32+32 : slot*32+32], nil
	}
	h, err := c.read(level, index)
	if err != nil || len(h) != 32 || level >= 64 || index/chunkNodes >= 1<<58 {
		return h, err
	}
	if ch == nil {
		c.mu.Lock()
		if ch = c.chunks[key]; ch == nil && (c.lower < c.maxChunks || level >= alwaysCached) {
			ch = new(nodeChunk)
			c.chunks[key] = ch
			if level < alwaysCached {
				c.lower++
			}
		}
		c.mu.Unlock()
		if ch == nil {
			return h, nil // full
		}
	}
	ch.mu.Lock()
	if ch.present[slot/64].Load()&(1<<(slot%64)) == 0 {
		copy(ch.hashes[slot*32:], h)
		ch.present[slot/64].Or(1 << (slot % 64))
	}
	ch.mu.Unlock()
	return h, nil
}
