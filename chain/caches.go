package chain

import (
	"sync"

	"github.com/ipledger/ipledger"
)

// blockCache keeps the last few decoded block records. A block's record lists every
// transaction with the objects it touched, so an import block's runs to megabytes, and
// the commit waiters, transaction lookups and inclusion proofs by hash of one block
// would otherwise each decode it again.
type blockCache struct {
	mu   sync.Mutex
	recs [16]*ipledger.BlockRecord // by height mod 16
}

func (c *blockCache) get(h int64) *ipledger.BlockRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.recs[h%int64(len(c.recs))]; r != nil && r.Height == h {
		return r
	}
	return nil
}

func (c *blockCache) put(h int64, r *ipledger.BlockRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs[h%int64(len(c.recs))] = r
}

// sigCache remembers transactions whose signatures this node verified, so each signature
// is checked once per node (CheckTx or ProcessProposal), not again in FinalizeBlock.
type sigCache struct {
	mu  sync.Mutex
	m   map[ipledger.Hash]struct{}
	max int
}

func (c *sigCache) init(max int) { c.m, c.max = map[ipledger.Hash]struct{}{}, max }

func (c *sigCache) has(h ipledger.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[h]
	return ok
}

func (c *sigCache) add(h ipledger.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m) // crude but bounded; a miss only costs a re-verification
	}
	c.m[h] = struct{}{}
}

func (c *sigCache) remove(h ipledger.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, h)
}

// txCache keeps pending transactions decoded, by their encoding, so that CheckTx, its
// rechecks, PrepareProposal, ProcessProposal and FinalizeBlock do not decode each again.
// Like sigCache it is bounded crudely: a miss only costs a decoding.
type txCache struct {
	mu  sync.Mutex
	m   map[string]*ipledger.Tx
	max int
}

func (c *txCache) init(max int) { c.m, c.max = map[string]*ipledger.Tx{}, max }

func (c *txCache) get(b []byte) *ipledger.Tx {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[string(b)]
}

func (c *txCache) put(b []byte, tx *ipledger.Tx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[string(b)] = tx
}

func (c *txCache) remove(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, string(b))
}
