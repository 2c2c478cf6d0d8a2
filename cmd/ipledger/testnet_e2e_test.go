package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/cli"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ipledgertest"
)

// testnetProc is one node process of a testnet, which the test may kill and start again.
type testnetProc struct {
	t    testing.TB
	node cli.TestnetNode
	bin  string                     // the binary it runs; "" for this package's
	args []string                   // its arguments; nil for a validator's `node --home`, its config saying the rest
	run  *proc                      // nil while killed
	logs *ipledgertest.LockedBuffer // the output since the last start
	cl   *client.Client
}

// startFullNode starts `ipledger sub` on home under name, with its API on a free port as
// nodeArgs says, and does not wait for it.
func startFullNode(t testing.TB, name, sub, home string, extra ...string) *testnetProc {
	t.Helper()
	addr := ipledgertest.FreeAddr(t)
	p := &testnetProc{t: t, node: cli.TestnetNode{Name: name, Home: home}, args: nodeArgs(sub, home, addr, extra...),
		cl: &client.Client{Base: "http://" + addr}}
	p.start()
	return p
}

func (p *testnetProc) start() {
	p.t.Helper()
	bin, args := p.bin, p.args
	if bin == "" {
		bin = binary(p.t)
	}
	if args == nil {
		args = []string{"node", "--home", p.node.Home}
	}
	p.run = startProc(p.t, bin, args...)
	p.logs = p.run.out
}

func (p *testnetProc) kill() {
	p.run.kill()
	p.run = nil
}

func (p *testnetProc) height() int64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := p.cl.Status(ctx)
	if err != nil {
		return -1
	}
	return st.Height
}

// waitHeight waits until the node has committed h.
func (p *testnetProc) waitHeight(h int64, d time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for p.height() < h {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not reach height %d (at %d)\n%s", p.node.Name, h, p.height(), p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTestnetFaults runs four validators in separate processes under a steady load of
// signed transactions: one is SIGKILLed and the other three keep committing; it restarts
// and catches up. Then two of four are stopped: the network halts without forking and
// resumes when one returns. Every committed transaction is found at the same place with
// the same result on every node, and app hashes agree at every height.
func TestTestnetFaults(t *testing.T) {
	dir := t.TempDir()
	tn, procs := startTestnet(t, dir, "e2e-testnet", 4)

	ld := startRegistryLoad(t, tn, procs, 0, tn.Nodes[0].Registries)
	count := ld.count

	time.Sleep(2 * time.Second)
	procs[3].kill()
	before, h := count(), procs[0].height()
	// The stopped validator may be the next proposer: its round then ends only when the
	// others' propose timeout (3 s) runs out, so allow a few rounds' worth.
	for deadline := time.Now().Add(10 * time.Second); count() <= before+1 || procs[1].height() <= h+1; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("three of four validators stopped committing: %d → %d transactions, height %d → %d in 10 s", before, count(), h, procs[1].height())
		}
	}
	procs[3].start()
	procs[3].waitHeight(procs[0].height(), 60*time.Second)

	// Two of four down: no block can get two thirds of the votes.
	procs[2].kill()
	procs[3].kill()
	time.Sleep(time.Second) // let an in-flight block finish
	stalled := procs[0].height()
	time.Sleep(3 * time.Second)
	if h := procs[0].height(); h != stalled || procs[1].height() > stalled {
		t.Fatalf("the network committed with half its voting power down: %d → %d", stalled, h)
	}
	procs[3].start()
	procs[3].waitHeight(stalled+2, 60*time.Second)
	procs[0].waitHeight(stalled+2, 30*time.Second)
	committed := ld.stop()
	procs[2].start()
	top := procs[0].height()
	for _, p := range procs {
		p.waitHeight(top, 60*time.Second)
	}

	if len(committed) < 10 {
		t.Fatalf("only %d transactions committed; the load is too light to show anything", len(committed))
	}
	// Every committed transaction is at the same place with the same result everywhere.
	for hash, o := range committed {
		for _, p := range procs {
			info, err := p.cl.Tx(context.Background(), hash.String())
			if err != nil || info.Height != o.Height || info.Index != o.Index || info.Code != o.Code {
				t.Fatalf("%s: tx %s committed at %d/%d code %d, node says %+v (%v)", p.node.Name, hash, o.Height, o.Index, o.Code, info, err)
			}
		}
	}
	sameAppHashes(t, top, procs)
	// A full node joins from testnet.json, catches up by block sync and answers like the
	// validators.
	jhome := filepath.Join(dir, "joiner")
	run(t, "init", "--home", jhome, "--join", filepath.Join(dir, cli.TestnetFile))
	joiner := startFullNode(t, "joiner", "node", jhome)
	joiner.waitHeight(top, 60*time.Second)
	st, err := joiner.cl.Status(context.Background())
	if err != nil || len(st.Validators) != 4 {
		t.Fatalf("joiner status %+v %v", st, err)
	}
	sameAppHashes(t, top, []*testnetProc{procs[0], joiner})
	for hash := range committed {
		if info, err := joiner.cl.Tx(context.Background(), hash.String()); err != nil || info.Height != committed[hash].Height {
			t.Fatalf("joiner: tx %s: %+v %v", hash, info, err)
		}
		break
	}
	t.Logf("%d transactions over %d heights; one validator killed and restarted, then two; a full node joined", len(committed), top)
}

// sameAppHashes fails the test unless every one of procs has the app hash of the first
// at every height from 1 to top.
func sameAppHashes(t testing.TB, top int64, procs []*testnetProc) {
	t.Helper()
	for h := int64(1); h <= top; h++ {
		var want []byte
		for i, p := range procs {
			b, err := p.cl.Block(context.Background(), h)
			if err != nil {
				t.Fatalf("%s block %d: %v", p.node.Name, h, err)
			}
			if i == 0 {
				want = b.AppHash
			} else if !bytes.Equal(b.AppHash, want) {
				t.Fatalf("height %d: %s has app hash %X, %s %X", h, p.node.Name, []byte(b.AppHash), procs[0].node.Name, want)
			}
		}
	}
}

// registryLoad is the load the testnet tests put on a network: registries whose keys a
// node's operator holds register organisations through that node, each one at a time,
// waiting for each commit.
type registryLoad struct {
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	mu        sync.Mutex
	committed map[ipledger.Hash]apitypes.Outcome
}

// startRegistryLoad starts the load of the registries regs of node i of tn through procs[i];
// it stops at the latest when the test ends.
func startRegistryLoad(t *testing.T, tn cli.Testnet, procs []*testnetProc, i int, regs []string) *registryLoad {
	ctx, cancel := context.WithCancel(context.Background())
	l := &registryLoad{cancel: cancel, committed: map[ipledger.Hash]apitypes.Outcome{}}
	for _, reg := range regs {
		l.wg.Add(1)
		go l.run(ctx, procs[i].cl, tn.ChainID, signer(t, tn.Nodes[i].Home, reg))
	}
	t.Cleanup(func() { l.stop() })
	return l
}

// count returns how many transactions have committed so far.
func (l *registryLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.committed)
}

// stop ends the load and returns every committed transaction's outcome.
func (l *registryLoad) stop() map[ipledger.Hash]apitypes.Outcome {
	l.cancel()
	l.wg.Wait()
	return l.committed
}

// run registers organisations as reg until ctx ends, one transaction at a time, recording
// each committed one.
func (l *registryLoad) run(ctx context.Context, cl *client.Client, chainID string, reg ipledger.Signer) {
	defer l.wg.Done()
	for seq := uint64(1); ctx.Err() == nil; {
		body := ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: fmt.Sprintf("ORG-%s-%d", reg.Org, seq), Name: "Fault test"}}}
		tx, _ := ipledger.BuildTx(chainID, ipledger.KindRegisterOrg, seq, 0, body, reg)
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
		res, err := cl.Submit(wctx, tx, true)
		wcancel()
		if err != nil || !res.Committed() {
			continue // retried with the same sequence: a replay is rejected, not doubled
		}
		l.mu.Lock()
		l.committed[res.Hash] = *res.Outcome
		l.mu.Unlock()
		// A committed transaction consumed its sequence unless it failed authentication.
		switch res.Code {
		case ipledger.CodeStaleSequence, ipledger.CodeFutureSequence, ipledger.CodeExpired:
		default:
			seq++
		}
	}
}

// writeTestnet runs `ipledger testnet` for n validators in dir and reads its testnet.json.
func writeTestnet(t testing.TB, dir, chainID string, n int) cli.Testnet {
	t.Helper()
	run(t, "testnet", "--validators", strconv.Itoa(n), "--dir", dir, "--chain-id", chainID)
	var tn cli.Testnet
	b, err := os.ReadFile(filepath.Join(dir, cli.TestnetFile))
	if err != nil || json.Unmarshal(b, &tn) != nil || len(tn.Nodes) != n {
		t.Fatalf("testnet.json: %v %s", err, b)
	}
	return tn
}

// startTestnetProcs starts every validator of tn, killed when the test ends, and waits until each has committed a block. Validator i runs bins[i] when that is given and
// not "", this package's binary otherwise.
func startTestnetProcs(t testing.TB, tn cli.Testnet, bins ...string) []*testnetProc {
	t.Helper()
	procs := make([]*testnetProc, len(tn.Nodes))
	for i, nd := range tn.Nodes {
		procs[i] = &testnetProc{t: t, node: nd, cl: &client.Client{Base: "http://" + nd.HTTP}}
		if i < len(bins) {
			procs[i].bin = bins[i]
		}
		procs[i].start()
	}
	for _, p := range procs {
		p.waitHeight(1, 60*time.Second)
	}
	return procs
}

// startTestnet writes an n-validator testnet in dir and starts every validator.
func startTestnet(t testing.TB, dir, chainID string, n int) (cli.Testnet, []*testnetProc) {
	t.Helper()
	tn := writeTestnet(t, dir, chainID, n)
	return tn, startTestnetProcs(t, tn)
}
