package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/iana"
	"github.com/ipledger/ipledger/ledger"
)

// TestnetFile is the name of the file testnet writes beside the node homes.
const TestnetFile = "testnet.json"

// Testnet describes a loopback network written by `ipledger testnet`: DIR/testnet.json.
type Testnet struct {
	ChainID string        `json:"chain_id"`
	Nodes   []TestnetNode `json:"nodes"`
}

// TestnetNode is one validator operator of a testnet and its listeners.
type TestnetNode struct {
	Name       string   `json:"name"`
	Home       string   `json:"home"`
	NodeID     string   `json:"node_id"`
	HTTP       string   `json:"http"`
	WHOIS      string   `json:"whois"`
	RTR        string   `json:"rtr"`
	P2P        string   `json:"p2p"`
	RPC        string   `json:"rpc"`
	Registries []string `json:"registries,omitempty"` // registry keys this operator holds
}

func testnetCmd(e *env) *cobra.Command {
	var n int
	var dir, chainID string
	c := &cobra.Command{
		Use:   "testnet",
		Short: "Create N validator operators on loopback in DIR/node0 … (with 5, one per RIR) and DIR/testnet.json",
		Long: `Creates one node home per validator with a shared genesis (IANA and the five RIRs,
equal voting power), persistent peers between all of them, and free loopback ports for
each node's HTTP, WHOIS, RTR, P2P and RPC listeners, recorded in its config and in
DIR/testnet.json. Registry keys are spread over the operators: with five validators each
RIR runs one node; node0 also holds IANA's key and the settlement agent's. Start node I with
  ipledger node --home DIR/nodeI`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tn, err := createTestnet(dir, chainID, n)
			if err != nil {
				return err
			}
			for _, nd := range tn.Nodes {
				fmt.Fprintf(e.stdout, "%s  %s  http %s  rpc %s  registries %s\n", nd.Name, nd.Home, nd.HTTP, nd.RPC, strings.Join(nd.Registries, ","))
			}
			fmt.Fprintf(e.stdout, "wrote %s; start each node with: ipledger node --home %s/nodeI\n", filepath.Join(dir, TestnetFile), dir)
			return nil
		},
	}
	c.Flags().IntVar(&n, "validators", 4, "number of validator operators (1 to 64)")
	c.Flags().StringVar(&dir, "dir", "ipledger-testnet", "directory for the node homes and testnet.json; must not hold a testnet already")
	c.Flags().StringVar(&chainID, "chain-id", "ipledger-testnet", "chain id")
	return c
}

// freePorts reserves n distinct loopback ports by listening on them together, then frees
// them for the nodes to take. They are drawn at random below 32768, where Linux's default
// ephemeral range starts: a port the kernel hands out for ":0" could be given again to an
// outgoing connection or to another program's listener before the node that owns it
// starts, and the node would then fail to bind.
func freePorts(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	out := make([]string, 0, n)
	for tries := 0; len(out) < n; tries++ {
		if tries == 100*n {
			return nil, fmt.Errorf("reserve %d ports: too many taken between 20000 and 32767", n)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12768)))
		if err != nil {
			continue // taken
		}
		lns = append(lns, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}

// createTestnet writes the homes, genesis and testnet.json of an n-validator network.
func createTestnet(dir, chainID string, n int) (*Testnet, error) {
	if n < 1 || n > 64 {
		return nil, fmt.Errorf("--validators %d: want 1 to 64", n)
	}
	if _, err := os.Stat(filepath.Join(dir, TestnetFile)); err == nil {
		return nil, fmt.Errorf("%s already holds a testnet", dir)
	}
	ports, err := freePorts(5 * n)
	if err != nil {
		return nil, err
	}
	tn := &Testnet{ChainID: chainID}
	var vals []chain.ValidatorSpec
	for i := range n {
		home, err := filepath.Abs(filepath.Join(dir, "node"+strconv.Itoa(i)))
		if err != nil {
			return nil, err
		}
		if homeExists(home) {
			return nil, fmt.Errorf("%s already holds a node", home)
		}
		pk, id, err := chain.InitHome(home)
		if err != nil {
			return nil, err
		}
		p := ports[5*i : 5*i+5]
		nd := TestnetNode{Name: "node" + strconv.Itoa(i), Home: home, NodeID: string(id),
			HTTP: p[0], WHOIS: p[1], RTR: p[2], P2P: p[3], RPC: p[4]}
		tn.Nodes = append(tn.Nodes, nd)
		vals = append(vals, chain.ValidatorSpec{Name: nd.Name, PubKey: pk, Power: 10})
	}
	// Registry keys: RIR j belongs to operator j mod n; IANA and the settlement agent to
	// operator 0.
	g := &ledger.Genesis{Pools: iana.GenesisPools(iana.Default())}
	owner := map[string]int{ipledger.IANA: 0, SettlementAgent: 0}
	for j, r := range ipledger.RIRs {
		owner[r] = j % n
	}
	keys := map[string]ipledger.PrivateKey{}
	for _, h := range append(append([]string{}, ipledger.Registries...), SettlementAgent) {
		k, err := ipledger.GenerateKey(nil)
		if err != nil {
			return nil, err
		}
		keys[h] = k
		nd := &tn.Nodes[owner[h]]
		if err := writeKey(nd.Home, h, k); err != nil {
			return nil, err
		}
		if h != SettlementAgent {
			nd.Registries = append(nd.Registries, h)
		}
	}
	// Each validator is operated by the last registry its operator holds (an RIR for the
	// first five; node0 also holds IANA), else by IANA.
	for i, nd := range tn.Nodes {
		vals[i].Operator = ipledger.IANA
		if len(nd.Registries) > 0 {
			vals[i].Operator = nd.Registries[len(nd.Registries)-1]
		}
	}
	for _, h := range ipledger.Registries {
		g.Registries = append(g.Registries, genesisRegistry(h, keys[h].Public()))
	}
	g.SettlementAgents = []ledger.GenesisOrg{{Handle: SettlementAgent, Name: "Settlement agent of this registry", Keys: []ipledger.PublicKey{keys[SettlementAgent].Public()}}}
	genesisTime := time.Now()
	for i, nd := range tn.Nodes {
		if err := chain.WriteGenesis(chain.GenesisPath(nd.Home), chainID, genesisTime, g, vals); err != nil {
			return nil, err
		}
		var peers []string
		for j, o := range tn.Nodes {
			if j != i {
				peers = append(peers, o.NodeID+"@"+o.P2P)
			}
		}
		cfg := &Config{ChainID: chainID}
		err := errors.Join(cfg.Set("http", nd.HTTP), cfg.Set("whois", nd.WHOIS), cfg.Set("rtr", nd.RTR), cfg.Set("p2p", nd.P2P),
			cfg.Set("rpc", nd.RPC), cfg.Set("peers", strings.Join(peers, ",")))
		if err != nil {
			return nil, err
		}
		if err := saveConfig(nd.Home, cfg); err != nil {
			return nil, err
		}
	}
	b, _ := json.MarshalIndent(tn, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, TestnetFile), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", TestnetFile, err)
	}
	return tn, nil
}
