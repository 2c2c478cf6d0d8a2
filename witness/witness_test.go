package witness

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	tlogfmt "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger/tlog"
)

// testLog is a real log: a tlog.Tree whose every complete subtree is kept for proofs, and
// a note key signing its checkpoints.
type testLog struct {
	t      testing.TB
	origin string
	tree   *tlog.Tree
	nodes  map[[2]uint64][]byte
	signer note.Signer
	vkey   string
	salt   string // leaves differ between logs with different salts
}

// newTestLog returns an empty log of origin whose leaves depend on salt, signed by the
// key "log.test" (the same key for every test log, so two histories can share it).
func newTestLog(t testing.TB, origin, salt string) *testLog {
	t.Helper()
	l := &testLog{t: t, origin: origin, tree: tlog.New(), nodes: map[[2]uint64][]byte{}, salt: salt}
	return l.withKey("log.test", "log key")
}

// withKey makes the log sign with the key called name generated from seed.
func (l *testLog) withKey(name, seed string) *testLog {
	l.t.Helper()
	skey, vkey, err := note.GenerateKey(deterministic(seed), name)
	if err != nil {
		l.t.Fatal(err)
	}
	if l.signer, err = note.NewSigner(skey); err != nil {
		l.t.Fatal(err)
	}
	l.vkey = vkey
	return l
}

// deterministic is a reader of pseudo-random bytes from a seed, for reproducible keys.
type deterministicReader struct {
	seed [32]byte
	n    uint64
	buf  []byte
}

func deterministic(seed string) *deterministicReader {
	return &deterministicReader{seed: sha256.Sum256([]byte(seed))}
}

func (r *deterministicReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		h := sha256.Sum256(binary.BigEndian.AppendUint64(r.seed[:], r.n))
		r.n++
		r.buf = append(r.buf, h[:]...)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// grow appends leaves until the tree has size leaves.
func (l *testLog) grow(size uint64) *testLog {
	for l.tree.Size() < size {
		leaf := fmt.Appendf(nil, "%s leaf %d", l.salt, l.tree.Size())
		err := l.tree.Append(tlog.HashLeaf(leaf), func(level uint, index uint64, hash []byte) {
			l.nodes[[2]uint64{uint64(level), index}] = hash
		})
		if err != nil {
			l.t.Fatal(err)
		}
	}
	return l
}

// checkpoint signs a checkpoint of the tree as it is.
func (l *testLog) checkpoint() []byte {
	return l.signWith(l.signer)
}

func (l *testLog) signWith(s note.Signer) []byte {
	cp := tlogfmt.Checkpoint{Origin: l.origin, Size: l.tree.Size(), Hash: l.tree.Root()}
	b, err := note.Sign(&note.Note{Text: string(cp.Marshal())}, s)
	if err != nil {
		l.t.Fatal(err)
	}
	return b
}

func (l *testLog) proof(old, size uint64) [][]byte {
	if old == 0 || old == size {
		return nil
	}
	p, err := tlog.ConsistencyProof(old, size, func(level uint, index uint64) ([]byte, error) {
		return l.nodes[[2]uint64{uint64(level), index}], nil
	})
	if err != nil {
		l.t.Fatal(err)
	}
	return p
}

// request is an add-checkpoint of the current tree from old, with the right proof.
func (l *testLog) request(old uint64) AddCheckpointRequest {
	return AddCheckpointRequest{OldSize: old, Proof: l.proof(old, l.tree.Size()), Checkpoint: l.checkpoint()}
}

const origin = "ipledger/witness-test"

func openWitness(t *testing.T, dir string, logs ...*testLog) *Witness {
	t.Helper()
	m := map[string]string{}
	for _, l := range logs {
		m[l.origin] = l.vkey
	}
	w, err := Open(Options{Dir: dir, Name: "witness.test/w1", Logs: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// post sends an add-checkpoint request through the HTTP handler.
func post(t *testing.T, srv *httptest.Server, r AddCheckpointRequest) (int, string, string) {
	t.Helper()
	return postBody(t, srv, r.Marshal())
}

func postBody(t *testing.T, srv *httptest.Server, body []byte) (int, string, string) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/add-checkpoint", "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// checkCosigned checks that answer holds a cosignature of checkpoint by the witness that
// formats' cosignature/v1 verifier accepts, timestamped about now.
func checkCosigned(t *testing.T, w *Witness, checkpoint []byte, answer string) {
	t.Helper()
	v, err := fnote.NewVerifierForCosignatureV1(w.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(append(bytes.Clone(checkpoint), answer...), note.VerifierList(v))
	if err != nil {
		t.Fatalf("cosigned note does not verify: %v\n%s%s", err, checkpoint, answer)
	}
	if len(n.Sigs) != 1 || n.Sigs[0].Name != "witness.test/w1" {
		t.Fatalf("verified signatures %v", n.Sigs)
	}
	ts, err := fnote.CoSigV1Timestamp(n.Sigs[0])
	if err != nil || time.Since(ts) > time.Minute || time.Until(ts) > time.Minute {
		t.Fatalf("cosignature time %v, %v", ts, err)
	}
	mine, err := NewVerifier(w.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyCosignatures(n.Text, []byte(answer), mine); err != nil {
		t.Fatal(err)
	}
}

func TestAddCheckpoint(t *testing.T) {
	l := newTestLog(t, origin, "main")
	w := openWitness(t, t.TempDir(), l)
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()

	// First contact: old size 0, no proof.
	l.grow(5)
	r := l.request(0)
	st, _, body := post(t, srv, r)
	if st != 200 {
		t.Fatalf("first checkpoint: %d %s", st, body)
	}
	checkCosigned(t, w, r.Checkpoint, body)
	// Growth by every kind of step, each with its consistency proof.
	for _, size := range []uint64{6, 8, 13, 16, 17, 100, 1000} {
		old := l.tree.Size()
		l.grow(size)
		r := l.request(old)
		st, _, body := post(t, srv, r)
		if st != 200 {
			t.Fatalf("%d → %d: %d %s", old, size, st, body)
		}
		checkCosigned(t, w, r.Checkpoint, body)
		if got := w.Size(origin); got != size {
			t.Fatalf("witness size %d after cosigning %d", got, size)
		}
	}
	// The same checkpoint again (old = size) is cosigned again.
	r = l.request(1000)
	if st, _, body := post(t, srv, r); st != 200 {
		t.Fatalf("same checkpoint again: %d %s", st, body)
	}
}

// cosignedLog serves a witness of a test log of size entries over HTTP until the test
// ends, the witness having cosigned that size; it returns the log, the witness and the
// server.
func cosignedLog(t *testing.T, size uint64) (*testLog, *Witness, *httptest.Server) {
	t.Helper()
	l := newTestLog(t, origin, "main")
	w := openWitness(t, t.TempDir(), l)
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	l.grow(size)
	if st, _, body := post(t, srv, l.request(0)); st != 200 {
		t.Fatalf("setup: %d %s", st, body)
	}
	return l, w, srv
}

func TestAddCheckpointRejections(t *testing.T) {
	l, w, srv := cosignedLog(t, 10)
	cosigned := l.checkpoint()
	l.grow(20)
	good := l.request(10)

	otherKey := newTestLog(t, origin, "main").withKey("log.test", "another key") // same name
	otherKey.grow(20)
	unknown := newTestLog(t, "example.com/unknown", "main").grow(20)
	corrupt := corruptSignature(t, good.Checkpoint)
	badProof := l.request(10)
	badProof.Proof[0] = bytes.Repeat([]byte{7}, 32)
	shortProof := l.request(10)
	shortProof.Proof = shortProof.Proof[1:]
	for _, c := range []struct {
		name   string
		req    AddCheckpointRequest
		status int
		body   string // exact body, if not ""
	}{
		{"stale old size", AddCheckpointRequest{OldSize: 5, Proof: l.proof(5, 20), Checkpoint: good.Checkpoint}, 409, "10\n"},
		{"old size zero", AddCheckpointRequest{Checkpoint: good.Checkpoint}, 409, "10\n"},
		{"old size ahead", AddCheckpointRequest{OldSize: 15, Proof: l.proof(15, 20), Checkpoint: good.Checkpoint}, 409, "10\n"},
		{"old size beyond checkpoint", AddCheckpointRequest{OldSize: 21, Checkpoint: good.Checkpoint}, 400, ""},
		{"bad proof hash", badProof, 422, ""},
		{"short proof", shortProof, 422, ""},
		{"no proof", AddCheckpointRequest{OldSize: 10, Checkpoint: good.Checkpoint}, 422, ""},
		{"signed by another key", AddCheckpointRequest{OldSize: 10, Proof: good.Proof, Checkpoint: otherKey.checkpoint()}, 403, ""},
		{"corrupt signature", AddCheckpointRequest{OldSize: 10, Proof: good.Proof, Checkpoint: corrupt}, 403, ""},
		{"unknown origin", AddCheckpointRequest{Checkpoint: unknown.checkpoint()}, 404, ""},
		{"not a note", AddCheckpointRequest{OldSize: 10, Checkpoint: []byte(origin + "\n20\nxx\n")}, 400, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, ctype, body := post(t, srv, c.req)
			if st != c.status || (c.body != "" && body != c.body) {
				t.Fatalf("got %d %q, want %d %q", st, body, c.status, c.body)
			}
			if st == 409 && ctype != "text/x.tlog.size" {
				t.Fatalf("409 with Content-Type %q", ctype)
			}
			if got := w.Size(origin); got != 10 {
				t.Fatalf("witness moved to size %d", got)
			}
		})
	}
	// Malformed bodies.
	for _, body := range []string{"", "old 10\n", "old 010\n\n" + string(cosigned), "new 10\n\n" + string(cosigned), "old 10\nnot base64\n\n" + string(cosigned)} {
		if st, _, got := postBody(t, srv, []byte(body)); st != 400 {
			t.Errorf("body %q: %d %s", body, st, got)
		}
	}
	// And the good request still goes through.
	if st, _, body := post(t, srv, good); st != 200 {
		t.Fatalf("good request after the rejections: %d %s", st, body)
	}
}

// TestSplitView offers the witness a second log history under the same origin and key:
// a different tree of the cosigned size, a smaller tree, and a larger tree that does not
// extend the cosigned one. None is cosigned, whatever the proof.
func TestSplitView(t *testing.T) {
	l, w, srv := cosignedLog(t, 16)
	cases := []struct {
		name      string
		size, old uint64
		withProof bool // the fork's own consistency proof from old
		status    int
	}{
		{"same size, other root", 16, 16, false, 409},
		{"smaller tree", 9, 16, false, 400},
		{"smaller tree, its own old size", 9, 9, false, 409},
		{"larger tree, not an extension", 30, 16, true, 422},
		{"larger tree, from zero", 30, 0, false, 409},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newTestLog(t, origin, "fork").grow(c.size)
			r := AddCheckpointRequest{OldSize: c.old, Checkpoint: f.checkpoint()}
			if c.withProof {
				r.Proof = f.proof(c.old, c.size)
			}
			st, _, body := post(t, srv, r)
			if st != c.status {
				t.Fatalf("got %d %s, want %d", st, body, c.status)
			}
			if st == 409 && body != "16\n" {
				t.Fatalf("409 body %q", body)
			}
			if got := w.Size(origin); got != 16 {
				t.Fatalf("witness moved to %d", got)
			}
		})
	}
	// The true history still extends.
	l.grow(40)
	if st, _, body := post(t, srv, l.request(16)); st != 200 {
		t.Fatalf("true log: %d %s", st, body)
	}
}

// TestRestartKeepsState checks that a witness reopened on its directory keeps its key and
// the last checkpoint of each log: it still refuses the old size 0, a fork at its size
// and a non-extension, and still accepts the true log's next checkpoint.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	l := newTestLog(t, origin, "main")
	other := newTestLog(t, "example.com/other", "other").withKey("other.test", "other key")
	w := openWitness(t, dir, l, other)
	l.grow(7)
	other.grow(3)
	for _, r := range []AddCheckpointRequest{l.request(0), other.request(0)} {
		if _, err := w.AddCheckpoint(r); err != nil {
			t.Fatal(err)
		}
	}
	l.grow(21)
	if _, err := w.AddCheckpoint(l.request(7)); err != nil {
		t.Fatal(err)
	}
	key := w.VerifierKey()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w2 := openWitness(t, dir, l, other)
	if w2.VerifierKey() != key {
		t.Fatalf("key changed across a restart: %s → %s", key, w2.VerifierKey())
	}
	if w2.Size(origin) != 21 || w2.Size(other.origin) != 3 {
		t.Fatalf("sizes after restart: %d, %d", w2.Size(origin), w2.Size(other.origin))
	}
	var conflict *ConflictError
	if _, err := w2.AddCheckpoint(l.request(0)); !errors.As(err, &conflict) || conflict.Size != 21 {
		t.Fatalf("old size 0 after restart: %v", err)
	}
	fork := newTestLog(t, origin, "fork").grow(21)
	if _, err := w2.AddCheckpoint(fork.request(21)); !errors.As(err, &conflict) || !conflict.Fork {
		t.Fatalf("fork at the cosigned size after restart: %v", err)
	}
	fork.grow(40)
	if _, err := w2.AddCheckpoint(AddCheckpointRequest{OldSize: 21, Proof: fork.proof(21, 40), Checkpoint: fork.checkpoint()}); !errors.Is(err, ErrBadProof) {
		t.Fatalf("non-extension after restart: %v", err)
	}
	l.grow(22)
	sigs, err := w2.AddCheckpoint(l.request(21))
	if err != nil {
		t.Fatal(err)
	}
	checkCosigned(t, w2, l.checkpoint(), string(sigs))

	// A second witness cannot open the directory while this one runs.
	if _, err := Open(Options{Dir: dir, Logs: map[string]string{origin: l.vkey}}); err == nil {
		t.Fatal("a second witness opened a directory in use")
	}
	// A damaged state file stops the witness rather than letting it start from zero.
	w2.Close()
	if err := os.WriteFile(w2.statePath(origin), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Dir: dir, Logs: map[string]string{origin: l.vkey}}); err == nil || !strings.Contains(err.Error(), "state of") {
		t.Fatalf("open with a damaged state: %v", err)
	}
}

// TestConcurrentRequests races requests from the same old size to different new sizes:
// exactly one is cosigned, and the witness holds its size (a check of the old size and
// the update are one step).
func TestConcurrentRequests(t *testing.T) {
	l := newTestLog(t, origin, "main")
	w := openWitness(t, t.TempDir(), l)
	l.grow(4)
	if _, err := w.AddCheckpoint(l.request(0)); err != nil {
		t.Fatal(err)
	}
	var reqs []AddCheckpointRequest
	for size := uint64(5); size < 25; size++ {
		l.grow(size)
		reqs = append(reqs, l.request(4))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []uint64
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.AddCheckpoint(r); err == nil {
				mu.Lock()
				won = append(won, uint64(5+i))
				mu.Unlock()
			} else if !errors.As(err, new(*ConflictError)) {
				t.Errorf("size %d: %v", 5+i, err)
			}
		}()
	}
	wg.Wait()
	if len(won) != 1 || w.Size(origin) != won[0] {
		t.Fatalf("cosigned %v; witness at %d", won, w.Size(origin))
	}
}

func TestClient(t *testing.T) {
	l := newTestLog(t, origin, "main")
	w := openWitness(t, t.TempDir(), l)
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	c := &Client{URL: srv.URL + "/"}
	l.grow(3)
	ans, err := c.AddCheckpoint(t.Context(), l.request(0))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewVerifier(w.VerifierKey())
	if _, err := VerifyCosignatures(string(mustText(t, l.checkpoint())), ans, v); err != nil {
		t.Fatal(err)
	}
	l.grow(9)
	var conflict *ConflictError
	if _, err := c.AddCheckpoint(t.Context(), l.request(0)); !errors.As(err, &conflict) || conflict.Size != 3 || conflict.Fork {
		t.Fatalf("stale: %v", err)
	}
	fork := newTestLog(t, origin, "fork").grow(3)
	if _, err := c.AddCheckpoint(t.Context(), fork.request(3)); !errors.As(err, &conflict) || !conflict.Fork {
		t.Fatalf("fork: %v", err)
	}
	var se *StatusError
	bad := l.request(3)
	bad.Proof = nil
	if _, err := c.AddCheckpoint(t.Context(), bad); !errors.As(err, &se) || se.Status != 422 {
		t.Fatalf("bad proof: %v", err)
	}
	// A cosignature from the wrong key, or one that does not verify, is refused.
	other, _ := newSigner(t, "witness.test/w2")
	if _, err := VerifyCosignatures(string(mustText(t, l.checkpoint())), ans, other); err == nil {
		t.Fatal("cosignature from another key accepted")
	}
	l.grow(10)
	if _, err := VerifyCosignatures(string(mustText(t, l.checkpoint())), ans, v); err == nil {
		t.Fatal("cosignature of another checkpoint accepted")
	}
}

// corruptSignature flips a bit of the last signature of a signed note.
func corruptSignature(t *testing.T, signed []byte) []byte {
	t.Helper()
	body := bytes.TrimSuffix(signed, []byte("\n"))
	i := bytes.LastIndexByte(body, ' ')
	raw, err := base64.StdEncoding.DecodeString(string(body[i+1:]))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 1
	return fmt.Appendf(bytes.Clone(body[:i+1]), "%s\n", base64.StdEncoding.EncodeToString(raw))
}

func mustText(t *testing.T, signed []byte) []byte {
	t.Helper()
	text, err := noteText(signed)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func newSigner(t testing.TB, name string) (*Verifier, *Signer) {
	t.Helper()
	_, _, v, s := newKeys(t, name)
	return v, s
}

// newKeys generates a witness key pair for name, with its verifier and signer.
func newKeys(t testing.TB, name string) (skey, vkey string, v *Verifier, s *Signer) {
	t.Helper()
	skey, vkey, err := GenerateKey(name)
	if err != nil {
		t.Fatal(err)
	}
	if s, err = NewSigner(skey); err != nil {
		t.Fatal(err)
	}
	if v, err = NewVerifier(vkey); err != nil {
		t.Fatal(err)
	}
	return skey, vkey, v, s
}

func TestParseLogFlag(t *testing.T) {
	l := newTestLog(t, origin, "main")
	o, k, err := ParseLogFlag(origin + "=" + l.vkey)
	if err != nil || o != origin || k != l.vkey {
		t.Fatalf("%q %q %v", o, k, err)
	}
	if o, _, err := ParseLogFlag("a=b=" + l.vkey); err != nil || o != "a=b" {
		t.Fatalf("origin with '=': %q %v", o, err)
	}
	for _, bad := range []string{"", origin, origin + "=", "=" + l.vkey, origin + "=notakey"} {
		if _, _, err := ParseLogFlag(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
