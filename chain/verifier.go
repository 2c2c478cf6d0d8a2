package chain

import (
	"runtime"
	"sync"
	"time"

	"github.com/ipledger/ipledger"
)

// maxVerifyBatch bounds how many submitted transactions one batch verification takes.
// curve25519-voi's batch costs about 40 µs a signature in batches of 4 (more than one at a
// time, 38 µs, with an expanded key), 26 in batches of 16 and 21 in batches of 64 (`go test
// -bench BatchVerifier .`); past that the saving flattens while the first in the batch
// waits longer.
const maxVerifyBatch = 64

// A drainer holding fewer than minVerifyBatch transactions waits up to verifyWait, in
// steps of verifyWaitStep, for more to queue: a millisecond is nothing beside the block
// interval a submission waits for anyway, and under load it turns handfuls into batches.
const (
	minVerifyBatch = 16
	verifyWait     = time.Millisecond
	verifyWaitStep = 100 * time.Microsecond
)

// verifyReq is one submitted transaction waiting for its signatures to be checked.
type verifyReq struct {
	tx   *ipledger.Tx
	done chan error
}

// verifier checks the signatures of concurrently submitted transactions in batches. The
// submitting goroutines do the work themselves: at most one per two CPUs drains the queue
// (the rest of the node needs the others, and a short queue makes batches), and each
// takes whatever is queued, up to maxVerifyBatch, as one batch, after waiting at most
// verifyWait for a short queue to grow. A lone transaction on an idle node is checked
// within a millisecond, while a busy node gets the batch discount. There are no background
// goroutines to stop.
type verifier struct {
	mu     sync.Mutex
	queue  []verifyReq
	active int // goroutines draining the queue
	max    int
}

func newVerifier() *verifier { return &verifier{max: max(1, runtime.GOMAXPROCS(0)/2)} }

// verify checks every signature of tx and returns what Tx.VerifySignatures would.
func (v *verifier) verify(tx *ipledger.Tx) error {
	done := make(chan error, 1)
	v.mu.Lock()
	v.queue = append(v.queue, verifyReq{tx, done})
	drain := v.active < v.max
	if drain {
		v.active++
	}
	v.mu.Unlock()
	if drain {
		v.drain()
	}
	return <-done
}

// drain verifies queued batches until the queue is empty.
func (v *verifier) drain() {
	var batch []verifyReq
	var waited time.Duration
	for {
		v.mu.Lock()
		if len(v.queue) == 0 {
			v.active--
			v.mu.Unlock()
			return
		}
		if len(v.queue) < minVerifyBatch && waited < verifyWait {
			v.mu.Unlock()
			time.Sleep(verifyWaitStep)
			waited += verifyWaitStep
			continue
		}
		waited = 0
		n := min(len(v.queue), maxVerifyBatch)
		batch = append(batch[:0], v.queue[:n]...)
		v.queue = append(v.queue[:0], v.queue[n:]...)
		v.mu.Unlock()
		if len(batch) == 1 {
			batch[0].done <- batch[0].tx.VerifySignatures()
			continue
		}
		bv := ipledger.NewBatchVerifier()
		for _, r := range batch {
			bv.Add(r.tx)
		}
		for i, good := range bv.Verify(nil) {
			if good {
				batch[i].done <- nil
			} else {
				// Rare: say which signature failed, exactly as a lone check would.
				batch[i].done <- batch[i].tx.VerifySignatures()
			}
		}
	}
}
