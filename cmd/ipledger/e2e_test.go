package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ipledgertest"
)

// buildBinary compiles cmd/ipledger into a temp dir once per test binary.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ipledger-e2e-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "ipledger")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// metricLines returns the lines of the /metrics page the node at addr serves that start
// with one of prefixes.
func metricLines(t testing.TB, addr string, prefixes ...string) []string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

type nodeProc struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
}

// startNode runs `ipledger node` on home and waits until its API answers.
func startNode(t *testing.T, home string) *nodeProc {
	t.Helper()
	addr := ipledgertest.FreeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(binary(t), "node", "--home", home, "--http", addr, "--p2p", "127.0.0.1:0", "--rpc", "off", "--whois", "off", "--rtr", "off")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeProc{cmd: cmd, addr: addr, logs: &logs}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitUp(t, addr, logs.String)
	return p
}

// waitUp waits up to 30 s until the node whose API is on addr has committed a block; on
// timeout it fails the test with the node's output.
func waitUp(t testing.TB, addr string, output func() string) {
	t.Helper()
	cl := &client.Client{Base: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := cl.Status(ctx)
		cancel()
		if err == nil && st.Height >= 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node did not come up: %v\n%s", err, output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func loadKeyFile(t testing.TB, home, name string) ipledger.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "keys", name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	var kf struct {
		Seed string `json:"seed"`
	}
	if err := json.Unmarshal(b, &kf); err != nil {
		t.Fatal(err)
	}
	seed, _ := hex.DecodeString(kf.Seed)
	k, err := ipledger.KeyFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKillDuringCommits SIGKILLs a node while a stream of transactions is being committed,
// restarts it, and checks that every transaction seen committed is still there at the same
// place with the same result, that the app hash of every block up to the kill is unchanged,
// and that the node resumed from its store instead of replaying.
func TestKillDuringCommits(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if out, err := exec.Command(binary(t), "init", "--home", home, "--chain-id", "e2e-kill").CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	p := startNode(t, home)
	cl := &client.Client{Base: "http://" + p.addr}
	ripe := ipledger.Signer{Org: ipledger.RIPENCC, Key: loadKeyFile(t, home, ipledger.RIPENCC)}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var hashes []ipledger.Hash
	arin := ipledger.Signer{Org: ipledger.ARIN, Key: loadKeyFile(t, home, ipledger.ARIN)}
	go func() {
		for i, seq := 0, uint64(1); ctx.Err() == nil; i++ {
			var tx []byte
			if i%3 == 2 {
				// ARIN re-registers a handle RIPE NCC already has: committed with a rejection
				// code, which consumes no sequence, so ARIN always signs sequence 1.
				body := ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-K1", Name: fmt.Sprint("again ", i)}}}
				tx, _ = ipledger.BuildTx("e2e-kill", ipledger.KindRegisterOrg, 1, 0, body, arin)
			} else {
				body := ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: fmt.Sprintf("ORG-K%d", seq), Name: "Kill test"}}}
				tx, _ = ipledger.BuildTx("e2e-kill", ipledger.KindRegisterOrg, seq, 0, body, ripe)
			}
			res, err := cl.Submit(ctx, tx, false)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				time.Sleep(5 * time.Millisecond)
				continue
			}
			if i%3 != 2 {
				seq++
			}
			mu.Lock()
			hashes = append(hashes, res.Hash)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	time.Sleep(3 * time.Second)
	// Record what is committed, then kill at once while submissions continue.
	mu.Lock()
	submitted := append([]ipledger.Hash{}, hashes...)
	mu.Unlock()
	committed := map[ipledger.Hash]*apitypes.TxInfo{}
	for _, h := range submitted {
		info, err := cl.Tx(context.Background(), h.String())
		if err == nil && info.Height > 0 {
			committed[h] = info
		}
	}
	st, err := cl.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	appHashes := map[int64]string{}
	for h := int64(1); h <= st.Height; h++ {
		b, err := cl.Block(context.Background(), h)
		if err != nil {
			t.Fatalf("block %d: %v", h, err)
		}
		appHashes[h] = fmt.Sprintf("%X", []byte(b.AppHash))
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	cancel()
	if len(committed) < 20 {
		t.Fatalf("only %d transactions committed before the kill; the load is too light to show anything", len(committed))
	}
	failures := 0
	for _, info := range committed {
		if info.Code != 0 {
			failures++
		}
	}
	if failures == 0 {
		t.Fatal("no failing transaction among the committed ones")
	}

	start := time.Now()
	p2 := startNode(t, home)
	t.Logf("restarted in %v; %d committed transactions (%d rejected) up to height %d", time.Since(start), len(committed), failures, st.Height)
	cl2 := &client.Client{Base: "http://" + p2.addr}
	for h, before := range committed {
		after, err := cl2.Tx(context.Background(), h.String())
		if err != nil {
			t.Fatalf("tx %s committed at %d before the kill is gone: %v", h, before.Height, err)
		}
		if after.Height != before.Height || after.Index != before.Index || after.Code != before.Code {
			t.Fatalf("tx %s moved: %d/%d code %d before, %d/%d code %d after", h, before.Height, before.Index, before.Code, after.Height, after.Index, after.Code)
		}
	}
	for h, want := range appHashes {
		b, err := cl2.Block(context.Background(), h)
		if err != nil {
			t.Fatalf("block %d after restart: %v", h, err)
		}
		if got := fmt.Sprintf("%X", []byte(b.AppHash)); got != want {
			t.Fatalf("app hash of block %d changed: %s → %s", h, want, got)
		}
	}
	// It resumed from its own store: the startup line names a height at or above the last
	// one seen, so CometBFT had nothing of ours to replay.
	var resumed int64 = -1
	for _, line := range strings.Split(p2.logs.String(), "\n") {
		if strings.Contains(line, `msg="node started"`) {
			fmt.Sscanf(line[strings.Index(line, "height=")+len("height="):], "%d", &resumed)
		}
	}
	if resumed < st.Height {
		t.Fatalf("node started at height %d, below the %d committed before the kill\n%s", resumed, st.Height, p2.logs.String())
	}
}
