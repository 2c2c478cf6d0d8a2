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

// shard is one independently locked part of sigCache or txCache: a map that forgets all it
// holds when it reaches max (crude but bounded: a miss only costs work done again).
type shard[K comparable, V any] struct {
	mu  sync.Mutex
	m   map[K]V
	max int
}

func (s *shard[K, V]) init(bound int) { *s = shard[K, V]{m: map[K]V{}, max: max(1, bound/cacheShards)} }

func (s *shard[K, V]) put(k K, v V) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		clear(s.m)
	}
	s.m[k] = v
}

func (s *shard[K, V]) remove(k K) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
}

// shardsLen is the number of entries held in shards, for tests.
func shardsLen[K comparable, V any](shards []shard[K, V]) int {
	n := 0
	for i := range shards {
		s := &shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// sigCache remembers transactions whose signatures this node verified, so each signature
// is checked once per node (CheckTx or ProcessProposal), not again in FinalizeBlock.
type sigCache struct {
	shards [cacheShards]shard[ipledger.Hash, struct{}]
}

func (c *sigCache) init(bound int) {
	for i := range c.shards {
		c.shards[i].init(bound)
	}
}

// shard picks by the hash's first byte: SHA-256 spreads transactions evenly.
func (c *sigCache) shard(h ipledger.Hash) *shard[ipledger.Hash, struct{}] {
	return &c.shards[int(h[0])%cacheShards]
}

func (c *sigCache) has(h ipledger.Hash) bool {
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[h]
	return ok
}

func (c *sigCache) add(h ipledger.Hash)    { c.shard(h).put(h, struct{}{}) }
func (c *sigCache) remove(h ipledger.Hash) { c.shard(h).remove(h) }
func (c *sigCache) len() int               { return shardsLen(c.shards[:]) }

// txCache keeps pending transactions decoded, by their encoding, so that CheckTx, its
// rechecks, PrepareProposal, ProcessProposal and FinalizeBlock do not decode each again.
// A miss only costs a decoding.
type txCache struct {
	seed   maphash.Seed
	shards [cacheShards]shard[string, *ipledger.Tx]
}

func (c *txCache) init(bound int) {
	c.seed = maphash.MakeSeed()
	for i := range c.shards {
		c.shards[i].init(bound)
	}
}

func (c *txCache) shard(b []byte) *shard[string, *ipledger.Tx] {
	return &c.shards[maphash.Bytes(c.seed, b)%cacheShards]
}

func (c *txCache) get(b []byte) *ipledger.Tx {
	s := c.shard(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[string(b)] // no copy of b for the lookup
}

// put keeps tx; the key's copy is made before the lock is taken.
func (c *txCache) put(b []byte, tx *ipledger.Tx) { c.shard(b).put(string(b), tx) }

func (c *txCache) remove(b []byte) {
	s := c.shard(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, string(b))
}

func (c *txCache) len() int { return shardsLen(c.shards[:]) }
