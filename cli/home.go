package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	"github.com/cometbft/cometbft/types"
	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/iana"
	"github.com/ipledger/ipledger/ledger"
)

// SettlementAgent is the handle of the settlement agent a new home's genesis names: the one
// organisation that mints and burns settlement credits.
const SettlementAgent = "IPL-SETTLEMENT"

// homeOptions say how to create a home.
type homeOptions struct {
	chainID string
	ianaDir string // IANA registry files to build pools from; "" uses the compiled facts
}

// homeExists reports whether home already holds a node (its genesis).
func homeExists(home string) bool {
	_, err := os.Stat(chain.GenesisPath(home))
	return err == nil
}

// createHome makes a single-validator node home: registry keys (HOME/keys/<HANDLE>.key),
// the node's CometBFT keys, a genesis with IANA and the five RIRs and their pools, and the
// config file. It refuses a home that already has a genesis.
func createHome(home string, o homeOptions, cfg *Config) error {
	if homeExists(home) {
		return fmt.Errorf("%s already holds a node", home)
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("create home: %w", err)
	}
	regs, err := registryKeys(home, true)
	if err != nil {
		return err
	}
	var reg *iana.Registries
	if o.ianaDir != "" {
		if reg, err = iana.Load(o.ianaDir); err != nil {
			return fmt.Errorf("create home: %w", err)
		}
	} else {
		reg = iana.Default()
	}
	g := &ledger.Genesis{}
	for _, h := range ipledger.Registries {
		g.Registries = append(g.Registries, genesisRegistry(h, regs[h].Public()))
	}
	g.Pools = iana.GenesisPools(reg)
	// A dev or single-operator chain has one settlement agent, its key kept beside the
	// registries' keys.
	agent, err := loadKey(home, SettlementAgent)
	if err != nil {
		if agent, err = createKey(home, SettlementAgent); err != nil {
			return err
		}
	}
	g.SettlementAgents = []ledger.GenesisOrg{{Handle: SettlementAgent, Name: "Settlement agent of this registry", Keys: []ipledger.PublicKey{agent.Public()}}}
	// And one blocklist observer, so that ipledger observe works at once.
	observer, err := loadKey(home, Observer)
	if err != nil {
		if observer, err = createKey(home, Observer); err != nil {
			return err
		}
	}
	g.Observers = []ledger.GenesisOrg{{Handle: Observer, Name: "Blocklist observer of this registry", Keys: []ipledger.PublicKey{observer.Public()}}}
	pk, _, err := chain.InitHome(home)
	if err != nil {
		return err
	}
	if err := chain.WriteGenesis(chain.GenesisPath(home), o.chainID, time.Now(), g,
		[]chain.ValidatorSpec{{Name: filepath.Base(home), PubKey: pk, Power: 10, Operator: ipledger.IANA}}); err != nil {
		return err
	}
	cfg.ChainID = o.chainID
	return saveConfig(home, cfg)
}

// genesisRegistry is the registry handle as a new chain's genesis records it: its name and
// country (ipledger.RegistryOf) and its key.
func genesisRegistry(handle string, key ipledger.PublicKey) ledger.GenesisOrg {
	r, _ := ipledger.RegistryOf(handle)
	return ledger.GenesisOrg{Handle: handle, Name: r.Name, Country: r.Country, Keys: []ipledger.PublicKey{key}}
}

// registryKeys loads the registry keys kept in home, creating missing ones when create is
// set. A dev or single-operator home holds all six; an operator's home holds its own.
func registryKeys(home string, create bool) (map[string]ipledger.PrivateKey, error) {
	out := map[string]ipledger.PrivateKey{}
	for _, h := range ipledger.Registries {
		k, err := loadKey(home, h)
		if err != nil && create {
			if _, statErr := os.Stat(keyPath(home, h)); errors.Is(statErr, os.ErrNotExist) {
				k, err = createKey(home, h)
			}
		}
		if err != nil {
			if create {
				return nil, err
			}
			continue
		}
		out[h] = k
	}
	return out, nil
}

// joinFlags are init --join's state-sync options.
type joinFlags struct {
	stateSync   bool
	rpcServers  []string
	trustHeight int64
	trustHash   string
	trustPeriod time.Duration
}

func (j *joinFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&j.stateSync, "state-sync", false, "with --join, catch up from a state-sync snapshot of the network instead of replaying every block from genesis (waits for the network's first snapshot)")
	fs.StringSliceVar(&j.rpcServers, "rpc-servers", nil, "with --state-sync, CometBFT RPC addresses (host:port) of the network's nodes: the light client's primary first, then its witnesses (default: every node of a testnet.json)")
	fs.Int64Var(&j.trustHeight, "trust-height", 0, "with --state-sync, the height of a header the node trusts (default: the latest, from the first RPC server)")
	fs.StringVar(&j.trustHash, "trust-hash", "", "with --state-sync, the hex hash of the header at --trust-height (default: asked of the first RPC server, which the joiner so trusts)")
	fs.DurationVar(&j.trustPeriod, "trust-period", 7*24*time.Hour, "with --state-sync, how old the trusted header may be when the node starts")
}

// joinHome makes a non-validating full node home for an existing network: its own node
// keys, the network's genesis, and its peers. from is the network's genesis.json, or a
// testnet.json whose nodes become the peers (and whose node0 has the genesis). With
// j.stateSync the node will catch up from a snapshot (see stateSyncConfig).
func joinHome(ctx context.Context, home, from string, cfg *Config, j *joinFlags) error {
	if homeExists(home) {
		return fmt.Errorf("%s already holds a node", home)
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	genesis := b
	var tn Testnet
	if json.Unmarshal(b, &tn) == nil && len(tn.Nodes) > 0 {
		if genesis, err = os.ReadFile(chain.GenesisPath(tn.Nodes[0].Home)); err != nil {
			return fmt.Errorf("join: genesis of %s: %w", tn.Nodes[0].Name, err)
		}
		if cfg.Get("peers") == "" {
			var peers []string
			for _, nd := range tn.Nodes {
				peers = append(peers, nd.NodeID+"@"+nd.P2P)
			}
			if err := cfg.Set("peers", strings.Join(peers, ",")); err != nil {
				return err
			}
		}
		if len(j.rpcServers) == 0 {
			for _, nd := range tn.Nodes {
				if nd.RPC != "" && nd.RPC != "off" {
					j.rpcServers = append(j.rpcServers, nd.RPC)
				}
			}
		}
	}
	doc, err := types.GenesisDocFromJSON(genesis)
	if err != nil {
		return fmt.Errorf("join: %s is neither a genesis nor a testnet file: %w", from, err)
	}
	if cfg.Get("peers") == "" {
		return fmt.Errorf("join: give the network's nodes with --peers id@host:port,…")
	}
	if j.stateSync {
		ss, err := stateSyncConfig(ctx, doc.ChainID, j)
		if err != nil {
			return fmt.Errorf("join: %w", err)
		}
		cfg.StateSync = ss
	}
	if _, _, err := chain.InitHome(home); err != nil {
		return err
	}
	if err := os.WriteFile(chain.GenesisPath(home), genesis, 0o644); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	cfg.ChainID = doc.ChainID
	return saveConfig(home, cfg)
}

// stateSyncConfig completes the state-sync options of a joining node: without a trusted
// header given, it takes the latest one from the first RPC server. The joiner then trusts
// that server: the light client verifies every later header and the snapshot's app hash
// from there, but not the starting point itself.
func stateSyncConfig(ctx context.Context, chainID string, j *joinFlags) (*StateSyncConfig, error) {
	if len(j.rpcServers) == 0 {
		return nil, errors.New("--state-sync needs the network's RPC servers: --rpc-servers host:port,… (a testnet.json lists them)")
	}
	if j.trustPeriod <= 0 {
		return nil, fmt.Errorf("--trust-period %s: want a positive duration", j.trustPeriod)
	}
	ss := &StateSyncConfig{RPCServers: j.rpcServers, TrustHeight: j.trustHeight, TrustHash: strings.ToUpper(j.trustHash), TrustPeriod: j.trustPeriod.String()}
	if ss.TrustHash != "" {
		if _, err := ipledger.ParseHash(ss.TrustHash); err != nil {
			return nil, fmt.Errorf("--trust-hash %q: want the 64 hex digits of a header hash", j.trustHash)
		}
		if ss.TrustHeight < 1 {
			return nil, errors.New("--trust-hash needs --trust-height")
		}
		return ss, nil
	}
	server := j.rpcServers[0]
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	c, err := rpchttp.New(server)
	if err != nil {
		return nil, fmt.Errorf("RPC server %s: %w", server, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var at *int64
	if ss.TrustHeight > 0 {
		at = &ss.TrustHeight
	}
	res, err := c.Commit(ctx, at)
	if err != nil {
		return nil, fmt.Errorf("trusted header from %s: %w", server, err)
	}
	if res.Header == nil || res.Header.ChainID != chainID {
		return nil, fmt.Errorf("trusted header from %s: not a header of chain %s", server, chainID)
	}
	ss.TrustHeight, ss.TrustHash = res.Header.Height, fmt.Sprintf("%X", res.Header.Hash())
	return ss, nil
}
