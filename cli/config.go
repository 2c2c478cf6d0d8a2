package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"
)

// ConfigFile is the name of the node's own settings file in its home (CometBFT's files live
// under config/).
const ConfigFile = "ipledger.json"

// Config is the home's config file: defaults for the serving flags, and the chain id.
type Config struct {
	ChainID string `json:"chain_id"`
	HTTP    string `json:"http,omitempty"`
	P2P     string `json:"p2p,omitempty"`
	RPC     string `json:"rpc,omitempty"`
	Peers   string `json:"peers,omitempty"`
	WHOIS   string `json:"whois,omitempty"`
	RTR     string `json:"rtr,omitempty"`
	// Witnesses are URL=VKEY of the witnesses asked to cosign checkpoints.
	Witnesses []string `json:"witnesses,omitempty"`
}

func loadConfig(home string) (*Config, error) {
	b, err := os.ReadFile(filepath.Join(home, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("read config %s: %w", filepath.Join(home, ConfigFile), err)
	}
	return &c, nil
}

func saveConfig(home string, c *Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(home, ConfigFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// serveFlags are the listeners of dev and node, and the process's memory target.
type serveFlags struct {
	http, p2p, rpc, peers string
	whois, rtr            string
	memLimit              string
	witnesses             []string  // URL=VKEY each
	rtrOpts               rtrFlags  // cli/serve_rtr.go
	rdapOpts              rdapFlags // cli/serve_rdap.go
}

// Defaults (loopback; DESIGN.md).
const (
	defaultHTTP  = "127.0.0.1:8080"
	defaultP2P   = "127.0.0.1:26656"
	defaultRPC   = "127.0.0.1:26657"
	defaultWHOIS = "127.0.0.1:4343"
	defaultRTR   = "127.0.0.1:8282"
)

func (s *serveFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.http, "http", defaultHTTP, "HTTP listen address (JSON API, /metrics); off to disable")
	fs.StringVar(&s.p2p, "p2p", defaultP2P, "CometBFT P2P listen address")
	fs.StringVar(&s.rpc, "rpc", defaultRPC, "CometBFT RPC listen address; off to disable")
	fs.StringVar(&s.peers, "peers", "", "comma-separated persistent peers id@host:port")
	fs.StringVar(&s.whois, "whois", defaultWHOIS, "WHOIS listen address (RFC 3912); off to disable")
	fs.StringVar(&s.rtr, "rtr", defaultRTR, "RPKI-to-Router cache listen address (RFC 8210); off to disable")
	s.rtrOpts.register(fs)
	s.rdapOpts.register(fs)
	fs.StringArrayVar(&s.witnesses, "witness", nil, "a witness to ask for cosignatures of the log's checkpoints, as URL=VKEY (its add-checkpoint prefix and cosignature/v1 key); repeatable")
	fs.StringVar(&s.memLimit, "mem-limit", "900MiB", "soft memory limit of the Go heap (GOMEMLIMIT syntax, e.g. 900MiB, 4GiB; off for none); the environment's GOMEMLIMIT wins")
}

// resolve applies the config file to every flag neither given nor set from the
// environment: flag, then environment, then config file, then the default.
func (s *serveFlags) resolve(fs *pflag.FlagSet, c *Config) {
	pick := func(name string, dst *string, fromFile string) {
		if f := fs.Lookup(name); f != nil && !f.Changed && fromFile != "" {
			*dst = fromFile
		}
	}
	pick("http", &s.http, c.HTTP)
	pick("p2p", &s.p2p, c.P2P)
	pick("rpc", &s.rpc, c.RPC)
	pick("peers", &s.peers, c.Peers)
	pick("whois", &s.whois, c.WHOIS)
	pick("rtr", &s.rtr, c.RTR)
	if f := fs.Lookup("witness"); f != nil && !f.Changed && len(c.Witnesses) > 0 {
		s.witnesses = c.Witnesses
	}
}

// store records in c the flags given on the command line or in the environment, so the
// node started later uses them by default.
func (s *serveFlags) store(fs *pflag.FlagSet, c *Config) {
	keep := func(name, v string, dst *string) {
		if f := fs.Lookup(name); f != nil && f.Changed {
			*dst = v
		}
	}
	keep("http", s.http, &c.HTTP)
	keep("p2p", s.p2p, &c.P2P)
	keep("rpc", s.rpc, &c.RPC)
	keep("peers", s.peers, &c.Peers)
	keep("whois", s.whois, &c.WHOIS)
	keep("rtr", s.rtr, &c.RTR)
	if f := fs.Lookup("witness"); f != nil && f.Changed {
		c.Witnesses = s.witnesses
	}
}
