package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/tlog"
)

// The transparency log over HTTP: the node's signed checkpoint, the C2SP tlog-tiles
// layout under /v1/log/ (a plain web server or CDN could serve the same files), and
// inclusion and consistency proofs.

// logReader is the part of *chain.App the log routes read.
type logReader interface {
	CosignedCheckpoint() []byte
	LogVerifierKey() string
	LogSize() (uint64, []byte)
	Tile(t tlog.Tile) ([]byte, error)
	LogNode(level uint, index uint64) ([]byte, error)
	LeafIndex(o ipledger.TxOutcome) (uint64, error)
}

// txPositioner finds a committed transaction's block and index without reading the block
// record: *chain.App.
type txPositioner interface {
	TxPosition(hash ipledger.Hash) (height int64, index uint32, ok bool, err error)
}

// logProofs serves proofs from a cache of the log's node hashes (tlog.NodeCache: they
// never change once written) and of where each block's leaves lie, so a proof is a few
// map lookups and hashes rather than a store read per node and a block record decoded.
type logProofs struct {
	s     *server
	lr    logReader
	nodes *tlog.NodeCache

	mu    sync.RWMutex
	spans map[int64]blockSpan
}

// blockSpan is where a block's leaves end in the log (its LogSize) and how many of them
// are transactions (its end-of-block leaf follows them).
type blockSpan struct {
	end uint64
	txs uint32
}

// maxSpans bounds the block spans kept; the cache is dropped and refilled beyond it.
const maxSpans = 1 << 18

// leafOfTx returns the log index of a committed transaction's leaf; ok is false if the
// transaction is not committed.
func (lp *logProofs) leafOfTx(h ipledger.Hash) (index uint64, ok bool, err error) {
	tp, fast := lp.s.app.(txPositioner)
	if !fast {
		o, ok, err := lp.s.app.Outcome(h)
		if err != nil || !ok {
			return 0, ok, err
		}
		index, err = lp.lr.LeafIndex(o)
		return index, err == nil, err
	}
	height, i, ok, err := tp.TxPosition(h)
	if err != nil || !ok {
		return 0, ok, err
	}
	lp.mu.RLock()
	sp, cached := lp.spans[height]
	lp.mu.RUnlock()
	if !cached {
		rec, err := lp.s.app.Block(height)
		if err != nil {
			return 0, false, fmt.Errorf("leaf of %s: %w", h, err)
		}
		if rec == nil || rec.LogSize < uint64(len(rec.Txs))+1 {
			return 0, false, fmt.Errorf("leaf of %s: block %d has no record of its leaves", h, height)
		}
		sp = blockSpan{end: rec.LogSize, txs: uint32(len(rec.Txs))}
		lp.mu.Lock()
		if len(lp.spans) >= maxSpans {
			clear(lp.spans)
		}
		lp.spans[height] = sp
		lp.mu.Unlock()
	}
	if i >= sp.txs {
		return 0, false, fmt.Errorf("leaf of %s: block %d has %d transactions, not %d", h, height, sp.txs, i+1)
	}
	// A block appends its transactions in order, then its end-of-block leaf.
	return sp.end - 1 - uint64(sp.txs) + uint64(i), true, nil
}

func (s *server) mountLog(lr logReader) {
	lp := &logProofs{s: s, lr: lr, nodes: tlog.NewNodeCache(lr.LogNode, 0), spans: map[int64]blockSpan{}}
	s.logProofs = lp
	s.handle("GET /v1/log/checkpoint", func(w http.ResponseWriter, r *http.Request) error {
		// The newest checkpoint with witness cosignatures, else the node's own.
		cp := lr.CosignedCheckpoint()
		if cp == nil {
			return notFound("no checkpoint signed yet")
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(cp)
		return nil
	})
	s.handle("GET /v1/log/key", func(w http.ResponseWriter, r *http.Request) error {
		k := lr.LogVerifierKey()
		if k == "" {
			return notFound("this node signs no checkpoints")
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, k)
		return nil
	})
	s.handle("GET /v1/log/tile/{path...}", func(w http.ResponseWriter, r *http.Request) error {
		t, err := tlog.ParseTilePath("tile/" + r.PathValue("path"))
		if err != nil {
			return invalid("%v", err)
		}
		b, err := lr.Tile(t)
		if errors.Is(err, tlog.ErrTileNotFound) {
			return notFound("the log has no tile %s", t.Path())
		}
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if t.Width == tlog.TileWidth {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Write(b)
		return nil
	})
	s.handle("GET /v1/log/proof/inclusion", func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		size, root := lr.LogSize()
		if v := q.Get("size"); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n == 0 || n > size {
				return invalid("size %.30q: want 1..%d", v, size)
			}
			size, root = n, nil
		}
		var index uint64
		switch {
		case q.Get("hash") != "":
			h, err := ipledger.ParseHash(q.Get("hash"))
			if err != nil {
				return invalid("hash: %v", err)
			}
			i, ok, err := lp.leafOfTx(h)
			if err == nil && !ok {
				err = notFound("no committed transaction %s", h)
			}
			if err != nil {
				return err
			}
			index = i
		case q.Get("index") != "":
			n, err := strconv.ParseUint(q.Get("index"), 10, 64)
			if err != nil {
				return invalid("index %.30q: want a number", q.Get("index"))
			}
			index = n
		default:
			return invalid("give hash= or index=")
		}
		if index >= size {
			return notFound("leaf %d is not in the tree of size %d", index, size)
		}
		p, err := tlog.InclusionProof(index, size, lp.nodes.Read)
		if err != nil {
			return err
		}
		leaf, err := lp.nodes.Read(0, index)
		if err != nil {
			return err
		}
		if len(leaf) != 32 {
			return fmt.Errorf("leaf %d: its hash is missing from the store", index)
		}
		bp := jsonBufs.Get().(*[]byte)
		b := appendInclusionJSON((*bp)[:0], &apitypes.InclusionInfo{Index: index, Size: size, Root: root, LeafHash: leaf, Proof: p})
		writeJSONBytes(w, http.StatusOK, b)
		*bp = b
		jsonBufs.Put(bp)
		return nil
	})
	s.handle("GET /v1/log/proof/consistency", func(w http.ResponseWriter, r *http.Request) error {
		size, _ := lr.LogSize()
		old, err1 := strconv.ParseUint(r.URL.Query().Get("old"), 10, 64)
		nw, err2 := strconv.ParseUint(r.URL.Query().Get("new"), 10, 64)
		if err1 != nil || err2 != nil || old == 0 || old > nw || nw > size {
			return invalid("want old= and new= with 1 ≤ old ≤ new ≤ %d", size)
		}
		p, err := tlog.ConsistencyProof(old, nw, lp.nodes.Read)
		if err != nil {
			return err
		}
		return s.writeJSON(w, http.StatusOK, apitypes.ConsistencyInfo{Old: old, New: nw, Proof: p})
	})
}

// jsonBufs recycles the buffers inclusion proofs are encoded into.
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// appendInclusionJSON appends the JSON of in, exactly as encoding/json writes it (with a
// newline, as writeJSON does), without reflection: the proof endpoint is the hottest one.
func appendInclusionJSON(b []byte, in *apitypes.InclusionInfo) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendUint(b, in.Index, 10)
	b = append(b, `,"size":`...)
	b = strconv.AppendUint(b, in.Size, 10)
	b = append(b, `,"root":`...)
	b = ipledger.AppendJSONBytes(b, in.Root)
	b = append(b, `,"leaf_hash":`...)
	b = ipledger.AppendJSONBytes(b, in.LeafHash)
	b = append(b, `,"proof":`...)
	if in.Proof == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, h := range in.Proof {
			if i > 0 {
				b = append(b, ',')
			}
			b = ipledger.AppendJSONBytes(b, h)
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...)
}
