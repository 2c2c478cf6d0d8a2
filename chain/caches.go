package chain

import (
	"hash/maphash"
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

// cacheShards is how many independently locked parts sigCache and txCache have. A
// batch of signature checks wakes up to 64 submitters at once, each of which marks its
// transaction verified and keeps its decoded copy; with one lock each they queued behind
// one another (the node's mutex profile under bench load: on average 24 goroutines
// waiting for txCache's lock, docs/BENCHMARKS.md session 8).
const cacheShards = 64

// sigCache remembers transactions whose signatures this node verified, so each signature
// is checked once per node (CheckTx or ProcessProposal), not again in FinalizeBlock. A
// shard that reaches its part of the bound forgets all it holds: crude but bounded, and a
// miss only costs a re-verification.
type sigCache struct {
	shards [cacheShards]sigShard
}

type sigShard struct {
	mu  sync.Mutex
	m   map[ipledger.Hash]struct{}
	max int
}

func (c *sigCache) init(bound int) {
	for i := range c.shards {
		c.shards[i] = sigShard{m: map[ipledger.Hash]struct{}{}, max: max(1, bound/cacheShards)}
	}
}

// shard picks by the hash's first byte: SHA-256 spreads transactions evenly.
func (c *sigCache) shard(h ipledger.Hash) *sigShard { return &c.shards[int(h[0])%cacheShards] }

func (c *sigCache) has(h ipledger.Hash) bool {
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[h]
	return ok
}

func (c *sigCache) add(h ipledger.Hash) {
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		clear(s.m)
	}
	s.m[h] = struct{}{}
}

func (c *sigCache) remove(h ipledger.Hash) {
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, h)
}

// len is the number of transactions held, for tests.
func (c *sigCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// txCache keeps pending transactions decoded, by their encoding, so that CheckTx, its
// rechecks, PrepareProposal, ProcessProposal and FinalizeBlock do not decode each again.
// Like sigCache it is bounded crudely: a miss only costs a decoding. A shard that reaches
// its part of the bound forgets all it holds (a miss only costs a decoding).
type txCache struct {
	seed   maphash.Seed
	shards [cacheShards]txShard
}

type txShard struct {
	mu  sync.Mutex
	m   map[string]*ipledger.Tx
	max int
}

func (c *txCache) init(bound int) {
	c.seed = maphash.MakeSeed()
	for i := range c.shards {
		c.shards[i] = txShard{m: map[string]*ipledger.Tx{}, max: max(1, bound/cacheShards)}
	}
}

func (c *txCache) shard(b []byte) *txShard {
	return &c.shards[maphash.Bytes(c.seed, b)%cacheShards]
}

func (c *txCache) get(b []byte) *ipledger.Tx {
	s := c.shard(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[string(b)]
}

func (c *txCache) put(b []byte, tx *ipledger.Tx) {
	s := c.shard(b)
	k := string(b) // the key's copy, made before taking the lock
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		clear(s.m)
	}
	s.m[k] = tx
}

func (c *txCache) remove(b []byte) {
	s := c.shard(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, string(b))
}

// len is the number of transactions held, for tests.
func (c *txCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
