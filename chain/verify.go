package chain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
	"github.com/ipledger/ipledger/tlog"
)

// Start-up integrity check.
//
// The node serves its state from the store's value table (and executes blocks on a copy
// of it in memory) and its log from the side tables. Neither is what the validators sign:
// they sign the app hash, H(state root ‖ log root), whose roots come from the state tree
// and the log's tree state. Someone who edits the database of a stopped node — relabels a
// holding in the value table, deletes or rewrites log leaves — changes what the node says
// without changing a root. So at every start, beside loading the state into memory, the
// node checks that
//
//   - the values it loads hash, by the tree's hashing rules alone (store.RootHasher), to the
//     state root of the committed version, which is the block record's state root;
//   - the block record's app hash is H(state root ‖ log root) of its roots, and the log's
//     tree state is the block record's (CometBFT's handshake checks that app hash against
//     the one the chain committed);
//   - the log leaves 0 … size−1 are all stored and rebuild the committed log root.
//
// Both checks read everything once, the state on the loading goroutine with the hashing on
// the other core, the log on a goroutine of its own; they delay only the state machine,
// not queries (which the committed snapshot serves from the start).
//
// What a failure does. The node logs one error line naming the height and the first
// mismatching key and object (or log leaf), refuses to sign checkpoints from then on
// (ipledger_log_checkpoint_refused = 1), and keeps serving reads, so that auditors and the
// operator can see exactly what it holds and `ipledger audit` can name the altered objects
// against the replayed log. A state that fails the check also stops the state machine:
// the node executes no block and admits no transaction (CheckTx and FinalizeBlock fail
// with the reason), because a validator building on a forged state would carry the forgery
// into the next app hash it signs. A damaged log leaves the state machine running (the app
// hash commits to the log's tree state, which is intact) but is never signed again. The
// way back is the operator's: restore the database from a backup, or start a new home and
// let the node sync from its peers.

// maxMismatches bounds the mismatching keys a failed state check collects.
const maxMismatches = 10

// startupCheck is the integrity check running beside loadMirror.
type startupCheck struct {
	a      *App
	snap   *ipledger.Snapshot
	hasher *store.RootHasher
	log    chan error
}

// startCheck starts the log check and returns the check whose add must see every pair the
// state load reads.
func (a *App) startCheck(snap *ipledger.Snapshot) *startupCheck {
	c := &startupCheck{a: a, snap: snap, hasher: store.NewRootHasher(), log: make(chan error, 1)}
	go func() { c.log <- a.checkLog(snap) }()
	return c
}

// add records a pair of the loaded state.
func (c *startupCheck) add(k, v []byte) { c.hasher.Add(k, v) }

// finish completes both checks after the state was loaded (loaded false if the load failed
// half-way) and reports a failure as described above. It returns the error that stops the
// state machine: a state that does not match its root.
func (c *startupCheck) finish(loaded bool) error {
	a, h := c.a, c.snap.Height
	stateErr := c.checkState(loaded)
	if logErr := <-c.log; logErr != nil {
		a.stopSigning(logErr)
		attrs := []any{"height", h, "err", logErr}
		var le *logError
		if errors.As(logErr, &le) {
			attrs = []any{"height", h, "leaf", le.leaf, "err", logErr}
		}
		a.log.Error("the stored log does not match the committed log root (changed outside the ledger); "+
			"refusing to sign checkpoints, still serving it", attrs...)
	}
	if stateErr == nil {
		return nil
	}
	a.stopSigning(stateErr)
	attrs := []any{"height", h}
	var se *stateError
	if errors.As(stateErr, &se) && se.first != nil {
		m := se.first
		key := showKey(m.Key)
		if m.Key == nil {
			key = fmt.Sprintf("hash %x", m.KeyHash)
		}
		attrs = append(attrs, "key", key, "object", ledger.DescribeKey(m.Key, m.Value), "mismatches", se.count)
	}
	attrs = append(attrs, "err", stateErr)
	a.log.Error("the stored state does not match the committed state root (changed outside the ledger); "+
		"refusing to sign checkpoints and to execute blocks, still serving reads", attrs...)
	return fmt.Errorf("load state: %w", &ipledger.Error{Code: ipledger.CodeInternal, Message: fmt.Sprintf(
		"this node's stored state at height %d does not match its committed state root (%s); it serves reads but executes no blocks until its operator restores the database",
		h, stateErr)})
}

// stateError is a failed state check: first is the first mismatching key, if found.
type stateError struct {
	msg   string
	first *store.Mismatch
	count int
}

func (e *stateError) Error() string { return e.msg }

// checkState compares the loaded state's root with the committed roots.
func (c *startupCheck) checkState(loaded bool) error {
	root, err := c.hasher.Root() // always: it stops the hashing goroutines
	rec, h := c.snap.Block, c.snap.Height
	if !loaded || h == 0 {
		return nil
	}
	if err != nil {
		return &stateError{msg: fmt.Sprintf("the loaded values do not form a map: %v", err)}
	}
	view, ok := c.snap.State.(*store.View)
	if !ok {
		return fmt.Errorf("check state: snapshot of type %T", c.snap.State)
	}
	treeRoot := view.Hash()
	switch {
	case !bytes.Equal(treeRoot, rec.StateRoot):
		return &stateError{msg: fmt.Sprintf("the state tree's root %x is not the state root %x of the block record", treeRoot, rec.StateRoot)}
	case !bytes.Equal(tlog.AppHash(rec.StateRoot, rec.LogRoot), rec.AppHash):
		return &stateError{msg: fmt.Sprintf("the block record's app hash %X is not H(state root ‖ log root) of its roots", rec.AppHash)}
	case bytes.Equal(root[:], treeRoot):
		return nil
	}
	se := &stateError{msg: fmt.Sprintf("the loaded values hash to %x, the committed state root is %x", root, treeRoot)}
	ms, err := view.Mismatches(c.hasher, maxMismatches)
	switch {
	case err != nil:
		se.msg += fmt.Sprintf("; the state tree does not check either: %v", err)
	case len(ms) > 0:
		se.first, se.count = &ms[0], len(ms)
		var parts []string
		for _, m := range ms {
			parts = append(parts, m.String())
		}
		more := ""
		if len(ms) == maxMismatches {
			more = " (and maybe more)"
		}
		se.msg += fmt.Sprintf("; %d mismatching keys%s: %s", len(ms), more, strings.Join(parts, "; "))
	}
	return se
}

// logError is a failed log check at a leaf.
type logError struct {
	leaf uint64
	msg  string
}

func (e *logError) Error() string { return e.msg }

// checkLog checks the log's tree state against the block record and rebuilds the log root
// from the stored leaves.
func (a *App) checkLog(snap *ipledger.Snapshot) error {
	rec := snap.Block
	if snap.Height == 0 {
		return nil
	}
	if a.tree.Size() != rec.LogSize || !bytes.Equal(a.tree.Root(), rec.LogRoot) {
		return fmt.Errorf("the log's tree state (size %d, root %x) is not the block record's (size %d, root %x)",
			a.tree.Size(), a.tree.Root(), rec.LogSize, rec.LogRoot)
	}
	t := tlog.New()
	var ierr error
	err := a.st.SideIterate(u64key(sideLeaf, 0), u64key(sideLeaf, rec.LogSize), false, func(k, v []byte) bool {
		if len(k) != 9 || binary.BigEndian.Uint64(k[1:]) != t.Size() {
			ierr = &logError{leaf: t.Size(), msg: fmt.Sprintf("log leaf %d is missing (the log holds %d leaves)", t.Size(), rec.LogSize)}
			return false
		}
		ierr = t.Append(tlog.HashLeaf(v), nil)
		return ierr == nil
	})
	if err = errors.Join(err, ierr); err != nil {
		return err
	}
	if t.Size() < rec.LogSize {
		return &logError{leaf: t.Size(), msg: fmt.Sprintf("log leaves %d–%d are missing: the log is truncated below its committed size %d", t.Size(), rec.LogSize-1, rec.LogSize)}
	}
	if bytes.Equal(t.Root(), rec.LogRoot) {
		return nil
	}
	// Some leaf was rewritten: the first whose hash is not the one stored when it was
	// appended names it, unless that was rewritten too.
	for i := range rec.LogSize {
		l, err := a.Leaf(i)
		if err != nil {
			return err
		}
		stored, err := a.LogNode(0, i)
		if err != nil {
			return err
		}
		if !bytes.Equal(tlog.HashLeaf(l), stored) {
			return &logError{leaf: i, msg: fmt.Sprintf("log leaf %d was rewritten: it hashes to %x, the log recorded %x (the leaves rebuild to root %x, not the committed %x)",
				i, tlog.HashLeaf(l), stored, t.Root(), rec.LogRoot)}
		}
	}
	return fmt.Errorf("the %d log leaves rebuild to root %x, not the committed %x", rec.LogSize, t.Root(), rec.LogRoot)
}

// showKey returns a state key as text if it is printable ASCII, else in hex.
func showKey(k []byte) string {
	for _, c := range k {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%x", k)
		}
	}
	return string(k)
}
