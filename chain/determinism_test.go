package chain

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

// detBlocks builds a deterministic mix of blocks: registrations, allocations, assignments,
// transfers, returns, swaps and listings (which end in later blocks), with replays, bad signatures and conflicting transactions in
// between, so successes and rejections both change (or not) the app hash.
func detBlocks() []ReplayBlock {
	r := rand.New(rand.NewPCG(42, 42))
	ripe := ipledgertest.Signer(ipledger.RIPENCC)
	seq := map[string]uint64{}
	var blocks []ReplayBlock
	// A model ledger tells the generator which transactions consume a sequence number.
	model := store.NewMemKV()
	l := ledger.New("det-chain")
	if err := l.InitGenesis(model, ipledgertest.Genesis(), ipledger.Block{Time: testStart}); err != nil {
		panic(err)
	}
	height := int64(1)
	market := 0 // market transactions the model applied
	var lastCode ipledger.Code
	type owned struct {
		org string
		res ipledger.Resource
	}
	var allocated []owned // what allocations gave, for the market to sell
	build := func(kind ipledger.Kind, body any, ss ...ipledger.Signer) []byte {
		b, err := ipledger.BuildTx("det-chain", kind, seq[ss[0].Org]+1, 0, body, ss...)
		if err != nil {
			panic(err)
		}
		tx, err := ipledger.DecodeTx(b)
		if err != nil {
			panic(err)
		}
		res, err := l.Apply(model, ipledger.Block{Height: height, Time: testStart}, tx)
		if err != nil {
			panic(err)
		}
		lastCode = res.Code
		if res.Code == ipledger.CodeOK && (kind == ipledger.KindSwap || kind == ipledger.KindList) {
			market++
		}
		if o, err := ledger.Org(model, ss[0].Org); err == nil && o != nil {
			seq[o.Handle] = o.Sequence
		}
		return b
	}
	orgs := []string{"ORG-D0", "ORG-D1", "ORG-D2", "ORG-D3", "ORG-D4"}
	signer := func(o string) ipledger.Signer { return ipledgertest.Signer(o) }
	var first [][]byte
	for _, o := range orgs {
		first = append(first, build(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: o, Name: o, Keys: []ipledger.PublicKey{ipledgertest.Key(o).Public()}}}}, ripe))
	}
	blocks = append(blocks, ReplayBlock{Height: 1, Time: testStart, Txs: first})
	var prev [][]byte
	for h := int64(2); h <= 40; h++ {
		height = h
		var txs [][]byte
		for i := 0; i < 1+r.IntN(6); i++ {
			o := orgs[r.IntN(len(orgs))]
			p := fmt.Sprintf("193.%d.%d.0/%d", r.IntN(4), r.IntN(4)*64, 18+r.IntN(6))
			res, err := ipledger.ParseResource(p)
			if err != nil {
				pfx := strings.Split(p, "/")
				res, _ = ipledger.ParseResource(pfx[0] + "/24")
			}
			switch r.IntN(8) {
			case 0, 1:
				txs = append(txs, build(ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{{Resource: res, Org: o, Status: ipledger.StatusAllocatedPA}}}, ripe))
				if lastCode == ipledger.CodeOK {
					allocated = append(allocated, owned{o, res})
				}
			case 2:
				txs = append(txs, build(ipledger.KindAssign, ipledger.AssignBody{Items: []ipledger.AllocateItem{{Resource: res, Org: orgs[r.IntN(5)], Status: ipledger.StatusAssignedPA}}}, signer(o)))
			case 3:
				to := orgs[(r.IntN(4)+1+indexOf(orgs, o))%5]
				txs = append(txs, build(ipledger.KindTransfer, ipledger.TransferBody{Resource: res, To: to}, signer(o), signer(to)))
			case 4:
				txs = append(txs, build(ipledger.KindReturn, ipledger.ReturnBody{Resource: res}, signer(o)))
			case 6, 7:
				if len(allocated) > 0 { // often a block its seller still holds
					a := allocated[r.IntN(len(allocated))]
					o, res = a.org, a.res
				}
				if r.IntN(2) == 0 {
					to := orgs[(r.IntN(4)+1+indexOf(orgs, o))%5]
					txs = append(txs, build(ipledger.KindSwap, ipledger.SwapBody{Resource: res, Buyer: to, ASN: 64500}, signer(o), signer(to)))
				} else {
					end := testStart.Add(time.Duration(h+int64(r.IntN(5))) * time.Second).Unix()
					txs = append(txs, build(ipledger.KindList, ipledger.ListBody{Resource: res, Reserve: 1, End: end}, signer(o)))
				}
			case 5:
				if len(prev) > 0 {
					txs = append(txs, prev[r.IntN(len(prev))]) // a replay
				}
				bad, _ := ipledger.BuildTx("det-chain", ipledger.KindUpdateOrg, seq[o]+1, 0, ipledger.UpdateOrgBody{Org: o, Name: "x"}, signer(o))
				bad[len(bad)-1] ^= 1 // a bad signature
				txs = append(txs, bad)
			}
		}
		prev = txs
		blocks = append(blocks, testBlock(h, txs...))
	}
	if market == 0 {
		panic("no swap or listing applies: the blocks do not cover the market")
	}
	return blocks
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestReplayChild is the child process of TestDeterminismAcrossProcesses; it does nothing
// unless started by it.
func TestReplayChild(t *testing.T) {
	dir := os.Getenv("IPLEDGER_REPLAY_CHILD")
	if dir == "" {
		t.Skip("only run as a child process")
	}
	var blocks []ReplayBlock
	b, err := os.ReadFile(filepath.Join(dir, "blocks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &blocks); err != nil {
		t.Fatal(err)
	}
	r := testReplayer(t, t.TempDir(), "det-chain")
	out, err := os.Create(os.Getenv("IPLEDGER_REPLAY_OUT"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	for _, blk := range blocks {
		hash, codes, err := r.Apply(context.Background(), blk)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(out, "%d %X %v\n", blk.Height, hash, codes)
	}
}

// TestDeterminismAcrossProcesses applies the same blocks in two separate processes (each
// with its own store, its own map hash seeds and scheduling) and compares the app hash at
// every height.
func TestDeterminismAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	b, _ := json.Marshal(detBlocks())
	if err := os.WriteFile(filepath.Join(dir, "blocks.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var outs [2][]string
	for i := range outs {
		path := filepath.Join(dir, fmt.Sprintf("out%d", i))
		cmd := exec.Command(os.Args[0], "-test.run=^TestReplayChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "IPLEDGER_REPLAY_CHILD="+dir, "IPLEDGER_REPLAY_OUT="+path)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child %d: %v\n%s", i, err, out)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			outs[i] = append(outs[i], sc.Text())
		}
		f.Close()
	}
	if len(outs[0]) != 40 || len(outs[1]) != 40 {
		t.Fatalf("children replayed %d and %d blocks, want 40", len(outs[0]), len(outs[1]))
	}
	ok, rejected := 0, 0
	for h := range outs[0] {
		if outs[0][h] != outs[1][h] {
			t.Fatalf("height %d differs:\n%s\n%s", h+1, outs[0][h], outs[1][h])
		}
		fields := strings.Fields(outs[0][h])
		for _, c := range fields[2:] {
			if strings.Trim(c, "[]") == "0" {
				ok++
			} else if strings.Trim(c, "[]") != "" {
				rejected++
			}
		}
	}
	// The blocks must exercise both paths, or the comparison shows little.
	if ok < 20 || rejected < 20 {
		t.Fatalf("%d applied and %d rejected transactions; the generator is too one-sided", ok, rejected)
	}
	t.Logf("%d blocks, %d applied, %d rejected; last %s", len(outs[0]), ok, rejected, outs[0][len(outs[0])-1])
}
