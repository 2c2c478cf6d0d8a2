package chain

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/store"
)

// snapApp is an App on its own store, driven without consensus.
type snapApp struct {
	app *App
	st  *store.Store
}

// newSnapApp opens an App on an empty store in dir; with interval > 0 it takes snapshots
// into dir/snapshots.
func newSnapApp(t testing.TB, dir string, interval int64) *snapApp {
	t.Helper()
	return newSnapAppKeep(t, dir, interval, 10)
}

// newSnapAppKeep is newSnapApp keeping keep snapshots.
func newSnapAppKeep(t testing.TB, dir string, interval int64, keep int) *snapApp {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir + "/ledger", NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	signer, vkey := testLogKey(t, "snapshot-test")
	cfg := Config{ChainID: "det-chain", LogSigner: signer, LogVerifierKey: vkey}
	if interval > 0 {
		cfg.SnapshotDir, cfg.SnapshotInterval, cfg.SnapshotKeep = dir+"/snapshots", interval, keep
	}
	app, err := NewApp(st, cfg)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	s := &snapApp{app: app, st: st}
	t.Cleanup(s.close)
	return s
}

func (s *snapApp) close() {
	s.app.closeSnapshots()
	s.st.Close()
}

// listed returns the heights of the snapshots the app lists.
func (s *snapApp) listed(t testing.TB) []uint64 {
	t.Helper()
	var out []uint64
	for _, sn := range s.held() {
		out = append(out, sn.Height)
	}
	return out
}

// held returns the snapshots the app holds as ListSnapshots would list them, without
// offering them (an offer keeps a snapshot past the keep count for a while).
func (s *snapApp) held() []*abci.Snapshot {
	st := s.app.snap.store
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*abci.Snapshot
	for _, in := range st.list {
		out = append(out, &abci.Snapshot{Height: uint64(in.height), Format: SnapshotFormat, Chunks: in.chunks, Hash: in.hash, Metadata: in.meta})
	}
	return out
}

// initGenesis runs InitChain with the test genesis.
func (s *snapApp) initGenesis(t testing.TB) {
	t.Helper()
	g, _ := json.Marshal(ipledgertest.Genesis())
	if _, err := s.app.InitChain(context.Background(), &abci.InitChainRequest{ChainId: "det-chain",
		Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), AppStateBytes: g, InitialHeight: 1}); err != nil {
		t.Fatal(err)
	}
}

// apply runs blocks and returns the app hash after each, by height.
func (s *snapApp) apply(t testing.TB, blocks []ReplayBlock) map[int64][]byte {
	t.Helper()
	out := map[int64][]byte{}
	for _, b := range blocks {
		res, err := s.app.FinalizeBlock(context.Background(), &abci.FinalizeBlockRequest{Height: b.Height, Time: b.Time, Txs: b.Txs})
		if err != nil {
			t.Fatalf("block %d: %v", b.Height, err)
		}
		if _, err := s.app.Commit(context.Background(), &abci.CommitRequest{}); err != nil {
			t.Fatalf("commit %d: %v", b.Height, err)
		}
		out[b.Height] = res.AppHash
		// A node skips a snapshot while the previous one is being written; blocks come
		// back to back here, so wait for each.
		if st := s.app.snap.store; st != nil && b.Height%st.interval == 0 {
			s.waitSnapshot(t, uint64(b.Height))
		}
	}
	return out
}

// waitSnapshot waits until the app lists a snapshot of height h and returns it.
func (s *snapApp) waitSnapshot(t testing.TB, h uint64) *abci.Snapshot {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, sn := range s.held() {
			if sn.Height == h {
				return sn
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot of height %d after 20 s (have %v)", h, s.listed(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// chunks loads every chunk of a snapshot.
func (s *snapApp) chunks(t testing.TB, sn *abci.Snapshot) [][]byte {
	t.Helper()
	var out [][]byte
	for i := uint32(0); i < sn.Chunks; i++ {
		res, err := s.app.LoadSnapshotChunk(context.Background(), &abci.LoadSnapshotChunkRequest{Height: sn.Height, Format: sn.Format, Chunk: i})
		if err != nil || res.Chunk == nil {
			t.Fatalf("chunk %d of %d: %v", i, sn.Height, err)
		}
		out = append(out, res.Chunk)
	}
	return out
}

func (s *snapApp) offer(t testing.TB, sn *abci.Snapshot, appHash []byte) abci.OfferSnapshotResult {
	t.Helper()
	res, err := s.app.OfferSnapshot(context.Background(), &abci.OfferSnapshotRequest{Snapshot: sn, AppHash: appHash})
	if err != nil {
		t.Fatal(err)
	}
	return res.Result
}

func (s *snapApp) applyChunk(t testing.TB, i int, chunk []byte) *abci.ApplySnapshotChunkResponse {
	t.Helper()
	res, err := s.app.ApplySnapshotChunk(context.Background(), &abci.ApplySnapshotChunkRequest{Index: uint32(i), Chunk: chunk, Sender: "peer1"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// dump returns every state pair and side-table entry of the store at version (side
// entries of later blocks, and the node's own checkpoint, left out), one line each.
func dump(t testing.TB, st *store.Store, version int64) []string {
	t.Helper()
	var out []string
	v, err := st.ReadAt(version)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Iterate(nil, nil, false, func(k, val []byte) bool {
		out = append(out, fmt.Sprintf("state %x=%x", k, val))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	rec, err := st.SideGet(u64key(sideBlock, uint64(version)))
	if err != nil {
		t.Fatal(err)
	}
	var br ipledger.BlockRecord
	if err := json.Unmarshal(rec, &br); err != nil {
		t.Fatal(err)
	}
	u64 := func(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
	after := func(k, val []byte) bool {
		switch k[0] {
		case sideCheckpoint:
			return true
		case sideBlock, sideTree:
			return u64(k[1:]) > uint64(version)
		case sideLeaf:
			return u64(k[1:]) >= br.LogSize
		case sideLogNode:
			return (u64(k[2:])+1)<<k[1] > br.LogSize
		case sideTxIndex:
			return u64(val) > uint64(version)
		case sideHistory:
			return u64(k[len(k)-12:]) > uint64(version)
		}
		t.Fatalf("side key %x of an unknown table", k)
		return false
	}
	if err := st.SideIterate(nil, nil, false, func(k, val []byte) bool {
		if after(k, val) {
			return true
		}
		out = append(out, fmt.Sprintf("side %x=%x", k, val))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameLines(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		extra := map[string]int{}
		for _, l := range got {
			extra[l]++
		}
		for _, l := range want {
			extra[l]--
		}
		for l, n := range extra {
			if n != 0 {
				t.Logf("%+d %.120s", n, l)
			}
		}
		t.Fatalf("%s: %d entries, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: entry %d is\n%.200s\nwant\n%.200s", what, i, got[i], want[i])
		}
	}
}

// smallChunks makes snapshots of a test chain span many chunks, records across them.
func smallChunks(t testing.TB) {
	old := chunkSize
	chunkSize = 1000
	t.Cleanup(func() { chunkSize = old })
}

// sourceChain runs the determinism test's 40 blocks on an App that snapshots every 10.
func sourceChain(t testing.TB) (*snapApp, []ReplayBlock, map[int64][]byte) {
	t.Helper()
	src := newSnapApp(t, t.TempDir(), 10)
	src.initGenesis(t)
	blocks := detBlocks()
	return src, blocks, src.apply(t, blocks)
}

// TestSnapshotRoundTrip restores snapshots of a chain into empty stores: the restored
// node reports the snapshot's height and app hash, holds exactly the state and the side
// tables of the source at that height (the log's subtree hashes and tree states rebuilt,
// not copied), and executing the following blocks gives the source's app hashes.
func TestSnapshotRoundTrip(t *testing.T) {
	smallChunks(t)
	src, blocks, hashes := sourceChain(t)
	for _, h := range []int64{30, 40} {
		t.Run(fmt.Sprint(h), func(t *testing.T) {
			sn := src.waitSnapshot(t, uint64(h))
			if sn.Chunks < 10 {
				t.Fatalf("snapshot in %d chunks; the test wants records across many", sn.Chunks)
			}
			dst := newSnapApp(t, t.TempDir(), 0)
			if r := dst.offer(t, sn, hashes[h]); r != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
				t.Fatalf("offer: %s", r)
			}
			for i, c := range src.chunks(t, sn) {
				if r := dst.applyChunk(t, i, c); r.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
					t.Fatalf("chunk %d: %s", i, r.Result)
				}
			}
			info, err := dst.app.Info(context.Background(), &abci.InfoRequest{})
			if err != nil || info.LastBlockHeight != h || !bytes.Equal(info.LastBlockAppHash, hashes[h]) {
				t.Fatalf("info after restore: height %d app hash %X (%v); want %d %X", info.LastBlockHeight, info.LastBlockAppHash, err, h, hashes[h])
			}
			if dst.st.Version() != h {
				t.Fatalf("store at version %d", dst.st.Version())
			}
			// The node signs its own checkpoint of the restored log at once.
			if size, _ := dst.app.LogSize(); dst.app.Checkpoint() == nil || !strings.Contains(string(dst.app.Checkpoint()), fmt.Sprintf("\n%d\n", size)) {
				t.Fatalf("checkpoint after the restore: %q (log size %d)", dst.app.Checkpoint(), size)
			}
			// A node that executed the chain up to h has exactly what the restore wrote.
			// (The source has moved on: a transaction committed again later points its
			// tx-hash index entry at the later block.)
			ref := newSnapApp(t, t.TempDir(), 0)
			ref.initGenesis(t)
			ref.apply(t, blocks[:h])
			sameLines(t, "restored store", dump(t, dst.st, h), dump(t, ref.st, h))
			// The restored node executes the rest of the chain like the source.
			got := dst.apply(t, blocks[h:])
			for hh := h + 1; hh <= 40; hh++ {
				if !bytes.Equal(got[hh], hashes[hh]) {
					t.Fatalf("height %d after the restore: app hash %X, the source had %X", hh, got[hh], hashes[hh])
				}
			}
			sameLines(t, "store after the rest of the chain", dump(t, dst.st, 40), dump(t, src.st, 40))
			hist, err := dst.app.history("org/ORG-D0", 100)
			if err != nil || len(hist) == 0 {
				t.Fatalf("history after restore: %v %v", hist, err)
			}
		})
	}
}

// TestSnapshotDeterministic: two nodes holding the same chain write the same chunks, so a
// joiner can fetch one snapshot from several peers.
func TestSnapshotDeterministic(t *testing.T) {
	smallChunks(t)
	a, blocks, _ := sourceChain(t)
	b := newSnapApp(t, t.TempDir(), 10)
	b.initGenesis(t)
	b.apply(t, blocks)
	sa, sb := a.waitSnapshot(t, 40), b.waitSnapshot(t, 40)
	if !bytes.Equal(sa.Hash, sb.Hash) || !bytes.Equal(sa.Metadata, sb.Metadata) {
		t.Fatalf("the same chain gave snapshots %X and %X", sa.Hash, sb.Hash)
	}
}

// TestSnapshotCorruptChunk: a chunk whose hash is not in the metadata is refused and
// fetched again from another sender; the good copy then restores.
func TestSnapshotCorruptChunk(t *testing.T) {
	smallChunks(t)
	src, _, hashes := sourceChain(t)
	sn := src.waitSnapshot(t, 40)
	chunks := src.chunks(t, sn)
	dst := newSnapApp(t, t.TempDir(), 0)
	if r := dst.offer(t, sn, hashes[40]); r != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
		t.Fatalf("offer: %s", r)
	}
	for i, c := range chunks {
		if i == 3 {
			bad := bytes.Clone(c)
			bad[len(bad)/2] ^= 0x40
			r := dst.applyChunk(t, i, bad)
			if r.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY || len(r.RefetchChunks) != 1 || r.RefetchChunks[0] != 3 ||
				len(r.RejectSenders) != 1 || r.RejectSenders[0] != "peer1" {
				t.Fatalf("corrupted chunk: %+v", r)
			}
			if r := dst.applyChunk(t, i, c[:len(c)-1]); r.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_RETRY {
				t.Fatalf("truncated chunk: %s", r.Result)
			}
		}
		if r := dst.applyChunk(t, i, c); r.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
			t.Fatalf("chunk %d: %s", i, r.Result)
		}
	}
	if info, _ := dst.app.Info(context.Background(), &abci.InfoRequest{}); info.LastBlockHeight != 40 {
		t.Fatalf("restored to %d", info.LastBlockHeight)
	}
}

// requireEmpty checks that a failed restore left nothing behind.
func requireEmpty(t testing.TB, s *snapApp) {
	t.Helper()
	if v := s.st.Version(); v != 0 {
		t.Fatalf("store at version %d after a refused snapshot", v)
	}
	n := 0
	s.st.SideIterate(nil, nil, false, func(k, _ []byte) bool { n++; return true })
	if n != 0 {
		t.Fatalf("%d side-table entries left after a refused snapshot", n)
	}
	info, _ := s.app.Info(context.Background(), &abci.InfoRequest{})
	if info.LastBlockHeight != 0 {
		t.Fatalf("Info says height %d after a refused snapshot", info.LastBlockHeight)
	}
}

// TestSnapshotWrongAppHash: a snapshot that does not give the app hash the light client
// verified is refused, at the offer if its metadata says so, else after the last chunk,
// and the store is left empty; the right snapshot then restores into the same store.
func TestSnapshotWrongAppHash(t *testing.T) {
	smallChunks(t)
	src, _, hashes := sourceChain(t)
	sn30, sn40 := src.waitSnapshot(t, 30), src.waitSnapshot(t, 40)
	dst := newSnapApp(t, t.TempDir(), 0)

	// The metadata names another app hash than the verified one.
	if r := dst.offer(t, sn40, hashes[39]); r != abci.OFFER_SNAPSHOT_RESULT_REJECT {
		t.Fatalf("offer with another app hash: %s", r)
	}
	requireEmpty(t, dst)

	// A snapshot of height 30 relabelled as 40 (metadata rewritten to claim the verified
	// hash): every chunk matches its metadata, but the content is another state.
	m, err := decodeSnapshotMeta(sn30.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	chunks := src.chunks(t, sn30)
	// The stream's header says 30; rewrite it to 40 and rehash the first chunk.
	chunks[0] = bytes.Clone(chunks[0])
	hdr := appendRecord(nil, recHeader, snapshotMagic, binary.BigEndian.AppendUint64(nil, 30))
	if !bytes.HasPrefix(chunks[0], hdr) {
		t.Fatal("stream does not start with its header")
	}
	binary.BigEndian.PutUint64(chunks[0][len(hdr)-8:], 40)
	m.Height, m.AppHash, m.Chunks[0] = 40, hashes[40], sha256.Sum256(chunks[0])
	meta := m.encode()
	mh := sha256.Sum256(meta)
	forged := &abci.Snapshot{Height: 40, Format: SnapshotFormat, Chunks: uint32(len(chunks)), Hash: mh[:], Metadata: meta}
	if r := dst.offer(t, forged, hashes[40]); r != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
		t.Fatalf("offer of the forged snapshot: %s", r)
	}
	var last abci.ApplySnapshotChunkResult
	for i, c := range chunks {
		last = dst.applyChunk(t, i, c).Result
		if last != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
			break
		}
	}
	if last != abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT {
		t.Fatalf("forged snapshot: %s", last)
	}
	requireEmpty(t, dst)

	// The genuine snapshot restores into the same store.
	if r := dst.offer(t, sn40, hashes[40]); r != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
		t.Fatalf("offer: %s", r)
	}
	for i, c := range src.chunks(t, sn40) {
		if r := dst.applyChunk(t, i, c); r.Result != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
			t.Fatalf("chunk %d: %s", i, r.Result)
		}
	}
	sameLines(t, "restored store", dump(t, dst.st, 40), dump(t, src.st, 40))
}

// forge returns a snapshot of height h whose chunks are stream cut in pieces of n bytes,
// with honest metadata.
func forge(h int64, appHash, stream []byte, n int) (*abci.Snapshot, [][]byte) {
	var chunks [][]byte
	m := &snapshotMeta{Height: h, AppHash: appHash, Size: uint64(len(stream))}
	for len(stream) > 0 {
		c := stream[:min(n, len(stream))]
		stream = stream[len(c):]
		chunks = append(chunks, c)
		m.Chunks = append(m.Chunks, sha256.Sum256(c))
	}
	meta := m.encode()
	mh := sha256.Sum256(meta)
	return &abci.Snapshot{Height: uint64(h), Format: SnapshotFormat, Chunks: uint32(len(chunks)), Hash: mh[:], Metadata: meta}, chunks
}

// TestSnapshotMalformed: snapshots that break the format are refused with a reason and
// leave the store empty; so are offers of another format, bad metadata, and a store that
// is not empty.
func TestSnapshotMalformed(t *testing.T) {
	smallChunks(t)
	src, _, hashes := sourceChain(t)
	sn := src.waitSnapshot(t, 40)
	stream := bytes.Join(src.chunks(t, sn), nil)
	// Positions in the genuine stream: the first side record, and the end record.
	firstSide := bytes.Index(stream, append([]byte{recSide, 9, sideBlock}, make([]byte, 7)...))
	if firstSide < 0 {
		t.Fatal("no block record in the stream")
	}
	endAt := len(stream) - len(appendRecord(nil, recEnd, nil, make([]byte, 16)))
	dst := newSnapApp(t, t.TempDir(), 0)
	logs := &bytes.Buffer{}
	if err := dst.app.WaitReady(context.Background()); err != nil { // loading the state logs too
		t.Fatal(err)
	}
	dst.app.log = slogTo(logs)

	cases := map[string][]byte{
		"garbage":        []byte("this is not a snapshot at all, just some bytes"),
		"truncated":      stream[:len(stream)-5],
		"no end record":  stream[:endAt],
		"trailing bytes": append(bytes.Clone(stream), recEnd, 0, 0),
		"state after side": func() []byte {
			_, _, _, n, _ := parseRecord(stream[firstSide:])
			return append(bytes.Clone(stream[:firstSide+n]), appendRecord(nil, recState, []byte("zz"), []byte("v"))...)
		}(),
		"unknown table":  append(bytes.Clone(stream[:endAt]), appendRecord(nil, recSide, []byte{0xff, 1}, []byte("x"))...),
		"oversized key":  append(bytes.Clone(stream[:firstSide]), recSide, 0xff, 0xff, 0xff, 0x7f),
		"bad end counts": append(bytes.Clone(stream[:endAt]), appendRecord(nil, recEnd, nil, make([]byte, 16))...),
		"duplicate state key": func() []byte {
			// Repeat the first state record.
			_, _, _, n, _ := parseRecord(stream)
			_, _, _, m, _ := parseRecord(stream[n:])
			return append(append(bytes.Clone(stream[:n+m]), stream[n:n+m]...), stream[n+m:]...)
		}(),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			logs.Reset()
			forged, chunks := forge(40, hashes[40], s, 700)
			if r := dst.offer(t, forged, hashes[40]); r != abci.OFFER_SNAPSHOT_RESULT_ACCEPT {
				t.Fatalf("offer: %s", r)
			}
			var last abci.ApplySnapshotChunkResult
			for i, c := range chunks {
				if last = dst.applyChunk(t, i, c).Result; last != abci.APPLY_SNAPSHOT_CHUNK_RESULT_ACCEPT {
					break
				}
			}
			if last != abci.APPLY_SNAPSHOT_CHUNK_RESULT_REJECT_SNAPSHOT {
				t.Fatalf("result %s", last)
			}
			if !strings.Contains(logs.String(), "snapshot rejected") || !strings.Contains(logs.String(), "malformed snapshot") {
				t.Fatalf("no clear reason logged:\n%s", logs)
			}
			requireEmpty(t, dst)
		})
	}

	t.Run("offers", func(t *testing.T) {
		other := *sn
		other.Format = 2
		if r := dst.offer(t, &other, hashes[40]); r != abci.OFFER_SNAPSHOT_RESULT_REJECT_FORMAT {
			t.Fatalf("format 2: %s", r)
		}
		other = *sn
		other.Metadata = other.Metadata[:len(other.Metadata)-1]
		if r := dst.offer(t, &other, hashes[40]); r != abci.OFFER_SNAPSHOT_RESULT_REJECT {
			t.Fatalf("short metadata: %s", r)
		}
		other = *sn
		other.Hash = bytes.Repeat([]byte{1}, 32)
		if r := dst.offer(t, &other, hashes[40]); r != abci.OFFER_SNAPSHOT_RESULT_REJECT {
			t.Fatalf("hash not of the metadata: %s", r)
		}
		other = *sn
		other.Height = 39
		if r := dst.offer(t, &other, hashes[40]); r != abci.OFFER_SNAPSHOT_RESULT_REJECT {
			t.Fatalf("height not the metadata's: %s", r)
		}
		// A node with state refuses state sync outright.
		if r := src.offer(t, sn, hashes[40]); r != abci.OFFER_SNAPSHOT_RESULT_ABORT {
			t.Fatalf("offer to a node with state: %s", r)
		}
		if src.st.Version() != 40 {
			t.Fatal("the refused offer changed the source")
		}
		requireEmpty(t, dst)
	})
}

// TestSnapshotsKept: a node keeps its newest snapshots and one a peer is fetching, and
// after a restart serves what it kept and drops what it had not finished writing.
func TestSnapshotsKept(t *testing.T) {
	smallChunks(t)
	dir := t.TempDir()
	src := newSnapAppKeep(t, dir, 10, 2)
	src.initGenesis(t)
	blocks := detBlocks()
	src.apply(t, blocks[:10])
	src.chunks(t, src.waitSnapshot(t, 10)) // a peer fetches it
	src.apply(t, blocks[10:])
	if got := fmt.Sprint(src.listed(t)); got != "[10 30 40]" {
		t.Fatalf("snapshots %s; want the newest two and the one being fetched", got)
	}
	src.close()
	if err := os.MkdirAll(filepath.Join(dir, "snapshots", "tmp-50"), 0o700); err != nil {
		t.Fatal(err)
	}
	again := newSnapAppKeep(t, dir, 10, 2)
	if got := fmt.Sprint(again.listed(t)); got != "[10 30 40]" {
		t.Fatalf("after a restart: snapshots %s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshots", "tmp-50")); !os.IsNotExist(err) {
		t.Fatalf("an unfinished snapshot survived the restart: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshots", "20")); !os.IsNotExist(err) {
		t.Fatalf("the pruned snapshot is still on disk: %v", err)
	}
	again.chunks(t, again.waitSnapshot(t, 40))
}

// TestSnapshotOfferedKept: a snapshot offered to a peer lately is kept past the keep count,
// so a joining node does not pick one every peer has since pruned (its chunk would be
// answered missing for ever).
func TestSnapshotOfferedKept(t *testing.T) {
	smallChunks(t)
	src := newSnapAppKeep(t, t.TempDir(), 10, 2)
	src.initGenesis(t)
	blocks := detBlocks()
	src.apply(t, blocks[:20])
	if _, err := src.app.ListSnapshots(context.Background(), &abci.ListSnapshotsRequest{}); err != nil { // offered to a peer
		t.Fatal(err)
	}
	src.apply(t, blocks[20:])
	if got := fmt.Sprint(src.listed(t)); got != "[10 20 30 40]" {
		t.Fatalf("snapshots %s; want the two offered and the newest two", got)
	}
}
