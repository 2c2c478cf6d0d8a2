package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/blocklist"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ledger"
)

// Observer is the handle of the blocklist observer a new home's genesis names, its key
// kept beside the registries' (governance will admit observers on a real network).
const Observer = "IPL-OBSERVER"

// observeFlags are the options of ipledger observe.
type observeFlags struct {
	as, key, node, list string
	listTime            int64
	batch               int
}

// observeCmd is ipledger observe: post the changes of a blocklist file as observations.
func observeCmd(e *env) *cobra.Command {
	f := &observeFlags{}
	c := &cobra.Command{
		Use:   "observe",
		Short: "Post a blocklist's changes as an observer: only the listings and delistings go on the ledger, never the file",
	}
	for _, format := range []struct {
		use, short, list string // list: the default name; "" requires --list
		read             func(io.Reader) (*blocklist.List, error)
	}{
		{"drop FILE", "Spamhaus DROP JSON (drop_v4.json): the list's timestamp is its metadata line's", "spamhaus-drop", blocklist.ReadDROP},
		{"netset FILE", "A FireHOL netset (one CIDR or address a line); --list names it, --time dates it (default: the file's modification time)", "", blocklist.ReadNetset},
	} {
		sub := &cobra.Command{Use: format.use, Short: format.short, Args: cobra.ExactArgs(1)}
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			if f.list == "" && format.list == "" {
				return fmt.Errorf("--list is required: the name the observations carry (e.g. firehol-level1)")
			}
			if f.list == "" {
				f.list = format.list
			}
			return observeFile(cmd.Context(), e, f, args[0], format.read)
		}
		fs := sub.Flags()
		fs.StringVar(&f.as, "as", Observer, "the observer signing the observations")
		fs.StringVar(&f.key, "key", "", "key file name in HOME/keys for --as (default: the --as handle)")
		fs.StringVar(&f.node, "node", "http://"+defaultHTTP, "node HTTP API base URL")
		fs.StringVar(&f.list, "list", "", "the list's name on the ledger (drop: spamhaus-drop)")
		fs.Int64Var(&f.listTime, "time", 0, "the list's timestamp, Unix seconds (default: the file's own, or its modification time)")
		fs.IntVar(&f.batch, "batch", ledger.DefaultMaxObservations, "changes per transaction (at most the chain's max_observations)")
		c.AddCommand(sub)
	}
	return c
}

// observeFile reads a list file, asks the node for the observer's set of it, and submits
// the changes in transactions of at most --batch changes, each waited for.
func observeFile(ctx context.Context, e *env, f *observeFlags, file string, read func(io.Reader) (*blocklist.List, error)) error {
	if !ledger.ValidListName(f.list) {
		return fmt.Errorf("--list %q: 1 to 64 of a-z, 0-9, '.', '-', '_'", f.list)
	}
	if f.batch < 1 {
		return fmt.Errorf("--batch must be at least 1")
	}
	start := time.Now()
	fh, err := os.Open(file)
	if err != nil {
		return err
	}
	defer fh.Close()
	l, err := read(fh)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if f.listTime > 0 {
		l.Time = f.listTime
	} else if l.Time == 0 {
		st, err := fh.Stat()
		if err != nil {
			return err
		}
		l.Time = st.ModTime().Unix()
	}
	home, err := e.homeDir()
	if err != nil {
		return err
	}
	name := f.key
	if name == "" {
		name = f.as
	}
	key, err := loadKey(home, name)
	if err != nil {
		return err
	}
	cl := &client.Client{Base: f.node}
	st, err := cl.Status(ctx)
	if err != nil {
		return fmt.Errorf("node %s: %w", f.node, userError(err))
	}
	current, lastTime, err := observedSet(ctx, cl, f.as, f.list)
	if err != nil {
		return err
	}
	if l.Time < lastTime {
		// The ledger would refuse it: the observer posted a newer list already.
		return fmt.Errorf("%s is of %s, older than the %s list %s last posted (%s)", file, time.Unix(l.Time, 0).UTC().Format(time.RFC3339),
			f.list, f.as, time.Unix(lastTime, 0).UTC().Format(time.RFC3339))
	}
	changes := blocklist.Changes(current, l.Entries)
	batches := blocklist.Batches(f.list, l.Time, changes, f.batch)
	listed := 0
	for _, c := range changes {
		if c.Event == ipledger.ObservationListed {
			listed++
		}
	}
	var seq uint64
	if len(batches) > 0 {
		o, err := cl.Org(ctx, f.as)
		if err != nil {
			return fmt.Errorf("sequence of %s: %w", f.as, userError(err))
		}
		seq = o.Sequence
	}
	var last int64
	for i, b := range batches {
		seq++
		now := time.Now()
		if st.Time.After(now) {
			now = st.Time
		}
		tx, err := ipledger.BuildTxExpiring(st.ChainID, ipledger.KindObserve, seq, ipledger.Expiry{Time: now.Add(defaultExpiresIn).Unix()}, b, ipledger.Signer{Org: f.as, Key: key})
		if err != nil {
			return err
		}
		res, err := cl.Submit(ctx, tx, true)
		if err != nil {
			return fmt.Errorf("observation %d of %d: %w", i+1, len(batches), userError(err))
		}
		if !res.Committed() {
			notCommitted(e, cl, res.Hash)
			return &exitError{code: exitNotCommitted}
		}
		if res.Code != ipledger.CodeOK {
			fmt.Fprintf(e.stdout, "committed %s at height %d, rejected: %s: %s\n", res.Hash, res.Height, res.Code, res.Log)
			return &exitError{code: 2}
		}
		last = res.Height
	}
	fmt.Fprintf(e.stdout, "%s: %d entries of %s at %s; %s held %d: %d listed, %d delisted, in %d transactions",
		file, len(l.Entries), f.list, time.Unix(l.Time, 0).UTC().Format(time.RFC3339), f.as, len(current),
		listed, len(changes)-listed, len(batches))
	if last > 0 {
		fmt.Fprintf(e.stdout, ", the last committed at height %d", last)
	}
	fmt.Fprintf(e.stdout, " (%s)\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// observedSet reads observer's current set of list from the node, page by page, and the
// list's last timestamp posted.
func observedSet(ctx context.Context, cl *client.Client, observer, list string) ([]blocklist.Entry, int64, error) {
	var out []blocklist.Entry
	after := ""
	for {
		q := url.Values{"observer": {observer}, "list": {list}}
		if after != "" {
			q.Set("after", after)
		}
		var page apitypes.ObservationList
		if err := cl.Get(ctx, "/v1/observations", q, &page); err != nil {
			return nil, 0, fmt.Errorf("observations of %s: %w", observer, userError(err))
		}
		for _, o := range page.Observations {
			out = append(out, blocklist.Entry{Prefix: o.Prefix, ID: o.ID})
		}
		if page.Next == "" {
			return out, page.ListTime, nil
		}
		after = page.Next
	}
}

// passportQueryCmd is ipledger query passport RESOURCE: the block's grade, the
// transactions of its holdings and routes, and its blocklist observations.
func passportQueryCmd(run func(get func(ctx context.Context, cl *client.Client, arg string) (any, error), text func(io.Writer, any)) func(*cobra.Command, []string) error) *cobra.Command {
	var after string
	var obsAfter uint64
	c := &cobra.Command{
		Use: "passport RESOURCE", Short: "A block's passport: its grade, its holdings' and routes' history, its blocklist observations", Args: cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cl *client.Client, a string) (any, error) {
			q := url.Values{}
			if after != "" {
				q.Set("after", after)
			}
			if obsAfter != 0 {
				q.Set("observations_after", strconv.FormatUint(obsAfter, 10))
			}
			var p apitypes.Passport
			return &p, cl.Get(ctx, "/v1/passport/"+a, q, &p)
		}, printPassport),
	}
	c.Flags().StringVar(&after, "after", "", "the history after this HEIGHT.INDEX (the cursor a truncated answer prints)")
	c.Flags().Uint64Var(&obsAfter, "observations-after", 0, "the observations after this sequence number (the cursor a truncated answer prints)")
	return c
}

func printPassport(w io.Writer, v any) {
	p := v.(*apitypes.Passport)
	fmt.Fprintf(w, "passport of %s at height %d (%s): grade %s\n", p.Resource, p.Height, time.Unix(p.Time, 0).UTC().Format(time.RFC3339), p.Grade)
	fmt.Fprintf(w, "history (%d):\n", len(p.History))
	for _, h := range p.History {
		fmt.Fprintf(w, "  %d.%d  %s  %-16s %-14s %s\n", h.Height, h.Index, h.Time.UTC().Format(time.RFC3339), h.Kind, h.Object, h.CodeName)
	}
	if p.HistoryNext != "" {
		fmt.Fprintf(w, "  more: --after %s\n", p.HistoryNext)
	}
	fmt.Fprintf(w, "observations (%d):\n", len(p.Observations))
	for _, o := range p.Observations {
		fmt.Fprintf(w, "  %d  %s  %-8s %-18s %s %s/%s (list time %s)\n", o.Height, time.Unix(o.Time, 0).UTC().Format(time.RFC3339),
			o.Event, o.Prefix, o.ID, o.Observer, o.List, time.Unix(o.ListTime, 0).UTC().Format(time.RFC3339))
	}
	if p.ObservationsNext != 0 {
		fmt.Fprintf(w, "  more: --observations-after %d\n", p.ObservationsNext)
	}
	fmt.Fprintf(w, "cases (%d):\n", len(p.Cases))
	for _, c := range p.Cases {
		fmt.Fprintf(w, "  %d  %s  %-8s %-18s opened %s (ipledger query case %d)\n", c.ID, c.State, c.Category, c.Resource,
			time.Unix(c.Opened, 0).UTC().Format(time.RFC3339), c.ID)
	}
	if p.CasesNext != 0 {
		fmt.Fprintf(w, "  more: ipledger query case --resource %s --after %d\n", p.Resource, p.CasesNext)
	}
}
