package cli

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/iana"
	"github.com/ipledger/ipledger/importer"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// replaySubmitter feeds an import straight into the application, without consensus: each
// WaitCommit closes the pending block, so the import runs through the same CheckTx-free
// FinalizeBlock path a node takes.
type replaySubmitter struct {
	r       *chain.Replayer
	height  int64
	pending [][]byte
	size    int
	results map[ipledger.Hash]ipledger.Code
}

func (s *replaySubmitter) Submit(ctx context.Context, tx []byte) (ipledger.Hash, error) {
	if s.size+len(tx) > 16<<20 {
		if err := s.flush(ctx); err != nil {
			return ipledger.Hash{}, err
		}
	}
	s.pending = append(s.pending, tx)
	s.size += len(tx)
	return ipledger.HashTx(tx), nil
}

func (s *replaySubmitter) flush(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	s.height++
	_, codes, err := s.r.Apply(ctx, chain.ReplayBlock{Height: s.height, Time: time.Unix(1700000000+s.height, 0).UTC(), Txs: s.pending})
	if err != nil {
		return err
	}
	for i, tx := range s.pending {
		s.results[ipledger.HashTx(tx)] = ipledger.Code(codes[i])
	}
	s.pending, s.size = nil, 0
	return nil
}

func (s *replaySubmitter) WaitCommit(ctx context.Context, h ipledger.Hash) (ipledger.Code, string, error) {
	if err := s.flush(ctx); err != nil {
		return 0, "", err
	}
	return s.results[h], "", nil
}

func (s *replaySubmitter) Sequence(ctx context.Context, org string) (uint64, error) {
	o, err := ledger.Org(s.r.App().Committed().State, org)
	if err != nil || o == nil {
		return 0, err
	}
	return o.Sequence, nil
}

func (s *replaySubmitter) Pools(context.Context) ([]importer.Pool, error) {
	var out []importer.Pool
	err := ledger.Holdings(s.r.App().Committed().State, func(h *ipledger.Holding) bool {
		if h.Depth == 0 {
			out = append(out, importer.Pool{Resource: h.Resource, Registry: h.Holder, Status: h.Status})
		}
		return true
	})
	return out, err
}

func newReplaySubmitter(t *testing.T, keys map[string]ipledger.PrivateKey) *replaySubmitter {
	t.Helper()
	g := &ledger.Genesis{}
	for _, h := range ipledger.Registries {
		g.Registries = append(g.Registries, ledger.GenesisOrg{Handle: h, Name: registryInfo[h].name, Keys: []ipledger.PublicKey{keys[h].Public()}})
	}
	g.Pools = iana.DefaultPools()
	r, err := chain.NewReplayer(context.Background(), t.TempDir(), "import-test", time.Unix(1700000000, 0).UTC(), g)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	// Block 1 commits genesis, as on a node.
	if _, _, err := r.Apply(context.Background(), chain.ReplayBlock{Height: 1, Time: time.Unix(1700000001, 0).UTC()}); err != nil {
		t.Fatal(err)
	}
	return &replaySubmitter{r: r, height: 1, results: map[ipledger.Hash]ipledger.Code{}}
}

// TestImportEveryDateFolder puts every date folder of real delegated statistics on a fresh
// ledger through signed transactions, and checks that every transaction succeeds and every
// planned holding is on the ledger with its holder, status and date.
func TestImportEveryDateFolder(t *testing.T) {
	dir := ipledgertest.Data(t, "delegated")
	folders, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(folders) == 0 {
		t.Fatalf("no date folders under %s: %v", dir, err)
	}
	for _, folder := range folders {
		t.Run(filepath.Base(folder), func(t *testing.T) {
			if testing.Short() && filepath.Base(folder) != "samples-2019-09-truncated" {
				t.Skip("short mode: samples only")
			}
			keys := map[string]ipledger.PrivateKey{}
			for _, h := range ipledger.Registries {
				k, _ := ipledger.GenerateKey(nil)
				keys[h] = k
			}
			sub := newReplaySubmitter(t, keys)
			if err := runImport(context.Background(), sub, importJob{keys: keys, chainID: "import-test", paths: []string{folder}, out: io.Discard, progress: io.Discard}); err != nil {
				t.Fatal(err)
			}
			// Every planned allocation is on the ledger as planned.
			files, err := importer.ParseDir(folder, false)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := importer.PlanImport(files, iana.DefaultPools(), importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			state := sub.r.App().Committed().State
			checked := 0
			for _, st := range plan.Steps {
				body, ok := st.Body.(*ipledger.AllocateBody)
				if !ok {
					continue
				}
				for i, it := range body.Items {
					if i%97 != 0 { // a sample: the full set is checked by the ledger's own overlap rules
						continue
					}
					chain, err := ledger.Lookup(state, it.Resource)
					if err != nil || len(chain) < 2 {
						t.Fatalf("%s (%s) not on the ledger: %v", it.Resource, it.Org, err)
					}
					h := chain[1]
					if h.Resource != it.Resource || h.Holder != it.Org || h.Status != it.Status || h.Registered != it.Registered {
						b, _ := json.Marshal(h)
						t.Fatalf("%s planned for %s %s %s, ledger has %s", it.Resource, it.Org, it.Status, it.Registered, b)
					}
					if chain[0].Holder != st.Signers[0] {
						t.Fatalf("%s lies in a pool of %s, allocated by %s", it.Resource, chain[0].Holder, st.Signers[0])
					}
					checked++
				}
			}
			if plan.Stats.Holdings > 0 && checked == 0 {
				t.Fatal("checked nothing")
			}
			t.Logf("%d records, %d holdings (%d sampled and checked), %d organisations, %d transfers, %d flaws",
				plan.Stats.Records, plan.Stats.Holdings, checked, plan.Stats.Orgs, plan.Stats.Transfers, plan.Stats.Skipped)
		})
	}
}
