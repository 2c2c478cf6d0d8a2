package chain

import (
	"crypto/sha256"
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/ipledger/ipledger"
)

// BenchmarkSubmitCaches runs the caches' share of a submission's life from many
// goroutines at once, as a node's HTTP handlers do when a batch of signature checks
// wakes its 64 submitters together: the verified mark and the decoded copy put, read by
// CheckTx, dropped at commit.
func BenchmarkSubmitCaches(b *testing.B) {
	var verified sigCache
	var decoded txCache
	verified.init(200_000)
	decoded.init(200_000)
	var next atomic.Uint64
	b.SetParallelism(256) // 256 × GOMAXPROCS submitters
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		raw := make([]byte, 320) // about a registry transaction's size
		for pb.Next() {
			binary.BigEndian.PutUint64(raw, next.Add(1))
			tx := &ipledger.Tx{Hash: ipledger.Hash(sha256.Sum256(raw[:8]))}
			if !verified.has(tx.Hash) {
				verified.add(tx.Hash)
			}
			decoded.put(raw, tx)
			if decoded.get(raw) != tx {
				b.Error("decoded copy lost")
			}
			decoded.remove(raw)
			verified.remove(tx.Hash)
		}
	})
}

// TestCachesBounded checks that the caches forget rather than grow past their bound, and
// keep what was put until then.
func TestCachesBounded(t *testing.T) {
	var verified sigCache
	var decoded txCache
	verified.init(1000)
	decoded.init(1000)
	raw := make([]byte, 40)
	for i := range 5000 {
		binary.BigEndian.PutUint64(raw, uint64(i))
		h := ipledger.Hash(sha256.Sum256(raw[:8]))
		verified.add(h)
		decoded.put(raw, &ipledger.Tx{Hash: h})
		if !verified.has(h) || decoded.get(raw) == nil {
			t.Fatalf("entry %d lost at once", i)
		}
	}
	if n := verified.len(); n > 1000+cacheShards {
		t.Errorf("verified holds %d, bound 1000", n)
	}
	if n := decoded.len(); n > 1000+cacheShards {
		t.Errorf("decoded holds %d, bound 1000", n)
	}
}
