package cli

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger/audit"
	"github.com/ipledger/ipledger/client"
)

// auditCmd runs an independent audit of a network: headers and commits from genesis, the
// log against its checkpoints, a replay of the log, and the node's answers against the
// replay. Exit code 1 is a divergence, 2 an audit that could not complete.
func auditCmd(e *env) *cobra.Command {
	var o audit.Options
	c := &cobra.Command{
		Use:   "audit [--node URL --rpc URL] [--genesis FILE] [--dir DIR]",
		Short: "Independently verify a network's headers, log and state from its genesis",
		Long: `Verifies a network trusting only its genesis file (and the node's log key):

  - every block header and commit, as a CometBFT light client does, from the genesis
    validators on (CometBFT RPC, --rpc);
  - the node's signed log checkpoint, against the checkpoint seen on the last run (same
    size: same root; larger: a consistency proof), and every log leaf, rebuilding the tree;
  - a replay of the log through the same state machine: each block's transactions must
    hash to its signed data hash, the replayed leaves must equal the node's byte for byte,
    and the replayed app hash must be the one the next header carries;
  - the node's answers (--node) for --sample random holdings and a quarter as many of their
    holders (or, with --full, every holding and organisation) against the replayed state.

The replay store and audit.json (last verified height and header, last checkpoint, pinned
log key) live in --dir, by default in the user's cache directory under
ipledger/audit/CHAIN-ID/NODE; a rerun continues from there. Without --log-key the node's
/v1/log/key is fetched and pinned on the first run (trust on first use). Without
--genesis the genesis is DIR/genesis.json: on the first run it is fetched from the
node's CometBFT RPC (--rpc, genesis_chunked), checked to be of the chain the node runs,
pinned there and its sha256 printed, to compare with another operator's copy (trust on
first use); give --genesis with a copy you trust to audit from a trusted root.

Exit status: 0 verified, 1 a divergence (named with its height, leaf and object), 2 the
audit could not complete (network, files).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Logger = e.logger()
			if err := auditDefaults(cmd.Context(), e, &o); err != nil {
				fmt.Fprintf(e.stderr, "ipledger: audit incomplete: %v\n", err)
				return &exitError{code: 2}
			}
			// The replay allocates steadily and keeps little: collecting at four times the
			// live heap instead of twice takes a tenth off the run's CPU. The soft limit
			// keeps a large state's replay in bounds. The environment's settings win.
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(400)
			}
			if os.Getenv("GOMEMLIMIT") == "" {
				debug.SetMemoryLimit(1 << 30)
			}
			var bar *progressbar.ProgressBar
			o.Progress = func(p audit.Progress) {
				if bar == nil {
					bar = newBar(e.stderr, p.Latest-p.Start+1, "auditing")
				}
				bar.Set64(p.Height - p.Start + 1)
			}
			a, err := audit.New(o)
			if err != nil {
				return err
			}
			rep, err := a.Run(cmd.Context())
			if bar != nil {
				bar.Finish()
			}
			if rep != nil && rep.LogKeyPinned != "" {
				fmt.Fprintf(e.stdout, "pinned the node's log key %s (fetched from %s, trust on first use) in %s/%s\n",
					rep.LogKey, rep.LogKeyPinned, o.Dir, audit.StateFile)
			}
			var d *audit.Divergence
			switch {
			case errors.As(err, &d):
				fmt.Fprintf(e.stdout, "audit FAILED: %v\n", d)
				return &exitError{code: 1}
			case err != nil:
				fmt.Fprintf(e.stderr, "ipledger: audit incomplete: %v\n", err)
				return &exitError{code: 2}
			}
			fmt.Fprintln(e.stdout, rep)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Node, "node", "http://"+defaultHTTP, "node HTTP API base URL")
	f.StringVar(&o.RPC, "rpc", "http://"+defaultRPC, "CometBFT RPC URL of a node of the network")
	f.StringVar(&o.Genesis, "genesis", "", "the network's CometBFT genesis file, the root of trust (default: DIR/genesis.json, fetched from --rpc on the first run and pinned)")
	f.StringVar(&o.Dir, "dir", "", "audit directory: replay store, audit.json, genesis.json (default: the user's cache directory, ipledger/audit/CHAIN-ID/NODE)")
	f.StringVar(&o.LogKey, "log-key", "", "the node's log verifier key (default: pinned in --dir, else fetched from the node and pinned)")
	f.IntVar(&o.Sample, "sample", audit.DefaultSample, "random holdings (and a quarter as many of their holders) whose node answers are compared with the replay (negative: none)")
	f.BoolVar(&o.Full, "full", false, "compare every holding and organisation")
	return c
}

// auditGenesisFile is the genesis an audit directory keeps when --genesis is not given.
const auditGenesisFile = "genesis.json"

// auditDefaults completes o: without --dir the directory is
// os.UserCacheDir()/ipledger/audit/CHAIN-ID/NODE (the chain of --genesis, else of the
// node's status; one per node, as each node signs its log with its own key); without
// --genesis the genesis is DIR/genesis.json, fetched from the node's CometBFT RPC on the
// first run and pinned there (trust on first use, like the log key), after checking it is
// the genesis of the chain the node says it runs.
func auditDefaults(ctx context.Context, e *env, o *audit.Options) error {
	chainID := ""
	if o.Genesis != "" {
		doc, err := types.GenesisDocFromFile(o.Genesis)
		if err != nil {
			return fmt.Errorf("genesis %s: %w", o.Genesis, err)
		}
		chainID = doc.ChainID
	}
	var nodeChain string
	if o.Genesis == "" || o.Dir == "" {
		st, err := (&client.Client{Base: o.Node}).Status(ctx)
		if err != nil {
			return fmt.Errorf("node %s: %w", o.Node, userError(err))
		}
		nodeChain = st.ChainID
		if chainID == "" {
			chainID = nodeChain
		}
	}
	if o.Dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("no --dir and no cache directory: %w", err)
		}
		u, err := url.Parse(o.Node)
		if err != nil || u.Host == "" {
			return fmt.Errorf("--node %q: want a URL such as http://127.0.0.1:8080", o.Node)
		}
		o.Dir = filepath.Join(cache, "ipledger", "audit", pathElem(chainID), pathElem(u.Host))
	}
	if o.Genesis != "" {
		return nil
	}
	o.Genesis = filepath.Join(o.Dir, auditGenesisFile)
	if raw, err := os.ReadFile(o.Genesis); err == nil {
		doc, err := types.GenesisDocFromJSON(raw)
		if err != nil {
			return fmt.Errorf("pinned genesis %s: %w", o.Genesis, err)
		}
		if doc.ChainID != nodeChain {
			return fmt.Errorf("the node %s runs chain %s, the genesis pinned in %s is of chain %s: audit it with another --dir, or give --genesis",
				o.Node, nodeChain, o.Genesis, doc.ChainID)
		}
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("pinned genesis: %w", err)
	}
	raw, err := fetchGenesis(ctx, o.RPC)
	if err != nil {
		return fmt.Errorf("no --genesis, and fetching it from %s: %w", o.RPC, err)
	}
	doc, err := types.GenesisDocFromJSON(raw)
	if err != nil {
		return fmt.Errorf("the genesis %s serves: %w", o.RPC, err)
	}
	if doc.ChainID != nodeChain {
		return fmt.Errorf("the genesis %s serves is of chain %s, the node %s runs chain %s", o.RPC, doc.ChainID, o.Node, nodeChain)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("audit directory: %w", err)
	}
	if err := os.WriteFile(o.Genesis, raw, 0o600); err != nil {
		return fmt.Errorf("pin genesis: %w", err)
	}
	sum := sha256.Sum256(raw)
	fmt.Fprintf(e.stdout, "pinned the genesis of chain %s (sha256 %x), fetched from %s (trust on first use: compare it with another operator's, or give --genesis) in %s\n",
		doc.ChainID, sum, o.RPC, o.Genesis)
	return nil
}

// fetchGenesis returns the genesis a CometBFT RPC server serves: the bytes of its
// genesis_chunked chunks, CometBFT's own encoding of the genesis document (not the file's
// bytes), which every node of the chain serves alike.
func fetchGenesis(ctx context.Context, rpc string) ([]byte, error) {
	if !strings.Contains(rpc, "://") {
		rpc = "http://" + rpc
	}
	c, err := rpchttp.New(rpc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var raw []byte
	for i, total := 0, 1; i < total; i++ {
		ch, err := c.GenesisChunked(ctx, uint(i))
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(ch.Data)
		if err != nil {
			return nil, fmt.Errorf("genesis chunk %d: %w", i, err)
		}
		if ch.TotalChunks < 1 || ch.TotalChunks > maxGenesisChunks {
			return nil, fmt.Errorf("genesis in %d chunks: want 1 to %d", ch.TotalChunks, maxGenesisChunks)
		}
		raw, total = append(raw, b...), ch.TotalChunks
	}
	return raw, nil
}

// maxGenesisChunks bounds a fetched genesis: CometBFT's chunks are 16 MiB, and a genesis
// with the registries' pools is a few hundred KB.
const maxGenesisChunks = 8

// pathElem returns s as one safe file name: characters other than letters, digits, '.',
// '-' and '_' become '_', and a leading dot too.
func pathElem(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') || i == 0 && c == '.' {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}
