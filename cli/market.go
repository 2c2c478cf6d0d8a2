package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/client"
)

// The market on the command line: `ipledger tx list|bid|cancel-listing|swap|cancel-sale`,
// the class auctions' `ipledger tx ask|order|cancel-order`, and `ipledger query market
// trades|listings|books`.

// marketFlags are the market kinds' own flags, beside txFlags's common ones.
type marketFlags struct {
	resource, buyer, end  string
	duration              time.Duration
	reserve, minIncrement uint64
	amount, price, id     uint64
	asn                   uint32
	// Class auctions.
	class, order    string
	limit, quantity uint64
}

// txMarketCmds returns the market's tx subcommands.
func txMarketCmds(e *env) []*cobra.Command {
	res := func(fs *pflag.FlagSet, m *marketFlags) {
		fs.StringVar(&m.resource, "resource", "", "the block: a prefix, address range or AS number(s)")
	}
	asn := func(fs *pflag.FlagSet, m *marketFlags) {
		fs.Uint32Var(&m.asn, "asn", 0, "AS number authorised to originate the block when you buy it (0: none)")
	}
	id := func(fs *pflag.FlagSet, m *marketFlags, what string) { fs.Uint64Var(&m.id, what, 0, what+" id") }
	return []*cobra.Command{
		marketTxCmd(e, ipledger.KindList, "List a block you hold for sale to the highest bid at or above --reserve by --end",
			func(fs *pflag.FlagSet, m *marketFlags) {
				res(fs, m)
				fs.Uint64Var(&m.reserve, "reserve", 0, "lowest price, in credits for the whole block")
				fs.Uint64Var(&m.minIncrement, "min-increment", 1, "a bid beats the highest by at least this")
				fs.StringVar(&m.end, "end", "", "end as RFC 3339 time or Unix seconds (default: --duration from now)")
				fs.DurationVar(&m.duration, "duration", 7*24*time.Hour, "how long the listing runs, without --end")
			},
			func(f *txFlags, m *marketFlags) (any, error) {
				r, err := marketResource(m)
				if err != nil {
					return nil, err
				}
				end, err := parseTime(m.end)
				if err != nil {
					return nil, fmt.Errorf("--end: %w", err)
				}
				if end == 0 {
					end = time.Now().Add(m.duration).Unix()
				}
				return ipledger.ListBody{Resource: r, Reserve: m.reserve, MinIncrement: m.minIncrement, End: end}, nil
			}),
		marketTxCmd(e, ipledger.KindBid, "Bid on a listing; the amount is held until you are outbid or it settles",
			func(fs *pflag.FlagSet, m *marketFlags) {
				id(fs, m, "listing")
				fs.Uint64Var(&m.amount, "amount", 0, "your bid, in credits for the whole block")
				asn(fs, m)
			},
			func(_ *txFlags, m *marketFlags) (any, error) {
				return ipledger.BidBody{Listing: m.id, Amount: m.amount, ASN: m.asn}, nil
			}),
		marketTxCmd(e, ipledger.KindCancelListing, "Withdraw a listing of yours that has no bid",
			func(fs *pflag.FlagSet, m *marketFlags) { id(fs, m, "listing") },
			func(_ *txFlags, m *marketFlags) (any, error) { return ipledger.CancelListingBody{Listing: m.id}, nil }),
		marketTxCmd(e, ipledger.KindSwap, "Sell a block for a price in one transaction (--as SELLER, the buyer signs second)",
			func(fs *pflag.FlagSet, m *marketFlags) {
				res(fs, m)
				fs.StringVar(&m.buyer, "buyer", "", "buying organisation (default: --cosigner)")
				fs.Uint64Var(&m.price, "price", 0, "price, in credits for the whole block")
				asn(fs, m)
			},
			func(f *txFlags, m *marketFlags) (any, error) {
				r, err := marketResource(m)
				buyer := m.buyer
				if buyer == "" {
					buyer = f.cosigner
				}
				return ipledger.SwapBody{Resource: r, Buyer: buyer, Price: m.price, ASN: m.asn}, err
			}),
		marketTxCmd(e, ipledger.KindCancelSale, "Cancel a large sale of yours in its challenge window",
			func(fs *pflag.FlagSet, m *marketFlags) { id(fs, m, "sale") },
			func(_ *txFlags, m *marketFlags) (any, error) { return ipledger.CancelSaleBody{Sale: m.id}, nil }),
		marketTxCmd(e, ipledger.KindAsk, "Ask a whole holding you hold (a prefix without sub-holdings) in its class auction at --min-price or more per unit",
			func(fs *pflag.FlagSet, m *marketFlags) {
				res(fs, m)
				fs.Uint64Var(&m.price, "min-price", 0, "lowest price per unit (IPv4 address, IPv6 /48), in credits")
			},
			func(_ *txFlags, m *marketFlags) (any, error) {
				r, err := marketResource(m)
				return ipledger.AskBody{Resource: r, MinPrice: m.price}, err
			}),
		marketTxCmd(e, ipledger.KindOrder, "Bid for --quantity blocks of a --class at --limit or less per unit; limit × units × quantity is held",
			func(fs *pflag.FlagSet, m *marketFlags) {
				fs.StringVar(&m.class, "class", "", "family-bits-registry-country-grade, e.g. ipv4-24-RIPE-NCC-NL-A or ipv4-24-any-any-A")
				fs.Uint64Var(&m.quantity, "quantity", 1, "blocks wanted")
				fs.Uint64Var(&m.limit, "limit", 0, "highest price per unit, in credits")
				fs.StringVar(&m.end, "until", "", "when the bid expires, as RFC 3339 time or Unix seconds (default: --duration from now)")
				fs.DurationVar(&m.duration, "duration", 7*24*time.Hour, "how long the bid stands, without --until")
				asn(fs, m)
			},
			func(_ *txFlags, m *marketFlags) (any, error) {
				c, err := ipledger.ParseAuctionClass(m.class)
				if err != nil {
					return nil, fmt.Errorf("--class: %w", err)
				}
				end, err := parseTime(m.end)
				if err != nil {
					return nil, fmt.Errorf("--until: %w", err)
				}
				if end == 0 {
					end = time.Now().Add(m.duration).Unix()
				}
				return ipledger.OrderBody{Class: c, Quantity: m.quantity, Limit: m.limit, Expiry: end, ASN: m.asn}, nil
			}),
		marketTxCmd(e, ipledger.KindCancelOrder, "Withdraw an open ask of yours or the open rest of a bid",
			func(fs *pflag.FlagSet, m *marketFlags) {
				fs.StringVar(&m.order, "order", "", "the ask or bid: the hash of the transaction that placed it")
			},
			func(_ *txFlags, m *marketFlags) (any, error) {
				h, err := ipledger.ParseHash(m.order)
				if err != nil {
					return nil, fmt.Errorf("--order: %w", err)
				}
				return ipledger.CancelOrderBody{Order: h}, nil
			}),
	}
}

func marketResource(m *marketFlags) (ipledger.Resource, error) {
	if m.resource == "" {
		return ipledger.Resource{}, errors.New("--resource is required")
	}
	return ipledger.ParseResource(m.resource)
}

// marketTxCmd is the subcommand of a market kind: its flags, then the body built from them,
// signed and sent as every tx subcommand is (buildAndSend).
func marketTxCmd(e *env, kind ipledger.Kind, short string, flags func(*pflag.FlagSet, *marketFlags), body func(*txFlags, *marketFlags) (any, error)) *cobra.Command {
	f, m := &txFlags{}, &marketFlags{}
	sub := &cobra.Command{
		Use: kind.String(), Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.expiresInSet = cmd.Flags().Changed("expires-in")
			b, err := body(f, m)
			if err != nil {
				return err
			}
			return buildAndSend(cmd.Context(), e, f, kind, b)
		},
	}
	f.common(sub.Flags())
	flags(sub.Flags(), m)
	return sub
}

// queryRun is query's runner of a subcommand: get the answer, print it as text or JSON.
type queryRun func(get func(ctx context.Context, cl *client.Client, arg string) (any, error), text func(io.Writer, any)) func(*cobra.Command, []string) error

// queryMarketCmd is `ipledger query market trades|listings|books|stats`.
func queryMarketCmd(run queryRun) *cobra.Command {
	c := &cobra.Command{Use: "market", Short: "The market's public data: trades, listings, class auctions' books and statistics"}
	var org, venue string
	var after uint64
	var limit int
	var all bool
	trades := &cobra.Command{
		Use: "trades", Short: "Trades in the order they settled (sales and, unpriced, plain transfers)", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, cl *client.Client, _ string) (any, error) {
			q := url.Values{}
			set := func(k, v string) {
				if v != "" && v != "0" {
					q.Set(k, v)
				}
			}
			set("org", org)
			set("venue", venue)
			set("after", strconv.FormatUint(after, 10))
			set("limit", strconv.Itoa(limit))
			if venue == "lease" {
				var out apitypes.LeaseStartList
				return &out, cl.Get(ctx, "/v1/market/trades", q, &out)
			}
			var out apitypes.TradeList
			return &out, cl.Get(ctx, "/v1/market/trades", q, &out)
		}, printTrades),
	}
	trades.Flags().StringVar(&venue, "venue", "", "only this venue's: listing, swap, auction or transfer; lease lists the lease starts")
	trades.Flags().Uint64Var(&after, "after", 0, "trades after this id (the next a truncated answer prints)")
	trades.Flags().IntVar(&limit, "limit", 0, "at most this many (default and most: 1000)")
	listings := &cobra.Command{
		Use: "listings", Short: "Open and pending listings (--all: closed ones too)", Args: cobra.NoArgs,
		RunE: run(func(ctx context.Context, cl *client.Client, _ string) (any, error) {
			q := url.Values{}
			if org != "" {
				q.Set("org", org)
			}
			if all {
				q.Set("all", "true")
			}
			var out apitypes.ListingList
			return &out, cl.Get(ctx, "/v1/market/listings", q, &out)
		}, printListings),
	}
	listings.Flags().BoolVar(&all, "all", false, "include closed listings")
	for _, sub := range []*cobra.Command{trades, listings} {
		sub.Flags().StringVar(&org, "org", "", "only those this organisation is a party to")
		c.AddCommand(sub)
	}
	c.AddCommand(&cobra.Command{
		Use: "books [CLASS]", Short: "Class auctions: the classes with open orders, or one class's book by price (e.g. ipv4-24-any-any-A)",
		Args: cobra.MaximumNArgs(1),
		RunE: run(func(ctx context.Context, cl *client.Client, class string) (any, error) {
			if class == "" {
				return cl.Books(ctx)
			}
			c, err := ipledger.ParseAuctionClass(class)
			if err != nil {
				return nil, err
			}
			return cl.Book(ctx, c)
		}, printBooks),
	})
	c.AddCommand(queryStatsCmd(run))
	return c
}

func printBooks(w io.Writer, v any) {
	if p, ok := v.(*apitypes.BookPage); ok {
		fmt.Fprintf(w, "%s (%d units a block) at height %d\n", p.Class, p.Units, p.Height)
		type row struct {
			side string
			l    ipledger.BookLevel
		}
		var rows []row
		for _, l := range p.Asks {
			rows = append(rows, row{"ask", l})
		}
		for _, l := range p.Bids {
			rows = append(rows, row{"bid", l})
		}
		if len(rows) == 0 {
			fmt.Fprintln(w, "no open orders")
			return
		}
		printTable(w, "SIDE\tPRICE PER UNIT\tORDERS\tBLOCKS", rows, func(r row) string {
			return fmt.Sprintf("%s\t%d\t%d\t%d", r.side, r.l.Price, r.l.Orders, r.l.Blocks)
		})
		return
	}
	l := v.(*apitypes.BookList)
	if !listHeading(w, len(l.Books), "book", "books", l.Height, false) {
		return
	}
	printTable(w, "CLASS\tASKS\tBIDS\tBLOCKS BID\tBEST ASK\tBEST BID", l.Books, func(b ipledger.BookSummary) string {
		return fmt.Sprintf("%s\t%d\t%d\t%d\t%d\t%d", b.Class, b.Asks, b.Bids, b.BlocksBid, b.BestAsk, b.BestBid)
	})
}

func printTrades(w io.Writer, v any) {
	if l, ok := v.(*apitypes.LeaseStartList); ok {
		printLeaseStarts(w, l)
		return
	}
	l := v.(*apitypes.TradeList)
	if !listHeading(w, len(l.Trades), "trade", "trades", l.Height, l.Truncated) {
		return
	}
	printTable(w, "ID\tTIME\tVENUE\tRESOURCE\tSELLER\tBUYER\tPRICE\tFEE\tUNITS\tPER UNIT\tSUBJECT TO LEASE", l.Trades, func(t ipledger.Trade) string {
		return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s", t.ID, unixTime(t.Time, "-"), t.Venue, t.Resource, t.Seller, t.Buyer,
			t.Price, t.Fee, t.Units, t.PricePerUnit, yesNo(t.SubjectToLease))
	})
	if l.Truncated {
		fmt.Fprintf(w, "more: --after %d\n", l.Next)
	}
}

func printListings(w io.Writer, v any) {
	l := v.(*apitypes.ListingList)
	if !listHeading(w, len(l.Listings), "listing", "listings", l.Height, l.Truncated) {
		return
	}
	printTable(w, "ID\tRESOURCE\tSELLER\tRESERVE\tINCREMENT\tEND\tBIDS\tHIGHEST\tBIDDER\tSTATE", l.Listings, func(x ipledger.Listing) string {
		bidder := x.HighBidder
		if bidder == "" {
			bidder = "-"
		}
		return fmt.Sprintf("%d\t%s\t%s\t%d\t%d\t%s\t%d\t%d\t%s\t%s", x.ID, x.Resource, x.Seller, x.Reserve, x.MinIncrement,
			unixTime(x.End, "-"), x.Bids, x.HighBid, bidder, x.State)
	})
}
