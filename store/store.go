// Package store is the node's embedded database: one Pebble database per node home that
// holds the authenticated state map and the unauthenticated side tables.
//
// The state map is a sparse Merkle tree over SHA-256(key) with compressed paths, written
// here. Its version is the block height: the ledger writes a block's changes through
// [Store.Working], [Store.WorkingHash] hashes only the paths they touched, in one pass over
// the changed keys sorted by key hash, and [Store.Commit] saves them as the next version.
// Every retained version can be read ([Store.ReadAt]) and proven: [Store.Prove] gives a
// membership or non-membership [Proof] that [VerifyProof] checks against a root hash. The
// side tables ([Store.SideGet], [Store.SideIterate], [Store.NewSideBatch]) hold what is
// not part of the state root: transparency-log leaves and tree state, block records, the
// per-object history index and app metadata. Their key layout belongs to the callers.
//
// The tree replaced an IAVL tree (github.com/cosmos/iavl), which cost three to four times
// as much per write in rebalancing, node allocation and hashing and writing every node it
// touched; see docs/ARCHITECTURE.md for the figures. Stores of the IAVL format are refused.
//
// # Hashing
//
// The tree has 256 levels, one per bit of SHA-256(key), most significant first, 0 to the
// left. A subtree with no leaf hashes to 32 zero bytes; a subtree with exactly one leaf
// hashes to that leaf's hash, at whatever depth it stands (paths are compressed, so a key
// costs about log2(n) hashes, not 256); any other subtree hashes its two halves:
//
//	leaf  = SHA-256(0x00 ‖ SHA-256(key) ‖ SHA-256(value))
//	inner = SHA-256(0x01 ‖ left ‖ right)
//
// The root is the hash of the whole tree: it depends only on the set of (key, value)
// pairs, never on the order of writes or on block boundaries. The prefix bytes keep a leaf
// from passing for an inner node and back.
//
// # Key layout
//
// Every Pebble key starts with one byte naming its space:
//
//	'm' + name                        the store's own metadata (format marker)
//	'n' + version + depth + path      tree nodes, 16 slots each (node.go)
//	'r' + version                     the root of each retained version
//	'v' + escaped key + ^version      every retained value of every key (values.go)
//	'x' + version                     records superseded by that version, for pruning
//	's' + side key                    side tables
//
// Tree nodes are written once and never changed: a version writes new copies of the nodes
// its changes passed through, under its own version, so older versions stay readable until
// pruned. Reads of keys (Get, Iterate) go to the value table, which is ordered by key;
// only proofs and the working tree's updates read nodes.
//
// # Crash consistency
//
// A version becomes current with one record, its root, written by [Store.Commit] after
// everything else of the version (values, nodes, pruning list) and fsynced unless
// [Options.NoSync] is set. Pebble logs writes in order, so the sync makes the earlier
// writes durable too. After a crash the store reopens at the last version whose root was
// written, with the same root hash, and replays nothing; a half-written version is never
// visible, because every read is by version and no root names its records. Replaying the
// block rewrites them identically. A [SideBatch] is atomic, but the side tables and the
// tree do not commit together. The contract for a block at height h is
//
//  1. write h's side data (log leaves, block record, history entries) in one SideBatch,
//     committed before the tree's root, by the caller or by [Store.CommitWith], which
//     writes it alongside the version's records;
//  2. call Commit (or CommitWith), which makes h the tree's version.
//
// After a crash between the two, [Store.Version] is h-1: the tree's version is the truth.
// The side data of h is then stale and the caller rewrites it when it replays block h (a
// replay writes the same keys, so the rewrite simply overwrites it). Readers of side data
// must not trust entries above Version. Pebble logs writes in order, so once a synced
// Commit for h has returned, the side batch written before it is durable as well, even if
// that batch was committed without sync.
//
// # Checking the values against the root
//
// Reads come from the value table, not the tree, so a value record changed behind the
// store's back — someone editing the database of a stopped node — would go unnoticed by
// every reader. [RootHasher] recomputes a root from the pairs a reader saw, by the hashing
// rules alone, and [View.Mismatches] names the keys on which those pairs and the tree
// disagree; the node runs both on the state it loads at start.
package store

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ipledger/ipledger"
)

// Key spaces of the Pebble database.
const (
	spaceMeta  = 'm'
	spaceNode  = 'n'
	spaceRoot  = 'r'
	spaceSide  = 's'
	spaceValue = 'v'
	spaceStale = 'x'
)

// formatKey holds formatValue in every store this package created. Version 1 was the IAVL
// tree; its stores are refused, not converted.
var (
	formatKey      = []byte{spaceMeta, 'f', 'o', 'r', 'm', 'a', 't'}
	formatValue    = []byte("ipledger-store/2")
	formatIAVLTree = []byte("ipledger-store/1")
)

// Defaults for zero Options fields.
const (
	// DefaultCacheSize is the number of tree nodes the working tree keeps in memory when
	// Options.CacheSize is zero. A node takes about 800 bytes of heap on average (16 slots
	// of 120 bytes when full, 2–6 at the bottom of the tree), so this is ~80 MB. The tree
	// of 400k keys that the benchmarks model on the largest import has ~145k nodes: the
	// cache holds the top of it and the recently updated paths, and an update of a cold
	// key reads about one node from Pebble.
	DefaultCacheSize = 100_000

	// DefaultBlockCacheSize is Pebble's block cache when Options.BlockCacheSize is zero.
	// It serves reads of values (views, restart) and of nodes not in memory and, unlike
	// the node cache, lives off the Go heap, so it costs no garbage-collection work.
	DefaultBlockCacheSize = 256 << 20

	// memTableSize is Pebble's memtable (off the Go heap; two at most). A block of the
	// largest import is a 5–10 MB batch. Importing 400k keys in order cost 32 CPU-µs a
	// key with 16 MB, 31 with 32 MB, 24 with 64 MB and 26 with 128 MB: fewer, larger
	// flushes leave the LSM less to compact. Reopening replays at most this much WAL.
	memTableSize = 64 << 20

	// l0CompactionThreshold and l0StopWrites let level 0 hold many flushed tables before
	// compacting them down (Pebble's defaults are 4 and 12). Tree nodes are keyed by
	// version, so a flush's nodes sort after every older node and a compaction leaves old
	// ones alone; what it rewrites each time is the rest of the base level — values, side
	// tables — which the block's writes, keyed by key or hash, overlap everywhere. Fewer,
	// larger compactions rewrite it less often: under `bench load` at 1,000 clients
	// compactions took 1.5 CPU-s in 20 s with 32 instead of 2.5 with 8 (64 gained
	// nothing more). Point reads check the level-0 tables' bloom filters first.
	l0CompactionThreshold = 32
	l0StopWrites          = 128

	// pruneChunk is the size in bytes of the pruning batches.
	pruneChunk = 4 << 20
)

// ErrVersionNotFound means a version is not retained: above the last committed version,
// or pruned. Check with errors.Is.
var ErrVersionNotFound = errors.New("version not found")

// ErrReadOnly is returned by Set and Delete of a [View]. Check with errors.Is.
var ErrReadOnly = errors.New("read-only view")

// ErrClosed is returned by methods of a closed Store. Check with errors.Is.
var ErrClosed = errors.New("store closed")

// Options configure [Open]. The zero value of each field is a sensible default, except Dir.
type Options struct {
	// Dir is the database directory, created if missing.
	Dir string
	// CacheSize is the number of tree nodes (16 slots each) the working tree keeps in
	// memory between blocks; beyond it, the nodes least recently updated are dropped and
	// read again from Pebble when a change needs them. The 273 nodes of the top three
	// levels always stay. Views (ReadAt) do not use it: they read values from the value
	// table and nodes, for proofs, from Pebble. 0 means DefaultCacheSize.
	CacheSize int
	// BlockCacheSize is the size in bytes of Pebble's block cache, which lives outside
	// the Go heap; 0 means DefaultBlockCacheSize.
	BlockCacheSize int64
	// KeepRecent is the number of latest versions to retain; older versions are pruned
	// as Commit goes. 0 keeps every version.
	KeepRecent int64
	// NoSync turns off fsync at Commit: faster, but a crash of the machine (not just of
	// the process) may lose the last versions. For tests and throwaway imports only.
	NoSync bool
	// InitialVersion is the version of the first Commit of an empty store (the chain's
	// initial height); 0 means 1. Ignored once a version exists.
	InitialVersion int64
	// MemTableSize is the size in bytes of Pebble's memtable (two at most); 0 means 64
	// MiB, the node's. A store written once and read little, like an audit's replay, does
	// better with more: fewer flushes and no compactions during a run.
	MemTableSize uint64
	// NoWALPreallocate stops Pebble from reserving disk space for its write-ahead log
	// ahead of writing it (110 % of the memtable per log file, three files kept: 211 MiB
	// for an empty store with the default memtable). For a dev chain, where disk space
	// counts more than the cost of each sync updating the log file's size (store/wal.go).
	NoWALPreallocate bool
	// Logger receives Pebble's messages (at debug level) and pruning failures; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Store is a node's database. Working, WorkingHash, Commit and Rollback belong to the one
// goroutine that executes blocks; the other methods are safe for concurrent use, also
// while a block executes.
type Store struct {
	db         *pebble.DB
	dir        string
	keepRecent int64
	sync       *pebble.WriteOptions
	log        *slog.Logger

	// The working state, for the block goroutine only: the changes since the last
	// Commit by key, the ones the tree has not seen yet, and the tree.
	dirty map[string]*dirtyEntry
	order []*dirtyEntry // dirty's entries in the order of their first write
	// inOrder is set while the keys were first written in ascending order, as a flush of
	// the node's block buffer writes them; Commit then need not sort.
	inOrder bool
	queue   []*dirtyEntry
	t       tree
	// workIter reads committed values for the working Gets until the next Commit.
	workIter *pebble.Iterator

	// shut is set once Close starts; the working methods check it.
	shut atomic.Bool
	// readers is held shared by view operations and exclusively by Close, which so waits
	// for them to finish.
	readers sync.RWMutex

	pinMu     sync.Mutex
	pins      map[int64]int // versions that view operations are reading now
	prunedTo  int64         // versions up to this one are pruned or being pruned
	deletedTo int64         // versions up to this one are deleted from disk

	// Batches kept from one commit to the next (batches.go).
	nodeBatches, valueBatches, sideBatches batchSlot

	mu      sync.RWMutex // guards the fields below
	version int64        // last committed version
	root    slot         // its root (child always nil: views never touch working nodes)
	failed  error        // a failure that left the working tree unusable
	closed  bool
}

// dirtyEntry is a key changed since the last Commit.
type dirtyEntry struct {
	key    string
	value  []byte // nil: deleted
	kh     Hash   // SHA-256(key), once khSet
	khSet  bool
	queued bool // in Store.queue: changed since the tree last saw it
	// prevVer is the version of the key's committed value, 0 if it had none; known once
	// the tree has seen the key (prevKnown).
	prevVer   uint64
	prevKnown bool
}

func (e *dirtyEntry) seen(ver uint64) {
	if !e.prevKnown {
		e.prevKnown, e.prevVer = true, ver
	}
}

// Open opens or creates the store in opts.Dir and loads its latest committed version.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("open store: no directory")
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.BlockCacheSize <= 0 {
		opts.BlockCacheSize = DefaultBlockCacheSize
	}
	if opts.KeepRecent < 0 {
		return nil, fmt.Errorf("open store: negative KeepRecent %d", opts.KeepRecent)
	}
	if opts.InitialVersion < 0 {
		return nil, fmt.Errorf("open store: negative InitialVersion %d", opts.InitialVersion)
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.Default()
	}

	popts := &pebble.Options{
		Comparer:              comparer,
		CacheSize:             opts.BlockCacheSize,
		MemTableSize:          cmp.Or(opts.MemTableSize, memTableSize),
		L0CompactionThreshold: l0CompactionThreshold,
		L0StopWritesThreshold: l0StopWrites,
		FormatMajorVersion:    pebble.FormatNewest,
		Logger:                pebbleLogger{lg},
	}
	if opts.NoWALPreallocate {
		popts.FS = noPreallocFS{vfs.Default}
	}
	popts.EventListener = &pebble.EventListener{BackgroundError: (&errorBackoff{l: lg}).backgroundError}
	// Bloom filters spare a disk read for most lookups of absent keys: value records
	// (by key, see comparer), side-table misses, nodes and roots of pruned versions.
	for i := range popts.Levels {
		popts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(opts.Dir, popts)
	if err != nil {
		if strings.Contains(err.Error(), "comparer name") {
			return nil, fmt.Errorf("open store: %w", foreignStore(opts.Dir, err))
		}
		return nil, fmt.Errorf("open store: %w", err)
	}
	s, err := open(db, opts, lg)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open store: %w", err), db.Close())
	}
	return s, nil
}

func open(db *pebble.DB, opts Options, lg *slog.Logger) (*Store, error) {
	if err := checkFormat(db); err != nil {
		return nil, err
	}
	first, last, err := rootRange(db)
	if err != nil {
		return nil, err
	}
	var root slot
	if last > 0 {
		b, err := pebbleGet(db, rootKey(uint64(last)))
		if err != nil {
			return nil, fmt.Errorf("read root %d: %w", last, err)
		}
		if root, err = decodeRoot(b, uint64(last)); err != nil {
			return nil, fmt.Errorf("read root %d: %w", last, err)
		}
	}
	next := uint64(last) + 1
	if last == 0 && opts.InitialVersion > 0 {
		next = uint64(opts.InitialVersion)
	}
	s := &Store{
		db:         db,
		dir:        opts.Dir,
		keepRecent: opts.KeepRecent,
		sync:       pebble.Sync,
		log:        lg,
		dirty:      map[string]*dirtyEntry{},
		inOrder:    true,
		t: tree{db: db, root: root, committed: root, version: next,
			epoch: 1, limit: opts.CacheSize},
		pins:      map[int64]int{},
		prunedTo:  max(first-1, 0),
		deletedTo: max(first-1, 0),
		version:   last,
		root:      root,
	}
	if opts.NoSync {
		s.sync = pebble.NoSync
	}
	return s, nil
}

// foreignStore explains why a Pebble database with another key order cannot be opened:
// stores of format ipledger-store/1, the IAVL tree, used Pebble's default comparer. It
// reads the format marker without writing anything.
func foreignStore(dir string, err error) error {
	what := "another program's database"
	if db, oerr := pebble.Open(dir, &pebble.Options{ReadOnly: true, Logger: pebbleLogger{slog.New(slog.DiscardHandler)}}); oerr == nil {
		v, _ := pebbleGet(db, formatKey)
		_ = db.Close()
		switch {
		case bytes.Equal(v, formatIAVLTree):
			what = fmt.Sprintf("an IAVL store (format %s) of an older ipledger", v)
		case v != nil:
			what = fmt.Sprintf("a store of unknown format %q", v)
		}
	}
	return fmt.Errorf("%s holds %s, which this version does not read; start from a new node "+
		"home (or move this directory away) and let the node sync: %w", dir, what, err)
}

// rootRange returns the first and last retained versions, 0 and 0 if there is none.
func rootRange(db *pebble.DB) (first, last int64, err error) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{spaceRoot}, UpperBound: []byte{spaceRoot + 1}})
	if err != nil {
		return 0, 0, fmt.Errorf("read versions: %w", err)
	}
	if it.First() {
		first, err = rootVersion(it.Key())
		if err == nil && it.Last() {
			last, err = rootVersion(it.Key())
		}
	}
	err = errors.Join(err, it.Error(), it.Close())
	if err != nil {
		return 0, 0, fmt.Errorf("read versions: %w", err)
	}
	return first, last, nil
}

func rootKey(version uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{spaceRoot}, version)
}

func rootVersion(k []byte) (int64, error) {
	if len(k) != 9 {
		return 0, fmt.Errorf("%w: root key %x", errCorrupt, k)
	}
	v := binary.BigEndian.Uint64(k[1:])
	if v == 0 || v > 1<<62 {
		return 0, fmt.Errorf("%w: root key %x", errCorrupt, k)
	}
	return int64(v), nil
}

func staleKey(version uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{spaceStale}, version)
}

// checkFormat refuses a database this package did not create and marks a new one.
func checkFormat(db *pebble.DB) error {
	v, err := pebbleGet(db, formatKey)
	if err != nil {
		return fmt.Errorf("read format: %w", err)
	}
	if v != nil {
		switch {
		case bytes.Equal(v, formatValue):
			return nil
		case bytes.Equal(v, formatIAVLTree):
			return fmt.Errorf("store format %q holds an IAVL tree, which this version no longer reads; "+
				"start from a new node home (or move the ledger directory away) and let the node sync", v)
		}
		return fmt.Errorf("unknown store format %q", v)
	}
	it, err := db.NewIter(nil)
	if err != nil {
		return fmt.Errorf("read format: %w", err)
	}
	nonEmpty := it.First()
	if err := it.Close(); err != nil {
		return fmt.Errorf("read format: %w", err)
	}
	if nonEmpty {
		return errors.New("not an ipledger store: format marker missing")
	}
	if err := db.Set(formatKey, formatValue, pebble.Sync); err != nil {
		return fmt.Errorf("write format: %w", err)
	}
	return nil
}

// Close closes the database, after view operations under way have finished. Uncommitted
// working changes are lost. Side iterations must have finished.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.shut.Store(true)
	s.mu.Unlock()
	s.readers.Lock()
	defer s.readers.Unlock()
	if err := s.closeWorkIter(); err != nil {
		s.log.Warn("store: close iterator", "err", err)
	}
	s.nodeBatches.drop()
	s.valueBatches.drop()
	s.sideBatches.drop()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Dir returns the directory the store was opened in (Options.Dir).
func (s *Store) Dir() string { return s.dir }

// Version returns the last committed version, 0 if none.
func (s *Store) Version() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.version
}

// Hash returns the root hash of the last committed version: 32 zero bytes if there is none
// or the map is empty.
func (s *Store) Hash() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h := s.root.subtreeHash()
	return h[:]
}

// Working returns the mutable working state: the last committed version plus the changes
// written since. It is not safe for concurrent use, and Iterate's fn must not write to it.
// After Close its methods fail with ErrClosed.
func (s *Store) Working() ipledger.KV { return workingKV{s} }

// WorkingHash returns the root hash the working state would commit to. It hashes the
// changes written since the last call. It returns nil after Close, or if reading the tree
// failed; Commit then returns the error.
func (s *Store) WorkingHash() []byte {
	if s.shut.Load() {
		return nil
	}
	if err := s.applyQueue(); err != nil {
		return nil
	}
	h := s.t.root.subtreeHash()
	return h[:]
}

// applyQueue hands the changes the tree has not seen to it, in key-hash order.
func (s *Store) applyQueue() error {
	if err := s.usable(); err != nil {
		return err
	}
	if len(s.queue) == 0 {
		return nil
	}
	q := s.queue
	ops := make([]op, len(q))
	hashOps := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			e := q[i]
			if !e.khSet {
				e.kh, e.khSet = sha256.Sum256([]byte(e.key)), true
			}
			ops[i] = op{kh: e.kh, del: e.value == nil, e: e}
			if e.value != nil {
				ops[i].vh = sha256.Sum256(e.value)
			}
			e.queued = false
		}
	}
	if len(q) >= parallelMin {
		var wg sync.WaitGroup
		wg.Go(func() { hashOps(0, len(q)/2) })
		hashOps(len(q)/2, len(q))
		wg.Wait()
	} else {
		hashOps(0, len(q))
	}
	s.queue = s.queue[:0]
	err := sortOps(ops)
	if err == nil {
		err = s.t.apply(ops)
	}
	if err != nil {
		s.fail(err)
		return err
	}
	return nil
}

// closeWorkIter closes the working Gets' iterator, which must not outlive a Commit.
func (s *Store) closeWorkIter() error {
	if s.workIter == nil {
		return nil
	}
	err := s.workIter.Close()
	s.workIter = nil
	return err
}

// fail records an error that leaves the working state unusable until the store is
// reopened.
func (s *Store) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed == nil {
		s.failed = err
	}
}

// Commit saves the working state as the next version, atomically and (unless NoSync)
// durably, and prunes versions older than KeepRecent. It returns the new root hash and
// version. After an error the working state is unusable: close the Store and reopen it,
// which gives the last committed version.
func (s *Store) Commit() (hash []byte, version int64, err error) { return s.CommitWith(nil) }

// CommitWith is Commit together with side, the side data of the same version (see the
// package's crash contract), which it commits and closes: side goes to the database
// alongside the version's values and nodes, on other goroutines, and all of them before
// the root record that makes the version current. side may be nil.
func (s *Store) CommitWith(side *SideBatch) (hash []byte, version int64, err error) {
	if err := s.applyQueue(); err != nil {
		if side != nil {
			side.Close()
		}
		return nil, 0, fmt.Errorf("commit: %w", err)
	}
	v := s.t.version
	if err = s.writeRecords(v, side); err == nil {
		// The point of no return: the root record, synced, which makes the version (and
		// the unsynced writes logged before it) durable.
		rb := s.db.NewBatch()
		err = rb.Set(rootKey(v), encodeRoot(&s.t.root), nil)
		if err == nil {
			err = rb.Commit(s.sync)
		}
		rb.Close()
	}
	if err != nil {
		s.fail(err)
		return nil, 0, fmt.Errorf("commit version %d: %w", v, err)
	}

	s.t.committedNow()
	clear(s.order)
	s.order, s.inOrder = s.order[:0], true
	if err := s.closeWorkIter(); err != nil {
		s.log.Warn("store: close iterator", "err", err)
	}
	root := s.t.committed
	clear(s.dirty)
	s.mu.Lock()
	s.version, s.root = int64(v), root
	s.mu.Unlock()
	s.t.evict()
	s.prune(int64(v))
	h := root.subtreeHash()
	return h[:], int64(v), nil
}

// writeRecords writes everything of version v but its root: side (if not nil), the value
// records with the pruning list, and the nodes, in three unsynced batches that go to
// Pebble at once, each inserted into the memtable by its own goroutine. Records above the
// last root are invisible to every reader (reads are by version), and a replay of the
// block after a crash rewrites them identically.
func (s *Store) writeRecords(v uint64, side *SideBatch) error {
	var wg sync.WaitGroup
	var sideErr, valErr error
	if side != nil {
		wg.Go(func() { sideErr = side.Commit(false) })
	}
	wg.Go(func() { valErr = s.commitValues(v) })
	b := s.take(&s.nodeBatches)
	err := writeDirty(b, &s.t.root)
	if err == nil {
		err = b.Commit(pebble.NoSync)
	}
	s.give(&s.nodeBatches, b)
	wg.Wait()
	return errors.Join(err, valErr, sideErr)
}

// commitValues writes the value records of the working changes at version v and the list
// of the records they supersede, in one unsynced batch.
func (s *Store) commitValues(v uint64) error {
	b := s.take(&s.valueBatches)
	defer s.give(&s.valueBatches, b)
	stale, err := s.writeValues(b, v, s.t.stale)
	if err == nil && len(stale) > 0 {
		err = b.Set(staleKey(v), stale, nil)
	}
	if err == nil {
		err = b.Commit(pebble.NoSync)
	}
	return err
}

// writeValues adds the value records of the working changes at version v to b, in key
// order, and appends the records they supersede to the key list stale.
func (s *Store) writeValues(b *pebble.Batch, v uint64, stale []byte) ([]byte, error) {
	entries := s.order
	if !s.inOrder {
		entries = slices.Clone(entries)
		slices.SortFunc(entries, func(a, b *dirtyEntry) int { return strings.Compare(a.key, b.key) })
	}
	var buf []byte
	for _, e := range entries {
		if !e.prevKnown {
			return nil, fmt.Errorf("change of %q not hashed", e.key)
		}
		buf = valuePrefix(buf[:0], []byte(e.key))
		p := len(buf)
		buf = binary.BigEndian.AppendUint64(buf, ^v)
		var err error
		switch {
		case e.value != nil:
			op := b.SetDeferred(len(buf), 1+len(e.value))
			copy(op.Key, buf)
			op.Value[0] = valueSet
			copy(op.Value[1:], e.value)
			err = op.Finish()
		case e.prevVer > 0:
			// A tombstone hides the older records; it goes with them when they are
			// pruned.
			err = b.Set(buf, []byte{valueDeleted}, nil)
			stale = binary.AppendUvarint(stale, uint64(len(buf)))
			stale = append(stale, buf...)
		}
		if err != nil {
			return nil, err
		}
		if e.prevVer > 0 {
			stale = binary.AppendUvarint(stale, uint64(len(buf)))
			stale = append(stale, buf[:p]...)
			stale = binary.BigEndian.AppendUint64(stale, ^e.prevVer)
		}
	}
	return stale, nil
}

// A key list (the records a version supersedes) is a sequence of uvarint(length) ‖ key.
func decodeKeyList(b []byte, fn func(k []byte) error) error {
	for len(b) > 0 {
		n, m := binary.Uvarint(b)
		if m <= 0 || m != uvarintLen(n) || n == 0 || uint64(len(b)-m) < n {
			return fmt.Errorf("%w: superseded-records list", errCorrupt)
		}
		if err := fn(b[m : m+int(n)]); err != nil {
			return err
		}
		b = b[m+int(n):]
	}
	return nil
}

// prune deletes the versions that fell out of the KeepRecent window, except those a view
// operation is reading right now (they go at a later Commit). A version's superseded
// records are listed under it, so deleting one version costs about as much as the
// changes it made. A failure is logged and retried at the next Commit: the versions only
// stay longer.
func (s *Store) prune(latest int64) {
	if s.keepRecent == 0 {
		return
	}
	to := latest - s.keepRecent
	s.pinMu.Lock()
	for v := range s.pins {
		to = min(to, v-1)
	}
	if to > s.prunedTo {
		s.prunedTo = to // from now on views of these versions fail cleanly
	}
	to = s.prunedTo
	s.pinMu.Unlock()
	if to <= s.deletedTo {
		return
	}
	if err := s.deleteVersions(to); err != nil {
		s.log.Warn("store: prune failed", "to", to, "err", err)
	}
}

// deleteVersions deletes versions deletedTo+1 … to: their roots and the records that
// versions up to to+1 superseded, in atomic batches of whole versions. Pruning batches need
// no sync: Pebble writes in order, so the next synced Commit makes them durable, and if a
// crash loses one the versions are pruned again.
func (s *Store) deleteVersions(to int64) (err error) {
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: staleKey(uint64(s.deletedTo) + 2),
		UpperBound: staleKey(uint64(to) + 2),
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	b := s.db.NewBatch()
	defer func() { _ = b.Close() }()
	// flush deletes the roots of versions deletedTo+1 … upTo with the records collected.
	flush := func(upTo int64) error {
		if upTo > s.deletedTo {
			if err := b.DeleteRange(rootKey(uint64(s.deletedTo)+1), rootKey(uint64(upTo)+1), nil); err != nil {
				return err
			}
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			return err
		}
		s.deletedTo = max(s.deletedTo, upTo)
		b.Reset()
		return nil
	}
	for it.First(); it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != 9 {
			return fmt.Errorf("%w: superseded-records key %x", errCorrupt, k)
		}
		v := int64(binary.BigEndian.Uint64(k[1:]))
		if b.Len() >= pruneChunk {
			// Versions below v are complete.
			if err := flush(v - 2); err != nil {
				return err
			}
		}
		raw, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if err := decodeKeyList(raw, func(k []byte) error { return b.Delete(k, nil) }); err != nil {
			return err
		}
		if err := b.Delete(k, nil); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return err
	}
	return flush(to)
}

// pin keeps version from being pruned until unpin; it fails if pruning has begun.
func (s *Store) pin(version int64) error {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	if version <= s.prunedTo {
		return fmt.Errorf("version %d: %w (pruned)", version, ErrVersionNotFound)
	}
	s.pins[version]++
	return nil
}

func (s *Store) unpin(version int64) {
	s.pinMu.Lock()
	defer s.pinMu.Unlock()
	if s.pins[version]--; s.pins[version] <= 0 {
		delete(s.pins, version)
	}
}

// Rollback discards the working state's uncommitted changes.
func (s *Store) Rollback() {
	if s.shut.Load() {
		return
	}
	s.t.rollback()
	clear(s.dirty)
	clear(s.order)
	s.order, s.inOrder = s.order[:0], true
	s.queue = s.queue[:0]
}

func (s *Store) usable() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if s.failed != nil {
		return fmt.Errorf("an earlier commit failed: %w", s.failed)
	}
	return nil
}

// ReadAt returns an immutable view of a committed version; 0 means the latest. The view is
// safe for concurrent use and stays valid while its version is retained (KeepRecent
// versions after it) and until Close; a view operation under way holds pruning and Close
// back. A version that is not retained gives an error matching ErrVersionNotFound, from
// ReadAt or from the view's methods.
func (s *Store) ReadAt(version int64) (*View, error) {
	s.mu.RLock()
	latest, root, closed := s.version, s.root, s.closed
	s.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if version == 0 {
		version = latest
	}
	if version < 0 || version > latest {
		return nil, fmt.Errorf("read version %d: %w (latest %d)", version, ErrVersionNotFound, latest)
	}
	if version == 0 {
		return &View{s: s}, nil // nothing committed yet: the empty map
	}
	if version == latest {
		if err := s.pin(version); err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		s.unpin(version)
		return &View{s: s, version: version, root: root}, nil
	}
	v := &View{s: s, version: version}
	err := v.guard(func() error {
		b, err := pebbleGet(s.db, rootKey(uint64(version)))
		if err != nil {
			return err
		}
		if b == nil {
			return ErrVersionNotFound
		}
		v.root, err = decodeRoot(b, uint64(version))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read version %d: %w", version, err)
	}
	return v, nil
}

// Prove returns key's value at version (0 means the latest) with a membership proof, or a
// nil value with a non-membership proof if the key is absent.
func (s *Store) Prove(version int64, key []byte) (value []byte, proof *Proof, err error) {
	v, err := s.ReadAt(version)
	if err != nil {
		return nil, nil, fmt.Errorf("prove: %w", err)
	}
	return v.Prove(key)
}

// pebbleLogger sends Pebble's messages to slog: informational ones at debug level.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug("pebble: " + fmt.Sprintf(format, args...))
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error("pebble: " + fmt.Sprintf(format, args...))
}

// Fatalf is for corruption Pebble cannot continue from; it exits like Pebble's own logger.
func (p pebbleLogger) Fatalf(format string, args ...any) {
	p.l.Error("pebble: " + fmt.Sprintf(format, args...))
	pebble.DefaultLogger.Fatalf(format, args...)
}
