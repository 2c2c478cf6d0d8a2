package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
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
	InclusionProof(index, size uint64) ([][]byte, error)
	ConsistencyProof(size1, size2 uint64) ([][]byte, error)
	LeafIndex(o chain.TxOutcome) (uint64, error)
}

// InclusionInfo answers GET /v1/log/proof/inclusion: leaf Index is in the tree of Size
// with Root; Proof is the RFC 9162 audit path, leaf to root.
type InclusionInfo struct {
	Index    uint64   `json:"index"`
	Size     uint64   `json:"size"`
	Root     []byte   `json:"root"`
	LeafHash []byte   `json:"leaf_hash"`
	Proof    [][]byte `json:"proof"`
}

// ConsistencyInfo answers GET /v1/log/proof/consistency: the tree of Old is a prefix of
// the tree of New.
type ConsistencyInfo struct {
	Old   uint64   `json:"old"`
	New   uint64   `json:"new"`
	Proof [][]byte `json:"proof"`
}

func (s *server) mountLog(lr logReader) {
	s.mux.HandleFunc("GET /v1/log/checkpoint", func(w http.ResponseWriter, r *http.Request) {
		// The newest checkpoint with witness cosignatures, else the node's own.
		cp := lr.CosignedCheckpoint()
		if cp == nil {
			s.fail(w, r, notFound("no checkpoint signed yet"))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(cp)
	})
	s.mux.HandleFunc("GET /v1/log/key", func(w http.ResponseWriter, r *http.Request) {
		k := lr.LogVerifierKey()
		if k == "" {
			s.fail(w, r, notFound("this node signs no checkpoints"))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, k)
	})
	s.mux.HandleFunc("GET /v1/log/tile/{path...}", func(w http.ResponseWriter, r *http.Request) {
		t, err := tlog.ParseTilePath("tile/" + r.PathValue("path"))
		if err != nil {
			s.fail(w, r, invalid("%v", err))
			return
		}
		b, err := lr.Tile(t)
		if errors.Is(err, chain.ErrTileNotFound) {
			s.fail(w, r, notFound("the log has no tile %s", t.Path()))
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if t.Width == tlog.TileWidth {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Write(b)
	})
	s.mux.HandleFunc("GET /v1/log/proof/inclusion", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		size, root := lr.LogSize()
		if v := q.Get("size"); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n == 0 || n > size {
				s.fail(w, r, invalid("size %.30q: want 1..%d", v, size))
				return
			}
			size, root = n, nil
		}
		var index uint64
		switch {
		case q.Get("hash") != "":
			h, err := ipledger.ParseHash(q.Get("hash"))
			if err != nil {
				s.fail(w, r, invalid("hash: %v", err))
				return
			}
			o, ok, err := s.app.Outcome(h)
			if err == nil && !ok {
				err = notFound("no committed transaction %s", h)
			}
			if err == nil {
				index, err = lr.LeafIndex(o)
			}
			if err != nil {
				s.fail(w, r, err)
				return
			}
		case q.Get("index") != "":
			n, err := strconv.ParseUint(q.Get("index"), 10, 64)
			if err != nil {
				s.fail(w, r, invalid("index %.30q: want a number", q.Get("index")))
				return
			}
			index = n
		default:
			s.fail(w, r, invalid("give hash= or index="))
			return
		}
		if index >= size {
			s.fail(w, r, notFound("leaf %d is not in the tree of size %d", index, size))
			return
		}
		p, err := lr.InclusionProof(index, size)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		leaf, err := lr.LogNode(0, index)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeJSON(w, http.StatusOK, InclusionInfo{Index: index, Size: size, Root: root, LeafHash: leaf, Proof: p})
	})
	s.mux.HandleFunc("GET /v1/log/proof/consistency", func(w http.ResponseWriter, r *http.Request) {
		size, _ := lr.LogSize()
		old, err1 := strconv.ParseUint(r.URL.Query().Get("old"), 10, 64)
		nw, err2 := strconv.ParseUint(r.URL.Query().Get("new"), 10, 64)
		if err1 != nil || err2 != nil || old == 0 || old > nw || nw > size {
			s.fail(w, r, invalid("want old= and new= with 1 ≤ old ≤ new ≤ %d", size))
			return
		}
		p, err := lr.ConsistencyProof(old, nw)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeJSON(w, http.StatusOK, ConsistencyInfo{Old: old, New: nw, Proof: p})
	})
}
