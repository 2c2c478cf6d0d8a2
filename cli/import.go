package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/client"
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
	return statePools(l.n.App().Committed().State)
}

// statePools returns the registries' pools in state: its depth-0 holdings.
func statePools(state ipledger.KV) ([]importer.Pool, error) {
	var out []importer.Pool
	err := ledger.Holdings(state, func(h *ipledger.Holding) bool {
		if h.Depth == 0 {
			out = append(out, importer.Pool{Resource: h.Resource, Registry: h.Holder, Status: h.Status})
		}
		return true
	})
	return out, err
}

// remoteSubmitter talks to a node's HTTP API.
type remoteSubmitter struct{ c *client.Client }

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
	keys       map[string]ipledger.PrivateKey // registry keys by handle
	chainID    string
	paths      []string // files or date folders
	strict     bool
	mixedDates bool          // import files of different dates together
	out        io.Writer     // summary
	progress   io.Writer     // progress bar or lines
	every      time.Duration // between progress lines when progress is not a terminal; 0: 5 s
}

// shownFlaws is how many flaws the summary names; it counts the rest.
const shownFlaws = 20

// runImport parses, plans, signs and submits one date's delegated statistics and waits for
// every transaction to commit. It refuses a chain whose registries have signed anything
// already: each date folder is one consistent world, imported into a fresh chain. Files of
// different dates are refused unless job.mixedDates, and a file that is not readable as
// delegated statistics fails the import; both before anything is submitted.
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
	if err := importer.CheckDates(files); err != nil {
		if !job.mixedDates {
			return fmt.Errorf("import: %w; a chain holds one date of the registries: import files of one date, or pass --mixed-dates to import them together", err)
		}
		fmt.Fprintf(job.progress, "import: --mixed-dates: %s\n", termText(err.Error()))
	}
	seq := map[string]uint64{}
	for _, r := range ipledger.Registries {
		s, err := sub.Sequence(ctx, r)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if s != 0 {
			return fmt.Errorf("import: %s has signed %d transactions on this chain already; import a date into a fresh chain (ipledger dev's demo organisations count: start it with --import, or --demo=false)", r, s)
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
	flaws, nflaws := firstFlaws(files, plan.Flaws, shownFlaws)
	total := 0
	for _, st := range plan.Steps {
		total += st.Items()
	}
	nfiles := len(files)
	files = nil // the plan holds what is needed
	bar := newImportProgress(job.progress, total, len(plan.Steps), job.every)
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
		bar.submitted(st.Items())
	}
	failed := 0
	for i, h := range hashes {
		code, log, err := sub.WaitCommit(ctx, h)
		if err != nil {
			return fmt.Errorf("import: wait for step %d: %w", i, err)
		}
		if code != ipledger.CodeOK {
			failed++
			fmt.Fprintf(job.progress, "step %d (%s) committed with %s: %s\n", i, plan.Steps[i].Kind, code, termText(log))
		}
		bar.committed()
	}
	bar.finish()
	el := time.Since(start)
	s := plan.Stats
	fmt.Fprintf(job.out, "import: %d files, %d records, %d holdings, %d organisations, %d registry transfers, %d not holdings (available/reserved/IANA; %d of them stored as pool space AVAILABLE or RESERVED), %d skipped lines (flaws), %d transactions, %d signatures, %.1f s (%.0f records/s, %.0f signatures/s), peak RSS %s\n",
		nfiles, s.Records, s.Holdings, s.Orgs, s.Transfers, s.NotHoldings, s.PoolPieces, s.Skipped, len(hashes), sigs,
		el.Seconds(), float64(s.Records)/el.Seconds(), float64(sigs)/el.Seconds(), peakRSS())
	for _, fl := range flaws {
		fmt.Fprintln(job.out, termText(fl.String()))
	}
	if nflaws > len(flaws) {
		fmt.Fprintf(job.out, "… and %d more\n", nflaws-len(flaws))
	}
	if failed > 0 {
		return fmt.Errorf("import: %d of %d transactions failed", failed, len(hashes))
	}
	return nil
}

// firstFlaws returns the first n flaws of the files' and the planner's, by file and line,
// and how many there are in all.
func firstFlaws(files []*importer.File, planned []importer.Flaw, n int) ([]importer.Flaw, int) {
	var all []importer.Flaw
	for _, f := range files {
		all = append(all, f.Flaws...)
	}
	all = append(all, planned...)
	// Files in the order given, then lines: a file's flaws and the planner's are each
	// sorted, so a stable sort by file rank and line merges them.
	rank := map[string]int{}
	for i, f := range files {
		if _, ok := rank[f.Path]; !ok {
			rank[f.Path] = i
		}
	}
	slices.SortStableFunc(all, func(a, b importer.Flaw) int {
		if c := cmp.Compare(rank[a.File], rank[b.File]); c != 0 {
			return c
		}
		return cmp.Compare(a.Line, b.Line)
	})
	return slices.Clone(all[:min(n, len(all))]), len(all)
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

// importProgress shows an import's progress: a bar on a terminal, else a line every few
// seconds (a log, a pipe, systemd), never one per record or transaction.
type importProgress struct {
	bar   *progressbar.ProgressBar // on a terminal, else nil
	w     io.Writer
	every time.Duration
	now   func() time.Time

	items, txs             int // planned
	nSubmitted, nCommitted int // items submitted, transactions committed
	start, last            time.Time
}

func newImportProgress(w io.Writer, items, txs int, every time.Duration) *importProgress {
	if every <= 0 {
		every = 5 * time.Second
	}
	p := &importProgress{w: w, every: every, now: time.Now, items: items, txs: txs}
	p.start = p.now()
	p.last = p.start
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = newBar(w, int64(items), "importing")
	}
	return p
}

// submitted counts n items submitted.
func (p *importProgress) submitted(n int) {
	p.nSubmitted += n
	if p.bar != nil {
		p.bar.Add(n)
		return
	}
	p.tick()
}

// committed counts one transaction committed.
func (p *importProgress) committed() {
	p.nCommitted++
	if p.bar == nil {
		p.tick()
	}
}

// tick writes a line if the last was long enough ago.
func (p *importProgress) tick() {
	now := p.now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	el := now.Sub(p.start).Seconds()
	if p.nSubmitted < p.items {
		fmt.Fprintf(p.w, "importing: %d of %d items submitted (%.0f%%), %.0f s\n",
			p.nSubmitted, p.items, 100*float64(p.nSubmitted)/float64(p.items), el)
		return
	}
	fmt.Fprintf(p.w, "importing: all %d items submitted, %d of %d transactions seen committed, %.0f s\n",
		p.items, p.nCommitted, p.txs, el)
}

func (p *importProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
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
	var strict, mixed bool
	c := &cobra.Command{
		Use:   "import",
		Short: "Import data onto the ledger through signed transactions",
	}
	d := &cobra.Command{
		Use:   "delegated FILE|DIR...",
		Short: "Import one date of NRO delegated(-extended) statistics, signed with the registry keys in --home, into a fresh chain",
		Args:  cobra.MinimumNArgs(1),
		RunE: e.inHome(func(cmd *cobra.Command, args []string, home string) error {
			keys, err := registryKeys(home, false)
			if err != nil {
				return err
			}
			if len(keys) == 0 {
				return errors.New("no registry keys (IANA.key, RIPE-NCC.key, …) in " + home + "/keys")
			}
			cl := &client.Client{Base: node}
			st, err := cl.Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("node %s: %w", node, userError(err))
			}
			return runImport(cmd.Context(), remoteSubmitter{cl}, importJob{keys: keys, chainID: st.ChainID, paths: args, strict: strict, mixedDates: mixed, out: e.stdout, progress: e.stderr})
		}),
	}
	d.Flags().StringVar(&node, "node", "http://"+defaultHTTP, "node HTTP API base URL")
	d.Flags().BoolVar(&strict, "strict", false, "fail on the first flaw in the data")
	d.Flags().BoolVar(&mixed, "mixed-dates", false, "import files whose dates lie more than a week apart together (one date per chain is the rule)")
	c.AddCommand(d)
	return c
}
