package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmted25519 "github.com/cometbft/cometbft/crypto/ed25519"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
	"github.com/prometheus/client_golang/prometheus"
	tlogfmt "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/httpapi"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ipledgertest/chaintest"
	"github.com/ipledger/ipledger/store"
	"github.com/ipledger/ipledger/tlog"
)

const testChainID = "audit-test"

// testNet is a single-validator chain in-process with its JSON API and CometBFT RPC.
type testNet struct {
	t       *testing.T
	home    string
	rpcAddr string
	node    *chain.Node
	reg     *prometheus.Registry
	srv     *httptest.Server
	api     *client.Client
	seq     map[string]uint64
}

func startNet(t *testing.T) *testNet {
	t.Helper()
	home := t.TempDir()
	chaintest.InitHome(t, home, testChainID, ipledgertest.Genesis(), "")
	n := &testNet{t: t, home: home, rpcAddr: ipledgertest.FreeAddr(t), seq: map[string]uint64{}}
	n.start()
	t.Cleanup(n.stop)
	return n
}

// startPopulated is startNet with one round of transactions (populate(1)) applied and the
// chain idle after them.
func startPopulated(t *testing.T) *testNet {
	t.Helper()
	n := startNet(t)
	n.populate(1)
	n.waitIdle()
	return n
}

func (n *testNet) start() {
	n.t.Helper()
	n.reg = prometheus.NewRegistry()
	n.node = chaintest.StartNode(n.t, chain.NodeOptions{Home: n.home, RPCAddr: n.rpcAddr, Registry: n.reg})
	n.srv = httptest.NewServer(httpapi.New(httpapi.Options{Node: n.node}))
	n.api = &client.Client{Base: n.srv.URL}
}

func (n *testNet) stop() {
	if n.node == nil {
		return
	}
	n.srv.Close()
	if err := n.node.Stop(); err != nil {
		n.t.Error(err)
	}
	n.node = nil
}

// checkpointProxy returns the URL of a proxy to the node's JSON API that answers
// checkpoint instead of the node's own log checkpoint; it closes when the test ends.
func (n *testNet) checkpointProxy(checkpoint []byte) string {
	target, _ := url.Parse(n.srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/log/checkpoint" {
			w.Write(checkpoint)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	n.t.Cleanup(proxy.Close)
	return proxy.URL
}

// commit signs (with the next sequence of the first signer) and submits a transaction and
// waits for its commit; want is the result code expected.
func (n *testNet) commit(kind ipledger.Kind, body any, want ipledger.Code, signers ...ipledger.Signer) {
	t := n.t
	t.Helper()
	first := signers[0].Org
	tx, err := ipledger.BuildTx(testChainID, kind, n.seq[first]+1, 0, body, signers...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := n.api.Submit(ctx, tx, true)
	if err != nil || !res.Committed() {
		t.Fatalf("%s: %v %+v", kind, err, res)
	}
	if res.Code != want {
		t.Fatalf("%s: code %s (%s), want %s", kind, res.Code, res.Log, want)
	}
	// A committed transaction consumed its sequence unless it failed authentication.
	switch res.Code {
	case ipledger.CodeWrongChain, ipledger.CodeExpired, ipledger.CodeUnknownSigner, ipledger.CodeUnknownKey,
		ipledger.CodeStaleSequence, ipledger.CodeFutureSequence:
	default:
		n.seq[first]++
	}
}

// populate registers organisations and gives them holdings: round r uses handles and
// space of its own, so it can be called again for more blocks.
func (n *testNet) populate(r int) {
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	a, b := fmt.Sprintf("ORG-A%d", r), fmt.Sprintf("ORG-B%d", r)
	sa, sb := ipledgertest.Signer(a), ipledgertest.Signer(b)
	n.commit(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: a, Name: "Alpha " + a, Country: "NL", Keys: []ipledger.PublicKey{sa.Key.Public()}},
		{Handle: b, Name: "Beta " + b, Country: "DE", Keys: []ipledger.PublicKey{sb.Key.Public()}},
	}}, ipledger.CodeOK, ripe)
	block := fmt.Sprintf("193.%d.0.0/16", r)
	n.commit(ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource(block), Org: a, Status: ipledger.StatusAllocatedPA, Country: "NL"},
		{Resource: ipledger.MustParseResource(fmt.Sprintf("AS%d", 3100+r)), Org: a, Status: ipledger.StatusAllocatedAS},
	}}, ipledger.CodeOK, ripe)
	n.commit(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource(fmt.Sprintf("193.%d.1.0/24", r)), Org: b, Status: ipledger.StatusAssignedPA},
	}}, ipledger.CodeOK, sa)
	// Committed with a rejection: the audit must reproduce result codes too.
	n.commit(ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource(fmt.Sprintf("193.%d.0.0/24", r)), Org: b, Status: ipledger.StatusAllocatedPA},
	}}, ipledger.CodeOverlap, ripe)
	n.commit(ipledger.KindTransfer, ipledger.TransferBody{Resource: ipledger.MustParseResource(fmt.Sprintf("193.%d.128.0/17", r)), To: b}, ipledger.CodeOK, sa, sb)
}

func (n *testNet) options(dir string) Options {
	return Options{Node: n.srv.URL, RPC: "http://" + n.rpcAddr, Genesis: chain.GenesisPath(n.home), Dir: dir}
}

func (n *testNet) audit(o Options) (*Report, error) {
	n.t.Helper()
	a, err := New(o)
	if err != nil {
		n.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return a.Run(ctx)
}

func (n *testNet) auditOK(o Options) *Report {
	n.t.Helper()
	rep, err := n.audit(o)
	if err != nil {
		n.t.Fatalf("audit: %v", err)
	}
	n.t.Log(rep)
	return rep
}

// auditFails runs an audit that must find a divergence whose message holds every want.
func (n *testNet) auditFails(o Options, want ...string) *Divergence {
	n.t.Helper()
	_, err := n.audit(o)
	var d *Divergence
	if !errors.As(err, &d) {
		n.t.Fatalf("audit: %v, want a divergence", err)
	}
	for _, w := range want {
		if !strings.Contains(d.Error(), w) {
			n.t.Fatalf("divergence %q does not say %q", d, w)
		}
	}
	n.t.Log(d)
	return d
}

// auditFailsAt is auditFails for a divergence at log leaf leaf, which it names.
func (n *testNet) auditFailsAt(o Options, leaf uint64, want ...string) *Divergence {
	n.t.Helper()
	d := n.auditFails(o, append([]string{fmt.Sprintf("leaf %d", leaf)}, want...)...)
	if d.Leaf != int64(leaf) {
		n.t.Fatalf("divergence at leaf %d, want %d", d.Leaf, leaf)
	}
	return d
}

// logSigner reads the node's log signing key from its home.
func (n *testNet) logSigner() note.Signer {
	b, err := os.ReadFile(chain.LogKeyPath(n.home))
	if err != nil {
		n.t.Fatal(err)
	}
	s, err := note.NewSigner(strings.Fields(string(b))[0])
	if err != nil {
		n.t.Fatal(err)
	}
	return s
}

func (n *testNet) height() int64 { return n.node.App().Committed().Height }

// refused reports whether the node has stopped signing checkpoints (its start-up check
// included), from its metric ipledger_log_checkpoint_refused.
func (n *testNet) refused() bool {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n.node.App().WaitReady(ctx) // the start-up check has run
	mfs, err := n.reg.Gather()
	if err != nil {
		n.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "ipledger_log_checkpoint_refused" {
			return mf.GetMetric()[0].GetGauge().GetValue() == 1
		}
	}
	n.t.Fatal("no metric ipledger_log_checkpoint_refused")
	return false
}

// waitIdle waits for the proof block after the last transaction, so the chain's tip is
// an empty block and the node's state is the replay's.
func (n *testNet) waitIdle() {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.node.WaitHeight(ctx, n.height()+1); err != nil {
		n.t.Fatal(err)
	}
}

// TestAudit audits a chain with holdings from genesis, then resumes after more blocks
// (fetching only the new leaves), then compares every holding and organisation.
func TestAudit(t *testing.T) {
	n := startPopulated(t)
	dir := t.TempDir()

	rep := n.auditOK(n.options(dir))
	size, root := n.node.App().LogSize()
	if rep.Start != 1 || rep.Replayed < 5 || rep.Verified < rep.Replayed-1 || rep.Headers < int(rep.Replayed) {
		t.Fatalf("heights: %+v", rep)
	}
	if rep.LogSize != size || string(rep.LogRoot) != string(root) || rep.Compared != size || rep.Fetched != size {
		t.Fatalf("log: report size %d compared %d fetched %d, node log %d", rep.LogSize, rep.Compared, rep.Fetched, size)
	}
	// Five transactions, one signed by two: six transaction signatures, one commit
	// signature per header.
	if rep.Txs != 5 || rep.TxSigs != 6 || rep.CommitSigs != rep.Headers {
		t.Fatalf("counts: %+v", rep)
	}
	if rep.LogKeyPinned == "" || rep.LogKey != n.node.App().LogVerifierKey() {
		t.Fatalf("log key not pinned: %+v", rep)
	}
	// Pools, two allocations, an assignment, a split transfer: all sampled.
	if rep.Holdings < 10 || rep.Orgs < 3 || rep.Skipped != 0 {
		t.Fatalf("state comparison: %+v", rep)
	}
	st, err := LoadState(dir)
	if err != nil || st.Height != rep.Replayed || st.Compared != size || st.LogKey != rep.LogKey || st.Checkpoint == "" {
		t.Fatalf("state %+v: %v", st, err)
	}

	// More blocks; the rerun starts after the last audited height and fetches only the
	// leaves after the compared ones.
	n.populate(2)
	n.waitIdle()
	rep2 := n.auditOK(n.options(dir))
	size2, _ := n.node.App().LogSize()
	if rep2.Start != rep.Replayed+1 || rep2.Replayed <= rep.Replayed || rep2.LogKeyPinned != "" {
		t.Fatalf("resumed run: %+v after %+v", rep2, rep)
	}
	if rep2.Fetched != size2-size || rep2.Compared != size2-size || rep2.Rechecked != size || rep2.Txs != 5 {
		t.Fatalf("resumed run fetched %d, compared %d leaves, replayed %d txs; the log grew %d→%d", rep2.Fetched, rep2.Compared, rep2.Txs, size, size2)
	}

	// Nothing new: still OK. With Full, every holding and organisation.
	o := n.options(dir)
	o.Full = true
	rep3 := n.auditOK(o)
	if rep3.Orgs < 10 || rep3.Holdings < rep.Holdings+4 {
		t.Fatalf("full comparison: %+v", rep3)
	}

	// A fresh audit from genesis reaches the same state.
	rep4 := n.auditOK(n.options(t.TempDir()))
	if rep4.Replayed < rep2.Replayed || rep4.Compared != size2 {
		t.Fatalf("fresh audit: %+v", rep4)
	}
}

// TestAuditResumesUnrecordedReplay covers a run stopped between replaying blocks and
// saving audit.json: the replay store is ahead of the state file.
func TestAuditResumesUnrecordedReplay(t *testing.T) {
	n := startNet(t)
	n.populate(1)
	dir := t.TempDir()
	n.auditOK(n.options(dir))
	old, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	n.populate(2)
	n.waitIdle()
	n.auditOK(n.options(dir))
	if err := os.WriteFile(filepath.Join(dir, StateFile), old, 0o600); err != nil {
		t.Fatal(err)
	}
	n.populate(3)
	n.waitIdle()
	rep := n.auditOK(n.options(dir))
	size, _ := n.node.App().LogSize()
	st, err := LoadState(dir)
	if err != nil || st.Compared != size || st.Height != rep.Replayed || rep.Txs != 5 {
		t.Fatalf("after resuming: state %+v, report %+v, log size %d: %v", st, rep, size, err)
	}
}

// TestAuditForgedCheckpoint serves the node through a proxy that swaps its checkpoint for
// one of the same tree signed by another key of the same name.
func TestAuditForgedCheckpoint(t *testing.T) {
	n := startNet(t)
	n.populate(1)
	dir := t.TempDir()
	n.auditOK(n.options(dir))

	vkey, forger, _ := newLogKey(t, rand.Reader, n.logSigner().Name())
	size, root := n.node.App().LogSize()
	forged := signCheckpoint(t, forger, chain.LogOrigin(testChainID), size, root)
	o := n.options(dir)
	o.Node = n.checkpointProxy(forged)
	n.auditFails(o, "log checkpoint", "does not verify with log key "+n.logSigner().Name())

	// A fresh audit given the forger's key rejects the node's real checkpoint.
	o = n.options(t.TempDir())
	o.LogKey = vkey
	n.auditFails(o, "log checkpoint", "does not verify")
	// And a key other than the one pinned is refused outright.
	o = n.options(dir)
	o.LogKey = vkey
	if _, err := n.audit(o); err == nil || !strings.Contains(err.Error(), "differs from the key") {
		t.Fatalf("audit with another key than the pinned one: %v", err)
	}
}

// TestAuditSplitView makes the checkpoint the audit saw before contradict the node's:
// signed with the node's own key, as a node showing another history to someone else
// would. Each must be rejected naming both checkpoints.
func TestAuditSplitView(t *testing.T) {
	n := startPopulated(t)
	size, root := n.node.App().LogSize()
	sign := func(size uint64, root []byte) string {
		return string(signCheckpoint(t, n.logSigner(), chain.LogOrigin(testChainID), size, root))
	}
	other := sha256.Sum256([]byte("another history"))
	for _, c := range []struct {
		name string
		cp   string
		want []string
	}{
		{"same size, other root", sign(size, other[:]), []string{"two histories of one size", fmt.Sprintf("size %d root %x", size, root), fmt.Sprintf("size %d root %x", size, other)}},
		{"larger than the node's", sign(size+3, other[:]), []string{"smaller than", fmt.Sprintf("size %d root %x", size+3, other)}},
		{"not a prefix", sign(size-2, other[:]), []string{"not an extension", fmt.Sprintf("size %d root %x", size-2, other)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			n.auditOK(n.options(dir))
			st, err := LoadState(dir)
			if err != nil {
				t.Fatal(err)
			}
			st.Checkpoint = c.cp
			if err := st.save(dir, false); err != nil {
				t.Fatal(err)
			}
			d := n.auditFails(n.options(dir), c.want...)
			if d.Object != "log checkpoint" {
				t.Fatalf("divergence object %q", d.Object)
			}
			// It stays rejected: the contradicting checkpoint is not replaced.
			n.auditFails(n.options(dir), c.want...)
		})
	}
}

// rewriteLeaf changes the stored log leaf idx with change (see editLeaves); the node must
// then refuse to sign checkpoints.
func (n *testNet) rewriteLeaf(idx uint64, change func(l []byte)) {
	t := n.t
	t.Helper()
	n.editLeaves(func(st *store.Store, b *store.SideBatch) {
		l, err := st.SideGet(sideLeafKey(idx))
		if err != nil || l == nil {
			t.Fatalf("leaf %d: %v", idx, err)
		}
		change(l)
		b.Set(sideLeafKey(idx), l)
	})
	if !n.refused() {
		t.Fatalf("the node still signs checkpoints over rewritten leaf %d", idx)
	}
}

// newLogKey generates a log signing key named name from r: its verifier key, and a signer
// and a verifier for it.
func newLogKey(tb testing.TB, r io.Reader, name string) (vkey string, s note.Signer, v note.Verifier) {
	tb.Helper()
	skey, vkey, err := note.GenerateKey(r, name)
	if err != nil {
		tb.Fatal(err)
	}
	if s, err = note.NewSigner(skey); err != nil {
		tb.Fatal(err)
	}
	if v, err = note.NewVerifier(vkey); err != nil {
		tb.Fatal(err)
	}
	return vkey, s, v
}

// signCheckpoint signs with s the checkpoint of log origin at size and root.
func signCheckpoint(tb testing.TB, s note.Signer, origin string, size uint64, root []byte) []byte {
	tb.Helper()
	b, err := note.Sign(&note.Note{Text: string(tlogfmt.Checkpoint{Origin: origin, Size: size, Hash: root}.Marshal())}, s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// sideLeafKey is chain's side-table key of log leaf i ('L' index(8)).
func sideLeafKey(i uint64) []byte { return binary.BigEndian.AppendUint64([]byte{'L'}, i) }

// editLeaves stops the node, changes its stored log leaves with edit, and restarts it.
func (n *testNet) editLeaves(edit func(st *store.Store, b *store.SideBatch)) {
	t := n.t
	t.Helper()
	n.stop()
	st, err := store.Open(store.Options{Dir: filepath.Join(n.home, "ledger")})
	if err != nil {
		t.Fatal(err)
	}
	b := st.NewSideBatch()
	edit(st, b)
	if err := b.Commit(true); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	n.start()
}

// TestAuditRewrittenLog alters and deletes log leaves in the node's database, as an
// insider with disk access could, and wants the audit to name the leaf.
func TestAuditRewrittenLog(t *testing.T) {
	n := startPopulated(t)
	audited := t.TempDir()
	n.auditOK(n.options(audited))
	size, _ := n.node.App().LogSize()

	// Rewrite the result code of the rejected allocation (the fourth transaction): the
	// log then claims it applied.
	var idx uint64 = 1<<64 - 1
	for i := range size {
		l, _ := n.node.App().Leaf(i)
		if v, _ := tlog.DecodeLeaf(l); v != nil {
			if tl, ok := v.(tlog.TxLeaf); ok && tl.Code == uint32(ipledger.CodeOverlap) {
				idx = i
			}
		}
	}
	if idx == 1<<64-1 {
		t.Fatal("no rejected transaction in the log")
	}
	// A restart with the log untouched passes the node's start-up check.
	n.editLeaves(func(*store.Store, *store.SideBatch) {})
	if n.refused() {
		t.Fatal("the node refuses to sign over its untouched log")
	}
	// The node notices at start and signs no more checkpoints (rewriteLeaf checks), and
	// the audit names the leaf.
	n.rewriteLeaf(idx, func(l []byte) { binary.BigEndian.PutUint32(l[21:], 0) })
	n.auditFailsAt(n.options(t.TempDir()), idx, "the node's log says result ok, the replay gives overlap")
	// The audit that verified the log before fetches some of it again and sees the
	// rewrite too.
	n.auditFails(n.options(audited), fmt.Sprintf("leaf %d", idx), "history was rewritten", "the node's log says result ok, the replay gives overlap")

	// Restore it, and delete the last two leaves instead (the log truncated under its
	// checkpoint): the node cannot serve them, and the audit finds the first.
	n.editLeaves(func(st *store.Store, b *store.SideBatch) {
		l, _ := st.SideGet(sideLeafKey(idx))
		binary.BigEndian.PutUint32(l[21:], uint32(ipledger.CodeOverlap))
		b.Set(sideLeafKey(idx), l)
		b.Delete(sideLeafKey(size - 2))
		b.Delete(sideLeafKey(size - 1))
	})
	if !n.refused() {
		t.Fatal("the node still signs checkpoints over a truncated log")
	}
	for _, dir := range []string{t.TempDir(), audited} {
		n.auditFailsAt(n.options(dir), size-2, "cannot serve")
	}
}

// rpcProxy forwards JSON-RPC calls to the node's CometBFT RPC and lets tamper rewrite
// the decoded result of a method: a node lying about what the validators signed.
func rpcProxy(t *testing.T, target string, tamper func(method string, params, result map[string]any)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Method string         `json:"method"`
			Params map[string]any `json:"params"`
		}
		json.Unmarshal(body, &req)
		resp, err := http.Post(target, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if json.Unmarshal(out, &m) == nil {
			if res, ok := m["result"].(map[string]any); ok {
				tamper(req.Method, req.Params, res)
				out, _ = json.Marshal(m)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestAuditUnsignedHeaders has the RPC serve headers the validators did not sign.
func TestAuditUnsignedHeaders(t *testing.T) {
	n := startPopulated(t)
	header := func(res map[string]any) map[string]any {
		sh, _ := res["signed_header"].(map[string]any)
		h, _ := sh["header"].(map[string]any)
		return h
	}
	for _, c := range []struct {
		name   string
		tamper func(method string, params, res map[string]any)
		want   []string
	}{
		{"app hash of height 3", func(method string, params, res map[string]any) {
			if method == "commit" && params["height"] == "3" {
				header(res)["app_hash"] = strings.Repeat("AB", 32)
			}
		}, []string{"height 3, header", "commit signs block"}},
		{"data hash of height 4", func(method string, params, res map[string]any) {
			if method == "commit" && params["height"] == "4" {
				header(res)["data_hash"] = strings.Repeat("CD", 32)
			}
		}, []string{"height 4, header"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := n.options(t.TempDir())
			o.RPC = rpcProxy(t, o.RPC, c.tamper)
			n.auditFails(o, c.want...)
		})
	}

	// Validator sets are fetched when a header names one not known yet (here: never, the
	// genesis set signs throughout); fetch with none known to see the check.
	impostor := types.NewValidatorSet([]*types.Validator{types.NewValidator(cmted25519.GenPrivKey().PubKey(), 10)})
	for _, c := range []struct {
		name string
		rpc  string
		want string
	}{
		{"served set", "http://" + n.rpcAddr, ""},
		{"another set", rpcProxy(t, "http://"+n.rpcAddr, func(method string, _, res map[string]any) {
			if method == "validators" {
				pk := ipledgertest.Key("impostor").Public()
				v := res["validators"].([]any)[0].(map[string]any)
				v["pub_key"] = map[string]any{"type": "tendermint/PubKeyEd25519", "value": base64.StdEncoding.EncodeToString(pk[:])}
				v["address"] = cmted25519.PubKey(pk[:]).Address().String()
			}
		}), "height 2, validators: the RPC serves a validator set with hash"},
	} {
		rpc, err := rpchttp.New(c.rpc)
		if err != nil {
			t.Fatal(err)
		}
		got := newHeaderFetcher(rpc, testChainID, impostor).fetch(context.Background(), 2)
		switch {
		case c.want == "" && (got.err != nil || got.sigs != 1):
			t.Fatalf("%s: %v, %d signatures", c.name, got.err, got.sigs)
		case c.want != "" && (got.err == nil || !strings.Contains(got.err.Error(), c.want)):
			t.Fatalf("%s: %v, want %q", c.name, got.err, c.want)
		}
	}

	// A genesis naming other validators: the chain's first header is not theirs.
	doc, err := os.ReadFile(chain.GenesisPath(n.home))
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]any
	json.Unmarshal(doc, &g)
	pk := ipledgertest.Key("impostor").Public()
	v := g["validators"].([]any)[0].(map[string]any)
	v["pub_key"] = map[string]any{"type": "tendermint/PubKeyEd25519", "value": base64.StdEncoding.EncodeToString(pk[:])}
	delete(v, "address")
	doc, _ = json.Marshal(g)
	path := filepath.Join(t.TempDir(), "genesis.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	o := n.options(t.TempDir())
	o.Genesis = path
	n.auditFails(o, "height 1, header", "not the genesis validators")
}

// TestAuditRewrittenTransaction changes a transaction's bytes in the node's log: the
// block's signed data hash no longer matches, and the audit names the leaf.
func TestAuditRewrittenTransaction(t *testing.T) {
	n := startPopulated(t)
	size, _ := n.node.App().LogSize()
	idx := size - 2 // the transfer, the last transaction
	n.rewriteLeaf(idx, func(l []byte) {
		l[len(l)-1] ^= 1 // in the last signature
	})
	n.auditFailsAt(n.options(t.TempDir()), idx, "but the validators signed")
}

// TestAuditLaggingCheckpoint serves an older (genuine) checkpoint: the replay stops at the
// first block with transactions the log does not reach, the verdict says so, and a later
// run against the current checkpoint continues from there.
func TestAuditLaggingCheckpoint(t *testing.T) {
	n := startNet(t)
	// A chain without transactions has no checkpoint yet: an empty log.
	dir := t.TempDir()
	rep := n.auditOK(n.options(dir))
	if rep.LogSize != 0 || rep.Replayed < 1 || rep.Uncovered != 0 {
		t.Fatalf("empty log: %+v", rep)
	}
	n.populate(1)
	n.waitIdle() // the checkpoint of the last block is signed
	old := n.node.App().Checkpoint()
	n.populate(2)
	n.waitIdle()
	o := n.options(dir)
	o.Node = n.checkpointProxy(old)
	rep = n.auditOK(o)
	if rep.Uncovered == 0 || rep.Replayed != rep.Uncovered-1 || rep.Height != rep.Uncovered || !strings.Contains(rep.String(), "does not reach height") {
		t.Fatalf("lagging checkpoint: %+v", rep)
	}
	rep2 := n.auditOK(n.options(dir))
	if rep2.Start != rep.Uncovered || rep2.Uncovered != 0 || rep2.Replayed < n.height()-1 || rep2.Txs != 5 {
		t.Fatalf("after the lagging checkpoint: %+v", rep2)
	}
}

// TestAuditResumesAfterStop stops a run in the middle of the replay, when the store write
// of the last block replayed may still be under way: audit.json must record no height the
// replay store lacks, and the next run continues from it to the node's whole log.
func TestAuditResumesAfterStop(t *testing.T) {
	n := startNet(t)
	n.populate(1)
	n.populate(2)
	n.waitIdle()
	dir := t.TempDir()
	o := n.options(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stopped int64
	o.Progress = func(p Progress) {
		if stopped == 0 && p.Height >= 4 {
			stopped = p.Height
			cancel()
		}
	}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped run: %v", err)
	}
	st, err := LoadState(dir)
	if err != nil || st == nil {
		t.Fatalf("state after the stopped run: %+v %v", st, err)
	}
	rp, err := chain.OpenReplayer(filepath.Join(dir, ReplayDir), testChainID)
	if err != nil {
		t.Fatal(err)
	}
	stored := rp.App().Committed().Height
	if err := rp.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Height < stopped || st.Height > stored {
		t.Fatalf("stopped at %d: audit.json records height %d, the replay store holds %d", stopped, st.Height, stored)
	}
	saved := st.Height
	rep := n.auditOK(n.options(dir))
	size, _ := n.node.App().LogSize()
	st, err = LoadState(dir)
	if err != nil || rep.Start != saved+1 || st.Compared != size || st.Height != rep.Replayed || rep.Replayed < n.height()-1 {
		t.Fatalf("saved at %d; resumed run from %d replayed to %d; state at %d compared %d; node at %d, log %d: %v",
			saved, rep.Start, rep.Replayed, st.Height, st.Compared, n.height(), size, err)
	}
}

// TestAuditStoreBehind gives a run a replay store that lost blocks audit.json records (a
// store restored from an older copy; a crash of the machine cannot do this, as every save
// of audit.json syncs the store first): the run refuses to continue from it.
func TestAuditStoreBehind(t *testing.T) {
	n := startPopulated(t)
	dir := t.TempDir()
	n.auditOK(n.options(dir))
	old := t.TempDir()
	if err := os.CopyFS(old, os.DirFS(filepath.Join(dir, ReplayDir))); err != nil {
		t.Fatal(err)
	}
	n.populate(2)
	n.waitIdle()
	n.auditOK(n.options(dir))
	replay := filepath.Join(dir, ReplayDir)
	if err := os.RemoveAll(replay); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(replay, os.DirFS(old)); err != nil {
		t.Fatal(err)
	}
	_, err := n.audit(n.options(dir))
	var d *Divergence
	if err == nil || errors.As(err, &d) || !strings.Contains(err.Error(), "behind") {
		t.Fatalf("audit over a store behind audit.json: %v", err)
	}
}
