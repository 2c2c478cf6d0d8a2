package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/tlog"
)

// txData is the transaction page's model.
type txData struct {
	Hash    ipledger.Hash
	Outcome ipledger.TxOutcome
	Time    time.Time
	Kind    string
	// From the transparency log's leaf, when it decodes: the signers and the body.
	Signers  []string
	Sequence uint64
	Body     string // indented JSON, cut to maxBodyShown bytes
	BodyCut  bool
	Size     int
	// Touched is the objects it changed, at most MaxRows; TouchedMore counts the rest.
	Touched     []string
	TouchedMore int
}

// maxBodyShown is the most of a transaction's body the page shows (an import's batch is
// up to 64 KB of JSON); the JSON twin has all of it.
const maxBodyShown = 8 << 10

func (h *handler) tx(r *http.Request, snap *ipledger.Snapshot) (*Page, error) {
	arg := r.PathValue("hash")
	hash, err := ipledger.ParseHash(strings.ToLower(arg))
	if err != nil {
		return nil, invalid("%.80q is not a transaction hash (64 hexadecimal digits)", arg)
	}
	out, ok, err := h.o.Reader.Outcome(hash)
	if err != nil {
		return nil, fmt.Errorf("outcome of %s: %w", hash, err)
	}
	if !ok {
		return nil, notFound("transaction %s is not committed (it may still be waiting in a mempool)", hash)
	}
	rec, err := h.o.Reader.Block(out.Height)
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", out.Height, err)
	}
	if rec == nil || int(out.Index) >= len(rec.Txs) {
		return nil, fmt.Errorf("tx %s: block %d has no record of it", hash, out.Height)
	}
	d := &txData{Hash: hash, Outcome: out, Time: rec.Time, Kind: rec.Txs[out.Index].Kind, Touched: out.Touched}
	if len(d.Touched) > MaxRows {
		d.Touched, d.TouchedMore = d.Touched[:MaxRows], len(d.Touched)-MaxRows
	}
	// A block appends one leaf per transaction, then its end-of-block leaf.
	if n := uint64(len(rec.Txs)) + 1; rec.LogSize >= n {
		if err := h.txLeaf(d, rec.LogSize-n+uint64(out.Index)); err != nil {
			return nil, err
		}
	}
	return &Page{Title: "Transaction " + hash.String()[:16] + "…", JSON: "/v1/tx/" + hash.String(), name: "tx", Data: d}, nil
}

// txLeaf fills d's signers and body from log leaf i, if it is d's transaction and decodes.
func (h *handler) txLeaf(d *txData, i uint64) error {
	leaf, err := h.o.Reader.Leaf(i)
	if err != nil {
		return fmt.Errorf("tx %s: leaf %d: %w", d.Hash, i, err)
	}
	l, err := tlog.DecodeLeaf(leaf)
	if err != nil {
		return nil // a log that starts later (state sync) has no such leaf
	}
	tl, ok := l.(tlog.TxLeaf)
	if !ok || ipledger.HashTx(tl.Tx) != d.Hash {
		return nil
	}
	d.Size = len(tl.Tx)
	tx, err := ipledger.DecodeTx(tl.Tx)
	if err != nil {
		return nil // committed with a decode failure as its result
	}
	d.Sequence = tx.Sequence
	for _, s := range tx.Signatures {
		d.Signers = append(d.Signers, s.Org)
	}
	var b bytes.Buffer
	if json.Indent(&b, tx.Body, "", "  ") == nil {
		d.Body = b.String()
		if len(d.Body) > maxBodyShown {
			cut := strings.LastIndexByte(d.Body[:maxBodyShown], '\n')
			d.Body, d.BodyCut = d.Body[:max(cut, 0)], true
		}
	}
	return nil
}
