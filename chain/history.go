package chain

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/tlog"
)

// Paged history reads for the read side: a page of an object's history index, and the
// details of one entry from its log leaf rather than from its block's record (an import
// block's record lists tens of thousands of transactions and decodes to megabytes).

// HistoryPage lists at most limit committed transactions that touched object, oldest
// first, from just after position after, and whether more follow. It reads at most
// limit+1 index entries and stops with ctx's error once ctx is done.
func (a *App) HistoryPage(ctx context.Context, object string, after ipledger.HistoryPos, limit int) ([]ipledger.HistoryEntry, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	prefix := append(append([]byte{sideHistory}, object...), 0)
	end := append(append([]byte{sideHistory}, object...), 1)
	start := prefix
	if after != (ipledger.HistoryPos{}) {
		// Keys are prefix ‖ height(8) ‖ index(4): one more byte sorts just past after's key.
		start = append(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(slices.Clip(prefix), uint64(after.Height)), after.Index), 0)
	}
	top := a.Committed().Height
	var out []ipledger.HistoryEntry
	more := false
	var cerr error
	err := a.st.SideIterate(start, end, false, func(k, v []byte) bool {
		p := k[len(prefix):]
		if len(p) != 12 || len(v) != 32 {
			return true
		}
		e := ipledger.HistoryEntry{Height: int64(binary.BigEndian.Uint64(p)), Index: binary.BigEndian.Uint32(p[8:])}
		if e.Height > top {
			return false
		}
		if len(out) == limit {
			more = true
			return false
		}
		if len(out)%64 == 63 {
			if cerr = ctx.Err(); cerr != nil {
				return false
			}
		}
		copy(e.Hash[:], v)
		out = append(out, e)
		return true
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("history of %s: %w", object, err)
	}
	return out, more, nil
}

// HistoryDetailOf returns the time, kind and result code of the transaction at e from its
// log leaf: two small reads (the log size before e's block, the leaf) instead of decoding
// the block's record. ok is false when the log cannot say (a node restored from a snapshot
// without the older log): the caller falls back to Block.
func (a *App) HistoryDetailOf(e ipledger.HistoryEntry) (d ipledger.HistoryDetail, ok bool, err error) {
	if e.Height < 1 || e.Height > a.Committed().Height {
		return d, false, nil
	}
	var first uint64 // leaves before e's block: the log size after the previous one
	if e.Height > 1 {
		b, err := a.st.SideGet(u64key(sideTree, uint64(e.Height-1)))
		if err != nil {
			return d, false, fmt.Errorf("log size at %d: %w", e.Height-1, err)
		}
		if len(b) < 8 {
			return d, false, nil
		}
		first = binary.BigEndian.Uint64(b)
	}
	// The leaf is read in place, not copied: an import's leaves run to 64 KiB each, and a
	// registry's history lists dozens of them.
	key := u64key(sideLeaf, first+uint64(e.Index))
	err = a.st.SideIterate(key, append(key, 0), false, func(_, leaf []byte) bool {
		const txHeader, endHeader = 25, 21 // see tlog.TxLeaf.Encode and EndBlockLeaf.Encode
		if len(leaf) < endHeader || int64(binary.BigEndian.Uint64(leaf[1:])) != e.Height {
			return false
		}
		at := time.Unix(0, int64(binary.BigEndian.Uint64(leaf[9:]))).UTC()
		switch leaf[0] {
		case tlog.LeafTx:
			if len(leaf) < txHeader || binary.BigEndian.Uint32(leaf[17:]) != e.Index {
				return false
			}
			tx := leaf[txHeader:]
			if ipledger.HashTx(tx) != e.Hash {
				return false
			}
			d = ipledger.HistoryDetail{Time: at, Code: ipledger.Code(binary.BigEndian.Uint32(leaf[21:]))}
			// FinalizeBlock records a kind only for a transaction that decoded and was signed.
			if t, err := ipledger.DecodeTx(tx); err == nil && d.Code != ipledger.CodeBadSignature {
				d.Kind = t.Kind.String()
			}
			ok = true
		case tlog.LeafEndBlock:
			if binary.BigEndian.Uint32(leaf[17:]) == e.Index {
				d, ok = ipledger.HistoryDetail{Time: at, Code: ipledger.CodeOK, EndBlock: true}, true
			}
		}
		return false
	})
	if err != nil {
		return ipledger.HistoryDetail{}, false, fmt.Errorf("leaf %d: %w", first+uint64(e.Index), err)
	}
	return d, ok, nil
}
