package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
)

// The human output of `ipledger query`: every answer as labelled lines or a table, times
// in RFC 3339 UTC (block times and the Unix seconds of leases and authorisations alike),
// periods in days or as a duration. --json prints the API's JSON unchanged for scripts.
// Strings reach these printers already escaped (escapeStrings); the transaction body,
// raw JSON, is escaped as JSON.

// rfc3339 formats t in UTC, "-" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// unixTime formats Unix seconds in UTC, none for 0.
func unixTime(sec int64, none string) string {
	if sec == 0 {
		return none
	}
	return rfc3339(time.Unix(sec, 0))
}

// period formats a length in seconds: whole days as "30d", else a Go duration ("90m0s").
func period(sec int64) string {
	if sec > 0 && sec%86400 == 0 {
		return strconv.FormatInt(sec/86400, 10) + "d"
	}
	return (time.Duration(sec) * time.Second).String()
}

// dash returns s, or "-" when it is empty, so that a table's columns stay aligned.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// yesNo formats a boolean column.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// table returns a tabwriter for w with the queries' column spacing.
func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// printTable prints header and then one line per item, formatted by line, aligned in columns.
func printTable[T any](w io.Writer, header string, items []T, line func(T) string) {
	tw := table(w)
	fmt.Fprintln(tw, header)
	for _, x := range items {
		fmt.Fprintln(tw, line(x))
	}
	tw.Flush()
}

// listHeading prints the first line of a market list, n items at height, and reports whether
// a table of them follows.
func listHeading(w io.Writer, n int, one, many string, height int64, trunc bool) bool {
	fmt.Fprintf(w, "%s at height %d%s\n", count(n, one, many), height, truncated(trunc))
	if n == 0 {
		return false
	}
	fmt.Fprintln(w)
	return true
}

// fields prints label/value lines aligned on the values.
func fields(w io.Writer, kv ...string) {
	tw := table(w)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(tw, "%s\t%s\n", kv[i], kv[i+1])
	}
	tw.Flush()
}

func printStatus(w io.Writer, v any) {
	s := v.(*ipledger.NodeStatus)
	kv := []string{
		"chain", s.ChainID,
		"height", fmt.Sprintf("%d at %s", s.Height, rfc3339(s.Time)),
		"app hash", s.AppHash,
		"node id", s.NodeID,
		"catching up", yesNo(s.CatchingUp),
		"peers", strconv.Itoa(s.Peers),
		"log size", strconv.FormatUint(s.LogSize, 10),
		"mempool", strconv.Itoa(s.MempoolSize),
		"disk free", byteSize(s.DiskFree),
	}
	if s.Halted {
		kv = append(kv, "halted", s.HaltReason)
	}
	if s.Refusing != "" {
		kv = append(kv, "refusing", s.Refusing)
	}
	if v := s.VRPs; v != nil {
		kv = append(kv, "vrps", count(v.Served, "VRP", "VRPs")+", "+count(v.RouterKeys, "router key", "router keys")+", "+
			count(v.ASPAs, "ASPA", "ASPAs")+" served")
		if v.File != "" {
			kv = append(kv, "vrps file", fmt.Sprintf("%s: %d entries served, %d dropped as expired, read %s",
				v.File, v.FileServed, v.DroppedExpired, rfc3339(v.FileRead)))
		}
		if v.Error != "" {
			kv = append(kv, "vrps error", v.Error)
		}
	}
	fields(w, kv...)
	fmt.Fprintf(w, "\n%s:\n", count(len(s.Validators), "validator", "validators"))
	printTable(w, "  ADDRESS\tPOWER\tPUBLIC KEY", s.Validators, func(val ipledger.Validator) string {
		return fmt.Sprintf("  %s\t%d\t%s", val.Address, val.Power, val.PubKey)
	})
}

// byteSize formats n bytes in binary units, as the node's flags take them.
func byteSize(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

func printBlock(w io.Writer, v any) {
	b := v.(*ipledger.BlockRecord)
	fields(w,
		"height", strconv.FormatInt(b.Height, 10),
		"time", rfc3339(b.Time),
		"app hash", fmt.Sprintf("%X", b.AppHash),
		"state root", fmt.Sprintf("%X", b.StateRoot),
		"log root", fmt.Sprintf("%X", b.LogRoot),
		"log size", strconv.FormatUint(b.LogSize, 10),
	)
	fmt.Fprintf(w, "\n%s", count(len(b.Txs), "transaction", "transactions"))
	if len(b.Txs) > 0 {
		fmt.Fprintln(w, ":")
		printTable(w, "  INDEX\tHASH\tKIND\tRESULT\tTOUCHED", b.Txs, func(x ipledger.TxRecord) string {
			return fmt.Sprintf("  %d\t%s\t%s\t%s\t%s", x.Index, x.Hash, dash(x.Kind), result(x.Code, x.Log), dash(strings.Join(x.Touched, " ")))
		})
	} else {
		fmt.Fprintln(w)
	}
	if len(b.Events) > 0 {
		fmt.Fprintf(w, "\n%s:\n", count(len(b.Events), "event", "events"))
		printTable(w, "  KIND\tOBJECT\tTOUCHED", b.Events, func(ev ipledger.Event) string {
			return fmt.Sprintf("  %s\t%s\t%s", ev.Kind, ev.Ref, dash(strings.Join(ev.Touched, " ")))
		})
	}
}

// result names a result code, with the rejection's message.
func result(c ipledger.Code, log string) string {
	if c == ipledger.CodeOK || log == "" {
		return c.String()
	}
	return c.String() + ": " + log
}

func printTx(w io.Writer, v any) {
	t := v.(*apitypes.TxInfo)
	var signers []string
	for _, s := range t.Signers {
		signers = append(signers, s.Org+" "+s.Key.String())
	}
	expiry := "none"
	if t.Expiry != 0 {
		expiry = "height " + strconv.FormatInt(t.Expiry, 10)
	}
	fields(w,
		"hash", t.Hash.String(),
		"committed", fmt.Sprintf("height %d, index %d, at %s", t.Height, t.Index, rfc3339(t.Time)),
		"result", result(t.Code, t.Log),
		"kind", dash(t.Kind),
		"chain", dash(t.ChainID),
		"sequence", strconv.FormatUint(t.Sequence, 10),
		"expiry", expiry,
		"signers", dash(strings.Join(signers, ", ")),
		"touched", dash(strings.Join(t.Touched, " ")),
		"size", fmt.Sprintf("%d bytes", t.Size),
	)
	switch {
	case len(t.Body) > 0:
		var buf bytes.Buffer
		if json.Indent(&buf, t.Body, "  ", "  ") == nil {
			fmt.Fprintf(w, "body:\n  %s\n", ipledger.EscapeJSON(buf.Bytes()))
		} else {
			fmt.Fprintf(w, "body:\n  %s\n", termText(string(t.Body)))
		}
	case len(t.BodyRaw) > 0:
		fmt.Fprintf(w, "body (not JSON): %s\n", termText(string(t.BodyRaw)))
	}
}

func printBalance(w io.Writer, v any) {
	b := v.(*apitypes.BalanceInfo)
	fmt.Fprintf(w, "%s holds %d credits at height %d\n", b.Org, b.Balance, b.Height)
	if b.Held > 0 {
		fmt.Fprintf(w, "%d of them held by bids and pending purchases\n", b.Held)
	}
}

func printLease(w io.Writer, v any) {
	l := v.(*apitypes.LeaseInfo)
	state := string(l.State)
	switch {
	case l.State == ipledger.LeaseGrace:
		state += ", ends unpaid at " + unixTime(l.GraceUntil, "-")
	case l.State == ipledger.LeaseEnded:
		state += " at " + unixTime(l.Ended, "-")
		if l.EndReason != "" {
			state += " (" + l.EndReason + ")"
		}
	case l.Terminating:
		state += ", terminating at the end of its term"
	}
	renew := "no"
	if l.Renewable {
		renew = "yes"
	}
	fmt.Fprintf(w, "lease %d at height %d\n", l.ID, l.Height)
	fields(w,
		"resource", l.Resource.String(),
		"lessor", l.Lessor,
		"lessee", l.Lessee,
		"asn", "AS"+strconv.FormatUint(uint64(l.ASN), 10),
		"state", state,
		"offer", strconv.FormatUint(l.Offer, 10),
		"holding", holdingHandle(l.Holding),
		"price", fmt.Sprintf("%d credits per %s", l.PricePerPeriod, period(l.Period)),
		"term", fmt.Sprintf("%d periods (%d to %d), %d paid", l.Periods, l.MinPeriods, l.MaxPeriods, l.Paid),
		"renewable", renew,
		"start", unixTime(l.Start, "-"),
		"end", unixTime(l.End, "-"),
		"due", unixTime(l.Due, "-"),
	)
	printHistory(w, l.History, l.HistoryNext)
}

// printHistory prints the transactions that touched an object, with the cursor of the
// rest when the list is truncated.
func printHistory(w io.Writer, hist []apitypes.HistoryItem, next string) {
	if len(hist) == 0 {
		return
	}
	fmt.Fprintln(w, "\nhistory:")
	tw := table(w)
	for _, x := range hist {
		fmt.Fprintf(tw, "  %d/%d\t%s\t%s\t%s\t%s\n", x.Height, x.Index, rfc3339(x.Time), dash(x.Kind), x.CodeName, x.Hash)
	}
	tw.Flush()
	if next != "" {
		fmt.Fprintf(w, "  more: --history-after %s\n", next)
	}
}

func printLeases(w io.Writer, v any) {
	l := v.(*apitypes.LeaseList)
	if !listHeading(w, len(l.Leases), "lease", "leases", l.Height, l.Truncated) {
		return
	}
	printTable(w, "ID\tRESOURCE\tLESSOR\tLESSEE\tASN\tPRICE\tPERIOD\tPAID\tSTART\tEND\tSTATE", l.Leases, func(x *ipledger.Lease) string {
		return fmt.Sprintf("%d\t%s\t%s\t%s\tAS%d\t%d\t%s\t%d/%d\t%s\t%s\t%s", x.ID, x.Resource, x.Lessor, x.Lessee, x.ASN,
			x.PricePerPeriod, period(x.Period), x.Paid, x.Periods, unixTime(x.Start, "-"), unixTime(x.End(), "-"), x.State)
	})
}

func printOffers(w io.Writer, v any) {
	l := v.(*apitypes.LeaseList)
	if !listHeading(w, len(l.Offers), "offer", "offers", l.Height, l.Truncated) {
		return
	}
	printTable(w, "ID\tRESOURCE\tLESSOR\tPRICE\tPERIOD\tPERIODS\tRENEWABLE\tCREATED", l.Offers, func(x *ipledger.Offer) string {
		return fmt.Sprintf("%d\t%s\t%s\t%d\t%s\t%d-%d\t%s\t%s", x.ID, x.Resource, x.Lessor, x.Price, period(x.Period),
			x.MinPeriods, x.MaxPeriods, yesNo(x.Renewable), rfc3339(x.Created))
	})
}

func printRoutes(w io.Writer, v any) {
	l := v.(*apitypes.RouteList)
	if !listHeading(w, len(l.Routes), "route authorisation", "route authorisations", l.Height, l.Truncated) {
		return
	}
	printTable(w, "ID\tPREFIX\tMAX LENGTH\tASN\tHOLDER\tIN FORCE\tEXPIRES\tLEASE\tCREATED", l.Routes, func(r apitypes.RouteInfo) string {
		lease := "-"
		if r.Lease != 0 {
			lease = strconv.FormatUint(r.Lease, 10)
		}
		return fmt.Sprintf("%d\t%s\t%d\tAS%d\t%s\t%s\t%s\t%s\t%s", r.ID, r.Prefix, r.MaxLength, r.ASN, r.Holder,
			yesNo(r.InForce), unixTime(r.Expires, "never"), lease, rfc3339(r.Created))
	})
}

// truncated is the note of a list that stops at the API's cap.
func truncated(t bool) string {
	if t {
		return fmt.Sprintf(" (the first %d; narrow it with --org)", apitypes.MaxMarketList)
	}
	return ""
}

// holdingHandle is the handle of holding id, "-" for none.
func holdingHandle(id uint64) string {
	if id == 0 {
		return "-"
	}
	return ipledger.HoldingHandle(id)
}

// count writes n with the noun's singular or plural.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
