package chain

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/kvbuffer"
)

// breakSignState puts a directory where the node's validator keeps its last-sign state:
// the next save (signing a proposal or vote) fails, as it did when the process ran out
// of descriptors, and CometBFT's consensus routine panics, recovers and stops. Root
// ignores file modes, so a mode change would not do.
func breakSignState(t *testing.T, home string) {
	t.Helper()
	p := filepath.Join(home, "data", "priv_validator_state.json")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(p, "blocker"), 0o700); err != nil {
		t.Fatal(err)
	}
}

func TestHaltOnConsensusFailure(t *testing.T) {
	dir := t.TempDir()
	initTestHome(t, dir)
	reg := prometheus.NewRegistry()
	var logs ipledgertest.LockedBuffer
	n := startNode(t, NodeOptions{Home: dir, Registry: reg, Logger: slogTo(&logs)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if g := (gauge(t, reg, "ipledger_node_halted")); g != 0 {
		t.Fatalf("ipledger_node_halted = %v before the failure", g)
	}
	breakSignState(t, dir)
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	tx, _ := ipledger.BuildTx("chain-test", ipledger.KindRegisterOrg, 1, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-X", Name: "X"}}}, ripe)
	if _, err := n.Submit(ctx, tx); err != nil {
		t.Fatalf("submit before the failure: %v", err)
	}
	start := time.Now()
	select {
	case <-n.Halted():
	case <-ctx.Done():
		t.Fatalf("no halt; logs:\n%s", logs.String())
	}
	// Halted closes after the linger, during which the node says why.
	if d := time.Since(start); d < HaltLinger/2 {
		t.Errorf("Halted closed %v after the failure, want about %v", d, HaltLinger)
	}
	st, err := n.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Halted || !strings.Contains(st.HaltReason, "consensus failure") {
		t.Fatalf("status halted %v reason %q", st.Halted, st.HaltReason)
	}
	if g := (gauge(t, reg, "ipledger_node_halted")); g != 1 {
		t.Fatalf("ipledger_node_halted = %v", g)
	}
	tx2, _ := ipledger.BuildTx("chain-test", ipledger.KindRegisterOrg, 2, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-Y", Name: "Y"}}}, ripe)
	if _, err := n.Submit(ctx, tx2); ipledger.ErrorCode(err) != ipledger.CodeUnavailable {
		t.Fatalf("submit after the halt: %v, want unavailable", err)
	}
	if c := strings.Count(logs.String(), "level=ERROR msg=\"node halted"); c != 1 {
		t.Fatalf("%d ERROR lines for the halt, want 1:\n%s", c, logs.String())
	}
	done := make(chan error, 1)
	go func() { done <- n.Stop() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Stop of a halted node hangs")
	}
}

// TestHaltOnAppError: a block the App cannot commit halts the node with the App's error.
func TestHaltOnAppError(t *testing.T) {
	h := newHalter(slog.New(slog.DiscardHandler))
	a := haltingApp{&App{}, h, nil}
	if _, err := a.Commit(context.Background(), nil); err == nil {
		t.Fatal("Commit without a block succeeded")
	}
	if r := h.Reason(); !strings.Contains(r, "commit without a finalized block") {
		t.Fatalf("reason %q", r)
	}
}

// TestHaltOnStoreFailure: a state store that fails while a block's transaction is
// applied halts the node with the store's error as the reason, not a bare "internal
// error", and the transaction gets no result.
func TestHaltOnStoreFailure(t *testing.T) {
	ctx := context.Background()
	r := testReplayer(t, t.TempDir(), "halt-chain")
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	tx, err := ipledger.BuildTx("halt-chain", ipledger.KindRegisterOrg, 1, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-X", Name: "X"}}}, ripe)
	if err != nil {
		t.Fatal(err)
	}
	app := r.App()
	if err := app.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	app.buf = kvbuffer.New(ipledgertest.FailKV{})
	h := newHalter(slog.New(slog.DiscardHandler))
	res, err := haltingApp{app, h, nil}.FinalizeBlock(ctx, &abci.FinalizeBlockRequest{Height: 2, Time: testStart.Add(time.Minute), Txs: [][]byte{tx}})
	if err == nil {
		t.Fatalf("FinalizeBlock over a failing store succeeded: %+v", res)
	}
	if !errors.Is(err, ipledgertest.ErrDisk) {
		t.Errorf("FinalizeBlock's error %q does not wrap the store's", err)
	}
	if reason := h.Reason(); !strings.Contains(reason, ipledgertest.ErrDisk.Error()) || !strings.Contains(reason, "block 2 tx 0") {
		t.Fatalf("halt reason %q, want the block, the transaction and the store's error", reason)
	}
}

// TestCheckTxRefusedOnLowDisk: below the refuse threshold, a new transaction reaching
// CheckTx (a peer's gossip takes this path, not Submit) is refused as unavailable and
// changes nothing; with space back the same transaction is admitted, and a recheck on a
// nearly full disk gets the App's own verdict, not the refusal.
func TestCheckTxRefusedOnLowDisk(t *testing.T) {
	ctx := context.Background()
	r := testReplayer(t, t.TempDir(), "disk-chain")
	applyBlocks(t, r, []ReplayBlock{testBlock(1)}) // the genesis state committed
	app := r.App()
	tx, err := ipledger.BuildTx("disk-chain", ipledger.KindRegisterOrg, 1, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-X", Name: "X"}}}, ipledgertest.Signer(ipledger.RIPENCC))
	if err != nil {
		t.Fatal(err)
	}
	fd := newFakeDisk(1<<30, 1<<40)
	d := newDiskWatch("/home", DiskOptions{RefuseBelow: DefaultRefuseBelow, StopBelow: DefaultStopBelow, Usage: fd.usage}, slog.New(slog.DiscardHandler))
	d.look()
	a := haltingApp{app, newHalter(slog.New(slog.DiscardHandler)), d}
	res, err := a.CheckTx(ctx, &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK})
	if err != nil || res.Code != uint32(ipledger.CodeUnavailable) || !strings.Contains(res.Log, "free space") {
		t.Fatalf("new transaction on a nearly full disk: %+v %v, want unavailable naming the free space", res, err)
	}
	if app.decoded.len() != 0 {
		t.Fatalf("the refused transaction left %d decoded entries", app.decoded.len())
	}
	fd.set(100 << 30)
	d.look()
	if res, err := a.CheckTx(ctx, &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_CHECK}); err != nil || res.Code != 0 {
		t.Fatalf("new transaction with space back: %+v %v", res, err)
	}
	fd.set(1 << 30)
	d.look()
	if res, err := a.CheckTx(ctx, &abci.CheckTxRequest{Tx: tx, Type: abci.CHECK_TX_TYPE_RECHECK}); err != nil || res.Code == uint32(ipledger.CodeUnavailable) {
		t.Fatalf("recheck on a nearly full disk: %+v %v, want App's own verdict", res, err)
	}
}

// fakeDisk is a filesystem of a fixed size whose free space the test sets.
type fakeDisk struct {
	free  atomic.Uint64
	total uint64
}

func newFakeDisk(free, total uint64) *fakeDisk {
	f := &fakeDisk{total: total}
	f.free.Store(free)
	return f
}

func (f *fakeDisk) set(free uint64) { f.free.Store(free) }

func (f *fakeDisk) usage(string) (uint64, uint64, error) { return f.free.Load(), f.total, nil }

func TestDiskWatch(t *testing.T) {
	fd := newFakeDisk(100<<30, 1<<40)
	var logs ipledgertest.LockedBuffer
	d := newDiskWatch("/home", DiskOptions{RefuseBelow: DefaultRefuseBelow, StopBelow: DefaultStopBelow, Usage: fd.usage}, slogTo(&logs))
	d.started = true // as run sets it once the node started
	steps := []struct {
		free     uint64
		refusing string
		stop     string
	}{
		{100 << 30, "", ""},
		{1 << 30, "free space 1.0 GiB below 2.0 GiB on /home", ""},
		{(1 << 30) - 1, "free space 1024.0 MiB below 2.0 GiB on /home", ""},
		{3 << 30, "", ""},
		{100 << 20, "", "free space 100.0 MiB below the stop threshold 256.0 MiB on /home"},
	}
	for _, s := range steps {
		fd.set(s.free)
		stop := d.look()
		if got := d.refusal(); got != s.refusing && s.stop == "" {
			t.Errorf("free %d: refusal %q, want %q", s.free, got, s.refusing)
		}
		if stop != s.stop {
			t.Errorf("free %d: stop %q, want %q", s.free, stop, s.stop)
		}
		if d.free.Load() != s.free {
			t.Errorf("free %d: figure %d", s.free, d.free.Load())
		}
	}
	// One line per change, not per look.
	if c := strings.Count(logs.String(), "refusing transactions"); c != 1 {
		t.Errorf("%d refusal lines:\n%s", c, logs.String())
	}
	if c := strings.Count(logs.String(), "accepting transactions again"); c != 1 {
		t.Errorf("%d recovery lines:\n%s", c, logs.String())
	}
	// The thresholds are relative on a small filesystem: 5 % and 1 % of 10 GiB.
	small := newFakeDisk(600<<20, 10<<30)
	d = newDiskWatch("/small", DiskOptions{RefuseBelow: DefaultRefuseBelow, StopBelow: DefaultStopBelow, Usage: small.usage}, slog.New(slog.DiscardHandler))
	if stop := d.look(); stop != "" || d.refusal() != "" {
		t.Errorf("600 MiB free of 10 GiB: stop %q refusal %q", stop, d.refusal())
	}
	small.set(500 << 20)
	if d.look(); d.refusal() == "" {
		t.Error("500 MiB free of 10 GiB: not refusing (5 % is 512 MiB)")
	}
}

// TestNodeDiskFull runs a node whose disk fills: it refuses transactions below the first
// threshold, takes them again when space comes back, halts at once below the second, and
// does not start below it.
func TestNodeDiskFull(t *testing.T) {
	dir := t.TempDir()
	initTestHome(t, dir)
	fd := newFakeDisk(10<<30, 100<<30)
	reg := prometheus.NewRegistry()
	disk := DiskOptions{RefuseBelow: DefaultRefuseBelow, StopBelow: DefaultStopBelow, Usage: fd.usage, Interval: 10 * time.Millisecond}
	n := startNode(t, NodeOptions{Home: dir, Registry: reg, Disk: disk})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	reg1, _ := ipledger.BuildTx("chain-test", ipledger.KindRegisterOrg, 1, 0, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-X", Name: "X"}}}, ripe)
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for !ok() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	fd.set(1 << 30)
	waitFor("the refusal", func() bool { return n.refusal() != "" })
	_, err := n.Submit(ctx, reg1)
	if ipledger.ErrorCode(err) != ipledger.CodeUnavailable || !strings.Contains(err.Error(), "free space 1.0 GiB below 2.0 GiB") {
		t.Fatalf("submit on a nearly full disk: %v", err)
	}
	st, _ := n.Status(ctx)
	if st.Halted || st.Refusing == "" || st.DiskFree != 1<<30 {
		t.Fatalf("status %+v", st)
	}
	if g := (gauge(t, reg, "ipledger_disk_refusing")); g != 1 {
		t.Fatalf("ipledger_disk_refusing = %v", g)
	}
	if g := (gauge(t, reg, "ipledger_disk_free_bytes")); g != 1<<30 {
		t.Fatalf("ipledger_disk_free_bytes = %v", g)
	}
	fd.set(3 << 30)
	waitFor("the recovery", func() bool { return n.refusal() == "" })
	if out := submitWait(t, n, reg1); out.Code != 0 {
		t.Fatalf("register after the recovery: %s", out.Code)
	}
	fd.set(100 << 20)
	select {
	case <-n.Halted():
	case <-ctx.Done():
		t.Fatal("no halt below the stop threshold")
	}
	if r := n.HaltReason(); !strings.Contains(r, "below the stop threshold 256.0 MiB") {
		t.Fatalf("halt reason %q", r)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	// Start-up below the stop threshold fails before anything opens.
	_, err = Start(context.Background(), NodeOptions{Home: dir, Disk: disk})
	if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "not starting") {
		t.Fatalf("start on a full disk: %v", err)
	}
}

// TestStoreCanOpen: start-up needs room for the store's write-ahead logs, which Pebble
// flushes before it finishes opening.
func TestStoreCanOpen(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "000009.log"), make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		free uint64
		ok   bool
	}{{2 << 20, true}, {1 << 19, false}} {
		fd := newFakeDisk(c.free, 1<<30)
		d := newDiskWatch(dir, DiskOptions{StopBelow: Threshold{Bytes: 1}, Usage: fd.usage}, slog.New(slog.DiscardHandler))
		d.look()
		if err := d.storeCanOpen(dir); (err == nil) != c.ok {
			t.Errorf("free %d: %v", c.free, err)
		}
	}
}

func TestParseThreshold(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Threshold
		err  bool
	}{
		{"2GiB,5%", DefaultRefuseBelow, false},
		{"256MiB,1%", DefaultStopBelow, false},
		{"5%", Threshold{Percent: 5}, false},
		{"0.5%", Threshold{Percent: 0.5}, false},
		{"100KiB", Threshold{Bytes: 100 << 10}, false},
		{"4096B", Threshold{Bytes: 4096}, false},
		{"off", Threshold{}, false},
		{"0", Threshold{}, false},
		{"", Threshold{}, true},
		{"2GB", Threshold{}, true},
		{"2GiB,3GiB", Threshold{}, true},
		{"100%", Threshold{}, true},
		{"-1%", Threshold{}, true},
		{"0B", Threshold{}, true},
		{"99999999999TiB", Threshold{}, true},
	} {
		got, err := ParseThreshold(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseThreshold(%q) = %+v, %v", c.in, got, err)
		}
		if err == nil {
			checkThreshold(t, c.in, got)
		}
	}
	if l := DefaultRefuseBelow.Limit(64 << 20); l != 64<<20/20 {
		t.Errorf("refuse limit of 64 MiB = %d", l)
	}
	if l := DefaultRefuseBelow.Limit(1 << 40); l != 2<<30 {
		t.Errorf("refuse limit of 1 TiB = %d", l)
	}
}

func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"2GiB,5%", "256MiB,1%", "off", "0.5%", "4096B", "1TiB", "1,2", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if th, err := ParseThreshold(s); err == nil {
			checkThreshold(t, s, th)
		}
	})
}

// checkThreshold fails t unless th, parsed from in, prints a string that parses back to
// it, and its limit on a huge disk is not above its byte figure.
func checkThreshold(t *testing.T, in string, th Threshold) {
	t.Helper()
	if back, err := ParseThreshold(th.String()); err != nil || back != th {
		t.Errorf("%q: %+v prints %q, which parses to %+v, %v", in, th, th.String(), back, err)
	}
	if th.Bytes > 0 && th.Limit(1<<62) > th.Bytes {
		t.Errorf("%q: limit %d over the size %d", in, th.Limit(1<<62), th.Bytes)
	}
}

// TestDiskRefresh: a submission looks again when the figures are over 100 ms old, so a
// small disk filling under load is caught between two of the watch's looks.
func TestDiskRefresh(t *testing.T) {
	fd := newFakeDisk(100<<30, 1<<40)
	d := newDiskWatch("/home", DiskOptions{RefuseBelow: DefaultRefuseBelow, StopBelow: DefaultStopBelow, Usage: fd.usage}, slog.New(slog.DiscardHandler))
	h := newHalter(slog.New(slog.DiscardHandler))
	d.look()
	fd.set(1 << 30)
	d.refresh(h)
	if d.refusal() != "" {
		t.Fatal("looked again within 100 ms")
	}
	time.Sleep(freshness + 10*time.Millisecond)
	d.refresh(h)
	if d.refusal() == "" {
		t.Fatal("figures over 100 ms old not refreshed")
	}
	fd.set(1 << 20)
	time.Sleep(freshness + 10*time.Millisecond)
	d.refresh(h)
	select {
	case <-h.exit:
	default:
		t.Fatal("no halt below the stop threshold")
	}
}
