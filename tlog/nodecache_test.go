package tlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
)

// TestNodeCache checks that cached hashes are the reader's, that a node the reader does
// not have yet is read again later, that the memory bound holds for the lower levels but
// not for the upper ones, and concurrent use (run with -race).
func TestNodeCache(t *testing.T) {
	var reads atomic.Int64
	var mu sync.Mutex
	missing := map[[2]uint64]bool{{0, 7}: true}
	node := func(level uint, index uint64) []byte {
		h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte{byte(level)}, index))
		return h[:]
	}
	read := func(level uint, index uint64) ([]byte, error) {
		reads.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if missing[[2]uint64{uint64(level), index}] {
			return nil, nil
		}
		return node(level, index), nil
	}
	c := NewNodeCache(read, 2*chunkNodes*32) // two chunks
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(0); i < 3*chunkNodes; i++ {
				level := uint(i % 2 * uint64(g%2) * alwaysCached)
				h, err := c.Read(level, i)
				if err != nil {
					t.Error(err)
					return
				}
				if level == 0 && i == 7 {
					if h != nil {
						t.Errorf("node 0/7: %x, want nil", h)
					}
					continue
				}
				if !bytes.Equal(h, node(level, i)) {
					t.Errorf("node %d/%d: %x", level, i, h)
					return
				}
			}
		}()
	}
	wg.Wait()
	// A second pass over what fits reads nothing, except the node that was missing.
	mu.Lock()
	delete(missing, [2]uint64{0, 7})
	mu.Unlock()
	before := reads.Load()
	for i := uint64(0); i < 2*chunkNodes; i++ {
		if h, _ := c.Read(0, i); !bytes.Equal(h, node(0, i)) {
			t.Fatalf("node 0/%d: %x", i, h)
		}
	}
	if n := reads.Load() - before; n != 1 {
		t.Fatalf("%d reads for cached nodes and node 0/7, want 1", n)
	}
	// Level 0 beyond the two chunks is not kept; upper levels are, beyond the bound.
	before = reads.Load()
	c.Read(0, 2*chunkNodes)
	c.Read(0, 2*chunkNodes)
	c.Read(alwaysCached, 5*chunkNodes)
	c.Read(alwaysCached, 5*chunkNodes)
	if n := reads.Load() - before; n != 3 {
		t.Fatalf("%d reads, want 3 (two of a level-0 node over the bound, one of an upper node)", n)
	}
}
