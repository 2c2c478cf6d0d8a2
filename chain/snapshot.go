package chain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/kvbuffer"
	"github.com/ipledger/ipledger/store"
	"github.com/ipledger/ipledger/tlog"
)

// ABCI snapshots for CometBFT state sync (format in snapshot_codec.go).
//
// Taking: every Config.SnapshotInterval blocks, Commit freezes the store (a Pebble
// snapshot: the state version just committed and the side tables exactly as of that
// block) and a goroutine writes the snapshot from the image into
// Config.SnapshotDir/<height>/ (chunk files and metadata, written under a temporary name
// and renamed when complete), so consensus waits only for the freeze. The newest
// Config.SnapshotKeep snapshots are kept, and an older one while a peer is still fetching
// it.
//
// Restoring (a new node, empty store): OfferSnapshot checks the metadata against the app
// hash the light client verified, ApplySnapshotChunk checks each chunk's hash and feeds
// the stream through the restorer into the store's working state and side tables, and
// after the last chunk the state root and the log root rebuilt from the leaves must give
// exactly that app hash. Only then is the version committed; on any failure the store is
// emptied again.

// DefaultSnapshotKeep is how many snapshots a node keeps when Config.SnapshotKeep is 0.
const DefaultSnapshotKeep = 3

// snapshotServeGrace keeps a snapshot offered to a peer or fetched from lately past the keep
// count, so a joining node neither loses its snapshot half way nor asks for one already
// gone: CometBFT's state sync picks among the snapshots it discovered over seconds and asks
// for a chunk that every peer answers missing forever if they all pruned it (on a chain
// snapshotting every few seconds, they had).
const snapshotServeGrace = time.Minute

// sideFlushBytes is the size at which a restore commits its side batch.
const sideFlushBytes = 32 << 20

// SnapshotDir returns the directory where the node in home keeps its state-sync snapshots.
func SnapshotDir(home string) string { return filepath.Join(home, "data", "snapshots") }

// snapshots is the App's snapshot state: the snapshots it serves and the restore under
// way. The zero value takes and serves none.
type snapshots struct {
	store *snapshotStore // nil: none taken or served

	mu      sync.Mutex // guards session
	session *restoreSession
}

// snapshotMetrics are the snapshot metrics, part of Metrics.
type snapshotMetrics struct {
	taken    prometheus.Counter
	latest   prometheus.Gauge
	restored prometheus.Gauge
	rejected prometheus.Counter
}

func newSnapshotMetrics(f promauto.Factory) snapshotMetrics {
	return snapshotMetrics{
		taken: f.NewCounter(prometheus.CounterOpts{Name: "ipledger_snapshots_taken_total",
			Help: "State-sync snapshots this node wrote."}),
		latest: f.NewGauge(prometheus.GaugeOpts{Name: "ipledger_snapshot_height",
			Help: "Height of the newest state-sync snapshot this node serves (0: none)."}),
		restored: f.NewGauge(prometheus.GaugeOpts{Name: "ipledger_state_sync_height",
			Help: "Height of the snapshot this node was restored from by state sync (0: it was not)."}),
		rejected: f.NewCounter(prometheus.CounterOpts{Name: "ipledger_snapshots_rejected_total",
			Help: "Snapshots or chunks offered by peers that this node refused."}),
	}
}

// openSnapshots starts serving the snapshots in cfg.SnapshotDir, if set.
func (a *App) openSnapshots() error {
	if a.cfg.SnapshotDir == "" {
		return nil
	}
	keep := a.cfg.SnapshotKeep
	if keep <= 0 {
		keep = DefaultSnapshotKeep
	}
	s := &snapshotStore{dir: a.cfg.SnapshotDir, interval: a.cfg.SnapshotInterval, keep: keep, log: a.log,
		m: a.m.snap, stop: make(chan struct{})}
	if err := s.load(); err != nil {
		return fmt.Errorf("snapshots: %w", err)
	}
	a.snap.store = s
	return nil
}

// closeSnapshots stops a snapshot being written (it is left unfinished and removed at the
// next start) and waits for it; the store may close after.
func (a *App) closeSnapshots() {
	if s := a.snap.store; s != nil {
		s.close()
	}
	a.snap.mu.Lock()
	defer a.snap.mu.Unlock()
	if a.snap.session != nil {
		a.abortRestore(a.snap.session)
	}
}

// snapshotAfterCommit takes a snapshot of the block just committed when its height is a
// multiple of the interval. It runs on the consensus goroutine at the end of Commit, so the
// side tables hold exactly the committed blocks.
func (a *App) snapshotAfterCommit(rec ipledger.BlockRecord) {
	if s := a.snap.store; s != nil && s.interval > 0 && rec.Height%s.interval == 0 {
		s.take(a.st, rec)
	}
}

// snapshotStore is the directory of snapshots a node serves.
type snapshotStore struct {
	dir      string
	interval int64
	keep     int
	log      *slog.Logger
	m        snapshotMetrics

	mu     sync.Mutex
	list   []*snapshotInfo // complete snapshots, ascending height
	busy   bool            // one is being written
	closed bool
	stop   chan struct{} // closed by close
	wg     sync.WaitGroup
}

// snapshotInfo is one complete snapshot on disk.
type snapshotInfo struct {
	height int64
	meta   []byte
	hash   []byte
	chunks uint32
	dir    string
	served time.Time // when it was last offered to a peer (ListSnapshots) or a chunk loaded for one
}

func chunkPath(dir string, i uint32) string { return filepath.Join(dir, fmt.Sprintf("chunk-%06d", i)) }

const metaFile = "metadata"

// load lists the complete snapshots in the directory and removes unfinished ones.
func (s *snapshotStore) load() error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		path := filepath.Join(s.dir, e.Name())
		h, err := strconv.ParseInt(e.Name(), 10, 64)
		if !e.IsDir() || err != nil {
			if strings.HasPrefix(e.Name(), "tmp-") {
				if err := os.RemoveAll(path); err != nil {
					return err
				}
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(path, metaFile))
		var m *snapshotMeta
		if err == nil {
			m, err = decodeSnapshotMeta(b)
		}
		if err == nil && m.Height == h {
			_, err = os.Stat(chunkPath(path, uint32(len(m.Chunks)-1)))
		}
		if err != nil || m.Height != h {
			s.log.Warn("removing unreadable snapshot", "dir", path, "err", err)
			if err := os.RemoveAll(path); err != nil {
				return err
			}
			continue
		}
		hash := sha256.Sum256(b)
		s.list = append(s.list, &snapshotInfo{height: h, meta: b, hash: hash[:], chunks: uint32(len(m.Chunks)), dir: path})
	}
	slices.SortFunc(s.list, func(x, y *snapshotInfo) int { return int(x.height - y.height) })
	if n := len(s.list); n > 0 {
		s.m.latest.Set(float64(s.list[n-1].height))
	}
	return nil
}

// take freezes the store and writes a snapshot of rec's block in the background, unless
// one is being written already.
func (s *snapshotStore) take(st *store.Store, rec ipledger.BlockRecord) {
	s.mu.Lock()
	if s.busy || s.closed {
		busy := s.busy
		s.mu.Unlock()
		if busy {
			s.log.Warn("snapshot skipped: the previous one is still being written", "height", rec.Height)
		}
		return
	}
	f, err := st.Freeze()
	if err != nil {
		s.mu.Unlock()
		s.log.Warn("snapshot failed", "height", rec.Height, "err", err)
		return
	}
	if f.Version() != rec.Height {
		s.mu.Unlock()
		f.Close()
		s.log.Warn("snapshot failed", "height", rec.Height, "err", fmt.Sprintf("the store is at version %d", f.Version()))
		return
	}
	s.busy = true
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		start := time.Now()
		info, stats, err := s.write(f, rec)
		err = errors.Join(err, f.Close())
		s.mu.Lock()
		s.busy = false
		if err == nil {
			// A block replayed after a crash may write its snapshot again.
			s.list = slices.DeleteFunc(s.list, func(in *snapshotInfo) bool { return in.height == info.height })
			s.list = append(s.list, info)
		}
		s.mu.Unlock()
		switch {
		case errors.Is(err, errSnapshotStopped):
			return
		case err != nil:
			s.log.Warn("snapshot failed", "height", rec.Height, "err", err)
			return
		}
		s.m.taken.Inc()
		s.m.latest.Set(float64(rec.Height))
		s.log.Info("snapshot taken", "height", rec.Height, "chunks", info.chunks, "bytes", stats.bytes,
			"state_keys", stats.state, "side_entries", stats.side, "seconds", time.Since(start).Seconds())
		s.prune()
	}()
}

var errSnapshotStopped = errors.New("node stopping")

type snapshotStats struct {
	bytes       uint64
	state, side uint64
}

// write writes the snapshot of rec's block from the frozen image f.
func (s *snapshotStore) write(f *store.Frozen, rec ipledger.BlockRecord) (*snapshotInfo, snapshotStats, error) {
	h := rec.Height
	var stats snapshotStats
	// The image must hold the block's side data: Commit writes it before the state.
	if b, err := f.SideGet(u64key(sideBlock, uint64(h))); err != nil || b == nil {
		return nil, stats, fmt.Errorf("the block record of %d is not in the store's image (%v)", h, err)
	}
	tmp := filepath.Join(s.dir, fmt.Sprintf("tmp-%d", h))
	final := filepath.Join(s.dir, strconv.FormatInt(h, 10))
	if err := os.RemoveAll(tmp); err != nil {
		return nil, stats, err
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, stats, err
	}
	fail := func(err error) (*snapshotInfo, snapshotStats, error) {
		os.RemoveAll(tmp)
		return nil, stats, err
	}
	w := &chunkWriter{dir: tmp}
	var werr error
	emit := func(tag byte, k, v []byte) bool {
		if werr == nil {
			werr = w.add(tag, k, v)
		}
		if werr == nil && w.records%4096 == 0 {
			select {
			case <-s.stop:
				werr = errSnapshotStopped
			default:
			}
		}
		return werr == nil
	}
	emit(recHeader, snapshotMagic, binary.BigEndian.AppendUint64(nil, uint64(h)))
	if err := f.Iterate(nil, nil, false, func(k, v []byte) bool {
		stats.state++
		return emit(recState, k, v)
	}); err != nil || werr != nil {
		return fail(errors.Join(werr, err))
	}
	// The side tables, each as of h (see the restorer for what is checked).
	within := func(height uint64) bool { return height >= 1 && height <= uint64(h) }
	keep := map[byte]func(k, v []byte) bool{
		sideBlock:   func(k, _ []byte) bool { return len(k) == 9 && within(binary.BigEndian.Uint64(k[1:])) },
		sideTxIndex: func(k, v []byte) bool { return len(k) == 33 && len(v) == 12 && within(binary.BigEndian.Uint64(v)) },
		sideLeaf:    func(k, _ []byte) bool { return len(k) == 9 && binary.BigEndian.Uint64(k[1:]) < rec.LogSize },
		sideHistory: func(k, v []byte) bool {
			return len(k) >= 15 && k[len(k)-13] == 0 && bytes.IndexByte(k[1:len(k)-13], 0) < 0 && len(v) == 32 &&
				within(binary.BigEndian.Uint64(k[len(k)-12:]))
		},
	}
	for _, t := range []byte{sideBlock, sideTxIndex, sideLeaf, sideHistory} {
		if err := f.SideIterate([]byte{t}, []byte{t + 1}, func(k, v []byte) bool {
			if !keep[t](k, v) {
				return true
			}
			stats.side++
			return emit(recSide, k, v)
		}); err != nil || werr != nil {
			return fail(errors.Join(werr, err))
		}
	}
	end := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, stats.state), stats.side)
	if emit(recEnd, nil, end); werr != nil {
		return fail(werr)
	}
	if err := w.close(); err != nil {
		return fail(err)
	}
	stats.bytes = w.total
	meta := (&snapshotMeta{Height: h, AppHash: rec.AppHash, Size: w.total, Chunks: w.hashes}).encode()
	if err := writeFileSync(filepath.Join(tmp, metaFile), meta); err != nil {
		return fail(err)
	}
	if err := os.RemoveAll(final); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	hash := sha256.Sum256(meta)
	return &snapshotInfo{height: h, meta: meta, hash: hash[:], chunks: uint32(len(w.hashes)), dir: final}, stats, nil
}

// prune removes the snapshots beyond the newest keep, except those offered or served
// lately.
func (s *snapshotStore) prune() {
	s.mu.Lock()
	var drop []*snapshotInfo
	if n := len(s.list) - s.keep; n > 0 {
		kept := s.list[:0:0]
		for i, in := range s.list {
			if i < n && time.Since(in.served) > snapshotServeGrace {
				drop = append(drop, in)
			} else {
				kept = append(kept, in)
			}
		}
		s.list = kept
	}
	s.mu.Unlock()
	for _, in := range drop {
		if err := os.RemoveAll(in.dir); err != nil {
			s.log.Warn("removing old snapshot", "height", in.height, "err", err)
		}
	}
}

// close stops a snapshot being written and waits for it.
func (s *snapshotStore) close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stop)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *snapshotStore) find(height uint64) *snapshotInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.list {
		if uint64(in.height) == height {
			return in
		}
	}
	return nil
}

// chunkWriter cuts the stream into chunk files, hashing each.
type chunkWriter struct {
	dir     string
	buf     []byte
	hashes  [][32]byte
	total   uint64
	records int
}

func (w *chunkWriter) add(tag byte, k, v []byte) error {
	w.buf = appendRecord(w.buf, tag, k, v)
	w.records++
	for len(w.buf) >= chunkSize {
		if err := w.flush(w.buf[:chunkSize]); err != nil {
			return err
		}
		w.buf = w.buf[:copy(w.buf, w.buf[chunkSize:])]
	}
	return nil
}

func (w *chunkWriter) flush(b []byte) error {
	if err := writeFileSync(chunkPath(w.dir, uint32(len(w.hashes))), b); err != nil {
		return err
	}
	w.hashes = append(w.hashes, sha256.Sum256(b))
	w.total += uint64(len(b))
	return nil
}

func (w *chunkWriter) close() error {
	if len(w.buf) == 0 && len(w.hashes) > 0 {
		return nil
	}
	return w.flush(w.buf)
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// ListSnapshots lists the snapshots this node serves.
func (a *App) ListSnapshots(context.Context, *abci.ListSnapshotsRequest) (*abci.ListSnapshotsResponse, error) {
	res := &abci.ListSnapshotsResponse{}
	s := a.snap.store
	if s == nil {
		return res, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, in := range s.list {
		in.served = now
		res.Snapshots = append(res.Snapshots, &abci.Snapshot{Height: uint64(in.height), Format: SnapshotFormat,
			Chunks: in.chunks, Hash: in.hash, Metadata: in.meta})
	}
	return res, nil
}

// LoadSnapshotChunk returns a chunk of a snapshot this node serves; none if it has no such
// snapshot (any more).
func (a *App) LoadSnapshotChunk(_ context.Context, req *abci.LoadSnapshotChunkRequest) (*abci.LoadSnapshotChunkResponse, error) {
	s := a.snap.store
	if s == nil || req.Format != SnapshotFormat {
		return &abci.LoadSnapshotChunkResponse{}, nil
	}
	in := s.find(req.Height)
	if in == nil || req.Chunk >= in.chunks {
		return &abci.LoadSnapshotChunkResponse{}, nil
	}
	s.mu.Lock()
	in.served = time.Now()
	s.mu.Unlock()
	b, err := os.ReadFile(chunkPath(in.dir, req.Chunk))
	if err != nil {
		a.log.Warn("loading snapshot chunk", "height", req.Height, "chunk", req.Chunk, "err", err)
		return &abci.LoadSnapshotChunkResponse{}, nil
	}
	return &abci.LoadSnapshotChunkResponse{Chunk: b}, nil
}

// restoreSession is a snapshot being restored.
type restoreSession struct {
	meta    *snapshotMeta
	appHash []byte // the app hash the light client verified
	next    uint32 // the next chunk expected
	fed     uint64 // stream bytes applied
	r       *restorer
	sink    *storeSink
	start   time.Time
}

// storeSink writes a restore into the store's working state and side tables, and the
// state into the mirror the state machine will run on.
type storeSink struct {
	st        *store.Store
	working   interface{ Set(k, v []byte) error }
	mirror    *store.MemKV
	side      *store.SideBatch
	sideBytes int
}

func (s *storeSink) setState(k, v []byte) error {
	kv := make([]byte, len(k)+len(v))
	copy(kv, k)
	copy(kv[len(k):], v)
	key, val := kv[:len(k):len(k)], kv[len(k):]
	if err := s.mirror.Set(key, val); err != nil {
		return err
	}
	return s.working.Set(key, val)
}

func (s *storeSink) setSide(k, v []byte) error {
	if err := s.side.Set(bytes.Clone(k), bytes.Clone(v)); err != nil {
		return err
	}
	if s.sideBytes += len(k) + len(v); s.sideBytes >= sideFlushBytes {
		return s.flush()
	}
	return nil
}

// flush commits the side batch written so far (without sync: the Commit of the state
// that follows is synced, and Pebble writes in order).
func (s *storeSink) flush() error {
	err := s.side.Commit(false)
	s.side, s.sideBytes = s.st.NewSideBatch(), 0
	return err
}

// OfferSnapshot accepts a snapshot of format 1 whose metadata is well formed and names the
// app hash the light client verified, if the store is empty.
func (a *App) OfferSnapshot(_ context.Context, req *abci.OfferSnapshotRequest) (*abci.OfferSnapshotResponse, error) {
	a.snap.mu.Lock()
	defer a.snap.mu.Unlock()
	if a.snap.session != nil {
		a.abortRestore(a.snap.session)
	}
	res := func(r abci.OfferSnapshotResult, reason string, args ...any) (*abci.OfferSnapshotResponse, error) {
		if r != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
			a.m.snap.rejected.Inc()
			a.log.Warn("snapshot refused", append([]any{"height", req.Snapshot.GetHeight(), "format", req.Snapshot.GetFormat(), "reason", reason}, args...)...)
		}
		return &abci.OfferSnapshotResponse{Result: r}, nil
	}
	sn := req.Snapshot
	if sn == nil {
		return res(abci.OFFER_SNAPSHOT_RESULT_REJECT, "no snapshot in the offer")
	}
	if sn.Format != SnapshotFormat {
		return res(abci.OFFER_SNAPSHOT_RESULT_REJECT_FORMAT, fmt.Sprintf("format %d; this node reads format %d", sn.Format, SnapshotFormat))
	}
	meta, err := decodeSnapshotMeta(sn.Metadata)
	if err != nil {
		return res(abci.OFFER_SNAPSHOT_RESULT_REJECT, err.Error())
	}
	if h := sha256.Sum256(sn.Metadata); !bytes.Equal(h[:], sn.Hash) {
		return res(abci.OFFER_SNAPSHOT_RESULT_REJECT, "the snapshot hash is not the hash of its metadata")
	}
	if uint64(meta.Height) != sn.Height || uint32(len(meta.Chunks)) != sn.Chunks {
		return res(abci.OFFER_SNAPSHOT_RESULT_REJECT, fmt.Sprintf("metadata says height %d in %d chunks, the offer %d in %d", meta.Height, len(meta.Chunks), sn.Height, sn.Chunks))
	}
	if !bytes.Equal(meta.AppHash, req.AppHash) {
		return res(abci.OFFER_SNAPSHOT_RESULT_REJECT, fmt.Sprintf("snapshot of app hash %X; the light client verified %X", meta.AppHash, req.AppHash))
	}
	if err := a.waitReady(); err != nil {
		return nil, err
	}
	if v := a.st.Version(); v != 0 {
		return res(abci.OFFER_SNAPSHOT_RESULT_ABORT, fmt.Sprintf("the store holds height %d already; state sync needs an empty node home (remove its ledger/ and data/ to join again)", v))
	}
	if err := a.st.BeginRestore(meta.Height); err != nil {
		return nil, fmt.Errorf("offer snapshot: %w", err)
	}
	sink := &storeSink{st: a.st, working: a.st.Working(), mirror: store.NewMemKV(), side: a.st.NewSideBatch()}
	a.snap.session = &restoreSession{meta: meta, appHash: bytes.Clone(req.AppHash), r: newRestorer(meta.Height, sink), sink: sink, start: time.Now()}
	a.log.Info("snapshot offered", "height", meta.Height, "chunks", len(meta.Chunks), "bytes", meta.Size, "app_hash", fmt.Sprintf("%X", meta.AppHash))
	return res(abci.OFFER_SNAPSHOT_RESULT_ACCEPT, "")
}

// ApplySnapshotChunk checks a chunk against the snapshot's metadata and restores it; the
// last one completes the restore if the app hash comes out as verified.
func (a *App) ApplySnapshotChunk(_ context.Context, req *abci.ApplySnapshotChunkRequest) (*abci.ApplySnapshotChunkResponse, error) {
	a.snap.mu.Lock()
	defer a.snap.mu.Unlock()
	s := a.snap.session
	if s == nil {
		a.log.Warn("snapshot chunk without an accepted snapshot", "chunk", req.Index)
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY_SNAPSHOT}, nil
	}
	if req.Index != s.next {
		a.log.Warn("snapshot chunk out of order; restarting the snapshot", "height", s.meta.Height, "chunk", req.Index, "want", s.next)
		a.abortRestore(s)
		return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY_SNAPSHOT}, nil
	}
	if h := sha256.Sum256(req.Chunk); len(req.Chunk) > maxSnapshotChunk || h != s.meta.Chunks[req.Index] {
		// Another peer may serve it right: fetch it again, not from this sender.
		a.m.snap.rejected.Inc()
		a.log.Warn("snapshot chunk refused: its hash is not the one in the snapshot's metadata", "height", s.meta.Height, "chunk", req.Index, "sender", req.Sender)
		res := &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY, RefetchChunks: []uint32{req.Index}}
		if req.Sender != "" {
			res.RejectSenders = []string{req.Sender}
		}
		return res, nil
	}
	err := s.r.feed(req.Chunk)
	if err == nil {
		s.next++
		s.fed += uint64(len(req.Chunk))
		// Hash what this chunk changed while the next ones arrive.
		if a.st.WorkingHash() == nil {
			err = errors.New("the state tree could not be hashed")
		}
	}
	if err == nil && int(s.next) == len(s.meta.Chunks) {
		err = a.finishRestore(s)
	}
	if err != nil {
		a.abortRestore(s)
		if errors.Is(err, errMalformed) {
			a.m.snap.rejected.Inc()
			a.log.Warn("snapshot rejected", "height", s.meta.Height, "chunk", req.Index, "reason", err)
			return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT}, nil
		}
		return nil, fmt.Errorf("restore snapshot %d chunk %d: %w", s.meta.Height, req.Index, err)
	}
	return &abci.ApplySnapshotChunkResponse{Result: abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT}, nil
}

// abortRestore empties the store again; the caller holds a.snap.mu.
func (a *App) abortRestore(s *restoreSession) {
	s.sink.side.Close()
	if err := a.st.AbortRestore(); err != nil {
		a.log.Error("emptying the store after a failed restore", "err", err)
	}
	if a.snap.session == s {
		a.snap.session = nil
	}
}

// finishRestore checks the restored state and log against the verified app hash, commits
// the store at the snapshot's height and puts the application there.
func (a *App) finishRestore(s *restoreSession) error {
	rec, tree, err := s.r.finish()
	if err != nil {
		return err
	}
	if s.fed != s.meta.Size {
		return malformed("stream of %d bytes, the metadata says %d", s.fed, s.meta.Size)
	}
	stateRoot := a.st.WorkingHash()
	if stateRoot == nil {
		return errors.New("the state tree could not be hashed")
	}
	logRoot := tree.Root()
	appHash := tlog.AppHash(stateRoot, logRoot)
	if !bytes.Equal(appHash, s.appHash) {
		return malformed("the restored state root %X and log root %X give app hash %X; the light client verified %X", stateRoot, logRoot, appHash, s.appHash)
	}
	if !bytes.Equal(rec.AppHash, appHash) || !bytes.Equal(rec.StateRoot, stateRoot) || rec.LogSize != tree.Size() {
		return malformed("the block record of height %d disagrees with the restored state and log", rec.Height)
	}
	if err := s.sink.side.Commit(false); err != nil {
		return err
	}
	if _, v, err := a.st.Commit(); err != nil {
		return err
	} else if v != rec.Height {
		return fmt.Errorf("restored state committed as version %d, not %d", v, rec.Height)
	}
	a.snap.session = nil
	a.tree = tree
	a.mirrorMu.Lock()
	a.mirror, a.mirrorHeight = s.sink.mirror, rec.Height
	a.buf = kvbuffer.New(a.mirror)
	a.mirrorMu.Unlock()
	if err := a.publish(*rec); err != nil {
		return err
	}
	if err := a.signCheckpoint(); err != nil && !errors.Is(err, a.logRefused) {
		a.log.Warn("signing the first checkpoint after the restore", "err", err)
	}
	a.m.snap.restored.Set(float64(rec.Height))
	a.log.Info("snapshot restored", "height", rec.Height, "app_hash", fmt.Sprintf("%X", appHash), "state_keys", s.sink.mirror.Len(),
		"log_size", tree.Size(), "bytes", s.fed, "seconds", time.Since(s.start).Seconds())
	return nil
}
