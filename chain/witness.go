package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	tlogfmt "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger/witness"
)

// Witnessing: after each checkpoint the node signs, it asks every configured witness (C2SP
// tlog-witness add-checkpoint) to cosign it, off the consensus path. Each witness has one
// goroutine and at most one request in flight; it always sends the newest checkpoint
// (older ones it had no time for are skipped), with a consistency proof from the size the
// witness last cosigned, retries with exponential backoff, and learns the witness's size
// from a 409 answer (after a restart of either side it starts from 0 and is told). The
// cosignatures are verified with the witness's key and merged into the checkpoint note
// the node serves: the newest checkpoint any witness cosigned, with every cosignature
// collected for it.

// WitnessSpec is a witness the node asks for cosignatures.
type WitnessSpec struct {
	URL string // submission prefix: requests go to URL/add-checkpoint
	Key string // cosignature/v1 verifier key
}

// ParseWitnessSpec parses URL=VKEY. The key follows the last '=' that is not base64
// padding, so the URL may contain '=' (a query string).
func ParseWitnessSpec(s string) (WitnessSpec, error) {
	i := strings.LastIndex(strings.TrimRight(s, "="), "=")
	if i <= 0 {
		return WitnessSpec{}, fmt.Errorf("witness %q: want URL=VKEY", s)
	}
	ws := WitnessSpec{URL: s[:i], Key: s[i+1:]}
	u, err := url.Parse(ws.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return WitnessSpec{}, fmt.Errorf("witness %q: want an http or https URL before '='", s)
	}
	if _, err := witness.NewVerifier(ws.Key); err != nil {
		return WitnessSpec{}, fmt.Errorf("witness %s: %w", ws.URL, err)
	}
	return ws, nil
}

// parseWitnesses parses NodeOptions.Witnesses.
func parseWitnesses(specs []string) ([]WitnessSpec, error) {
	var out []WitnessSpec
	for _, s := range specs {
		ws, err := ParseWitnessSpec(s)
		if err != nil {
			return nil, err
		}
		out = append(out, ws)
	}
	return out, nil
}

// Retry delays after failed requests: doubling from the first to the last.
const (
	witnessMinBackoff = 250 * time.Millisecond
	witnessMaxBackoff = 30 * time.Second
	witnessTimeout    = 10 * time.Second
)

// witnessPool collects cosignatures of the node's checkpoints.
type witnessPool struct {
	app     *App
	log     *slog.Logger
	workers []*witnessWorker

	latest atomic.Pointer[[]byte] // the newest checkpoint the node signed

	mu       sync.Mutex
	cosigned *cosignedCheckpoint    // the newest checkpoint any witness cosigned
	served   atomic.Pointer[[]byte] // cosigned, encoded with all its signatures

	cancel context.CancelFunc
	wg     sync.WaitGroup

	submissions *prometheus.CounterVec
	size        *prometheus.GaugeVec
}

// checkpointNote is a checkpoint the node signed, parsed.
type checkpointNote struct {
	raw     []byte
	text    string
	size    uint64
	logSigs []note.Signature
}

type cosignedCheckpoint struct {
	checkpointNote
	cosigs map[int][]note.Signature // by worker
}

// witnessWorker drives one witness.
type witnessWorker struct {
	pool     *witnessPool
	idx      int
	name     string // the witness key's name, for logs and metrics
	client   witness.Client
	verifier *witness.Verifier
	wake     chan struct{}

	// Worker goroutine only.
	known uint64 // the witness's tree size as far as this node knows
	done  uint64 // the size it last cosigned for this node
}

// startWitnesses starts asking the witnesses for cosignatures of each checkpoint, and
// offers them the last one signed already. It must run before CometBFT starts.
func (a *App) startWitnesses(specs []WitnessSpec, reg prometheus.Registerer) error {
	if len(specs) == 0 {
		return nil
	}
	if a.cfg.LogSigner == nil {
		return errors.New("witnesses configured, but the node signs no checkpoints")
	}
	p := &witnessPool{app: a, log: a.log}
	p.submissions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ipledger_witness_submissions_total",
		Help: "add-checkpoint requests to witnesses, by witness and result (cosigned, conflict, error)."}, []string{"witness", "result"})
	p.size = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ipledger_witness_cosigned_size",
		Help: "Tree size of the last checkpoint each witness cosigned for this node."}, []string{"witness"})
	if reg != nil {
		if err := errors.Join(reg.Register(p.submissions), reg.Register(p.size)); err != nil {
			return fmt.Errorf("witness metrics: %w", err)
		}
	}
	hc := &http.Client{Timeout: witnessTimeout}
	for i, s := range specs {
		v, err := witness.NewVerifier(s.Key)
		if err != nil {
			return fmt.Errorf("witness %s: %w", s.URL, err)
		}
		p.workers = append(p.workers, &witnessWorker{pool: p, idx: i, name: v.Name(), verifier: v,
			client: witness.Client{URL: s.URL, HTTP: hc}, wake: make(chan struct{}, 1)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	for _, w := range p.workers {
		p.wg.Add(1)
		go w.run(ctx)
	}
	a.witnesses = p
	if cp := a.Checkpoint(); cp != nil {
		p.offer(cp)
	}
	a.log.Info("witnessing checkpoints", "witnesses", len(specs))
	return nil
}

// stopWitnesses stops the witness goroutines and waits for them (they read the store).
func (a *App) stopWitnesses() {
	if p := a.witnesses; p != nil {
		p.cancel()
		p.wg.Wait()
	}
}

// CosignedCheckpoint returns the newest checkpoint note a witness cosigned, with every
// cosignature collected for it after the node's own signature; before any witness has
// answered (or with none configured), the last checkpoint the node signed; nil before the
// first.
func (a *App) CosignedCheckpoint() []byte {
	if p := a.witnesses; p != nil {
		if b := p.served.Load(); b != nil {
			return *b
		}
	}
	return a.Checkpoint()
}

// offer hands a newly signed checkpoint to the witnesses. It never blocks: a witness busy
// with a request takes the newest checkpoint when it is done.
func (p *witnessPool) offer(signed []byte) {
	if p == nil {
		return
	}
	p.latest.Store(&signed)
	for _, w := range p.workers {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// errNothingNew means the witness has cosigned the newest checkpoint already.
var errNothingNew = errors.New("nothing new to cosign")

func (w *witnessWorker) run(ctx context.Context) {
	defer w.pool.wg.Done()
	failures, cosigned := 0, false
	var delay time.Duration // after a failure; zero waits for a new checkpoint
	for {
		if delay == 0 {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			}
		} else {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		delay = 0
		// Submit the newest checkpoint until the witness has it: a 409 that teaches the
		// witness's size is retried at once (twice at most), anything else after a delay.
		for conflicts := 0; ; {
			err := w.submit(ctx)
			if errors.Is(err, errNothingNew) || ctx.Err() != nil {
				break
			}
			var c *witness.ConflictError
			switch {
			case err == nil:
				if failures > 0 || !cosigned {
					w.pool.log.Info("witness cosigned", "witness", w.name, "size", w.done, "after_failures", failures)
				}
				failures, cosigned = 0, true
				continue
			case errors.As(err, &c) && !c.Fork && conflicts < 2:
				conflicts++
				w.pool.submissions.WithLabelValues(w.name, "conflict").Inc()
				w.pool.log.Debug("witness told its tree size", "witness", w.name, "size", c.Size)
				continue
			}
			w.pool.submissions.WithLabelValues(w.name, "error").Inc()
			failures++
			delay = min(witnessMinBackoff<<min(failures-1, 16), witnessMaxBackoff)
			w.pool.log.Warn("witness request failed", "witness", w.name, "url", w.client.URL, "err", err, "failures", failures, "retry_in", delay)
			break
		}
	}
}

// submit sends the newest checkpoint to the witness and merges its cosignature.
func (w *witnessWorker) submit(ctx context.Context) error {
	signed := w.pool.latest.Load()
	if signed == nil {
		return errNothingNew
	}
	cp, err := w.pool.parse(*signed)
	if err != nil {
		return err
	}
	if cp.size <= w.done {
		return errNothingNew
	}
	old := w.known
	if old > cp.size {
		return fmt.Errorf("the witness has cosigned size %d, beyond this node's log of %d", old, cp.size)
	}
	var proof [][]byte
	if old > 0 && old < cp.size {
		if proof, err = w.pool.app.consistencyProof(old, cp.size); err != nil {
			return fmt.Errorf("proof from %d to %d: %w", old, cp.size, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, witnessTimeout)
	defer cancel()
	body, err := w.client.AddCheckpoint(ctx, witness.AddCheckpointRequest{OldSize: old, Proof: proof, Checkpoint: cp.raw})
	var conflict *witness.ConflictError
	if errors.As(err, &conflict) {
		if conflict.Fork {
			return fmt.Errorf("the witness holds another checkpoint of size %d than this node's: %w", conflict.Size, err)
		}
		w.known = conflict.Size
		return err
	}
	if err != nil {
		return err
	}
	sigs, err := witness.VerifyCosignatures(cp.text, body, w.verifier)
	if err != nil {
		return fmt.Errorf("answer for size %d: %w", cp.size, err)
	}
	w.known, w.done = cp.size, cp.size
	w.pool.submissions.WithLabelValues(w.name, "cosigned").Inc()
	w.pool.size.WithLabelValues(w.name).Set(float64(cp.size))
	w.pool.merge(w.idx, cp, sigs)
	w.pool.log.Debug("witness cosigned", "witness", w.name, "size", cp.size)
	return nil
}

// parse reads a checkpoint note this node signed.
func (p *witnessPool) parse(signed []byte) (checkpointNote, error) {
	n, err := note.Open(signed, note.VerifierList(p.app.logVerifier))
	if err != nil {
		return checkpointNote{}, fmt.Errorf("own checkpoint: %w", err)
	}
	var cp tlogfmt.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		return checkpointNote{}, fmt.Errorf("own checkpoint: %w", err)
	}
	return checkpointNote{raw: signed, text: n.Text, size: cp.Size, logSigs: n.Sigs}, nil
}

// merge records a witness's cosignatures of cp: the served note becomes cp's if cp is
// newer than it, and gains the cosignatures if it is cp's.
func (p *witnessPool) merge(idx int, cp checkpointNote, sigs []note.Signature) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.cosigned
	switch {
	case c == nil || cp.size > c.size:
		c = &cosignedCheckpoint{checkpointNote: cp, cosigs: map[int][]note.Signature{}}
		p.cosigned = c
	case cp.size < c.size:
		return // this witness lags behind another: the served note is newer
	}
	c.cosigs[idx] = sigs
	all := append([]note.Signature(nil), c.logSigs...)
	for i := range p.workers {
		all = append(all, c.cosigs[i]...)
	}
	b, err := note.Sign(&note.Note{Text: c.text, Sigs: all})
	if err != nil {
		p.log.Error("merging cosignatures", "err", err)
		return
	}
	p.served.Store(&b)
}
