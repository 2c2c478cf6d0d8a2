package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/httpapi"
	"github.com/ipledger/ipledger/iana"
	"github.com/ipledger/ipledger/importer"
	"github.com/ipledger/ipledger/ledger"
)

// submitter is where an import sends its transactions: the node in this process, or a
// node's HTTP API.
type submitter interface {
	Submit(ctx context.Context, tx []byte) (ipledger.Hash, error)
	WaitCommit(ctx context.Context, hash ipledger.Hash) (code ipledger.Code, log string, err error)
	Sequence(ctx context.Context, org string) (uint64, error)
	Pools(ctx context.Context) ([]importer.Pool, error)
}

// localSubmitter talks to a node in this process.
type localSubmitter struct{ n *chain.Node }

func (l localSubmitter) Submit(ctx context.Context, tx []byte) (ipledger.Hash, error) {
	return l.n.Submit(ctx, tx)
}

func (l localSubmitter) WaitCommit(ctx context.Context, h ipledger.Hash) (ipledger.Code, string, error) {
	out, err := l.n.App().WaitCommit(ctx, h)
	return out.Code, out.Log, err
}

func (l localSubmitter) Sequence(ctx context.Context, org string) (uint64, error) {
	if err := l.n.WaitHeight(ctx, 1); err != nil {
		return 0, err
	}
	o, err := ledger.Org(l.n.App().Committed().State, org)
	if err != nil {
		return 0, fmt.Errorf("organisation %s: %w", org, err)
	}
	if o == nil {
		return 0, fmt.Errorf("organisation %s: not on this chain", org)
	}
	return o.Sequence, nil
}

// Pools reads the registries' current pools (depth-0 holdings) from committed state.
func (l localSubmitter) Pools(ctx context.Context) ([]importer.Pool, error) {
	if err := l.n.WaitHeight(ctx, 1); err != nil {
		return nil, err
	}
	var out []importer.Pool
	err := ledger.Holdings(l.n.App().Committed().State, func(h *ipledger.Holding) bool {
		if h.Depth == 0 {
			out = append(out, importer.Pool{Resource: h.Resource, Registry: h.Holder, Status: h.Status})
		}
		return true
	})
	return out, err
}

// remoteSubmitter talks to a node's HTTP API.
type remoteSubmitter struct{ c *httpapi.Client }

func (r remoteSubmitter) Submit(ctx context.Context, tx []byte) (ipledger.Hash, error) {
	res, err := r.c.Submit(ctx, tx, false)
	if err != nil {
		return ipledger.Hash{}, err
	}
	return res.Hash, nil
}

func (r remoteSubmitter) WaitCommit(ctx context.Context, h ipledger.Hash) (ipledger.Code, string, error) {
	for {
		t, err := r.c.Tx(ctx, h.String())
		if err == nil && t.Height > 0 {
			return t.Code, t.Log, nil
		}
		if err != nil && ipledger.ErrorCode(err) != ipledger.CodeNotFound {
			return 0, "", err
		}
		select {
		case <-ctx.Done():
			return 0, "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (r remoteSubmitter) Sequence(ctx context.Context, org string) (uint64, error) {
	o, err := r.c.Org(ctx, org)
	if err != nil {
		return 0, err
	}
	return o.Sequence, nil
}

// Pools: the HTTP API does not list pools yet, so a remote import plans against the
// compiled IANA facts, which is what `ipledger init` puts in genesis.
func (r remoteSubmitter) Pools(context.Context) ([]importer.Pool, error) {
	return iana.DefaultPools(), nil
}

// importJob is one import run.
type importJob struct {
	keys     map[string]ipledger.PrivateKey // registry keys by handle
	chainID  string
	paths    []string // files or date folders
	strict   bool
	out      io.Writer // summary
	progress io.Writer // progress bar and flaws
}

// runImport parses, plans, signs and submits one date's delegated statistics and waits for
// every transaction to commit. It refuses a chain whose registries have signed anything
// already: each date folder is one consistent world, imported into a fresh chain.
func runImport(ctx context.Context, sub submitter, job importJob) error {
	start := time.Now()
	var files []*importer.File
	for _, p := range job.paths {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if st.IsDir() {
			fs, err := importer.ParseDir(p, job.strict)
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			files = append(files, fs...)
			continue
		}
		f, err := importer.ParseFile(p, job.strict)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		files = append(files, f)
	}
	seq := map[string]uint64{}
	for _, r := range ipledger.Registries {
		s, err := sub.Sequence(ctx, r)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if s != 0 {
			return fmt.Errorf("import: %s has signed %d transactions on this chain already; import a date into a fresh chain", r, s)
		}
	}
	pools, err := sub.Pools(ctx)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	plan, err := importer.PlanImport(files, pools, importer.Options{Strict: job.strict})
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	for _, fl := range plan.Flaws {
		fmt.Fprintln(job.progress, "flaw:", fl)
	}
	total := 0
	for _, st := range plan.Steps {
		total += st.Items()
	}
	nfiles := len(files)
	files = nil // the plan holds what is needed
	bar := newBar(job.progress, int64(total), "importing")
	hashes := make([]ipledger.Hash, 0, len(plan.Steps))
	sigs := 0
	for i, st := range plan.Steps {
		var signers []ipledger.Signer
		for _, h := range st.Signers {
			k, ok := job.keys[h]
			if !ok {
				return fmt.Errorf("import: step %d needs %s's key, which this home does not hold", i, h)
			}
			signers = append(signers, ipledger.Signer{Org: h, Key: k})
		}
		first := st.Signers[0]
		tx, err := ipledger.BuildTx(job.chainID, st.Kind, seq[first]+1, 0, st.Body, signers...)
		if err != nil {
			return fmt.Errorf("import: step %d: %w", i, err)
		}
		plan.Steps[i].Body = nil // built: let the collector have it
		hash, err := submitRetry(ctx, sub, tx)
		if err != nil {
			return fmt.Errorf("import: step %d (%s by %s): %w", i, st.Kind, first, userError(err))
		}
		seq[first]++
		sigs += len(signers)
		hashes = append(hashes, hash)
		bar.Add(st.Items())
	}
	failed := 0
	for i, h := range hashes {
		code, log, err := sub.WaitCommit(ctx, h)
		if err != nil {
			return fmt.Errorf("import: wait for step %d: %w", i, err)
		}
		if code != ipledger.CodeOK {
			failed++
			fmt.Fprintf(job.progress, "step %d (%s) committed with %s: %s\n", i, plan.Steps[i].Kind, code, log)
		}
	}
	bar.Finish()
	el := time.Since(start)
	s := plan.Stats
	fmt.Fprintf(job.out, "import: %d files, %d records, %d holdings, %d organisations, %d registry transfers, %d not holdings (available/reserved/IANA), %d skipped lines (flaws), %d transactions, %d signatures, %.1f s (%.0f records/s, %.0f signatures/s), peak RSS %s\n",
		nfiles, s.Records, s.Holdings, s.Orgs, s.Transfers, s.NotHoldings, s.Skipped, len(hashes), sigs,
		el.Seconds(), float64(s.Records)/el.Seconds(), float64(sigs)/el.Seconds(), peakRSS())
	if failed > 0 {
		return fmt.Errorf("import: %d of %d transactions failed", failed, len(hashes))
	}
	return nil
}

// submitRetry submits tx, waiting and retrying while the mempool or the signer's quota is
// full.
func submitRetry(ctx context.Context, sub submitter, tx []byte) (ipledger.Hash, error) {
	for delay := 50 * time.Millisecond; ; delay = min(delay*2, 2*time.Second) {
		h, err := sub.Submit(ctx, tx)
		if ipledger.ErrorCode(err) != ipledger.CodeMempoolFull {
			return h, err
		}
		select {
		case <-ctx.Done():
			return h, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// newBar returns a progress bar on a terminal, and a silent one elsewhere.
func newBar(w io.Writer, n int64, what string) *progressbar.ProgressBar {
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return progressbar.DefaultSilent(n, what)
	}
	return progressbar.NewOptions64(n, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("items"),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
}

// peakRSS returns the process's peak resident set size (Linux VmHWM).
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
		}
	}
	return "unknown (" + runtime.GOOS + ")"
}

func importCmd(e *env) *cobra.Command {
	var node string
	var strict bool
	c := &cobra.Command{
		Use:   "import",
		Short: "Import data onto the ledger through signed transactions",
	}
	d := &cobra.Command{
		Use:   "delegated FILE|DIR...",
		Short: "Import one date of NRO delegated(-extended) statistics, signed with the registry keys in --home, into a fresh chain",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := e.homeDir()
			if err != nil {
				return err
			}
			keys, err := registryKeys(home, false)
			if err != nil {
				return err
			}
			if len(keys) == 0 {
				return errors.New("no registry keys (IANA.key, RIPE-NCC.key, …) in " + home + "/keys")
			}
			cl := &httpapi.Client{Base: node}
			st, err := cl.Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("node %s: %w", node, userError(err))
			}
			return runImport(cmd.Context(), remoteSubmitter{cl}, importJob{keys: keys, chainID: st.ChainID, paths: args, strict: strict, out: e.stdout, progress: e.stderr})
		},
	}
	d.Flags().StringVar(&node, "node", "http://"+defaultHTTP, "node HTTP API base URL")
	d.Flags().BoolVar(&strict, "strict", false, "fail on the first flaw in the data")
	c.AddCommand(d)
	return c
}
