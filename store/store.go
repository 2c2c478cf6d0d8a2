// Package store is the node's embedded database: one Pebble database per node home that
// holds the authenticated state map and the unauthenticated side tables.
//
// The state map is an IAVL tree (github.com/cosmos/iavl) whose nodes live in Pebble under
// their own key prefix. Its version is the block height: the ledger writes a block's changes
// through [Store.Working], and [Store.Commit] saves them as the next version. Every retained
// version can be read ([Store.ReadAt]) and proven ([Store.Prove], checked by [VerifyProof]
// against a root hash with the ICS-23 IAVL spec). The side tables ([Store.SideGet],
// [Store.SideIterate], [Store.NewSideBatch]) hold what is not part of the state root:
// transparency-log leaves and tree state, block records, the per-object history index and
// app metadata. Their key layout belongs to the callers.
//
// # Key layout
//
// Every Pebble key starts with one byte naming its space:
//
//	'm' + name      the store's own metadata (format marker)
//	't' + iavl key  IAVL nodes and IAVL's metadata, one atomic Pebble batch per version
//	's' + side key  side tables
//
// # Crash consistency
//
// Each [Store.Commit] writes the whole new IAVL version (its nodes and its root) in one
// Pebble batch, fsynced unless [Options.NoSync] is set, so after a crash the store reopens
// at the last version whose Commit returned, with the same root hash; a half-written
// version is never visible. A [SideBatch] is atomic too, but it is a separate write: the
// side tables and the tree do not commit together. The contract for a block at height h is
//
//  1. write h's side data (log leaves, block record, history entries) in one SideBatch,
//     committed before the tree;
//  2. call Commit, which makes h the tree's version.
//
// After a crash between the two, [Store.Version] is h-1: the IAVL version is the truth. The
// side data of h is then stale and the caller rewrites it when it replays block h (a
// replay writes the same keys, so the rewrite simply overwrites it). Readers of side data
// must not trust entries above Version. Pebble logs writes in order, so once a synced
// Commit for h has returned, the side batch written before it is durable as well, even if
// that batch was committed without sync.
package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cosmos/iavl"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/ipledger/ipledger"
)

// Key spaces of the Pebble database.
const (
	spaceMeta = 'm'
	spaceTree = 't'
	spaceSide = 's'
)

// formatKey holds formatValue in every store this package created.
var (
	formatKey   = []byte{spaceMeta, 'f', 'o', 'r', 'm', 'a', 't'}
	formatValue = []byte("ipledger-store/1")
)

// Defaults for zero Options fields.
const (
	// DefaultCacheSize is the number of IAVL nodes the working tree keeps in memory when
	// Options.CacheSize is zero; snapshots share a cache a quarter that size. A cached node
	// costs about 450 bytes of heap with the value sizes of the largest import, so this is
	// ~50 MB. Caches of 200k and 500k nodes made that import no faster on 2 cores (the
	// time goes to hashing, encoding and garbage collection, not to cache misses) and cost
	// 100 and 450 MB more RSS.
	DefaultCacheSize = 100_000

	// DefaultBlockCacheSize is Pebble's block cache when Options.BlockCacheSize is zero.
	// It serves the node reads that miss IAVL's cache and, unlike that cache, lives off the
	// Go heap, so it costs no garbage-collection work. It fills only as blocks are read:
	// after the largest import it held ~170 MB. Against 64 MB it made random reads of that
	// store twice as fast on a cold start (60 against 110 µs).
	DefaultBlockCacheSize = 256 << 20

	// memTableSize is Pebble's memtable. A block of the largest import is a 5–8 MB batch;
	// 16 MB measured faster than 32 or 64 MB and keeps reopening (WAL replay) short.
	memTableSize = 16 << 20
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
	// CacheSize is the number of IAVL nodes the working tree caches; snapshots (ReadAt)
	// share a cache of a quarter of it. 0 means DefaultCacheSize.
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
	// Logger receives Pebble's messages (at debug level) and pruning failures; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Store is a node's database. Working, WorkingHash, Commit and Rollback belong to the one
// goroutine that executes blocks; the other methods are safe for concurrent use, also
// while a block executes.
type Store struct {
	db   *pebble.DB
	tdb  *prefixDB
	tree *iavl.MutableTree // the working tree; only the block goroutine touches it
	// reader loads the snapshots of ReadAt. It has a node cache of its own: the working
	// tree's Set writes to nodes of the last version (iavl's Node.clone clears their child
	// pointers), so views sharing those nodes would race with it.
	reader     *iavl.MutableTree
	keepRecent int64
	log        *slog.Logger

	// shut is set once Close starts; the working tree's methods check it so that use after
	// Close is an error rather than a nil dereference inside iavl.
	shut atomic.Bool

	pinMu    sync.Mutex
	pins     map[int64]int // versions that view operations are reading now
	prunedTo int64         // versions up to this one are pruned or being pruned

	mu      sync.RWMutex // guards the fields below
	version int64        // last committed version
	hash    []byte       // root hash of version
	failed  error        // a Commit failure that left the tree unusable
	closed  bool
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
		CacheSize:          opts.BlockCacheSize,
		MemTableSize:       memTableSize,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{lg},
	}
	// Bloom filters spare a disk read for most lookups of absent keys (IAVL's root
	// probes, side-table misses).
	for i := range popts.Levels {
		popts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(opts.Dir, popts)
	if err != nil {
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
	tdb := newPrefixDB(db, []byte{spaceTree})
	iopts := []iavl.Option{
		iavl.SyncOption(!opts.NoSync),
		// Never flush a SaveVersion half-way: one version is one Pebble batch, which is
		// what makes Commit atomic. A block's version is a few MB at most.
		iavl.FlushThresholdOption(math.MaxInt32),
	}
	if opts.InitialVersion > 0 {
		iopts = append(iopts, iavl.InitialVersionOption(uint64(opts.InitialVersion)))
	}
	// Fast storage is off. It keeps a second copy of every live key outside the tree, so
	// each write costs twice; its reads and iterators bypass the tree and go to the live
	// index, so a snapshot of the latest version would see a concurrent Commit; and
	// whenever its metadata disagrees with the tree (first open, a downgrade) it rebuilds
	// the index from every key at open, which breaks the reopen budget.
	tree := iavl.NewMutableTree(tdb, opts.CacheSize, true, iavl.NewNopLogger(), iopts...)
	version, err := tree.Load()
	if err != nil {
		return nil, fmt.Errorf("load tree: %w", err)
	}
	reader := iavl.NewMutableTree(tdb, max(opts.CacheSize/4, 10_000), true, iavl.NewNopLogger(), iopts...)
	return &Store{
		db:         db,
		tdb:        tdb,
		tree:       tree,
		reader:     reader,
		keepRecent: opts.KeepRecent,
		log:        lg,
		pins:       map[int64]int{},
		version:    version,
		hash:       tree.Hash(),
	}, nil
}

// checkFormat refuses a database this package did not create and marks a new one.
func checkFormat(db *pebble.DB) error {
	v, err := pebbleGet(db, formatKey)
	if err != nil {
		return fmt.Errorf("read format: %w", err)
	}
	if v != nil {
		if !bytes.Equal(v, formatValue) {
			return fmt.Errorf("unknown store format %q", v)
		}
		return nil
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

// Close closes the database. Uncommitted working changes are lost. Views and side
// iterations must have finished.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.shut.Store(true)
	s.mu.Unlock()
	err := errors.Join(s.tree.Close(), s.reader.Close())
	err = errors.Join(err, s.tdb.Close())
	err = errors.Join(err, s.db.Close())
	if err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Version returns the last committed version, 0 if none.
func (s *Store) Version() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.version
}

// Hash returns the root hash of the last committed version: IAVL's hash of an empty tree
// (SHA-256 of nothing) if there is none or the tree is empty.
func (s *Store) Hash() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return bytes.Clone(s.hash)
}

// Working returns the mutable working tree: the last committed version plus the changes
// written since. It is not safe for concurrent use, and Iterate's fn must not write to it.
// After Close its methods fail with ErrClosed.
func (s *Store) Working() ipledger.KV { return workingKV{s} }

// WorkingHash returns the root hash the working tree would commit to, nil after Close.
func (s *Store) WorkingHash() []byte {
	if s.shut.Load() {
		return nil
	}
	return s.tree.WorkingHash()
}

// Commit saves the working tree as the next version, atomically and (unless NoSync)
// durably, and prunes versions older than KeepRecent. It returns the new root hash and
// version. After an error the working tree is in an unknown state: close the Store and
// reopen it, which gives the last committed version.
func (s *Store) Commit() (hash []byte, version int64, err error) {
	if err := s.usable(); err != nil {
		return nil, 0, fmt.Errorf("commit: %w", err)
	}
	hash, version, err = s.tree.SaveVersion()
	if err != nil {
		s.mu.Lock()
		s.failed = err
		s.mu.Unlock()
		return nil, 0, fmt.Errorf("commit: %w", err)
	}
	s.mu.Lock()
	s.version, s.hash = version, hash
	s.mu.Unlock()
	s.prune(version)
	return bytes.Clone(hash), version, nil
}

// prune deletes the versions that fell out of the KeepRecent window, except those a view
// operation is reading right now (they go at a later Commit). Deleting one version's
// orphans costs about as much as the changes it made. A failure is logged and retried at
// the next Commit: the versions only stay longer.
func (s *Store) prune(latest int64) {
	if s.keepRecent == 0 {
		return
	}
	to := latest - s.keepRecent
	s.pinMu.Lock()
	for v := range s.pins {
		to = min(to, v-1)
	}
	if to <= s.prunedTo {
		s.pinMu.Unlock()
		return
	}
	s.prunedTo = to // from now on views of these versions fail cleanly
	s.pinMu.Unlock()
	if !s.tree.VersionExists(to) {
		return // pruned before this process started
	}
	// The pruning batch need not be synced: Pebble writes in order, so the next synced
	// Commit makes it durable, and if a crash loses it the versions are pruned again.
	s.tdb.setNoSync(true)
	defer s.tdb.setNoSync(false)
	if err := s.tree.DeleteVersionsTo(to); err != nil {
		s.log.Warn("store: prune failed", "to", to, "err", err)
	}
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

// Rollback discards the working tree's uncommitted changes.
func (s *Store) Rollback() {
	if !s.shut.Load() {
		s.tree.Rollback()
	}
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
// versions after it) and until Close; a view operation under way holds pruning back. A
// version that is not retained gives an error matching ErrVersionNotFound, from ReadAt or
// from the view's methods.
func (s *Store) ReadAt(version int64) (*View, error) {
	s.mu.RLock()
	latest, hash, closed := s.version, s.hash, s.closed
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
		return &View{hash: hash}, nil // nothing committed yet: the empty tree
	}
	if err := s.pin(version); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	defer s.unpin(version)
	t, err := s.reader.GetImmutable(version)
	if err != nil {
		if errors.Is(err, iavl.ErrVersionDoesNotExist) {
			return nil, fmt.Errorf("read version %d: %w", version, ErrVersionNotFound)
		}
		return nil, fmt.Errorf("read version %d: %w", version, err)
	}
	return &View{s: s, tree: t, version: version, hash: t.Hash()}, nil
}

// Prove returns key's value at version (0 means the latest) with a membership proof, or a
// nil value with a non-membership proof if the key is absent. No proof exists for an
// empty tree.
func (s *Store) Prove(version int64, key []byte) (value []byte, proof *ics23.CommitmentProof, err error) {
	v, err := s.ReadAt(version)
	if err != nil {
		return nil, nil, fmt.Errorf("prove: %w", err)
	}
	return v.Prove(key)
}

// ErrInvalidProof is wrapped by every VerifyProof failure. Check with errors.Is.
var ErrInvalidProof = errors.New("invalid proof")

// VerifyProof checks proof against root with the ICS-23 IAVL spec: that key holds value
// if value is not nil, or that key is absent if value is nil.
func VerifyProof(root, key, value []byte, proof *ics23.CommitmentProof) error {
	if proof == nil {
		return fmt.Errorf("%w: no proof", ErrInvalidProof)
	}
	if value != nil {
		if proof.GetExist() == nil {
			return fmt.Errorf("%w: not a membership proof", ErrInvalidProof)
		}
		if !ics23.VerifyMembership(ics23.IavlSpec, root, proof, key, value) {
			return fmt.Errorf("%w: membership of %x", ErrInvalidProof, key)
		}
		return nil
	}
	if proof.GetNonexist() == nil {
		return fmt.Errorf("%w: not a non-membership proof", ErrInvalidProof)
	}
	if !ics23.VerifyNonMembership(ics23.IavlSpec, root, proof, key) {
		return fmt.Errorf("%w: non-membership of %x", ErrInvalidProof, key)
	}
	return nil
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
