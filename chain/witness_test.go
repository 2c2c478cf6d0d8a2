package chain

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	tlogfmt "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/witness"
)

// testWitness is a witness.Witness behind an HTTP server that can be switched off (it
// then answers 503, as a witness behind a proxy that is down).
type testWitness struct {
	w   *witness.Witness
	srv *httptest.Server
	up  atomic.Bool
}

func newTestWitness(t *testing.T, name, logKey string) *testWitness {
	t.Helper()
	w, err := witness.Open(witness.Options{Dir: t.TempDir(), Name: name, Logs: map[string]string{LogOrigin("chain-test"): logKey}})
	if err != nil {
		t.Fatal(err)
	}
	tw := &testWitness{w: w}
	tw.up.Store(true)
	h := w.Handler()
	tw.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !tw.up.Load() {
			http.Error(rw, "down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(rw, r)
	}))
	t.Cleanup(func() { tw.srv.Close(); w.Close() })
	return tw
}

func (tw *testWitness) spec() string { return tw.srv.URL + "=" + tw.w.VerifierKey() }

// initTestHome creates a single-validator home in dir and returns its log verifier key.
func initTestHome(t *testing.T, dir string) string {
	t.Helper()
	pk, _, err := InitHome(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteGenesisIfMissing(GenesisPath(dir), "chain-test", time.Now(), ipledgertest.Genesis(), []ValidatorSpec{{Name: "v0", PubKey: pk, Power: 10}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(LogKeyPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))[1]
}

func startWitnessedNode(t *testing.T, dir string, reg *prometheus.Registry, witnesses ...*testWitness) *Node {
	t.Helper()
	var specs []string
	for _, w := range witnesses {
		specs = append(specs, w.spec())
	}
	return startNode(t, NodeOptions{Home: dir, Witnesses: specs, Registry: reg})
}

// registerOrgs commits count register-org transactions signed by RIPE NCC from sequence
// seq on.
func registerOrgs(t *testing.T, n *Node, seq uint64, count int) {
	t.Helper()
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	for i := range count {
		s := seq + uint64(i)
		tx, _ := ipledger.BuildTx("chain-test", ipledger.KindRegisterOrg, s, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: fmt.Sprintf("ORG-W%d", s), Name: "W"}}}, ripe)
		if out := submitWait(t, n, tx); out.Code != 0 {
			t.Fatalf("register %d: %s %s", s, out.Code, out.Log)
		}
	}
}

// waitCosigned waits until the node serves a checkpoint of its whole log with a valid
// cosignature from every witness given (checked with transparency-dev/formats), and
// returns it.
func waitCosigned(t *testing.T, n *Node, logKey string, ws ...*testWitness) *note.Note {
	t.Helper()
	logV, err := note.NewVerifier(logKey)
	if err != nil {
		t.Fatal(err)
	}
	var vs []note.Verifier
	for _, w := range ws {
		v, err := fnote.NewVerifierForCosignatureV1(w.w.VerifierKey())
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		b := n.App().CosignedCheckpoint()
		last = string(b)
		cp, _, nt, err := tlogfmt.ParseCheckpoint(b, LogOrigin("chain-test"), logV, vs...)
		size, _ := n.App().LogSize()
		if err == nil && cp.Size == size && len(nt.Sigs) == 1+len(ws) {
			return nt
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no checkpoint cosigned by %d witnesses; serving:\n%s", len(ws), last)
	return nil
}

// TestWitnesses runs a node with two witnesses: the checkpoint it serves carries both
// cosignatures, merged after its own signature, and follows the log as it grows.
func TestWitnesses(t *testing.T) {
	dir := t.TempDir()
	logKey := initTestHome(t, dir)
	w1 := newTestWitness(t, "witness.test/w1", logKey)
	w2 := newTestWitness(t, "witness.test/w2", logKey)
	n := startWitnessedNode(t, dir, nil, w1, w2)
	defer n.Stop()
	if cp := n.App().CosignedCheckpoint(); cp != nil {
		t.Fatalf("a checkpoint before any transaction: %s", cp)
	}
	registerOrgs(t, n, 1, 3)
	waitCosigned(t, n, logKey, w1, w2)
	registerOrgs(t, n, 4, 5)
	nt := waitCosigned(t, n, logKey, w1, w2)
	if v, _ := note.NewVerifier(logKey); nt.Sigs[0].Name != v.Name() || nt.Sigs[0].Hash != v.KeyHash() {
		t.Fatalf("the node's signature is not first: %+v", nt.Sigs)
	}
	size, _ := n.App().LogSize()
	if w1.w.Size(LogOrigin("chain-test")) != size || w2.w.Size(LogOrigin("chain-test")) != size {
		t.Fatalf("witnesses at %d and %d, log at %d", w1.w.Size(LogOrigin("chain-test")), w2.w.Size(LogOrigin("chain-test")), size)
	}
}

// TestWitnessDownAndBehind starts a node whose witness is down and has cosigned an older
// checkpoint of the log already: commits go on meanwhile, the node serves its own
// checkpoint, and once the witness is up the node learns its size from the 409 answer and
// brings it to the newest checkpoint with a consistency proof. After a node restart the
// witness's record is learnt again and the checkpoint is cosigned anew.
func TestWitnessDownAndBehind(t *testing.T) {
	dir := t.TempDir()
	logKey := initTestHome(t, dir)
	w := newTestWitness(t, "witness.test/w1", logKey)
	w.up.Store(false)
	reg := prometheus.NewRegistry()
	n := startWitnessedNode(t, dir, reg, w)
	registerOrgs(t, n, 1, 2)
	// The witness cosigns this checkpoint by a side channel, as if from an earlier run.
	early := n.App().Checkpoint()
	if _, err := w.w.AddCheckpoint(witness.AddCheckpointRequest{Checkpoint: early}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	registerOrgs(t, n, 3, 10)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("10 commits took %v with the witness down", d)
	}
	if got, want := n.App().CosignedCheckpoint(), n.App().Checkpoint(); string(got) != string(want) {
		t.Fatalf("serving %s, not the node's own checkpoint %s", got, want)
	}
	w.up.Store(true)
	registerOrgs(t, n, 13, 1)
	waitCosigned(t, n, logKey, w)
	if errs, conflicts := submissions(t, reg, "error"), submissions(t, reg, "conflict"); errs < 1 || conflicts != 1 {
		t.Fatalf("%v failed requests while the witness was down, %v 409 answers teaching its size", errs, conflicts)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	reg = prometheus.NewRegistry()
	n = startWitnessedNode(t, dir, reg, w)
	defer n.Stop()
	waitCosigned(t, n, logKey, w) // no new transaction: the same size, cosigned again
	if conflicts := submissions(t, reg, "conflict"); conflicts != 1 {
		t.Fatalf("%v 409 answers after the restart", conflicts)
	}
	registerOrgs(t, n, 14, 2)
	waitCosigned(t, n, logKey, w)
}

// submissions returns ipledger_witness_submissions_total for result (0 before the first).
func submissions(t *testing.T, reg *prometheus.Registry, result string) float64 {
	v, _ := gathered(t, reg, "ipledger_witness_submissions_total", "result", result)
	return v
}

func TestParseWitnessSpec(t *testing.T) {
	_, vkey, err := witness.GenerateKey("witness.test/w1")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"http://127.0.0.1:7380=" + vkey, "https://w.example/prefix?a=b=" + vkey} {
		ws, err := ParseWitnessSpec(s)
		if err != nil || ws.Key != vkey || ws.URL+"="+ws.Key != s {
			t.Errorf("%q: %+v %v", s, ws, err)
		}
	}
	_, edKey, _ := note.GenerateKey(nil, "ed")
	for _, s := range []string{"", vkey, "=" + vkey, "127.0.0.1:7380=" + vkey, "ftp://x=" + vkey, "http://x=", "http://x=" + edKey} {
		if _, err := ParseWitnessSpec(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
