package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/client"
)

// queryStatsCmd is `ipledger query market stats`.
func queryStatsCmd(run queryRun) *cobra.Command {
	var sq client.StatsQuery
	c := &cobra.Command{
		Use:   "stats",
		Short: "The market's statistics per family, class and UTC day: VWAP, trades, turnover, open asks and bids, lease yield",
		Long: `Prices are settlement credits per unit (IPv4 per address, IPv6 per /48, AS per number),
rounded down; lease prices per unit per 30 days; turnover and lease yield in basis points.
A row with no class is over every class, one with no day over every day of --from/--to.`,
		Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, cl *client.Client, _ string) (any, error) {
			return cl.MarketStats(ctx, sq)
		}, printStats),
	}
	f := c.Flags()
	f.StringVar(&sq.Family, "family", "", "only this family: ipv4, ipv6 or asn")
	f.StringVar(&sq.Class, "class", "", "only this class, e.g. ipv4/24")
	f.StringVar(&sq.From, "from", "", "first UTC day counted, YYYY-MM-DD")
	f.StringVar(&sq.To, "to", "", "last UTC day counted, YYYY-MM-DD")
	f.Int64Var(&sq.Height, "height", 0, "at this retained height (default: the last committed)")
	return c
}

func printStats(w io.Writer, v any) {
	s := v.(*apitypes.MarketStats)
	if !listHeading(w, len(s.Rows), "row", "rows", s.Height, false) {
		return
	}
	printTable(w, "FAMILY\tCLASS\tDAY\tTRADES\tUNITS\tVWAP\tMEDIAN\tTRANSFERS\tTURNOVER BP\tLEASES\tMEDIAN LEASE\tYIELD BP\tASKS\tBIDS", s.Rows, func(r apitypes.StatsRow) string {
		return fmt.Sprintf("%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d", r.Family, dash(r.Class), dash(r.Day), r.Trades, r.Units, r.VWAP, r.MedianPrice,
			r.Transfers, r.TurnoverBP, r.Leases, r.MedianLease, r.LeaseYieldBP, r.OpenAsks, r.OpenBids)
	})
}

func printLeaseStarts(w io.Writer, l *apitypes.LeaseStartList) {
	if !listHeading(w, len(l.Leases), "lease start", "lease starts", l.Height, l.Truncated) {
		return
	}
	printTable(w, "LEASE\tTIME\tHEIGHT\tRESOURCE\tCLASS\tLESSOR\tLESSEE\tUNITS\tPER UNIT MONTH", l.Leases, func(x apitypes.LeaseStart) string {
		return fmt.Sprintf("%d\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%d", x.ID, unixTime(x.Time, "-"), x.Height, x.Resource, x.Class, x.Lessor, x.Lessee, x.Units, x.PricePerUnitMonth)
	})
	if l.Truncated {
		fmt.Fprintf(w, "more: --after %d\n", l.Next)
	}
}
