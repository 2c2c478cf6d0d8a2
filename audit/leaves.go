package audit

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/tlog"
)

// compareReplayed compares the node's leaves up to size (what the replay store holds)
// with the replay's, before new heights are replayed.
func (r *run) compareReplayed(ctx context.Context, size uint64) error {
	for r.st.tree.Size() < size {
		it, ok := r.leaves.next(ctx)
		if !ok {
			return r.leaves.err
		}
		if err := r.compareLeaf(it); err != nil {
			return err
		}
	}
	return nil
}

// compareLeaf checks that the node's leaf it is the replay's leaf of that index, and adds
// it to the tree of compared leaves.
func (r *run) compareLeaf(it leafItem) error {
	r.rep.Fetched++
	if it.index != r.st.tree.Size() {
		return fmt.Errorf("audit: leaf %d out of order (want %d)", it.index, r.st.tree.Size())
	}
	mine, err := r.replay.App().Leaf(it.index)
	if err != nil {
		return fmt.Errorf("audit: replay store: leaf %d: %w", it.index, err)
	}
	if !bytes.Equal(mine, it.data) {
		return &Divergence{Height: leafHeight(mine), Leaf: int64(it.index), Object: "log leaf", Detail: describeLeafDiff(it.data, mine)}
	}
	if err := r.st.tree.Append(it.hash, nil); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	r.rep.Compared++
	return nil
}

// compareLeaves checks that the node's leaves items, which follow the leaves compared so
// far, are the replay's, whose log then has root replayRoot. Equal roots mean equal leaves
// (the node's leaves were hashed here), so the replay's leaves are read back only to name
// the first that differs.
func (r *run) compareLeaves(items []leafItem, replayRoot []byte) error {
	t := r.st.tree.Clone()
	for _, it := range items {
		if it.index != t.Size() {
			break // compareLeaf names the gap
		}
		if err := t.Append(it.hash, nil); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	if t.Size() == r.st.tree.Size()+uint64(len(items)) && bytes.Equal(t.Root(), replayRoot) {
		r.st.tree = t
		r.rep.Fetched += uint64(len(items))
		r.rep.Compared += uint64(len(items))
		return nil
	}
	// The replay's leaves are read back from its store.
	if err := r.replay.Wait(); err != nil {
		return fmt.Errorf("audit: replay store: %w", err)
	}
	for _, it := range items {
		if err := r.compareLeaf(it); err != nil {
			return err
		}
	}
	return fmt.Errorf("audit: the replay's log root %x after leaf %d is not the root of the leaves it stored", replayRoot, r.st.tree.Size())
}

// describeLeaf summarises a leaf for messages.
func describeLeaf(b []byte) string {
	v, err := tlog.DecodeLeaf(b)
	if err != nil {
		return fmt.Sprintf("undecodable (%v)", err)
	}
	switch l := v.(type) {
	case tlog.TxLeaf:
		return fmt.Sprintf("transaction %d of height %d (%s, result %s)", l.Index, l.Height, ipledger.HashTx(l.Tx), ipledger.Code(l.Code))
	case tlog.EndBlockLeaf:
		return fmt.Sprintf("end of height %d (%d transactions, events %s)", l.Height, l.TxCount, l.Events)
	}
	return "unknown"
}

// describeLeafDiff says how the node's leaf differs from the replay's.
func describeLeafDiff(node, mine []byte) string {
	nv, nerr := tlog.DecodeLeaf(node)
	mv, merr := tlog.DecodeLeaf(mine)
	if nerr == nil && merr == nil {
		switch m := mv.(type) {
		case tlog.TxLeaf:
			n, ok := nv.(tlog.TxLeaf)
			switch {
			case ok && !bytes.Equal(n.Tx, m.Tx):
				return fmt.Sprintf("the node's log has transaction %s, the replay %s", ipledger.HashTx(n.Tx), ipledger.HashTx(m.Tx))
			case ok && n.Code != m.Code:
				return fmt.Sprintf("transaction %d of height %d (%s): the node's log says result %s, the replay gives %s",
					m.Index, m.Height, ipledger.HashTx(m.Tx), ipledger.Code(n.Code), ipledger.Code(m.Code))
			}
		case tlog.EndBlockLeaf:
			if n, ok := nv.(tlog.EndBlockLeaf); ok && !bytes.Equal(n.Events, m.Events) {
				return fmt.Sprintf("end of height %d: the node's log records events %s, the replay %s", m.Height, n.Events, m.Events)
			}
		}
	}
	return fmt.Sprintf("the node's log has %s, the replay %s", describeLeaf(node), describeLeaf(mine))
}
