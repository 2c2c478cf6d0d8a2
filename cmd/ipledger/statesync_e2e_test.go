package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/cli"
	"github.com/ipledger/ipledger/ipledgertest"
)

// startJoiner creates a full node home dir/name that joins the testnet in dir by state
// sync, and starts it with its HTTP API and CometBFT RPC on free ports.
func startJoiner(t testing.TB, dir, name string) (*testnetProc, string) {
	t.Helper()
	jhome := filepath.Join(dir, name)
	if out := run(t, "init", "--home", jhome, "--join", filepath.Join(dir, cli.TestnetFile), "--state-sync"); !strings.Contains(out, "state-sync snapshot") {
		t.Fatalf("init --join --state-sync did not set up state sync:\n%s", out)
	}
	jrpc := ipledgertest.FreeAddr(t)
	return startFullNode(t, name, "node", jhome, "--rpc", jrpc), jrpc
}

// TestStateSyncJoin runs four validators that take a snapshot every 10 blocks under a
// steady load of signed transactions. A new node joins with init --join --state-sync: it
// must restore a snapshot rather than replay from height 1 (its log says so, its metrics
// name the height, and its block store begins after the snapshot), catch up to the head by
// block sync, and then answer exactly like the validators: blocks and app hashes at every
// height (those before the snapshot from the restored records), transactions, resources,
// organisations and their history, the log's size, checkpoint and tiles.
func TestStateSyncJoin(t *testing.T) {
	binary(t) // built before the clock starts
	start := time.Now()
	t.Setenv("IPLEDGER_SNAPSHOT_INTERVAL", "10")
	dir := t.TempDir()
	tn, procs := startTestnet(t, dir, "e2e-statesync", 4)
	t.Logf("%.1f s: testnet up", time.Since(start).Seconds())

	ld := startRegistryLoad(t, tn, procs, 0, tn.Nodes[0].Registries)
	// Two snapshots at least before the joiner asks.
	procs[0].waitHeight(25, 60*time.Second)

	t.Logf("%.1f s: height 25", time.Since(start).Seconds())
	joiner, jrpc := startJoiner(t, dir, "joiner")
	joinStart := time.Now()
	head := procs[0].height()
	deadline := time.Now().Add(40 * time.Second)
	for joiner.height() < head {
		if time.Now().After(deadline) {
			t.Fatalf("the joiner did not reach height %d in 40 s (at %d)\n%s", head, joiner.height(), joiner.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	caughtUp := time.Since(joinStart)
	// It follows the chain under load, then everyone settles at the same height.
	time.Sleep(time.Second)
	committed := ld.stop()
	// The last transactions change the app hash, which takes one more block to prove;
	// then the chain idles (an empty block only every 30 s).
	top := procs[0].height()
	for stable := time.Now(); time.Since(stable) < time.Second; time.Sleep(100 * time.Millisecond) {
		if h := procs[0].height(); h != top {
			top, stable = h, time.Now()
		}
	}
	for _, p := range append(procs, joiner) {
		p.waitHeight(top, 30*time.Second)
	}
	t.Logf("%.1f s: all at height %d", time.Since(start).Seconds(), top)

	// It restored a snapshot and did not replay from height 1.
	m := regexp.MustCompile(`msg="snapshot restored" height=(\d+) app_hash=([0-9A-F]+)`).FindStringSubmatch(joiner.logs.String())
	if m == nil {
		t.Fatalf("the joiner's log shows no restored snapshot:\n%s", joiner.logs.String())
	}
	restored, _ := strconv.ParseInt(m[1], 10, 64)
	if restored < 10 || restored%10 != 0 || restored > top {
		t.Fatalf("restored a snapshot of height %d (top %d)", restored, top)
	}
	if !regexp.MustCompile(`(?m)^ipledger_state_sync_height ` + m[1] + `$`).Match(ipledgertest.Get(t, joiner.cl.Base+"/metrics")) {
		t.Fatalf("metrics do not name the restored height %d", restored)
	}
	rpc, err := rpchttp.New("http://" + jrpc)
	if err != nil {
		t.Fatal(err)
	}
	cst, err := rpc.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cst.SyncInfo.EarliestBlockHeight != restored+1 {
		t.Fatalf("the joiner's block store begins at %d; after a snapshot of %d it should begin at %d", cst.SyncInfo.EarliestBlockHeight, restored, restored+1)
	}
	b, err := procs[1].cl.Block(context.Background(), restored)
	if err != nil || fmt.Sprintf("%X", []byte(b.AppHash)) != m[2] {
		t.Fatalf("restored app hash %s; node1 has %X at %d (%v)", m[2], b.AppHash, restored, err)
	}

	// Blocks and app hashes at every height.
	for h := int64(1); h <= top; h++ {
		jb, err1 := joiner.cl.Block(context.Background(), h)
		vb, err2 := procs[h%4].cl.Block(context.Background(), h)
		if err1 != nil || err2 != nil {
			t.Fatalf("block %d: %v %v", h, err1, err2)
		}
		jj, _ := json.Marshal(jb)
		vj, _ := json.Marshal(vb)
		if !bytes.Equal(jj, vj) {
			t.Fatalf("block %d differs:\njoiner %s\nnode%d %s", h, jj, h%4, vj)
		}
	}
	if len(committed) < 20 {
		t.Fatalf("only %d transactions committed; the load is too light to show anything", len(committed))
	}
	for hash, o := range committed {
		info, err := joiner.cl.Tx(context.Background(), hash.String())
		if err != nil || info.Height != o.Height || info.Index != o.Index || info.Code != o.Code {
			t.Fatalf("joiner: tx %s committed at %d/%d code %d; it says %+v (%v)", hash, o.Height, o.Index, o.Code, info, err)
		}
	}
	// Queries: status, resources, organisations with their history, the log.
	js, _ := joiner.cl.Status(context.Background())
	vs, _ := procs[2].cl.Status(context.Background())
	if js.Height != vs.Height || js.AppHash != vs.AppHash || js.LogSize != vs.LogSize || len(js.Validators) != 4 {
		t.Fatalf("status: joiner %+v, node2 %+v", js, vs)
	}
	paths := []string{"/v1/resources/193.0.0.1", "/v1/resources/2001:db8::1", "/v1/resources/AS3333",
		"/v1/orgs/" + ipledger.RIPENCC, "/v1/orgs/ORG-" + tn.Nodes[0].Registries[0] + "-1",
		fmt.Sprintf("/v1/log/proof/consistency?old=%d&new=%d", js.LogSize/3, js.LogSize)}
	for _, path := range paths {
		if jb, vb := ipledgertest.Get(t, joiner.cl.Base+path), ipledgertest.Get(t, procs[3].cl.Base+path); !bytes.Equal(jb, vb) {
			t.Fatalf("GET %s differs:\njoiner %s\nnode3  %s", path, jb, vb)
		}
	}
	// Checkpoints are signed by each node's own key; the checkpoint body is the same.
	body := func(note []byte) string { return string(note[:bytes.Index(note, []byte("\n\n"))]) }
	if jc, vc := body(ipledgertest.Get(t, joiner.cl.Base+"/v1/log/checkpoint")), body(ipledgertest.Get(t, procs[0].cl.Base+"/v1/log/checkpoint")); jc != vc {
		t.Fatalf("checkpoints differ:\njoiner %s\nnode0  %s", jc, vc)
	}
	// Tiles and entry bundles, from the leaves and subtree hashes the joiner rebuilt.
	for _, tile := range []string{"/v1/log/tile/0/000", "/v1/log/tile/entries/000"} {
		w := min(js.LogSize, 256)
		path := tile
		if w < 256 {
			path = fmt.Sprintf("%s.p/%d", tile, w)
		}
		if jb, vb := ipledgertest.Get(t, joiner.cl.Base+path), ipledgertest.Get(t, procs[1].cl.Base+path); !bytes.Equal(jb, vb) {
			t.Fatalf("GET %s differs", path)
		}
	}
	t.Logf("%d transactions over %d heights; the joiner restored the snapshot of height %d and was past the height the network had when it started (%d) %.1f s after its start; whole test %.1f s",
		len(committed), top, restored, head, caughtUp.Seconds(), time.Since(start).Seconds())
}

// logTime returns the time of the first log line with msg, or the zero time.
func logTime(logs, msg string) time.Time {
	m := regexp.MustCompile(`(?m)^time=(\S+) level=\w+ msg="` + regexp.QuoteMeta(msg) + `"`).FindStringSubmatch(logs)
	if m == nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, m[1])
	return t
}

// snapshotHeights lists the complete snapshots in a node home.
func snapshotHeights(home string) []int64 {
	entries, _ := os.ReadDir(chain.SnapshotDir(home))
	var out []int64
	for _, e := range entries {
		if h, err := strconv.ParseInt(e.Name(), 10, 64); err == nil {
			out = append(out, h)
		}
	}
	return out
}

// BenchmarkStateSyncJoin2014 measures how long a new node takes to join, by state sync, a
// chain holding the largest import, the delegated statistics of 2014-06 (~139,000
// holdings and organisations): from init --join --state-sync to the node having reached
// the chain's height, everything included (CometBFT's 5 s snapshot discovery, the light
// client, fetching, checking and restoring the snapshot, block sync of what followed).
// The chain is `ipledger dev --import` with a snapshot every 10 blocks; after the import
// a registry keeps registering organisations until a snapshot of the imported state
// exists and two blocks follow it (the light client needs them). The joiner names the dev
// node's genesis, P2P address and RPC server. Run with
//
//	go test ./cmd/ipledger -run '^$' -bench StateSyncJoin2014 -benchtime 1x
//
// The data come from $IPLEDGER_DATA or ../shared/data (the RIRs publish delegated
// statistics at https://ftp.ripe.net/pub/stats/ and their own FTP sites).
func BenchmarkStateSyncJoin2014(b *testing.B) {
	folder := ipledgertest.Data(b, "delegated/2014-06")
	b.StopTimer()
	dir := b.TempDir()
	home := filepath.Join(dir, "dev")
	p2p, rpc := ipledgertest.FreeAddr(b), ipledgertest.FreeAddr(b)
	binary(b)
	t0 := time.Now()
	dev := startFullNode(b, "dev", "dev", home, "--p2p", p2p, "--rpc", rpc, "--snapshot-interval", "10", "--import", folder, "--demo=false") // the trickle below owns RIPE NCC's sequence
	imported := regexp.MustCompile(`(?m)^import: .*$`)
	for !imported.MatchString(dev.logs.String()) {
		if time.Since(t0) > 5*time.Minute || strings.Contains(dev.logs.String(), "ipledger:") {
			b.Fatalf("the import did not finish:\n%s", dev.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	st, err := dev.cl.Status(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("imported 2014-06 in %.1f s up to height %d: %s", time.Since(t0).Seconds(), st.Height, imported.FindString(dev.logs.String()))

	// A trickle of registrations moves the chain past a snapshot of the imported state.
	ctx, cancel := context.WithCancel(context.Background())
	var trickle sync.WaitGroup
	trickle.Go(func() {
		ripe := signer(b, home, ipledger.RIPENCC)
		o, err := dev.cl.Org(ctx, ipledger.RIPENCC)
		if err != nil {
			return
		}
		for seq := o.Sequence + 1; ctx.Err() == nil; seq++ {
			body := ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: fmt.Sprintf("ORG-BENCH-%d", seq), Name: "Join benchmark"}}}
			tx, _ := ipledger.BuildTx(st.ChainID, ipledger.KindRegisterOrg, seq, 0, body, ripe)
			if _, err := dev.cl.Submit(ctx, tx, true); err != nil {
				return
			}
		}
	})
	var snap int64
	deadline := time.Now().Add(3 * time.Minute)
	for snap == 0 || dev.height() < snap+2 {
		if time.Now().After(deadline) {
			b.Fatalf("no snapshot of the imported state after 3 minutes (snapshots %v, height %d)\n%s", snapshotHeights(home), dev.height(), dev.logs.String())
		}
		for _, h := range snapshotHeights(home) {
			if h >= st.Height && snap == 0 {
				snap = h
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	trickle.Wait()
	b.Logf("snapshot of height %d ready %.1f s after the import", snap, time.Since(t0).Seconds())

	var total, restore time.Duration
	var size string
	for i := 0; i < b.N; i++ {
		head := dev.height()
		jhome := filepath.Join(dir, fmt.Sprint("joiner", i))
		b.StartTimer()
		start := time.Now()
		run(b, "init", "--home", jhome, "--join", chain.GenesisPath(home), "--peers", st.NodeID+"@"+p2p, "--state-sync", "--rpc-servers", rpc)
		j := startFullNode(b, "joiner", "node", jhome)
		for j.height() < head {
			if time.Since(start) > 3*time.Minute {
				j.kill()
				b.Fatalf("the joiner did not reach height %d in 3 minutes\n%s", head, j.logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		b.StopTimer()
		total += time.Since(start)
		logs := j.logs.String()
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", j.run.cmd.Process.Pid))
		if m := regexp.MustCompile(`VmHWM:\s*(\d+) kB`).FindSubmatch(status); m != nil {
			kb, _ := strconv.ParseFloat(string(m[1]), 64)
			b.ReportMetric(kb/1024, "MiB-peak-RSS")
		}
		j.kill()
		offered, restored := logTime(logs, "snapshot offered"), logTime(logs, "snapshot restored")
		if offered.IsZero() || restored.IsZero() {
			b.Fatalf("the joiner did not restore a snapshot:\n%s", logs)
		}
		restore += restored.Sub(offered)
		if m := regexp.MustCompile(`msg="snapshot restored" height=(\d+) .* bytes=(\d+)`).FindStringSubmatch(logs); m != nil {
			size = m[2]
			b.Logf("restored the snapshot of height %s: offered %.1f s and restored %.1f s after init", m[1], offered.Sub(start).Seconds(), restored.Sub(start).Seconds())
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/join")
	b.ReportMetric(restore.Seconds()/float64(b.N), "s/restore")
	if mb, err := strconv.ParseFloat(size, 64); err == nil {
		b.ReportMetric(mb/1e6, "MB/snapshot")
	}
}
