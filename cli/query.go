package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger/httpapi"
)

func queryCmd(e *env) *cobra.Command {
	var node string
	var asJSON bool
	c := &cobra.Command{Use: "query", Short: "Ask a node about resources, organisations, blocks and transactions"}
	c.PersistentFlags().StringVar(&node, "node", "http://"+defaultHTTP, "node HTTP API base URL")
	c.PersistentFlags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	client := func() *httpapi.Client { return &httpapi.Client{Base: node} }
	run := func(get func(ctx context.Context, cl *httpapi.Client, arg string) (any, error), text func(io.Writer, any)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) > 0 {
				arg = args[0]
			}
			v, err := get(cmd.Context(), client(), arg)
			if err != nil {
				return userError(err)
			}
			if asJSON || text == nil {
				b, _ := json.MarshalIndent(v, "", "  ")
				fmt.Fprintln(e.stdout, string(b))
				return nil
			}
			text(e.stdout, v)
			return nil
		}
	}
	c.AddCommand(&cobra.Command{
		Use: "status", Short: "Chain id, height, app hash, validators", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, cl *httpapi.Client, _ string) (any, error) { return cl.Status(ctx) }, nil),
	}, &cobra.Command{
		Use: "resource ADDRESS|PREFIX|RANGE|ASN", Short: "Who holds it: the chain of holdings from the registry pool down, and the transactions that made it", Args: cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cl *httpapi.Client, a string) (any, error) { return cl.Resource(ctx, a) }, printResource),
	}, &cobra.Command{
		Use: "holding ID|HANDLE", Short: "A holding by id or handle (IPL-H42)", Args: cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cl *httpapi.Client, a string) (any, error) { return cl.Holding(ctx, a) }, printResource),
	}, &cobra.Command{
		Use: "org HANDLE", Short: "An organisation, its keys and history", Args: cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cl *httpapi.Client, a string) (any, error) { return cl.Org(ctx, a) }, printOrg),
	}, &cobra.Command{
		Use: "block [HEIGHT]", Short: "A committed block (the latest without HEIGHT)", Args: cobra.MaximumNArgs(1),
		RunE: run(func(ctx context.Context, cl *httpapi.Client, a string) (any, error) {
			var h int64
			if a != "" {
				var err error
				if h, err = strconv.ParseInt(a, 10, 64); err != nil || h < 1 {
					return nil, fmt.Errorf("height %q: want a positive number", a)
				}
			}
			return cl.Block(ctx, h)
		}, nil),
	}, &cobra.Command{
		Use: "tx HASH", Short: "A transaction: where it was committed, its result and its content", Args: cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cl *httpapi.Client, a string) (any, error) { return cl.Tx(ctx, a) }, nil),
	}, &cobra.Command{
		Use: "balance ORG", Short: "An organisation's settlement credits", Args: cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cl *httpapi.Client, a string) (any, error) { return cl.Balance(ctx, a) }, nil),
	}, &cobra.Command{
		Use: "lease ID", Short: "A lease: parties, block, price, term, state and history", Args: cobra.ExactArgs(1),
		RunE: run(func(ctx context.Context, cl *httpapi.Client, a string) (any, error) { return cl.Lease(ctx, a) }, nil),
	})
	var org string
	var all bool
	leases := &cobra.Command{
		Use: "leases", Short: "Running leases (--all: ended ones too), of --org as lessor or lessee", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, cl *httpapi.Client, _ string) (any, error) { return cl.Leases(ctx, org, all) }, nil),
	}
	leases.Flags().BoolVar(&all, "all", false, "include ended leases")
	offers := &cobra.Command{
		Use: "offers", Short: "Open lease offers, of --org", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, cl *httpapi.Client, _ string) (any, error) { return cl.Offers(ctx, org) }, nil),
	}
	routes := &cobra.Command{
		Use: "routes", Short: "Route authorisations, of --org, and whether each is in force", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, cl *httpapi.Client, _ string) (any, error) { return cl.Routes(ctx, org) }, nil),
	}
	for _, sub := range []*cobra.Command{leases, offers, routes} {
		sub.Flags().StringVar(&org, "org", "", "only this organisation's")
		c.AddCommand(sub)
	}
	return c
}

func printResource(w io.Writer, v any) {
	r := v.(*httpapi.ResourceInfo)
	fmt.Fprintf(w, "%s at height %d is held by %s (%s), %s\n\n", r.Resource, r.Height, r.Holding.Holder, r.Holding.HolderName, r.Holding.Status)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEPTH\tHANDLE\tRESOURCE\tHOLDER\tSTATUS\tCOUNTRY\tREGISTERED")
	for _, h := range r.Chain {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", h.Depth, h.Handle, h.Resource, h.Holder, h.Status, h.Country, h.Registered)
	}
	tw.Flush()
	if len(r.History) > 0 {
		fmt.Fprintln(w, "\nhistory:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, x := range r.History {
			fmt.Fprintf(tw, "  %d/%d\t%s\t%s\t%s\t%s\n", x.Height, x.Index, x.Time.Format("2006-01-02 15:04:05Z"), x.Kind, x.CodeName, x.Hash)
		}
		tw.Flush()
	}
	if len(r.Children) > 0 {
		more := ""
		if r.ChildrenTruncated {
			more = " (more not shown)"
		}
		fmt.Fprintf(w, "\n%d sub-holdings%s:\n", len(r.Children), more)
		for _, c := range r.Children {
			fmt.Fprintf(w, "  %s %s %s %s\n", c.Handle, c.Resource, c.Holder, c.Status)
		}
	}
}

func printOrg(w io.Writer, v any) {
	o := v.(*httpapi.OrgInfo)
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
	fmt.Fprintf(w, "  sequence %d\n  keys:", o.Sequence)
	if len(o.Keys) == 0 {
		fmt.Fprint(w, " none (unclaimed; its registry binds one with bind-key)")
	}
	fmt.Fprintln(w)
	for _, k := range o.Keys {
		fmt.Fprintf(w, "    %s\n", k)
	}
	if len(o.History) > 0 {
		fmt.Fprintln(w, "  history:")
		for _, x := range o.History {
			fmt.Fprintf(w, "    %d/%d %s %s %s %s\n", x.Height, x.Index, x.Time.Format("2006-01-02 15:04:05Z"), x.Kind, x.CodeName, x.Hash)
		}
	}
}
