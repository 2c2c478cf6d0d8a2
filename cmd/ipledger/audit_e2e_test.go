package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

// auditNode is `ipledger node` running with its CometBFT RPC on.
type auditNode struct {
	*node
	rpc string
}

// startRPCNode runs `ipledger node` on home with its CometBFT RPC on rpcAddr, and waits
// until its API answers.
func startRPCNode(t *testing.T, home, rpcAddr string) *auditNode {
	t.Helper()
	return &auditNode{node: startNode(t, "node", home, "--rpc", rpcAddr), rpc: rpcAddr}
}

// runAudit runs `ipledger audit` against p and returns its exit code and output.
func runAudit(t *testing.T, home string, p *auditNode, dir string, extra ...string) (int, string) {
	t.Helper()
	args := append([]string{"audit", "--node", "http://" + p.addr, "--rpc", "http://" + p.rpc,
		"--genesis", filepath.Join(home, "config", "genesis.json"), "--dir", dir}, extra...)
	return exitCode(t, binCmd(t, args...))
}

// lastRead is a KV that remembers the last key and value read through it: a record's
// state key and raw bytes, found through the ledger's own lookups rather than its key
// layout.
type lastRead struct {
	ipledger.KV
	key, value []byte
}

func (l *lastRead) Get(k []byte) ([]byte, error) {
	v, err := l.KV.Get(k)
	if v != nil {
		l.key, l.value = bytes.Clone(k), v
	}
	return v, err
}

// TestAuditInsiderEdit is the insider case, the silent relabelling that happened at
// AFRINIC: someone with access to a stopped node's database changes a holding's holder in
// the value table, where every read comes from. At start the node finds that its state no
// longer hashes to its committed state root: it logs one line naming the holding, refuses
// to sign checkpoints and to execute blocks, and keeps serving what it holds. The audit,
// replaying the log, names that holding and the height — both a fresh audit and one that
// verified the node before the edit.
func TestAuditInsiderEdit(t *testing.T) {
	home := initHome(t, "e2e-audit")
	rpcAddr := ipledgertest.FreeAddr(t)
	p := startRPCNode(t, home, rpcAddr)
	cl := p.cl
	ripe := signer(t, home, ipledger.RIPENCC)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	build := func(seq uint64, kind ipledger.Kind, body any) []byte {
		tx, err := ipledger.BuildTx("e2e-audit", kind, seq, 0, body, ripe)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	submit := func(seq uint64, kind ipledger.Kind, body any) { commit(t, ctx, cl, "e2e-audit", kind, seq, body, ripe) }
	submit(1, ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: "ORG-A", Name: "Alpha Networks", Country: "NL"},
		{Handle: "ORG-X", Name: "Xenon Holdings", Country: "NL"},
	}})
	submit(2, ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.0.0/16"), Org: "ORG-A", Status: ipledger.StatusAllocatedPA, Country: "NL"},
		{Resource: ipledger.MustParseResource("193.1.0.0/16"), Org: "ORG-X", Status: ipledger.StatusAllocatedPA, Country: "NL"},
	}})
	info, err := cl.Resource(ctx, "193.0.0.0/16")
	if err != nil || info.Holding.Holder != "ORG-A" {
		t.Fatalf("holding: %v %+v", err, info)
	}
	id := info.Holding.ID
	// Wait for the empty block that proves the last one, so the chain idles.
	for st, _ := cl.Status(ctx); st.Height <= info.Height; st, _ = cl.Status(ctx) {
		time.Sleep(20 * time.Millisecond)
	}

	baseline := filepath.Join(t.TempDir(), "audit")
	if code, out := runAudit(t, home, p, baseline, "--full"); code != 0 || !strings.Contains(out, "audit OK") {
		t.Fatalf("audit before the edit: exit %d\n%s", code, out)
	}
	checkpoint := string(ipledgertest.Get(t, "http://"+p.addr+"/v1/log/checkpoint"))
	p.stop(syscall.SIGTERM) // as an operator would

	// The insider: find the holding's record as the ledger reads it, then overwrite its
	// newest record in the value table with the holder changed. The tree, the log, the
	// block records and CometBFT's stores stay as they were.
	dbDir := filepath.Join(home, "ledger")
	st, err := store.Open(store.Options{Dir: dbDir})
	if err != nil {
		t.Fatal(err)
	}
	view, err := st.ReadAt(0)
	if err != nil {
		t.Fatal(err)
	}
	rec := &lastRead{KV: view}
	h, err := ledger.HoldingByID(rec, id)
	if err != nil || h == nil || h.Holder != "ORG-A" || !bytes.Contains(rec.value, []byte("ORG-A")) {
		t.Fatalf("holding %d: %v %+v (record %x)", id, err, h, rec.value)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := pebble.Open(dbDir, &pebble.Options{Comparer: store.Comparer(), Logger: quietPebble{}})
	if err != nil {
		t.Fatal(err)
	}
	prefix := store.ValueRecordPrefix(rec.key)
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: append(bytes.Clone(prefix[:len(prefix)-1]), 2)})
	if err != nil {
		t.Fatal(err)
	}
	if !it.First() {
		t.Fatalf("no value record under %x", prefix)
	}
	// A record is 0x00 (a value) ‖ the value.
	if v := it.Value(); len(v) != 1+len(rec.value) || v[0] != 0 || !bytes.Equal(v[1:], rec.value) {
		t.Fatalf("newest record %x is not the holding %x", v, rec.value)
	}
	forged := append([]byte{0}, bytes.Replace(rec.value, []byte("ORG-A"), []byte("ORG-X"), 1)...)
	if err := errors.Join(db.Set(bytes.Clone(it.Key()), forged, pebble.Sync), it.Close(), db.Close()); err != nil {
		t.Fatal(err)
	}

	p = startRPCNode(t, home, rpcAddr)
	cl = p.cl
	// The node serves what it holds, forged holder included ...
	now, err := cl.Holding(ctx, fmt.Sprint(id))
	if err != nil || now.Holding.Holder != "ORG-X" {
		t.Fatalf("the node does not serve the forged holder: %v %+v", err, now)
	}
	status, err := cl.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// ... but it says what is wrong, in one line naming the object and height, ...
	object := fmt.Sprintf(`object="holding IPL-H%d 193.0.0.0/16"`, id)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.out.String(), object) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	var lines []string
	for _, l := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(l, "does not match the committed state root") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], object) || !strings.Contains(lines[0], fmt.Sprintf("height=%d", status.Height)) {
		t.Fatalf("want one log line naming %s at height %d, got %q\n%s", object, status.Height, lines, p.out.String())
	}
	t.Logf("node: %s", lines[0])
	// ... signs no checkpoint (the metric says so; the served one is the last it signed) ...
	if m := string(ipledgertest.Get(t, "http://"+p.addr+"/metrics")); !strings.Contains(m, "\nipledger_log_checkpoint_refused 1\n") {
		t.Fatalf("metrics do not show the refusal:\n%s", m)
	}
	if got := string(ipledgertest.Get(t, "http://"+p.addr+"/v1/log/checkpoint")); got != checkpoint {
		t.Fatalf("checkpoint changed after the edit:\n%s\nbefore:\n%s", got, checkpoint)
	}
	// ... and executes nothing more.
	_, err = cl.Submit(ctx, build(3, ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-Y", Name: "Y", Country: "NL"}}}), false)
	if err == nil || !strings.Contains(err.Error(), "does not match its committed state root") {
		t.Fatalf("a transaction submitted to the node: %v", err)
	}

	want := fmt.Sprintf("audit FAILED: height %d, holding IPL-H%d 193.0.0.0/16: node says holder ORG-X, the log says ORG-A", status.Height, id)
	for _, dir := range []string{filepath.Join(t.TempDir(), "fresh"), baseline} {
		code, out := runAudit(t, home, p, dir, "--full")
		if code != 1 || !strings.Contains(out, want) {
			t.Fatalf("audit in %s after the edit: exit %d, want 1 and %q\n%s", filepath.Base(dir), code, want, out)
		}
		t.Logf("%s: %s", filepath.Base(dir), strings.TrimSpace(out))
	}
}

// quietPebble drops Pebble's informational messages when a test opens a database itself.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)              {}
func (quietPebble) Errorf(format string, args ...any) { fmt.Printf(format+"\n", args...) }
func (quietPebble) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// TestAuditDefaults runs the README's invocation, `ipledger audit --node URL --rpc URL`
// without --dir or --genesis: the directory defaults to the user's cache directory, per
// chain and node, the genesis is fetched from the node's RPC and pinned there, a rerun
// continues from them, and a pinned genesis of another chain is refused.
func TestAuditDefaults(t *testing.T) {
	home := initHome(t, "e2e-audit-defaults")
	p := startRPCNode(t, home, ipledgertest.FreeAddr(t))
	cache := t.TempDir()
	audit := func() (int, string) {
		cmd := binCmd(t, "audit", "--node", "http://"+p.addr, "--rpc", "http://"+p.rpc)
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache, "HOME="+cache)
		return exitCode(t, cmd)
	}
	dir := filepath.Join(cache, "ipledger", "audit", "e2e-audit-defaults", strings.ReplaceAll(p.addr, ":", "_"))
	code, out := audit()
	if code != 0 || !strings.Contains(out, "audit OK") || !strings.Contains(out, "pinned the genesis of chain e2e-audit-defaults") ||
		!strings.Contains(out, filepath.Join(dir, "genesis.json")) {
		t.Fatalf("first audit: exit %d\n%s", code, out)
	}
	for _, f := range []string{"genesis.json", "audit.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("audit directory: %v", err)
		}
	}
	if code, out := audit(); code != 0 || !strings.Contains(out, "audit OK") || strings.Contains(out, "pinned") {
		t.Fatalf("second audit: exit %d\n%s", code, out)
	}
	// A genesis of another chain pinned in the directory: refused, exit 2.
	b, err := os.ReadFile(filepath.Join(dir, "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(string(b), `"e2e-audit-defaults"`, `"another-chain"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "genesis.json"), []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := audit(); code != 2 || !strings.Contains(out, "is of chain another-chain") {
		t.Fatalf("audit with another chain's genesis pinned: exit %d\n%s", code, out)
	}
}
