package cli

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ledger"
)

// txFlags are shared by every tx subcommand.
type txFlags struct {
	as, key             string
	cosigner, coKey     string
	node                string
	sequence            uint64
	expiry              int64
	expiresIn           time.Duration
	expiresInSet        bool // --expires-in was given
	out                 string
	noWait              bool
	resource, org, to   string
	status, registered  string
	name, country       string
	abuse, handle, from string
	pubkeys, add, rm    []string
	// Leasing kinds.
	amount, price          uint64
	id                     uint64
	asn                    uint32
	maxLength, periods     int
	minPeriods, maxPeriods int
	bondPeriods            int
	period, expires        string
	renewable              bool
	region, city           string
	validatorKey           string
	power                  int64
}

func (f *txFlags) common(fs *pflag.FlagSet) {
	fs.StringVar(&f.as, "as", "", "organisation signing first (its sequence is the replay guard)")
	fs.StringVar(&f.key, "key", "", "key file name in HOME/keys for --as (default: the --as handle)")
	fs.StringVar(&f.cosigner, "cosigner", "", "second signing organisation, when its key is in this home")
	fs.StringVar(&f.coKey, "cosigner-key", "", "key file name for --cosigner (default: the --cosigner handle)")
	fs.StringVar(&f.node, "node", "http://"+defaultHTTP, "node HTTP API base URL")
	fs.Uint64Var(&f.sequence, "sequence", 0, "sequence number (default: the next one, asked of the node)")
	fs.Int64Var(&f.expiry, "expiry", 0, "last height at which the transaction may commit (0: no limit by height)")
	fs.DurationVar(&f.expiresIn, "expires-in", 0, "how long after signing the transaction may commit, by block time (0: no limit by time; default 1h, or 168h with --out)")
	fs.StringVar(&f.out, "out", "", "write the signed transaction to this file instead of submitting it (for a co-signer: ipledger tx sign)")
	fs.BoolVar(&f.noWait, "no-wait", false, "return after the mempool accepts it, without waiting for the commit")
}

func txCmd(e *env) *cobra.Command {
	c := &cobra.Command{Use: "tx", Short: "Build, sign and submit transactions"}
	type kindSpec struct {
		kind  ipledger.Kind
		short string
		flags func(fs *pflag.FlagSet, f *txFlags)
		body  func(f *txFlags) (any, error)
	}
	res := func(fs *pflag.FlagSet, f *txFlags) {
		fs.StringVar(&f.resource, "resource", "", "prefix, address range or AS number(s), e.g. 193.0.0.0/16, 10.0.0.0-10.0.2.255, AS64496")
	}
	item := func(fs *pflag.FlagSet, f *txFlags, status string) {
		res(fs, f)
		fs.StringVar(&f.org, "org", "", "receiving organisation")
		fs.StringVar(&f.status, "status", status, "status: ALLOCATED, ASSIGNED, LEGACY or RIPE's finer words (\"ALLOCATED PA\", \"ASSIGNED PI\"; \"ASSIGNED PA\", \"SUB-ALLOCATED PA\" to assign); a registry marks its own free pool space AVAILABLE or RESERVED with --org itself")
		fs.StringVar(&f.country, "country", "", "ISO 3166 country code")
		fs.StringVar(&f.registered, "registered", "", "original registration date YYYY-MM-DD (default: the block's)")
	}
	to := func(fs *pflag.FlagSet, f *txFlags) {
		fs.StringVar(&f.to, "to", "", "receiving organisation")
	}
	amount := func(fs *pflag.FlagSet, f *txFlags) {
		fs.Uint64Var(&f.amount, "amount", 0, "settlement credits")
	}
	// contact is an organisation's contact data; what is "" when registering it, "new " when
	// updating it.
	contact := func(fs *pflag.FlagSet, f *txFlags, what string) {
		fs.StringVar(&f.name, "name", "", what+"organisation name")
		fs.StringVar(&f.country, "country", "", what+"ISO 3166 country code")
		fs.StringVar(&f.abuse, "abuse-mailbox", "", what+"abuse contact e-mail")
	}
	id := func(fs *pflag.FlagSet, f *txFlags, what string) {
		fs.Uint64Var(&f.id, "id", 0, what)
	}
	parseRes := func(f *txFlags) (ipledger.Resource, error) {
		if f.resource == "" {
			return ipledger.Resource{}, fmt.Errorf("--resource is required")
		}
		return ipledger.ParseResource(f.resource)
	}
	allocItems := func(f *txFlags) ([]ipledger.AllocateItem, error) {
		r, err := parseRes(f)
		if err != nil {
			return nil, err
		}
		return []ipledger.AllocateItem{{Resource: r, Org: f.org, Status: ipledger.Status(f.status), Country: f.country, Registered: f.registered}}, nil
	}
	keysOf := func(ss []string) ([]ipledger.PublicKey, error) {
		var out []ipledger.PublicKey
		for _, s := range ss {
			k, err := ipledger.ParsePublicKey(s)
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
		return out, nil
	}
	specs := []kindSpec{
		{ipledger.KindRegisterOrg, "Register an organisation (signed by a registry)",
			func(fs *pflag.FlagSet, f *txFlags) {
				fs.StringVar(&f.handle, "handle", "", "organisation handle, e.g. ORG-EXAMPLE1")
				contact(fs, f, "")
				fs.StringSliceVar(&f.pubkeys, "pubkey", nil, "public key(s) of the organisation (hex; see ipledger key show)")
			},
			func(f *txFlags) (any, error) {
				ks, err := keysOf(f.pubkeys)
				return ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: f.handle, Name: f.name, Country: f.country, AbuseMailbox: f.abuse, Keys: ks}}}, err
			}},
		{ipledger.KindBindKey, "Bind a key to an organisation (signed by its registry)",
			func(fs *pflag.FlagSet, f *txFlags) {
				fs.StringVar(&f.org, "org", "", "organisation")
				fs.StringSliceVar(&f.pubkeys, "pubkey", nil, "public key (hex)")
			},
			func(f *txFlags) (any, error) {
				ks, err := keysOf(f.pubkeys)
				if err == nil && len(ks) != 1 {
					err = fmt.Errorf("give exactly one --pubkey")
				}
				if err != nil {
					return nil, err
				}
				return ipledger.BindKeyBody{Org: f.org, Key: ks[0]}, nil
			}},
		{ipledger.KindRotateKeys, "Add and remove keys of the signing organisation",
			func(fs *pflag.FlagSet, f *txFlags) {
				fs.StringSliceVar(&f.add, "add", nil, "public keys to add (hex)")
				fs.StringSliceVar(&f.rm, "remove", nil, "public keys to remove (hex)")
			},
			func(f *txFlags) (any, error) {
				add, err := keysOf(f.add)
				if err != nil {
					return nil, err
				}
				rm, err := keysOf(f.rm)
				return ipledger.RotateKeysBody{Org: f.as, Add: add, Remove: rm}, err
			}},
		{ipledger.KindUpdateOrg, "Update an organisation's contact data (by itself or its registry)",
			func(fs *pflag.FlagSet, f *txFlags) {
				fs.StringVar(&f.org, "org", "", "organisation (default: --as)")
				contact(fs, f, "new ")
			},
			func(f *txFlags) (any, error) {
				org := f.org
				if org == "" {
					org = f.as
				}
				return ipledger.UpdateOrgBody{Org: org, Name: f.name, Country: f.country, AbuseMailbox: f.abuse}, nil
			}},
		{ipledger.KindRegistryTransfer, "Move pool space between registries (--as FROM --cosigner TO)",
			func(fs *pflag.FlagSet, f *txFlags) {
				res(fs, f)
				fs.StringVar(&f.from, "from", "", "registry giving the space (default: --as)")
				fs.StringVar(&f.to, "to", "", "registry receiving it (default: --cosigner)")
			},
			func(f *txFlags) (any, error) {
				r, err := parseRes(f)
				from, to := f.from, f.to
				if from == "" {
					from = f.as
				}
				if to == "" {
					to = f.cosigner
				}
				return ipledger.RegistryTransferBody{Items: []ipledger.RegistryTransferItem{{Resource: r, From: from, To: to}}}, err
			}},
		{ipledger.KindAllocate, "Allocate space from the signing registry's pool",
			func(fs *pflag.FlagSet, f *txFlags) { item(fs, f, string(ipledger.StatusAllocatedPA)) },
			func(f *txFlags) (any, error) {
				items, err := allocItems(f)
				return ipledger.AllocateBody{Items: items}, err
			}},
		{ipledger.KindAssign, "Assign or sub-allocate part of a holding of the signer",
			func(fs *pflag.FlagSet, f *txFlags) { item(fs, f, string(ipledger.StatusAssignedPA)) },
			func(f *txFlags) (any, error) {
				items, err := allocItems(f)
				return ipledger.AssignBody{Items: items}, err
			}},
		{ipledger.KindTransfer, "Transfer a holding or part of it (--as HOLDER, recipient signs second)",
			func(fs *pflag.FlagSet, f *txFlags) {
				res(fs, f)
				fs.StringVar(&f.to, "to", "", "recipient organisation (default: --cosigner)")
			},
			func(f *txFlags) (any, error) {
				r, err := parseRes(f)
				to := f.to
				if to == "" {
					to = f.cosigner
				}
				return ipledger.TransferBody{Resource: r, To: to}, err
			}},
		{ipledger.KindReturn, "Return a holding or part of it to its parent",
			func(fs *pflag.FlagSet, f *txFlags) { res(fs, f) },
			func(f *txFlags) (any, error) {
				r, err := parseRes(f)
				return ipledger.ReturnBody{Resource: r}, err
			}},
		{ipledger.KindMint, "Mint settlement credits to an organisation (--as a settlement agent)",
			func(fs *pflag.FlagSet, f *txFlags) { to(fs, f); amount(fs, f) },
			func(f *txFlags) (any, error) { return ipledger.MintBody{To: f.to, Amount: f.amount}, nil }},
		{ipledger.KindBurn, "Burn settlement credits from the agent's own balance (--as a settlement agent)",
			func(fs *pflag.FlagSet, f *txFlags) { amount(fs, f) },
			func(f *txFlags) (any, error) { return ipledger.BurnBody{Amount: f.amount}, nil }},
		{ipledger.KindPay, "Pay settlement credits to another organisation",
			func(fs *pflag.FlagSet, f *txFlags) { to(fs, f); amount(fs, f) },
			func(f *txFlags) (any, error) { return ipledger.PayBody{To: f.to, Amount: f.amount}, nil }},
		{ipledger.KindAuthorise, "Authorise an AS to originate a prefix you hold (a route origin authorisation)",
			func(fs *pflag.FlagSet, f *txFlags) {
				res(fs, f)
				fs.IntVar(&f.maxLength, "max-length", -1, "longest prefix the AS may announce (default: the prefix's own length)")
				fs.Uint32Var(&f.asn, "asn", 0, "origin AS number (0 authorises nobody, RFC 6483)")
				fs.StringVar(&f.expires, "expires", "", "expiry as RFC 3339 time or Unix seconds (default: none)")
			},
			func(f *txFlags) (any, error) {
				p, err := netip.ParsePrefix(f.resource)
				if err != nil {
					return nil, fmt.Errorf("--resource: %w", err)
				}
				exp, err := parseTime(f.expires)
				if err != nil {
					return nil, fmt.Errorf("--expires: %w", err)
				}
				ml := f.maxLength
				if ml < 0 {
					ml = p.Bits()
				}
				return ipledger.AuthoriseBody{Prefix: p, MaxLength: ml, ASN: f.asn, Expires: exp}, nil
			}},
		{ipledger.KindWithdrawAuth, "Withdraw a route authorisation of yours",
			func(fs *pflag.FlagSet, f *txFlags) { id(fs, f, "route authorisation id") },
			func(f *txFlags) (any, error) { return ipledger.WithdrawAuthBody{ID: f.id}, nil }},
		{ipledger.KindOffer, "Offer a block you hold for lease",
			func(fs *pflag.FlagSet, f *txFlags) {
				res(fs, f)
				fs.Uint64Var(&f.price, "price", 0, "credits per period: per address for IPv4, per block for IPv6")
				fs.StringVar(&f.period, "period", "720h", "period length (Go duration, e.g. 720h for 30 days)")
				fs.IntVar(&f.minPeriods, "min-periods", 1, "shortest term, in periods")
				fs.IntVar(&f.maxPeriods, "max-periods", 12, "longest term, in periods")
				fs.BoolVar(&f.renewable, "renewable", false, "the lessee may renew")
				fs.IntVar(&f.bondPeriods, "bond-periods", 0, "a lessee bond of this many periods of rent, held for the lease (forfeited if an abuse decision goes against the lessee)")
			},
			func(f *txFlags) (any, error) {
				r, err := parseRes(f)
				if err != nil {
					return nil, err
				}
				d, err := time.ParseDuration(f.period)
				if err != nil || d < time.Second || d%time.Second != 0 {
					return nil, fmt.Errorf("--period %q: want a whole number of seconds, like 720h", f.period)
				}
				return ipledger.OfferBody{Resource: r, Price: f.price, Period: int64(d / time.Second), MinPeriods: f.minPeriods, MaxPeriods: f.maxPeriods, Renewable: f.renewable, BondPeriods: f.bondPeriods}, nil
			}},
		{ipledger.KindWithdrawOffer, "Withdraw an untaken lease offer of yours",
			func(fs *pflag.FlagSet, f *txFlags) { id(fs, f, "offer id") },
			func(f *txFlags) (any, error) { return ipledger.WithdrawOfferBody{Offer: f.id}, nil }},
		{ipledger.KindLease, "Take a lease offer (pays the first period)",
			func(fs *pflag.FlagSet, f *txFlags) {
				id(fs, f, "offer id")
				fs.Uint32Var(&f.asn, "asn", 0, "your AS number, authorised to originate the block")
				fs.IntVar(&f.periods, "periods", 1, "term, in periods")
			},
			func(f *txFlags) (any, error) {
				return ipledger.LeaseBody{Offer: f.id, ASN: f.asn, Periods: f.periods}, nil
			}},
		{ipledger.KindRenew, "Extend a renewable lease of yours",
			func(fs *pflag.FlagSet, f *txFlags) {
				id(fs, f, "lease id")
				fs.IntVar(&f.periods, "periods", 1, "periods to add")
			},
			func(f *txFlags) (any, error) { return ipledger.RenewBody{Lease: f.id, Periods: f.periods}, nil }},
		{ipledger.KindTerminate, "End a lease of yours at the end of its paid periods (not before its minimum term)",
			func(fs *pflag.FlagSet, f *txFlags) { id(fs, f, "lease id") },
			func(f *txFlags) (any, error) { return ipledger.TerminateBody{Lease: f.id}, nil }},
		{ipledger.KindSetValidator, "Add a validator, change its power or operator, or (--power 0) remove it; operators of more than 2/3 of the voting power sign (--out, then tx sign)",
			func(fs *pflag.FlagSet, f *txFlags) {
				fs.StringVar(&f.validatorKey, "pub-key", "", "the validator's ed25519 consensus key, 64 hex digits")
				fs.Int64Var(&f.power, "power", 10, "voting power (0 removes)")
				fs.StringVar(&f.org, "operator", "", "the organisation that operates it (default: unchanged)")
			},
			func(f *txFlags) (any, error) {
				var k ledger.HexKey
				if err := k.UnmarshalText([]byte(f.validatorKey)); err != nil {
					return nil, fmt.Errorf("--pub-key: %w", err)
				}
				return ledger.SetValidatorBody{PubKey: k, Power: f.power, Operator: f.org}, nil
			}},
		{ipledger.KindSetGeo, "Publish (or, without --country, remove) the geolocation of a block you hold (RFC 8805)",
			func(fs *pflag.FlagSet, f *txFlags) {
				res(fs, f)
				fs.StringVar(&f.country, "country", "", "ISO 3166-1 alpha-2 code")
				fs.StringVar(&f.region, "region", "", "ISO 3166-2 region, e.g. NL-NH")
				fs.StringVar(&f.city, "city", "", "city name")
			},
			func(f *txFlags) (any, error) {
				r, err := parseRes(f)
				return ipledger.SetGeoBody{Resource: r, Country: f.country, Region: f.region, City: f.city}, err
			}},
	}
	for _, s := range specs {
		f := &txFlags{}
		sub := &cobra.Command{
			Use:   s.kind.String(),
			Short: s.short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				f.expiresInSet = cmd.Flags().Changed("expires-in")
				body, err := s.body(f)
				if err != nil {
					return err
				}
				return buildAndSend(cmd.Context(), e, f, s.kind, body)
			},
		}
		f.common(sub.Flags())
		s.flags(sub.Flags(), f)
		c.AddCommand(sub)
	}
	c.AddCommand(txSignCmd(e), txSubmitCmd(e))
	c.AddCommand(txMarketCmds(e)...)
	c.AddCommand(txAbuseCmds(e)...)
	return c
}

// buildAndSend signs a transaction with --as (and --cosigner when its key is here) and
// submits it, or writes it to --out for a co-signer elsewhere.
func buildAndSend(ctx context.Context, e *env, f *txFlags, kind ipledger.Kind, body any) error {
	if f.as == "" {
		return fmt.Errorf("--as is required: the organisation signing first")
	}
	home, err := e.homeDir()
	if err != nil {
		return err
	}
	signers := []ipledger.Signer{}
	for _, s := range [][2]string{{f.as, f.key}, {f.cosigner, f.coKey}} {
		if s[0] == "" {
			continue
		}
		name := s[1]
		if name == "" {
			name = s[0]
		}
		k, err := loadKey(home, name)
		if err != nil {
			return err
		}
		signers = append(signers, ipledger.Signer{Org: s[0], Key: k})
	}
	cl := &client.Client{Base: f.node}
	st, err := cl.Status(ctx)
	if err != nil {
		return fmt.Errorf("node %s: %w", f.node, userError(err))
	}
	seq := f.sequence
	if seq == 0 {
		o, err := cl.Org(ctx, f.as)
		if err != nil {
			return fmt.Errorf("sequence of %s: %w", f.as, userError(err))
		}
		seq = o.Sequence + 1
	}
	// From the later of this machine's clock and the chain's last block time: a clock
	// running behind the chain's would otherwise sign a transaction expired at birth.
	now := time.Now()
	if st.Time.After(now) {
		now = st.Time
	}
	exp, err := f.expiryOf(now)
	if err != nil {
		return err
	}
	tx, err := ipledger.BuildTxExpiring(st.ChainID, kind, seq, exp, body, signers...)
	if err != nil {
		return err
	}
	if f.out != "" {
		if err := os.WriteFile(f.out, tx, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s (%s, sequence %d, signed by %d)\n", f.out, kind, seq, len(signers))
		if d, err := ipledger.DecodeTx(tx); err == nil {
			nextStep(e, f.out, d)
		}
		return nil
	}
	return send(ctx, e, cl, tx, !f.noWait)
}

// Default expiry times (--expires-in): a transaction submitted at once commits within the
// hour or never; one written for co-signers has a week to gather their signatures.
const (
	defaultExpiresIn    = time.Hour
	defaultOutExpiresIn = 7 * 24 * time.Hour
)

// expiryOf returns the transaction's expiry as of now: --expiry as the height and
// --expires-in (or its default) after now as the block time.
func (f *txFlags) expiryOf(now time.Time) (ipledger.Expiry, error) {
	if f.expiry < 0 || f.expiresIn < 0 {
		return ipledger.Expiry{}, fmt.Errorf("--expiry and --expires-in must not be negative")
	}
	d := f.expiresIn
	if !f.expiresInSet {
		d = defaultExpiresIn
		if f.out != "" {
			d = defaultOutExpiresIn
		}
	}
	exp := ipledger.Expiry{Height: f.expiry}
	if d > 0 {
		// Rounded up: the transaction never expires sooner than asked.
		exp.Time = now.Add(d + time.Second - 1).Unix()
	}
	return exp, nil
}

// exitNotCommitted is the exit code of a transaction the CLI waited for that it did not
// see committed: it may still commit, or never.
const exitNotCommitted = 3

// send submits tx and, with wait, reports its commit. It never reports success for a
// transaction it waited for and did not see committed: that exits with code 3 (a
// rejection committed exits with 2).
func send(ctx context.Context, e *env, cl *client.Client, tx []byte, wait bool) error {
	hash := ipledger.HashTx(tx)
	res, err := cl.Submit(ctx, tx, wait)
	if err != nil {
		var le *ipledger.Error
		if !wait || errors.As(err, &le) && le.Code != ipledger.CodeInternal {
			return userError(err) // refused: it will not commit
		}
		// The answer was lost, or the node failed while waiting: it may have taken it.
		fmt.Fprintf(e.stderr, "ipledger: %v\n", userError(err))
		notCommitted(e, cl, hash)
		return &exitError{code: exitNotCommitted}
	}
	if !res.Committed() {
		if !wait {
			fmt.Fprintf(e.stdout, "accepted %s (not committed yet; see: ipledger query tx %s)\n", res.Hash, res.Hash)
			return nil
		}
		notCommitted(e, cl, res.Hash)
		return &exitError{code: exitNotCommitted}
	}
	if res.Code != ipledger.CodeOK {
		fmt.Fprintf(e.stdout, "committed %s at height %d, rejected: %s: %s\n", res.Hash, res.Height, res.Code, res.Log)
		return &exitError{code: 2}
	}
	fmt.Fprintf(e.stdout, "committed %s at height %d\n", res.Hash, res.Height)
	return nil
}

// notCommitted says that the transaction hash is not known to have committed, and how to
// find out.
func notCommitted(e *env, cl *client.Client, hash ipledger.Hash) {
	fmt.Fprintf(e.stderr, "ipledger: transaction %s is not known to have committed: the node accepted it, or may have, "+
		"but the wait for its commit ended first. It may still commit, until it expires, or never. "+
		"Check with: ipledger query tx %s --node %s\n", hash, hash, cl.Base)
}

func txSignCmd(e *env) *cobra.Command {
	var as, key string
	c := &cobra.Command{
		Use:   "sign FILE",
		Short: "Add a signature to a transaction file written with --out",
		Args:  cobra.ExactArgs(1),
		RunE: e.inHome(func(cmd *cobra.Command, args []string, home string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			tx, err := ipledger.DecodeTx(b)
			if err != nil {
				return userError(err)
			}
			if key == "" {
				key = as
			}
			k, err := loadKey(home, key)
			if err != nil {
				return err
			}
			sigs := append(tx.Signatures, k.Sign(as, tx.PayloadBytes))
			if err := os.WriteFile(args[0], ipledger.EncodeTx(tx.PayloadBytes, sigs), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "signed %s as %s (%d signatures)\n", args[0], as, len(sigs))
			tx.Signatures = sigs
			nextStep(e, args[0], tx)
			return nil
		}),
	}
	c.Flags().StringVar(&as, "as", "", "signing organisation")
	c.Flags().StringVar(&key, "key", "", "key file name (default: the --as handle)")
	c.MarkFlagRequired("as")
	return c
}

func txSubmitCmd(e *env) *cobra.Command {
	var node string
	var noWait bool
	c := &cobra.Command{
		Use:   "submit FILE",
		Short: "Submit a signed transaction file",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			return send(cmd.Context(), e, &client.Client{Base: node}, b, !noWait)
		},
	}
	c.Flags().StringVar(&node, "node", "http://"+defaultHTTP, "node HTTP API base URL")
	c.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the commit")
	return c
}

// parseTime reads an RFC 3339 time or Unix seconds; "" is 0 (none).
func parseTime(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("want RFC 3339 (2027-01-01T00:00:00Z) or Unix seconds: %w", err)
	}
	return t.Unix(), nil
}

// nextStep prints what to do with the transaction file after writing or signing it: the
// tx sign command of each organisation that still has to sign, or the tx submit command
// once every signer the kind needs has signed.
func nextStep(e *env, file string, tx *ipledger.Tx) {
	// A file from elsewhere may name any text as a signer: quoted for the shell and
	// escaped for the terminal, it can neither run nor act on anything when pasted or shown.
	q := shellWord(file)
	missing, known := missingSigners(tx)
	switch {
	case !known:
		fmt.Fprintf(e.stdout, "next: each organisation that must sign too runs: ipledger tx sign %s --as ORG; then: ipledger tx submit %s\n", q, q)
	case len(missing) == 0:
		fmt.Fprintf(e.stdout, "next: ipledger tx submit %s\n", q)
	default:
		for _, org := range missing {
			fmt.Fprintf(e.stdout, "next: ipledger tx sign %s --as %s\n", q, shellWord(org))
		}
		fmt.Fprintf(e.stdout, "then: ipledger tx submit %s\n", q)
	}
}

// missingSigners returns, in order, the organisations tx's kind needs as signers that
// have not signed it. known is false for a kind whose signers the body does not name
// (set-validator: operators of more than 2/3 of the voting power) or a body that does not
// decode; the node then decides.
func missingSigners(tx *ipledger.Tx) (missing []string, known bool) {
	var need []string
	switch tx.Kind {
	case ipledger.KindTransfer:
		var b ipledger.TransferBody
		if ipledger.DecodeBody(tx.Body, &b) != nil {
			return nil, false
		}
		need = []string{b.To}
	case ipledger.KindSwap:
		var b ipledger.SwapBody
		if ipledger.DecodeBody(tx.Body, &b) != nil {
			return nil, false
		}
		need = []string{b.Buyer}
	case ipledger.KindRegistryTransfer:
		var b ipledger.RegistryTransferBody
		if ipledger.DecodeBody(tx.Body, &b) != nil {
			return nil, false
		}
		for _, it := range b.Items {
			need = append(need, it.From, it.To)
		}
	case ipledger.KindSetValidator:
		return nil, false
	}
	signed := map[string]bool{}
	for _, s := range tx.Signatures {
		signed[s.Org] = true
	}
	for _, org := range need {
		if org != "" && !signed[org] {
			signed[org] = true
			missing = append(missing, org)
		}
	}
	return missing, true
}

// shellWord is shellQuote for the terminal: a word holding a character the terminal
// could act on (termText) is written with termText's escapes, which no shell runs.
func shellWord(s string) string {
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unsafeRune) {
		return termText(shellQuote(s))
	}
	return shellQuote(s)
}

// shellQuote returns s as one word for a POSIX shell: as it is when it holds only
// characters a shell leaves alone, else in single quotes.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@+,%", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
