package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/apitypes"
	"github.com/ipledger/ipledger/client"
)

// The abuse process on the command line (issue 18): `ipledger tx
// report|respond|decide|appeal` and `ipledger query case [ID]`.

// abuseFlags are the abuse kinds' own flags, beside txFlags's common ones.
type abuseFlags struct {
	resource, category, url string
	evidence, evidenceFile  string
	outcome                 string
	id                      uint64
	cure                    bool
}

// evidenceHash is --evidence (a hex SHA-256) or the SHA-256 of --evidence-file, which
// stays on this machine: only its hash goes on the ledger.
func (a *abuseFlags) evidenceHash() (string, error) {
	switch {
	case a.evidence != "" && a.evidenceFile != "":
		return "", errors.New("--evidence and --evidence-file: give one")
	case a.evidenceFile != "":
		b, err := os.ReadFile(a.evidenceFile)
		if err != nil {
			return "", fmt.Errorf("--evidence-file: %w", err)
		}
		h := sha256.Sum256(b)
		return hex.EncodeToString(h[:]), nil
	case a.evidence == "":
		return "", errors.New("--evidence HASH or --evidence-file FILE is required")
	}
	return a.evidence, nil
}

// txAbuseCmds returns the abuse process's tx subcommands.
func txAbuseCmds(e *env) []*cobra.Command {
	ev := func(fs *pflag.FlagSet, a *abuseFlags) {
		fs.StringVar(&a.evidence, "evidence", "", "the evidence's SHA-256, 64 hex digits")
		fs.StringVar(&a.evidenceFile, "evidence-file", "", "a file of evidence: its SHA-256 goes on the ledger, the file stays here")
	}
	caseID := func(fs *pflag.FlagSet, a *abuseFlags) { fs.Uint64Var(&a.id, "case", 0, "case id") }
	return []*cobra.Command{
		abuseTxCmd(e, ipledger.KindReport, "Report a block to the abuse process (your bond for the category is held until the case closes)",
			func(fs *pflag.FlagSet, a *abuseFlags) {
				fs.StringVar(&a.resource, "resource", "", "the block, a prefix, e.g. 193.0.1.0/24")
				fs.StringVar(&a.category, "category", "spam", "spam, malware, phishing, botnet, hijack, other (the chain's categories)")
				fs.StringVar(&a.url, "url", "", "where the evidence is (optional: evidence may carry personal data)")
				ev(fs, a)
			},
			func(a *abuseFlags, h string) (any, error) {
				if a.resource == "" {
					return nil, errors.New("--resource is required")
				}
				r, err := ipledger.ParseResource(a.resource)
				return ipledger.ReportBody{Resource: r, Category: a.category, Evidence: h, URL: a.url}, err
			}),
		abuseTxCmd(e, ipledger.KindRespond, "Answer a case on your block within its cure window: counter-evidence, or --cure",
			func(fs *pflag.FlagSet, a *abuseFlags) {
				caseID(fs, a)
				fs.BoolVar(&a.cure, "cure", false, "the evidence shows the abuse cured")
				ev(fs, a)
			},
			func(a *abuseFlags, h string) (any, error) {
				return ipledger.RespondBody{Case: a.id, Evidence: h, Cure: a.cure}, nil
			}),
		abuseTxCmd(e, ipledger.KindDecide, "Decide a case as the panel (or the block's registry): upheld, dismissed or baseless; on appeal, upheld or dismissed",
			func(fs *pflag.FlagSet, a *abuseFlags) {
				caseID(fs, a)
				fs.StringVar(&a.outcome, "outcome", "", "upheld, dismissed or baseless")
				ev(fs, a)
			},
			func(a *abuseFlags, h string) (any, error) {
				return ipledger.DecideBody{Case: a.id, Outcome: a.outcome, Evidence: h}, nil
			}),
		abuseTxCmd(e, ipledger.KindAppeal, "Appeal an upheld decision on your block within the appeal window",
			func(fs *pflag.FlagSet, a *abuseFlags) {
				caseID(fs, a)
				ev(fs, a)
			},
			func(a *abuseFlags, h string) (any, error) { return ipledger.AppealBody{Case: a.id, Evidence: h}, nil }),
	}
}

// abuseTxCmd is the subcommand of an abuse kind: its flags, the evidence hash, then the
// body, signed and sent as every tx subcommand is (buildAndSend).
func abuseTxCmd(e *env, kind ipledger.Kind, short string, flags func(*pflag.FlagSet, *abuseFlags), body func(*abuseFlags, string) (any, error)) *cobra.Command {
	f, a := &txFlags{}, &abuseFlags{}
	sub := &cobra.Command{
		Use: kind.String(), Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.expiresInSet = cmd.Flags().Changed("expires-in")
			h, err := a.evidenceHash()
			if err != nil {
				return err
			}
			b, err := body(a, h)
			if err != nil {
				return err
			}
			return buildAndSend(cmd.Context(), e, f, kind, b)
		},
	}
	f.common(sub.Flags())
	flags(sub.Flags(), a)
	return sub
}

// caseQueryCmd is `ipledger query case [ID]`: one case with its steps, or (without ID)
// the cases the filters pass.
func caseQueryCmd(run queryRun) *cobra.Command {
	var state, resource, org string
	var after uint64
	var limit int
	c := &cobra.Command{
		Use: "case [ID]", Short: "Abuse cases: one with its steps, or the list (--state, --resource, --org)", Args: cobra.MaximumNArgs(1),
	}
	list := run(func(ctx context.Context, cl *client.Client, _ string) (any, error) {
		q := url.Values{}
		set := func(k, v string) {
			if v != "" && v != "0" {
				q.Set(k, v)
			}
		}
		set("state", state)
		set("resource", resource)
		set("org", org)
		set("after", strconv.FormatUint(after, 10))
		set("limit", strconv.Itoa(limit))
		var out apitypes.CaseList
		return &out, cl.Get(ctx, "/v1/abuse/cases", q, &out)
	}, printCases)
	one := run(func(ctx context.Context, cl *client.Client, id string) (any, error) {
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return nil, fmt.Errorf("case %q: want an id", id)
		}
		var out apitypes.CaseAnswer
		return &out, cl.Get(ctx, "/v1/abuse/cases/"+id, nil, &out)
	}, printCase)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 1 {
			return one(cmd, args)
		}
		return list(cmd, args)
	}
	c.Flags().StringVar(&state, "state", "", "only cases in this state: notice, responded, pending, upheld, appealed, cured, dismissed, baseless, reversed, closed")
	c.Flags().StringVar(&resource, "resource", "", "only cases on blocks overlapping this one")
	c.Flags().StringVar(&org, "org", "", "only cases this organisation is holder, lessee or reporter of")
	c.Flags().Uint64Var(&after, "after", 0, "cases after this id (the next a truncated answer prints)")
	c.Flags().IntVar(&limit, "limit", 0, "at most this many (default 100, most 1000)")
	return c
}

func printCases(w io.Writer, v any) {
	l := v.(*apitypes.CaseList)
	if !listHeading(w, len(l.Cases), "case", "cases", l.Height, false) {
		return
	}
	printTable(w, "ID\tRESOURCE\tCATEGORY\tSTATE\tHOLDER\tLESSEE\tREPORTER\tOPENED\tCURE BY", l.Cases, func(c ipledger.Case) string {
		return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", c.ID, c.Resource, c.Category, c.State, c.Holder, dash(c.Lessee), c.Reporter,
			unixTime(c.Opened, "-"), unixTime(c.CureBy, "-"))
	})
	if l.Next != 0 {
		fmt.Fprintf(w, "more: --after %d\n", l.Next)
	}
}

func printCase(w io.Writer, v any) {
	a := v.(*apitypes.CaseAnswer)
	c := a.Case
	fmt.Fprintf(w, "case %d at height %d: %s, %s on %s\n", c.ID, a.Height, c.State, c.Category, c.Resource)
	fmt.Fprintf(w, "holder %s, registry %s, lessee %s (lease %d), reporter %s, bond %d\n", c.Holder, c.Registry, dash(c.Lessee), c.Lease, c.Reporter, c.Bond)
	fmt.Fprintf(w, "cure by %s, appeal by %s\n", unixTime(c.CureBy, "-"), unixTime(c.AppealBy, "-"))
	printTable(w, "HEIGHT\tTIME\tSTEP\tBY\tOUTCOME\tEVIDENCE\tNOTE", c.Steps, func(s ipledger.CaseStep) string {
		by := s.By
		if by == "" {
			by = "(block time)"
		}
		return fmt.Sprintf("%d\t%s\t%s\t%s\t%s\t%s\t%s", s.Height, unixTime(s.Time, "-"), s.Step, by, dash(s.Outcome), dash(s.Evidence), s.Note)
	})
}
