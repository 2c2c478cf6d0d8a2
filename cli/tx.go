package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/httpapi"
)

// txFlags are shared by every tx subcommand.
type txFlags struct {
	as, key             string
	cosigner, coKey     string
	node                string
	sequence            uint64
	expiry              int64
	out                 string
	noWait              bool
	resource, org, to   string
	status, registered  string
	name, country       string
	abuse, handle, from string
	pubkeys, add, rm    []string
}

func (f *txFlags) common(fs *pflag.FlagSet) {
	fs.StringVar(&f.as, "as", "", "organisation signing first (its sequence is the replay guard)")
	fs.StringVar(&f.key, "key", "", "key file name in HOME/keys for --as (default: the --as handle)")
	fs.StringVar(&f.cosigner, "cosigner", "", "second signing organisation, when its key is in this home")
	fs.StringVar(&f.coKey, "cosigner-key", "", "key file name for --cosigner (default: the --cosigner handle)")
	fs.StringVar(&f.node, "node", "http://"+defaultHTTP, "node HTTP API base URL")
	fs.Uint64Var(&f.sequence, "sequence", 0, "sequence number (default: the next one, asked of the node)")
	fs.Int64Var(&f.expiry, "expiry", 0, "last height at which the transaction may commit (0: never expires)")
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
		fs.StringVar(&f.status, "status", status, "status, e.g. \"ALLOCATED PA\", \"ASSIGNED PI\", \"ASSIGNED PA\", \"SUB-ALLOCATED PA\"")
		fs.StringVar(&f.country, "country", "", "ISO 3166 country code")
		fs.StringVar(&f.registered, "registered", "", "original registration date YYYY-MM-DD (default: the block's)")
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
				fs.StringVar(&f.name, "name", "", "organisation name")
				fs.StringVar(&f.country, "country", "", "ISO 3166 country code")
				fs.StringVar(&f.abuse, "abuse-mailbox", "", "abuse contact e-mail")
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
				fs.StringVar(&f.name, "name", "", "new name")
				fs.StringVar(&f.country, "country", "", "new country")
				fs.StringVar(&f.abuse, "abuse-mailbox", "", "new abuse contact")
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
	}
	for _, s := range specs {
		f := &txFlags{}
		sub := &cobra.Command{
			Use:   s.kind.String(),
			Short: s.short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
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
	cl := &httpapi.Client{Base: f.node}
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
	tx, err := ipledger.BuildTx(st.ChainID, kind, seq, f.expiry, body, signers...)
	if err != nil {
		return err
	}
	if f.out != "" {
		if err := os.WriteFile(f.out, tx, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s (%s, sequence %d, signed by %d); add signatures with: ipledger tx sign %s --as ORG\n", f.out, kind, seq, len(signers), f.out)
		return nil
	}
	return send(ctx, e, cl, tx, !f.noWait)
}

func send(ctx context.Context, e *env, cl *httpapi.Client, tx []byte, wait bool) error {
	res, err := cl.Submit(ctx, tx, wait)
	if err != nil {
		return userError(err)
	}
	if !res.Committed() {
		fmt.Fprintf(e.stdout, "accepted %s (not yet committed)\n", res.Hash)
		return nil
	}
	if res.Code != ipledger.CodeOK {
		fmt.Fprintf(e.stdout, "committed %s at height %d, rejected: %s: %s\n", res.Hash, res.Height, res.Code, res.Log)
		return &exitError{code: 2}
	}
	fmt.Fprintf(e.stdout, "committed %s at height %d\n", res.Hash, res.Height)
	return nil
}

func txSignCmd(e *env) *cobra.Command {
	var as, key string
	c := &cobra.Command{
		Use:   "sign FILE",
		Short: "Add a signature to a transaction file written with --out",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := e.homeDir()
			if err != nil {
				return err
			}
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
			return nil
		},
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
			return send(cmd.Context(), e, &httpapi.Client{Base: node}, b, !noWait)
		},
	}
	c.Flags().StringVar(&node, "node", "http://"+defaultHTTP, "node HTTP API base URL")
	c.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the commit")
	return c
}
