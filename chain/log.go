package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	tlogfmt "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/tlog"
)

// The transparency log as the node serves it: every complete subtree's hash is kept in the
// side table 'N' as blocks append leaves, so inclusion and consistency proofs are a handful
// of reads, and the C2SP tlog-tiles hash tiles are ranges of one level. After each commit
// the node signs a checkpoint (C2SP tlog-checkpoint) of the new tree with its log key,
// after checking it is consistent with the last one it signed: a node never signs two
// checkpoints that contradict each other, whatever happened to its database.

func logNodeKey(level uint, index uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{sideLogNode, byte(level)}, index)
}

// LogNode returns the hash of the complete subtree of the log at level and index, or nil
// if the log does not have it yet.
func (a *App) LogNode(level uint, index uint64) ([]byte, error) {
	return a.st.SideGet(logNodeKey(level, index))
}

// LogSize returns the number of leaves in the committed log and its root.
func (a *App) LogSize() (uint64, []byte) {
	rec := a.Committed().Block
	return rec.LogSize, rec.LogRoot
}

// consistencyProof proves that the log of size1 is a prefix of the log of size2.
func (a *App) consistencyProof(size1, size2 uint64) ([][]byte, error) {
	if committed, _ := a.LogSize(); size2 > committed {
		return nil, fmt.Errorf("tree size %d is beyond the committed %d", size2, committed)
	}
	return tlog.ConsistencyProof(size1, size2, a.LogNode)
}

// LeafIndex returns the log index of a committed transaction's leaf.
func (a *App) LeafIndex(o ipledger.TxOutcome) (uint64, error) {
	rec, err := a.Block(o.Height)
	if err != nil {
		return 0, err
	}
	if rec == nil || int(o.Index) >= len(rec.Txs) {
		return 0, fmt.Errorf("block %d has no transaction %d", o.Height, o.Index)
	}
	// A block with transactions appends them in order, then its end-of-block leaf.
	return rec.LogSize - 1 - uint64(len(rec.Txs)) + uint64(o.Index), nil
}

// Tile returns the contents of a hash tile or entry bundle of the committed log, or
// tlog.ErrTileNotFound if the log does not have it (yet): a partial tile is served only while
// it is the right edge of the log at exactly its width.
func (a *App) Tile(t tlog.Tile) ([]byte, error) {
	size, _ := a.LogSize()
	level := uint(0)
	if t.Level > 0 {
		level = uint(t.Level) * tlog.TileHeight
	}
	if level >= 64 {
		return nil, tlog.ErrTileNotFound
	}
	width := size >> level // complete nodes at this level
	first := t.Index * tlog.TileWidth
	if t.Index > (1<<64-1)/tlog.TileWidth || first >= width {
		return nil, tlog.ErrTileNotFound
	}
	// A full tile once the log has all of it; a partial one at any width the log covers.
	if avail := min(width-first, tlog.TileWidth); uint64(t.Width) > avail {
		return nil, tlog.ErrTileNotFound
	}
	var out []byte
	for i := uint64(0); i < uint64(t.Width); i++ {
		var b []byte
		var err error
		if t.Level < 0 {
			if b, err = a.Leaf(first + i); err == nil && b != nil {
				b, err = tlog.AppendBundle(out, b)
			}
		} else if b, err = a.LogNode(level, first+i); err == nil && b != nil {
			b = append(out, b...)
		}
		if err != nil {
			return nil, fmt.Errorf("tile %s: %w", t.Path(), err)
		}
		if b == nil {
			return nil, fmt.Errorf("tile %s: node %d missing from the store", t.Path(), first+i)
		}
		out = b
	}
	return out, nil
}

// LogOrigin is the origin line of the chain's checkpoints.
func LogOrigin(chainID string) string { return "ipledger/" + chainID }

// Checkpoint returns the last checkpoint this node signed, as a signed note, or nil before
// the first.
func (a *App) Checkpoint() []byte {
	if p := a.checkpoint.Load(); p != nil {
		return *p
	}
	return nil
}

// loadCheckpoint reads the last signed checkpoint from the store.
func (a *App) loadCheckpoint() error {
	b, err := a.st.SideGet([]byte{sideCheckpoint})
	if err != nil {
		return fmt.Errorf("load checkpoint: %w", err)
	}
	if b != nil {
		a.checkpoint.Store(&b)
	}
	return nil
}

// signCheckpoint signs a checkpoint of the committed log if the log grew, after checking
// that the last signed checkpoint is a prefix of it. It refuses (and says why) rather than
// sign a checkpoint that contradicts an earlier one.
func (a *App) signCheckpoint() error {
	if a.cfg.LogSigner == nil || a.logRefused != nil {
		return a.logRefused
	}
	size, root := a.LogSize()
	if size == 0 {
		return nil
	}
	cp := tlogfmt.Checkpoint{Origin: LogOrigin(a.cfg.ChainID), Size: size, Hash: root}
	if last := a.Checkpoint(); last != nil {
		var old tlogfmt.Checkpoint
		n, err := note.Open(last, note.VerifierList(a.logVerifier))
		if err == nil {
			_, err = old.Unmarshal([]byte(n.Text))
		}
		if err != nil {
			return a.refuseLog(fmt.Errorf("the last signed checkpoint does not verify: %w", err))
		}
		if old.Size == size {
			if !bytes.Equal(old.Hash, root) {
				return a.refuseLog(fmt.Errorf("log of size %d has root %x, but the checkpoint signed for that size has %x", size, root, old.Hash))
			}
			return nil
		}
		if old.Size > size {
			return a.refuseLog(fmt.Errorf("log of size %d is smaller than the %d already signed", size, old.Size))
		}
		p, err := a.consistencyProof(old.Size, size)
		if err != nil {
			return a.refuseLog(fmt.Errorf("log of size %d cannot prove it extends the signed checkpoint of size %d: %w", size, old.Size, err))
		}
		if tlog.VerifyConsistency(old.Size, size, p, old.Hash, root) != nil {
			// The library's error dumps both roots as byte lists; the message names them.
			return a.refuseLog(fmt.Errorf("log of size %d (root %x) is not an extension of the signed checkpoint of size %d (root %x)",
				size, root, old.Size, old.Hash))
		}
	}
	signed, err := note.Sign(&note.Note{Text: string(cp.Marshal())}, a.cfg.LogSigner)
	if err != nil {
		return fmt.Errorf("sign checkpoint: %w", err)
	}
	b := a.st.NewSideBatch()
	if err := errors.Join(b.Set([]byte{sideCheckpoint}, signed), b.Commit(false)); err != nil {
		return fmt.Errorf("store checkpoint: %w", err)
	}
	a.checkpoint.Store(&signed)
	a.m.checkpoint.Set(float64(size))
	a.witnesses.offer(signed) // never blocks
	return nil
}

// refuseLog stops checkpoint signing for good and logs why once.
func (a *App) refuseLog(err error) error {
	a.stopSigning(err)
	a.log.Error("refusing to sign checkpoints", "err", err)
	return a.logRefused
}

// stopSigning stops checkpoint signing for good, for the reason err, without logging it:
// the caller does. Only the consensus goroutine, or loadMirror before the state machine is
// ready, calls it.
func (a *App) stopSigning(err error) {
	if a.logRefused == nil {
		a.logRefused = fmt.Errorf("checkpoint signing stopped: %w", err)
	}
	a.m.checkpointRefused.Set(1)
}

// LogVerifierKey returns the note verifier key of this node's log signatures ("" without
// a log key).
func (a *App) LogVerifierKey() string { return a.cfg.LogVerifierKey }
