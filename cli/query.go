package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/stateproof"
)

func queryCmd(e *env) *cobra.Command {
	var node string
	var asJSON bool
	c := &cobra.Command{Use: "query", Short: "Ask a node about resources, organisations, blocks and transactions"}
	c.PersistentFlags().StringVar(&node, "node", "http://"+defaultHTTP, "node HTTP API base URL")
	c.PersistentFlags().BoolVar(&asJSON, "json", false, "print the API's JSON, for scripts (the default is text: tables, times in RFC 3339 UTC)")
	newClient := func() *client.Client { return &client.Client{Base: node} }
	run := func(get func(ctx context.Context, cl *client.Client, arg string) (any, error), text func(io.Writer, any)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) > 0 {
				arg = args[0]
			}
			v, err := get(cmd.Context(), newClient(), arg)
			if err != nil {
				return userError(err)
			}
			if asJSON {
				b, _ := json.MarshalIndent(v, "", "  ")
				fmt.Fprintln(e.stdout, string(ipledger.EscapeJSON(b)))
				return nil
			}
			escapeStrings(v) // the printers print fields as they are
			text(e.stdout, v)
			return nil
		}
	}
	c.AddCommand(&cobra.Command{
		Use: "status", Short: "Chain id, height, app hash, validators", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, cl *client.Client, _ string) (any, error) {
			st, err := cl.Status(ctx)
			return &st, err
		}, printStatus),
	}, &cobra.Command{
		Use: "block [HEIGHT]", Short: "A committed block (the latest without HEIGHT)", Args: cobra.MaximumNArgs(1),
		RunE: run(func(ctx context.Context, cl *client.Client, a string) (any, error) {
			var h int64
			if a != "" {
				var err error
				if h, err = strconv.ParseInt(a, 10, 64); err != nil || h < 1 {
					return nil, fmt.Errorf("height %q: want a positive number", a)
				}
			}
			return cl.Block(ctx, h)
		}, printBlock),
	}, &cobra.Command{
		Use: "tx HASH", Short: "A transaction: where it was committed, its result and its content", Args: cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cl *client.Client, a string) (any, error) { return cl.Tx(ctx, a) }, printTx),
	}, &cobra.Command{
		Use: "balance ORG", Short: "An organisation's settlement credits", Args: cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cl *client.Client, a string) (any, error) { return cl.Balance(ctx, a) }, printBalance),
	}, &cobra.Command{
		Use: "lease ID", Short: "A lease: parties, block, price, term, state and history", Args: cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cl *client.Client, a string) (any, error) { return cl.Lease(ctx, a) }, printLease),
	})
	// Resources, holdings and organisations, plain or (--prove) with a state proof the
	// client verifies.
	pf := &proveFlags{e: e}
	provable := func(use, short string, plain, withProof func(ctx context.Context, cl *client.Client, arg string) (any, error), text func(io.Writer, any)) *cobra.Command {
		sub := &cobra.Command{Use: use, Short: short, Args: cobra.ExactArgs(1)}
		sub.RunE = func(cmd *cobra.Command, args []string) error {
			if pf.prove {
				return run(withProof, text)(cmd, args)
			}
			if pf.height != 0 {
				return errors.New("--height needs --prove (plain queries answer from the latest state)")
			}
			return run(plain, text)(cmd, args)
		}
		return sub
	}
	// An answer lists at most 1,000 children and 1,000 history entries; --children-after
	// and --history-after page on from the cursor a truncated answer prints.
	var page client.Page
	resource := provable("resource ADDRESS|PREFIX|RANGE|ASN", "Who holds it: the chain of holdings from the registry pool down, and the transactions that made it",
		func(ctx context.Context, cl *client.Client, a string) (any, error) {
			return cl.ResourcePage(ctx, a, page)
		},
		pf.resource, printResource)
	holding := provable("holding ID|HANDLE", "A holding by id or handle (IPL-H42)",
		func(ctx context.Context, cl *client.Client, a string) (any, error) {
			return cl.HoldingPage(ctx, a, page)
		},
		pf.holding, printResource)
	orgCmd := provable("org HANDLE", "An organisation, its keys and history",
		func(ctx context.Context, cl *client.Client, a string) (any, error) {
			return cl.OrgPage(ctx, a, page.HistoryAfter)
		},
		pf.org, printOrg)
	for _, sub := range []*cobra.Command{resource, holding} {
		sub.Flags().StringVar(&page.ChildrenAfter, "children-after", "", "list the sub-holdings after this one (the cursor a truncated answer prints)")
	}
	for _, sub := range []*cobra.Command{resource, holding, orgCmd} {
		sub.Flags().StringVar(&page.HistoryAfter, "history-after", "", "list the history after this HEIGHT.INDEX (the cursor a truncated answer prints)")
	}
	for _, sub := range []*cobra.Command{resource, holding, orgCmd} {
		f := sub.Flags()
		f.BoolVar(&pf.prove, "prove", false, "fetch a state proof and verify it against the genesis validators; print only what it proves")
		f.Int64Var(&pf.height, "height", 0, "with --prove, the height to answer at (default: the latest provable)")
		f.StringVar(&pf.genesis, "genesis", "", "with --prove, the chain's genesis file to trust (default: the --home node's)")
		c.AddCommand(sub)
	}
	var org string
	var all bool
	leases := &cobra.Command{
		Use: "leases", Short: "Running leases (--all: ended ones too), of --org as lessor or lessee", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, cl *client.Client, _ string) (any, error) { return cl.Leases(ctx, org, all) }, printLeases),
	}
	leases.Flags().BoolVar(&all, "all", false, "include ended leases")
	offers := &cobra.Command{
		Use: "offers", Short: "Open lease offers, of --org", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, cl *client.Client, _ string) (any, error) { return cl.Offers(ctx, org) }, printOffers),
	}
	routes := &cobra.Command{
		Use: "routes", Short: "Route authorisations, of --org, and whether each is in force", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, cl *client.Client, _ string) (any, error) { return cl.Routes(ctx, org) }, printRoutes),
	}
	for _, sub := range []*cobra.Command{leases, offers, routes} {
		sub.Flags().StringVar(&org, "org", "", "only this organisation's")
		c.AddCommand(sub)
	}
	c.AddCommand(queryMarketCmd(run))
	c.AddCommand(passportQueryCmd(run))
	c.AddCommand(caseQueryCmd(run))
	return c
}

func printResource(w io.Writer, v any) {
	if pr, ok := v.(*proved); ok {
		printProved(w, pr)
		return
	}
	r := v.(*apitypes.ResourceInfo)
	fmt.Fprintf(w, "%s at height %d is held by %s (%s), %s\n\n", r.Resource, r.Height, r.Holding.Holder, r.Holding.HolderName, r.Holding.Status)
	// COUNTRY is the registration's (allocate/assign --country, the delegated files' cc);
	// GEO the geolocation published with set-geo that covers the whole holding, if any.
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEPTH\tHANDLE\tRESOURCE\tHOLDER\tSTATUS\tCOUNTRY\tGEO\tREGISTERED")
	for _, h := range r.Chain {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Depth, h.Handle, h.Resource, h.Holder, h.Status, dash(h.Country), geoOf(r.Geo, h.Resource), dash(h.Registered))
	}
	tw.Flush()
	if len(r.Geo) > 0 {
		more := ""
		if r.GeoTruncated {
			more = fmt.Sprintf(" (the first %d)", len(r.Geo))
		}
		fmt.Fprintf(w, "\ngeolocations (set-geo, RFC 8805)%s:\n", more)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, g := range r.Geo {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\tby %s\n", g.Resource, g.Country, dash(g.Region), dash(g.City), g.Holder)
		}
		tw.Flush()
	}
	printHistory(w, r.History, r.HistoryNext)
	if len(r.Children) > 0 {
		more := ""
		if r.ChildrenTruncated {
			more = " (more follow)"
		}
		fmt.Fprintf(w, "\n%d sub-holdings%s:\n", len(r.Children), more)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, c := range r.Children {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Handle, c.Resource, c.Holder, c.Status, dash(c.Country))
		}
		tw.Flush()
		if r.ChildrenNext != "" {
			fmt.Fprintf(w, "  more: --children-after %s\n", r.ChildrenNext)
		}
	}
}

// geoOf returns the country of the geolocation among geos that covers all of res, "-"
// if none does.
func geoOf(geos []*ipledger.Geo, res ipledger.Resource) string {
	for _, g := range geos {
		if g.Resource.Contains(res) {
			return g.Country
		}
	}
	return "-"
}

func printOrg(w io.Writer, v any) {
	if pr, ok := v.(*proved); ok {
		printProved(w, pr)
		return
	}
	o := v.(*apitypes.OrgInfo)
	fmt.Fprintf(w, "%s  %s\n", o.Handle, o.Name)
	if o.IsRegistry {
		fmt.Fprintln(w, "  registry")
	} else {
		fmt.Fprintf(w, "  registered by %s\n", o.Registry)
	}
	if o.Country != "" {
		fmt.Fprintf(w, "  country %s\n", o.Country)
	}
	if o.AbuseMailbox != "" {
		fmt.Fprintf(w, "  abuse %s\n", o.AbuseMailbox)
	}
	fmt.Fprintf(w, "  created %s, updated %s\n", rfc3339(o.Created), rfc3339(o.Updated))
	fmt.Fprintf(w, "  sequence %d\n  keys:", o.Sequence)
	if len(o.Keys) == 0 {
		fmt.Fprint(w, " none (unclaimed; its registry binds one with bind-key)")
	}
	fmt.Fprintln(w)
	for _, k := range o.Keys {
		fmt.Fprintf(w, "    %s\n", k)
	}
	printHistory(w, o.History, o.HistoryNext)
}

// proveFlags are --prove, --height and --genesis of query resource, holding and org;
// its methods fetch and verify proofs.
type proveFlags struct {
	e       *env
	prove   bool
	height  int64
	genesis string
}

// trust loads the genesis the answer is verified against: --genesis, else the --home
// node's (IPLEDGER_HOME, ~/.ipledger).
func (pf *proveFlags) trust() (*stateproof.Trust, string, error) {
	path := pf.genesis
	if path == "" {
		home, err := pf.e.homeDir()
		if err != nil {
			return nil, "", fmt.Errorf("--prove needs the chain's genesis to trust: --genesis FILE: %w", err)
		}
		path = chain.GenesisPath(home)
		if _, err := os.Stat(path); err != nil {
			return nil, "", fmt.Errorf("--prove needs the chain's genesis to trust: give --genesis FILE, or --home of a node of the chain (%s: %w)", path, err)
		}
	}
	t, err := stateproof.TrustGenesisFile(path)
	return t, path, err
}

// checkHeight refuses a proof of another height than --height asked for.
func (pf *proveFlags) checkHeight(p *stateproof.Proof) error {
	if pf.height != 0 && p.Height != pf.height {
		return fmt.Errorf("the node's answer does not verify: asked for height %d, it proves height %d", pf.height, p.Height)
	}
	return nil
}

// proved is what `query … --prove` prints: the verified answer and what it was verified
// against. Only Answer, Organisation and Verified come from the proof.
type proved struct {
	Answer       any                    `json:"answer"`
	Organisation *ipledger.Organisation `json:"organisation,omitempty"`
	Verified     verification           `json:"verified"`
}

// verification says what a proof was checked against.
type verification struct {
	Height       int64  `json:"height"`
	Header       int64  `json:"header"`
	BlockTime    string `json:"block_time"`
	BlockHash    string `json:"block_hash"`
	AppHash      string `json:"app_hash"`
	ChainID      string `json:"chain_id"`
	Signatures   int    `json:"signatures"`
	Validators   int    `json:"validators"`
	TrustedFrom  string `json:"trusted_from"`
	TrustedMatch bool   `json:"trusted_set_signed"` // the header's set is the trusted one
	// blockTime is BlockTime for the text output (BlockTime keeps its JSON form).
	blockTime time.Time
}

func verified(p *stateproof.Proof, t *stateproof.Trust, from string) verification {
	sh := p.Header()
	n := 0
	for _, s := range sh.Commit.Signatures {
		if s.BlockIDFlag == types.BlockIDFlagCommit {
			n++
		}
	}
	return verification{Height: p.Height, Header: sh.Height, BlockTime: sh.Time.UTC().Format("2006-01-02 15:04:05Z"), blockTime: sh.Time,
		BlockHash: fmt.Sprintf("%X", []byte(sh.Commit.BlockID.Hash)), AppHash: fmt.Sprintf("%X", p.AppHash),
		ChainID: t.ChainID, Signatures: n, Validators: len(sh.Commit.Signatures), TrustedFrom: from,
		TrustedMatch: string(t.Validators.Hash()) == string(sh.ValidatorsHash)}
}

// decodeProof decodes a state proof the client fetched; stateproof checks it.
func decodeProof(raw json.RawMessage, err error) (*stateproof.Proof, error) {
	if err != nil {
		return nil, err
	}
	var p stateproof.Proof
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("decode the node's state proof: %w", err)
	}
	return &p, nil
}

// proveOne fetches the node's proof of key at --height (fetch asks the node for it), after
// loading the genesis to trust, refuses one of another height, and verifies it with verify.
// It returns the verified answer and what it was verified against.
func proveOne[K, A any](pf *proveFlags, key K, fetch func(height int64) (json.RawMessage, error),
	verify func(*stateproof.Proof, K, *stateproof.Trust) (A, error)) (A, verification, error) {
	var zero A
	t, from, err := pf.trust()
	if err != nil {
		return zero, verification{}, err
	}
	p, err := decodeProof(fetch(pf.height))
	if err != nil {
		return zero, verification{}, err
	}
	if err := pf.checkHeight(p); err != nil {
		return zero, verification{}, err
	}
	ans, err := verify(p, key, t)
	if err != nil {
		return zero, verification{}, fmt.Errorf("the node's answer does not verify: %w", err)
	}
	return ans, verified(p, t, from), nil
}

func (pf *proveFlags) resource(ctx context.Context, cl *client.Client, arg string) (any, error) {
	res, err := ipledger.ParseResource(arg)
	if err != nil {
		return nil, err
	}
	ans, v, err := proveOne(pf, res, func(height int64) (json.RawMessage, error) {
		return cl.ProveResource(ctx, res.String(), height)
	}, (*stateproof.Proof).VerifyResource)
	if err != nil {
		return nil, err
	}
	return &proved{Answer: ans, Organisation: ans.Holder, Verified: v}, nil
}

func (pf *proveFlags) holding(ctx context.Context, cl *client.Client, arg string) (any, error) {
	n := arg
	if len(n) > 5 && strings.EqualFold(n[:5], "IPL-H") {
		n = n[5:]
	}
	id, err := strconv.ParseUint(n, 10, 64)
	if err != nil || id == 0 {
		return nil, fmt.Errorf("holding %q: want a number or a handle like IPL-H42", arg)
	}
	ans, v, err := proveOne(pf, id, func(height int64) (json.RawMessage, error) {
		return cl.ProveHolding(ctx, strconv.FormatUint(id, 10), height)
	}, (*stateproof.Proof).VerifyHolding)
	if err != nil {
		return nil, err
	}
	return &proved{Answer: ans, Organisation: ans.Holder, Verified: v}, nil
}

func (pf *proveFlags) org(ctx context.Context, cl *client.Client, arg string) (any, error) {
	handle := strings.ToUpper(arg)
	if !ipledger.ValidHandle(handle) {
		return nil, fmt.Errorf("%q is not an organisation handle", arg)
	}
	o, v, err := proveOne(pf, handle, func(height int64) (json.RawMessage, error) {
		return cl.ProveOrg(ctx, handle, height)
	}, (*stateproof.Proof).VerifyOrg)
	if err != nil {
		return nil, err
	}
	return &proved{Answer: map[string]any{"handle": handle, "exists": o != nil}, Organisation: o, Verified: v}, nil
}

// printProved prints a verified answer: what the proof shows, then what it was checked
// against.
func printProved(w io.Writer, pr *proved) {
	v := pr.Verified
	switch a := pr.Answer.(type) {
	case *stateproof.ResourceAnswer:
		if len(a.Chain) == 0 {
			fmt.Fprintf(w, "%s at height %d: no single holding contains all of it (it spans more than one registry pool)\n", a.Resource, a.Height)
			break
		}
		h := a.Holding()
		name := ""
		if a.Holder != nil {
			name = " (" + a.Holder.Name + ")"
		}
		fmt.Fprintf(w, "%s at height %d is held by %s%s, %s, in %s\n\n", a.Resource, a.Height, h.Holder, name, h.Status, h.Handle())
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DEPTH\tHANDLE\tRESOURCE\tHOLDER\tSTATUS\tCOUNTRY\tREGISTERED")
		for _, h := range a.Chain {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Depth, h.Handle(), h.Resource, h.Holder, h.Status, h.Country, h.Registered)
		}
		tw.Flush()
	case *stateproof.HoldingAnswer:
		if a.Holding == nil {
			fmt.Fprintf(w, "%s at height %d: no such holding\n", ipledger.HoldingHandle(a.ID), a.Height)
			break
		}
		h := a.Holding
		fmt.Fprintf(w, "%s at height %d: %s at depth %d, held by %s, %s, registered %s\n", h.Handle(), a.Height, h.Resource, h.Depth, h.Holder, h.Status, h.Registered)
	default:
		if pr.Organisation == nil {
			fmt.Fprintf(w, "at height %d: no such organisation\n", v.Height)
		}
	}
	if o := pr.Organisation; o != nil {
		fmt.Fprintf(w, "\n%s  %s", o.Handle, o.Name)
		if o.Country != "" {
			fmt.Fprintf(w, "  %s", o.Country)
		}
		fmt.Fprintf(w, "\n  keys %d, sequence %d\n", len(o.Keys), o.Sequence)
	}
	who := "the trusted validator set"
	if !v.TrustedMatch {
		who = "a validator set that more than 1/3 of the trusted set endorses by signing too"
	}
	fmt.Fprintf(w, "\nverified: the state of height %d (app hash %s) is committed by header %d, block %s at %s,\n"+
		"signed by %d of %d validators of %s of chain %s (trusted from %s)\n",
		v.Height, v.AppHash, v.Header, v.BlockHash, rfc3339(v.blockTime), v.Signatures, v.Validators, who, v.ChainID, v.TrustedFrom)
}
