package store

import (
	"bytes"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// tree is the working tree: the root of the last committed version with the changes
// applied since, and the nodes that changes passed through kept in memory, as a tree of
// pointers from the root. Only the goroutine that executes blocks uses it. A change
// updates the nodes on its path in place, noting the records they had on disk as
// superseded; Rollback therefore drops the nodes in memory and starts again from the
// committed root on disk. Views never see these nodes: they read records.
type tree struct {
	db        *pebble.DB
	root      slot   // the working root
	committed slot   // the root of the last committed version, never loaded (child nil)
	version   uint64 // the working version: what the next Commit writes
	stale     []byte // records of committed nodes the working version replaced (a key list)
	changed   bool   // the working version changed nodes in memory

	epoch    uint64 // counts Commits, for the eviction of nodes not used lately
	resident int    // about how many nodes are in memory
	limit    int    // evict beyond this many
}

// absent reports whether the tree in memory shows that no key hashes to kh: its path ends
// at an empty slot or at another key's leaf before it reaches a node not in memory.
func (t *tree) absent(kh Hash) bool {
	s := &t.root
	for d := 0; ; d++ {
		switch s.kind {
		case kindEmpty:
			return true
		case kindLeaf:
			return s.kh != kh
		}
		if s.child == nil {
			return false // unknown
		}
		s = s.child.slotRef(nibble(&kh, d))
	}
}

// rollback forgets the working version's changes.
func (t *tree) rollback() {
	if t.changed {
		t.root, t.resident = t.committed, 0
	}
	t.stale, t.changed = nil, false
}

// committedNow makes the working version the committed one, after its Commit.
func (t *tree) committedNow() {
	t.committed = t.root
	t.committed.child = nil
	t.version++
	t.stale, t.changed = nil, false
	t.epoch++
}

// op is one change for the tree: set kh to vh, or delete it.
type op struct {
	kh, vh Hash
	del    bool
	e      *dirtyEntry
}

// parallelMin is the number of changes from which the root's 16 subtrees are updated on
// several goroutines. Below it the goroutines cost more than they save.
const parallelMin = 256

// apply applies ops, sorted by key hash without duplicates, to the working tree.
func (t *tree) apply(ops []op) error {
	if len(ops) == 0 {
		return nil
	}
	a := applier{t: t}
	t.changed = true
	var root Hash
	r, err := a.apply(t.root, 0, &root, ops)
	t.stale = append(t.stale, a.stale...)
	t.resident += a.added
	if err != nil {
		return err
	}
	t.root = r
	return nil
}

// applier carries one goroutine's bookkeeping through an update.
type applier struct {
	t     *tree
	stale []byte // records of committed nodes the update replaced (a key list)
	added int    // nodes loaded or created
}

// apply returns what the subtree s at nibble depth d under path becomes with ops, which
// all lie under path.
func (a *applier) apply(s slot, d int, path *Hash, ops []op) (slot, error) {
	if len(ops) == 0 {
		return s, nil
	}
	switch s.kind {
	case kindEmpty:
		sets, last := 0, -1
		for i := range ops {
			if !ops[i].del {
				sets, last = sets+1, i
			}
		}
		if sets <= 1 {
			for i := range ops {
				ops[i].e.seen(0)
			}
			if sets == 0 {
				return slot{}, nil
			}
			return leafSlot(&ops[last].kh, &ops[last].vh, a.t.version), nil
		}
		n, err := a.newNode(d, path)
		if err != nil {
			return slot{}, err
		}
		return a.applyNode(n, path, ops)

	case kindLeaf:
		// Changes to this leaf alone (deletions of absent keys aside) keep it a leaf.
		mine := -1
		sets := 0
		for i := range ops {
			switch {
			case ops[i].kh == s.kh:
				mine = i
			case !ops[i].del:
				sets++
			}
		}
		if sets == 0 {
			for i := range ops {
				if i == mine {
					ops[i].e.seen(s.ver)
				} else {
					ops[i].e.seen(0)
				}
			}
			switch {
			case mine < 0:
				return s, nil
			case ops[mine].del:
				return slot{}, nil
			}
			return leafSlot(&ops[mine].kh, &ops[mine].vh, a.t.version), nil
		}
		n, err := a.newNode(d, path)
		if err != nil {
			return slot{}, err
		}
		n.setSlot(nibble(&s.kh, d), s)
		return a.applyNode(n, path, ops)

	default:
		n, err := a.load(&s, d, path)
		if err != nil {
			return slot{}, err
		}
		n = a.mutable(n)
		if d == 0 && len(ops) >= parallelMin && runtime.GOMAXPROCS(0) > 1 {
			return a.applyNodeParallel(n, path, ops)
		}
		return a.applyNode(n, path, ops)
	}
}

func (a *applier) newNode(d int, path *Hash) (*node, error) {
	if d > maxDepth {
		return nil, fmt.Errorf("%w: two keys with one hash", errCorrupt)
	}
	a.added++
	return &node{depth: uint8(d), path: *path, version: a.t.version, dirty: true, slots: make([]slot, 0, 2)}, nil
}

// mutable makes n part of the working version, noting that its committed record is
// superseded.
func (a *applier) mutable(n *node) *node {
	if !n.dirty {
		a.stale = appendNodeKey(a.stale, n.version, int(n.depth), &n.path)
		n.version, n.dirty = a.t.version, true
	}
	return n
}

// load returns the node of slot s, reading and checking it if it is not in memory.
func (a *applier) load(s *slot, d int, path *Hash) (*node, error) {
	if s.child != nil {
		return s.child, nil
	}
	n, err := readNode(a.t.db, s, d, path)
	if err != nil {
		return nil, err
	}
	a.added++
	s.child = n
	return n, nil
}

// readNode reads the node slot s refers to and checks it against the slot's hash.
func readNode(db *pebble.DB, s *slot, d int, path *Hash) (*node, error) {
	key := nodeKey(s.ver, d, path)
	b, err := pebbleGet(db, key)
	if err != nil {
		return nil, fmt.Errorf("read node %x: %w", key, err)
	}
	if b == nil {
		return nil, fmt.Errorf("%w: node %x missing", errCorrupt, key)
	}
	n, err := decodeNode(b, s.ver, d, path)
	if err != nil {
		return nil, fmt.Errorf("read node %x: %w", key, err)
	}
	n.rehash()
	if n.hash != s.hash {
		return nil, fmt.Errorf("%w: node %x hashes to %x, its parent says %x", errCorrupt, key, n.hash, s.hash)
	}
	return n, nil
}

// applyNode applies ops to the working node n, slot by slot, and returns what n becomes.
func (a *applier) applyNode(n *node, path *Hash, ops []op) (slot, error) {
	d := int(n.depth)
	n.used = a.t.epoch
	for i := 0; i < len(ops); {
		j := nibble(&ops[i].kh, d)
		k := i + 1
		for k < len(ops) && nibble(&ops[k].kh, d) == j {
			k++
		}
		cp := withNibble(*path, d, j)
		s, err := a.apply(n.slot(j), d+1, &cp, ops[i:k])
		if err != nil {
			return slot{}, err
		}
		n.setSlot(j, s)
		i = k
	}
	return a.finish(n), nil
}

// applyNodeParallel is applyNode with the slots' subtrees, which share nothing, spread over
// the available cores.
func (a *applier) applyNodeParallel(n *node, path *Hash, ops []op) (slot, error) {
	type group struct {
		j   int
		ops []op
		res slot
		err error
	}
	var groups []group
	for i := 0; i < len(ops); {
		j := nibble(&ops[i].kh, 0)
		k := i + 1
		for k < len(ops) && nibble(&ops[k].kh, 0) == j {
			k++
		}
		groups = append(groups, group{j: j, ops: ops[i:k]})
		i = k
	}
	n.used = a.t.epoch
	workers := min(runtime.GOMAXPROCS(0), 4, len(groups))
	subs := make([]applier, workers)
	var next atomic.Int32
	var wg sync.WaitGroup
	for w := range subs {
		subs[w].t = a.t
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(groups) {
					return
				}
				g := &groups[i]
				cp := withNibble(*path, 0, g.j)
				g.res, g.err = subs[w].apply(n.slot(g.j), 1, &cp, g.ops)
			}
		})
	}
	wg.Wait()
	for _, sub := range subs {
		a.stale = append(a.stale, sub.stale...)
		a.added += sub.added
	}
	for i := range groups {
		if groups[i].err != nil {
			return slot{}, groups[i].err
		}
		n.setSlot(groups[i].j, groups[i].res)
	}
	return a.finish(n), nil
}

// finish returns the slot for the working node n after its slots changed: nothing if it
// is empty, its one leaf if that is all it holds, else n with its hash recomputed.
func (a *applier) finish(n *node) slot {
	switch c := bits.OnesCount16(n.present); {
	case c == 0:
		a.added--
		return slot{}
	case c == 1 && n.slots[0].kind == kindLeaf:
		a.added--
		return n.slots[0]
	}
	n.rehash()
	return slot{kind: kindNode, ver: n.version, hash: n.hash, child: n}
}

// writeDirty adds the working nodes under s to b in key order (which makes Pebble's
// memtable insertions cheap: each lands right after the last) and marks them written.
func writeDirty(b *pebble.Batch, s *slot) error {
	// Breadth first, slots in nibble order: by depth, then path, the order of the keys.
	var nodes []*node
	if s.kind == kindNode && s.child != nil && s.child.dirty {
		nodes = append(nodes, s.child)
	}
	for i := 0; i < len(nodes); i++ {
		for j := range nodes[i].slots {
			if c := nodes[i].slots[j].child; c != nil && c.dirty {
				nodes = append(nodes, c)
			}
		}
	}
	var key []byte
	for _, n := range nodes {
		key = appendNodeKey(key[:0], n.version, int(n.depth), &n.path)
		key = key[1:] // the list's length byte
		op := b.SetDeferred(len(key), n.encodedLen())
		copy(op.Key, key)
		n.encode(op.Value[:0])
		if err := op.Finish(); err != nil {
			return fmt.Errorf("write node: %w", err)
		}
		n.dirty = false
	}
	return nil
}

// evictDepth is the depth from which nodes may leave memory: the 273 nodes above always
// stay.
const evictDepth = 3

// evict drops the least recently updated nodes from memory once more than limit are
// loaded, down to three quarters of limit. A node is never used more recently than its
// parent, so dropping a node drops a subtree that is at least as stale.
func (t *tree) evict() {
	if t.resident <= t.limit {
		return
	}
	var ages [64]int
	total := 0
	var count func(s *slot)
	count = func(s *slot) {
		if s.kind != kindNode || s.child == nil {
			return
		}
		total++
		ages[min(t.epoch-s.child.used, 63)]++
		for i := range s.child.slots {
			count(&s.child.slots[i])
		}
	}
	count(&t.root)
	t.resident = total
	if total <= t.limit {
		return
	}
	keep, cutoff := t.limit*3/4, uint64(0)
	for sum := 0; cutoff < 63 && sum+ages[cutoff] <= keep; cutoff++ {
		sum += ages[cutoff]
	}
	// Nodes of age >= cutoff go (their ages do not fit in keep).
	var drop func(s *slot)
	drop = func(s *slot) {
		if s.kind != kindNode || s.child == nil {
			return
		}
		n := s.child
		if int(n.depth) >= evictDepth && t.epoch-n.used >= cutoff {
			s.child = nil
			t.resident -= countNodes(n)
			return
		}
		for i := range n.slots {
			drop(&n.slots[i])
		}
	}
	drop(&t.root)
}

func countNodes(n *node) int {
	c := 1
	for i := range n.slots {
		if n.slots[i].kind == kindNode && n.slots[i].child != nil {
			c += countNodes(n.slots[i].child)
		}
	}
	return c
}

// sortOps sorts ops by key hash and fails on two keys with one hash.
func sortOps(ops []op) error {
	slices.SortFunc(ops, func(a, b op) int { return bytes.Compare(a.kh[:], b.kh[:]) })
	for i := 1; i < len(ops); i++ {
		if ops[i].kh == ops[i-1].kh {
			return fmt.Errorf("keys %q and %q have the same hash", ops[i-1].e.key, ops[i].e.key)
		}
	}
	return nil
}
