package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/store"
)

// ledgerNode is a stand-in node that applies what it is sent to a ledger state, one
// transaction a block, and answers what ipledger observe asks: status, an organisation's
// sequence, an observer's set.
type ledgerNode struct {
	mu    sync.Mutex
	t     *testing.T
	l     *ledger.Ledger
	kv    ipledger.KV
	block ipledger.Block
	txs   int
}

func newLedgerNode(t *testing.T, observer ipledger.PublicKey) *ledgerNode {
	g := ipledgertest.Genesis()
	g.Observers = []ledger.GenesisOrg{{Handle: Observer, Name: "Observer", Keys: []ipledger.PublicKey{observer}}}
	n := &ledgerNode{t: t, l: ledger.New("fake-chain"), kv: store.NewMemKV(), block: ipledger.Block{Height: 1, Time: time.Unix(1740900000, 0)}}
	if err := n.l.InitGenesis(n.kv, g, n.block); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *ledgerNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	reply := func(v any) { json.NewEncoder(w).Encode(v) }
	switch {
	case r.URL.Path == "/v1/status":
		reply(map[string]any{"chain_id": "fake-chain", "height": n.block.Height, "time": n.block.Time})
	case strings.HasPrefix(r.URL.Path, "/v1/orgs/"):
		o, _ := ledger.Org(n.kv, strings.TrimPrefix(r.URL.Path, "/v1/orgs/"))
		reply(o)
	case r.URL.Path == "/v1/observations":
		q := r.URL.Query()
		out := apitypes.ObservationList{Observer: q.Get("observer"), List: q.Get("list"), Observations: []ipledger.Observation{}}
		out.ListTime, _ = ledger.ListTime(n.kv, out.Observer, out.List)
		ledger.Observations(n.kv, out.Observer, out.List, ipledger.Resource{}, 0, func(o *ipledger.Observation) bool {
			out.Observations = append(out.Observations, *o)
			return true
		})
		reply(out)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/tx":
		b, _ := io.ReadAll(r.Body)
		tx, err := ipledger.DecodeTx(b)
		if err != nil {
			n.t.Errorf("submitted: %v", err)
			return
		}
		n.block.Height++
		n.block.Time = n.block.Time.Add(time.Second)
		res, err := n.l.Apply(n.kv, n.block, tx)
		if err != nil {
			n.t.Errorf("apply: %v", err)
		}
		n.txs++
		reply(map[string]any{"hash": ipledger.HashTx(b), "height": n.block.Height, "index": 0, "code": res.Code, "code_name": res.Code.String(), "log": res.Log})
	default:
		http.NotFound(w, r)
	}
}

// TestObserveCommand: ipledger observe posts a whole DROP snapshot in batches, then only
// the next snapshot's changes, then nothing for the same file again, and refuses an older
// file before submitting anything.
func TestObserveCommand(t *testing.T) {
	home := t.TempDir()
	key, err := createKey(home, Observer)
	if err != nil {
		t.Fatal(err)
	}
	n := newLedgerNode(t, key.Public())
	url := serveNode(t, n)
	first := ipledgertest.Data(t, "abuse/spamhaus-drop-v4-2025-03-03.json")
	second := ipledgertest.Data(t, "abuse/spamhaus-drop-v4-2025-04-15.json")
	observe := func(file string) (int, string, string) {
		return run("--home", home, "observe", "drop", file, "--node", url)
	}
	code, out, errOut := observe(first)
	if code != 0 || !strings.Contains(out, "1360 listed, 0 delisted, in 4 transactions") || n.txs != 4 {
		t.Fatalf("first run: %d %q %q, %d transactions", code, out, errOut, n.txs)
	}
	code, out, _ = observe(second)
	if code != 0 || !strings.Contains(out, "IPL-OBSERVER held 1360: 111 listed, 65 delisted, in 1 transactions") {
		t.Fatalf("second run: %d %q", code, out)
	}
	if code, out, _ = observe(second); code != 0 || !strings.Contains(out, "in 0 transactions") || n.txs != 5 {
		t.Fatalf("same file again: %d %q, %d transactions", code, out, n.txs)
	}
	if code, _, errOut = observe(first); code == 0 || !strings.Contains(errOut, "older than") || n.txs != 5 {
		t.Fatalf("older file: %d %q, %d transactions", code, errOut, n.txs)
	}
	var set []ipledger.Observation
	ledger.Observations(n.kv, Observer, "spamhaus-drop", ipledger.Resource{}, 0, func(o *ipledger.Observation) bool {
		set = append(set, *o)
		return true
	})
	if len(set) != 1406 {
		t.Fatalf("the ledger holds %d entries, the file 1406", len(set))
	}
	if code, _, errOut = run("--home", home, "observe", "netset", first, "--node", url); code == 0 || !strings.Contains(errOut, "--list") {
		t.Fatalf("netset without --list: %d %q", code, errOut)
	}
}
