package chain

import (
	"runtime"
	"sync"

	"github.com/ipledger/ipledger"
)

// maxVerifyBatch bounds how many submitted transactions one batch verification takes.
// curve25519-voi's batch saves about 40% per signature from a handful of signatures on;
// beyond a few dozen the saving flattens while the wait of the first in the batch grows.
const maxVerifyBatch = 64

// verifyReq is one submitted transaction waiting for its signatures to be checked.
type verifyReq struct {
	tx   *ipledger.Tx
	done chan error
}

// verifier checks the signatures of concurrently submitted transactions in batches. The
// submitting goroutines do the work themselves: at most one per two CPUs drains the queue
// (the rest of the node needs the others, and a short queue makes batches), and each
// takes whatever is queued, up to maxVerifyBatch, as one batch. Nobody waits for a
// batch to fill, so a lone transaction on an idle node is checked at once, while a busy
// node, where submissions queue behind the drainers, gets the batch discount. There are
// no background goroutines to stop.
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
	for {
		v.mu.Lock()
		if len(v.queue) == 0 {
			v.active--
			v.mu.Unlock()
			return
		}
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
