package cli

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/stateproof"
	"github.com/ipledger/ipledger/wallet"
)

// defaultWalletListen is the wallet's default address: loopback, beside the node's 8080.
const defaultWalletListen = "127.0.0.1:8088"

// walletGenesisFile is where a home without a node's genesis pins the one it trusts.
const walletGenesisFile = "wallet-genesis.json"

func walletCmd(e *env) *cobra.Command {
	var node, listen, genesis, rpc string
	c := &cobra.Command{
		Use:   "wallet",
		Short: "Serve the registry's pages with actions signed by the --home keys, on loopback, to the browser that opens the URL it prints",
		Long: `Serves a local web wallet on --listen (a loopback address only). It reads --node's JSON
API, and before it asks you to sign it checks the state proofs of the objects an action
touches against the validators of the chain's genesis: --genesis FILE, else the --home
node's, else one fetched from --rpc on the first start and pinned in HOME/` + walletGenesisFile + `
(trust on first use). Every action shows the exact transaction to confirm; the keys in
HOME/keys never leave the home. Open the URL it prints: its token is good for this start
only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			home, err := e.homeDir()
			if err != nil {
				return err
			}
			cl := &client.Client{Base: node}
			trust, from, err := walletTrust(ctx, e, cl, home, genesis, rpc)
			if err != nil {
				return err
			}
			ln, err := wallet.Listen(listen)
			if err != nil {
				return err
			}
			log := e.logger()
			w, err := wallet.New(wallet.Options{Node: cl, Trust: trust, Keys: homeKeys{home}, Logger: log}, ln.Addr().String())
			if err != nil {
				ln.Close()
				return err
			}
			log.Info("wallet serving", "addr", ln.Addr().String(), "node", node, "chain", trust.ChainID, "trusted_from", from)
			fmt.Fprintf(e.stdout, "wallet for %s on chain %s (node %s); open:\n%s\n", home, trust.ChainID, node, w.URL())
			if err := w.Serve(ctx, ln); err != nil {
				return err
			}
			return nil
		},
	}
	c.Flags().StringVar(&node, "node", "http://"+defaultHTTP, "the node's HTTP API base URL (default: the local dev node)")
	c.Flags().StringVar(&listen, "listen", defaultWalletListen, "loopback address to serve the wallet on (127.0.0.1:PORT or [::1]:PORT)")
	c.Flags().StringVar(&genesis, "genesis", "", "genesis file whose validators the wallet trusts (default: the --home node's, else pinned on first use)")
	c.Flags().StringVar(&rpc, "rpc", defaultRPC, "CometBFT RPC address to fetch the genesis from on first use, when the home has none")
	return c
}

// walletTrust returns the validators the wallet checks proofs against and where they
// came from: --genesis, the home node's genesis, the genesis pinned in the home, or one
// fetched from rpc now and pinned (trust on first use).
func walletTrust(ctx context.Context, e *env, cl *client.Client, home, genesis, rpc string) (*stateproof.Trust, string, error) {
	pinned := filepath.Join(home, walletGenesisFile)
	for _, p := range []string{genesis, chain.GenesisPath(home), pinned} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			if p == genesis {
				return nil, "", fmt.Errorf("--genesis: %w", err)
			}
			continue
		}
		t, err := stateproof.TrustGenesisFile(p)
		return t, p, err
	}
	st, err := cl.Status(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("node %s: %w", cl.Base, userError(err))
	}
	raw, err := fetchGenesis(ctx, rpc)
	if err != nil {
		return nil, "", fmt.Errorf("the home has no genesis to trust, and fetching it from %s: %w (give --genesis FILE)", rpc, err)
	}
	doc, err := types.GenesisDocFromJSON(raw)
	if err != nil {
		return nil, "", fmt.Errorf("the genesis %s serves: %w", rpc, err)
	}
	if doc.ChainID != st.ChainID {
		return nil, "", fmt.Errorf("the genesis %s serves is of chain %s, the node %s runs chain %s", rpc, doc.ChainID, cl.Base, st.ChainID)
	}
	t, err := stateproof.TrustGenesis(doc)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, "", fmt.Errorf("wallet home: %w", err)
	}
	if err := os.WriteFile(pinned, raw, 0o600); err != nil {
		return nil, "", fmt.Errorf("pin genesis: %w", err)
	}
	fmt.Fprintf(e.stdout, "pinned the genesis of chain %s (sha256 %x), fetched from %s (trust on first use: compare it with another operator's, or give --genesis) in %s\n",
		doc.ChainID, sha256.Sum256(raw), rpc, pinned)
	return t, pinned, nil
}

// homeKeys is the wallet's Keyring over HOME/keys.
type homeKeys struct{ home string }

func (h homeKeys) Names() ([]string, error) { return listKeys(h.home) }
func (h homeKeys) Key(name string) (ipledger.PrivateKey, error) {
	if !keyNameRE.MatchString(name) {
		return ipledger.PrivateKey{}, fmt.Errorf("key name %q: use letters, digits, '.', '_' and '-'", name)
	}
	return loadKey(h.home, name)
}
func (h homeKeys) Create(name string) (ipledger.PublicKey, error) {
	k, err := createKey(h.home, name)
	return k.Public(), err
}
