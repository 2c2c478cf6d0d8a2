package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/iana"
	"github.com/ipledger/ipledger/ledger"
)

// registryInfo is what genesis says of IANA and the RIRs (registry facts).
var registryInfo = map[string]struct{ name, country string }{
	ipledger.IANA:    {"Internet Assigned Numbers Authority", "US"},
	ipledger.AFRINIC: {"African Network Information Centre", "MU"},
	ipledger.APNIC:   {"Asia Pacific Network Information Centre", "AU"},
	ipledger.ARIN:    {"American Registry for Internet Numbers", "US"},
	ipledger.LACNIC:  {"Latin American and Caribbean Internet Addresses Registry", "UY"},
	ipledger.RIPENCC: {"RIPE Network Coordination Centre", "NL"},
}

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
		info := registryInfo[h]
		g.Registries = append(g.Registries, ledger.GenesisOrg{Handle: h, Name: info.name, Country: info.country,
			Keys: []ipledger.PublicKey{regs[h].Public()}})
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
