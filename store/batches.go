package store

import (
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// retainedBatchSize is the largest batch buffer the store keeps for the next commit. A
// node's block of 1,000 transactions writes a few MB per batch; without reuse, Pebble
// allocated each anew, growing it by doubling, and that was a fifth of everything a node
// under load allocated. An import's batches are larger and are dropped after use, so the
// store holds at most three such buffers.
const retainedBatchSize = 8 << 20

// batchSlot keeps one committed batch, reset, for reuse.
type batchSlot struct {
	mu sync.Mutex
	b  *pebble.Batch
}

// take returns the kept batch, or a new one.
func (s *Store) take(slot *batchSlot) *pebble.Batch {
	slot.mu.Lock()
	b := slot.b
	slot.b = nil
	slot.mu.Unlock()
	if b == nil {
		b = s.db.NewBatch(pebble.WithMaxRetainedSizeBytes(retainedBatchSize))
	}
	return b
}

// give takes back a batch from take that was committed or is to be discarded: it is reset
// and kept if the slot is free and the store open, else closed.
func (s *Store) give(slot *batchSlot, b *pebble.Batch) {
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.b != nil || s.shut.Load() {
		_ = b.Close() // closing a batch only returns it to a pool
		return
	}
	b.Reset()
	slot.b = b
}

// drop closes the kept batch; Close calls it.
func (slot *batchSlot) drop() {
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.b != nil {
		_ = slot.b.Close()
		slot.b = nil
	}
}
