package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger/chain"
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
	// TrustedClients is --trusted-clients: prefixes exempt from per-client caps and limits.
	TrustedClients string `json:"trusted_clients,omitempty"`
	// Witnesses are URL=VKEY of the witnesses asked to cosign checkpoints.
	Witnesses []string `json:"witnesses,omitempty"`
	// Checkpoints, if set to false, turns checkpoint signing off; absent signs.
	Checkpoints *bool `json:"checkpoints,omitempty"`
	// SnapshotInterval is the number of blocks between state-sync snapshots (0: none);
	// absent means the flag's default. SnapshotKeep is how many are kept.
	SnapshotInterval *int64 `json:"snapshot_interval,omitempty"`
	SnapshotKeep     int    `json:"snapshot_keep,omitempty"`
	// StateSync, written by init --join --state-sync, makes the new node catch up from a
	// snapshot; once the node has state it is ignored.
	StateSync *StateSyncConfig `json:"state_sync,omitempty"`
	// DiskRefuseBelow and DiskStopBelow are the free-space thresholds (chain.ParseThreshold).
	DiskRefuseBelow string `json:"disk_refuse_below,omitempty"`
	DiskStopBelow   string `json:"disk_stop_below,omitempty"`
}

// StateSyncConfig is how a joining node finds and verifies a snapshot: the network's
// CometBFT RPC servers (the light client's primary first, then its witnesses) and the
// header it trusts.
type StateSyncConfig struct {
	RPCServers  []string `json:"rpc_servers"`
	TrustHeight int64    `json:"trust_height"`
	TrustHash   string   `json:"trust_hash"`
	// TrustPeriod is a Go duration ("168h"); the trusted header must be younger when the
	// node starts.
	TrustPeriod string `json:"trust_period,omitempty"`
}

// options converts the config for the node.
func (c *StateSyncConfig) options() (*chain.StateSyncOptions, error) {
	if c == nil {
		return nil, nil
	}
	o := &chain.StateSyncOptions{RPCServers: c.RPCServers, TrustHeight: c.TrustHeight, TrustHash: c.TrustHash}
	if c.TrustPeriod != "" {
		d, err := time.ParseDuration(c.TrustPeriod)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("config: state_sync.trust_period %q: want a duration like 168h", c.TrustPeriod)
		}
		o.TrustPeriod = d
	}
	if len(o.RPCServers) == 0 || o.TrustHeight < 1 || o.TrustHash == "" {
		return nil, errors.New("config: state_sync needs rpc_servers, trust_height and trust_hash (ipledger init --join --state-sync writes them)")
	}
	return o, nil
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
	witnesses             []string   // URL=VKEY each
	noCheckpoints         bool       // --checkpoints=false; the zero value signs
	rtrOpts               rtrFlags   // cli/serve_rtr.go
	rdapOpts              rdapFlags  // cli/serve_rdap.go
	guard                 guardFlags // cli/guard.go

	snapshotInterval int64
	snapshotKeep     int
	timeoutCommit    time.Duration
	stateSync        *StateSyncConfig // from the config file only (init --join --state-sync)

	diskRefuseBelow, diskStopBelow string // chain.ParseThreshold syntax

	// dev is set by ipledger dev: the store reserves no disk ahead of its log (a dev chain
	// is small; store.Options.NoWALPreallocate).
	dev bool
}

// Defaults (loopback; DESIGN.md).
const (
	defaultHTTP  = "127.0.0.1:8080"
	defaultP2P   = "127.0.0.1:26656"
	defaultRPC   = "127.0.0.1:26657"
	defaultWHOIS = "127.0.0.1:4343"
	defaultRTR   = "127.0.0.1:8282"

	// defaultSnapshotInterval: a snapshot every 1,000 blocks is one every couple of
	// minutes under load and a few hours when idle; a joiner block-syncs the rest.
	defaultSnapshotInterval = 1000
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
	s.guard.register(fs)
	fs.VarPF(offSwitch{&s.noCheckpoints}, "checkpoints", "", "sign a C2SP checkpoint of the log after each block; false signs none (to measure what signing costs: the log, tiles and proofs are still served, under the last checkpoint signed)").NoOptDefVal = "true"
	fs.StringArrayVar(&s.witnesses, "witness", nil, "a witness to ask for cosignatures of the log's checkpoints, as URL=VKEY (its add-checkpoint prefix and cosignature/v1 key); repeatable")
	fs.Int64Var(&s.snapshotInterval, "snapshot-interval", defaultSnapshotInterval, "take a state-sync snapshot every N blocks, for new nodes to join from; 0 takes none")
	fs.IntVar(&s.snapshotKeep, "snapshot-keep", chain.DefaultSnapshotKeep, "state-sync snapshots to keep")
	fs.DurationVar(&s.timeoutCommit, "timeout-commit", 100*time.Millisecond, "CometBFT's pause between blocks, counted from the end of the last block's commit (at most twice this after its decision); DESIGN.md asks for 100–200 ms")
	fs.StringVar(&s.diskRefuseBelow, "disk-refuse-below", chain.DefaultRefuseBelow.String(), "refuse new transactions (HTTP 503 \"unavailable\") while the free space of the home's filesystem is below this: a size, a percentage of the filesystem, or both (the smaller applies); off for never")
	fs.StringVar(&s.diskStopBelow, "disk-stop-below", chain.DefaultStopBelow.String(), "stop the node cleanly and exit non-zero when free space falls below this, and refuse to start below it (same syntax)")
	fs.StringVar(&s.memLimit, "mem-limit", "750MiB", "soft memory limit of the Go heap (GOMEMLIMIT syntax, e.g. 800MiB, 4GiB; off for none); the environment's GOMEMLIMIT wins. The default keeps the largest import (2014-06) under 1 GiB resident")
}

// resolve applies the config file to every flag neither given nor set from the
// environment: flag, then environment, then config file, then the default.
// disk returns the free-space options of the flags.
func (s *serveFlags) disk() (chain.DiskOptions, error) {
	refuse, err := chain.ParseThreshold(s.diskRefuseBelow)
	if err != nil {
		return chain.DiskOptions{}, fmt.Errorf("--disk-refuse-below: %w", err)
	}
	stop, err := chain.ParseThreshold(s.diskStopBelow)
	if err != nil {
		return chain.DiskOptions{}, fmt.Errorf("--disk-stop-below: %w", err)
	}
	return chain.DiskOptions{RefuseBelow: refuse, StopBelow: stop}, nil
}

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
	pick("trusted-clients", &s.guard.trusted, c.TrustedClients)
	if f := fs.Lookup("witness"); f != nil && !f.Changed && len(c.Witnesses) > 0 {
		s.witnesses = c.Witnesses
	}
	if f := fs.Lookup("checkpoints"); f != nil && !f.Changed && c.Checkpoints != nil {
		s.noCheckpoints = !*c.Checkpoints
	}
	if f := fs.Lookup("snapshot-interval"); f != nil && !f.Changed && c.SnapshotInterval != nil {
		s.snapshotInterval = *c.SnapshotInterval
	}
	if f := fs.Lookup("snapshot-keep"); f != nil && !f.Changed && c.SnapshotKeep > 0 {
		s.snapshotKeep = c.SnapshotKeep
	}
	pick("disk-refuse-below", &s.diskRefuseBelow, c.DiskRefuseBelow)
	pick("disk-stop-below", &s.diskStopBelow, c.DiskStopBelow)
	s.stateSync = c.StateSync
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
	keep("trusted-clients", s.guard.trusted, &c.TrustedClients)
	keep("disk-refuse-below", s.diskRefuseBelow, &c.DiskRefuseBelow)
	keep("disk-stop-below", s.diskStopBelow, &c.DiskStopBelow)
	if f := fs.Lookup("witness"); f != nil && f.Changed {
		c.Witnesses = s.witnesses
	}
	if f := fs.Lookup("checkpoints"); f != nil && f.Changed {
		on := !s.noCheckpoints
		c.Checkpoints = &on
	}
	if f := fs.Lookup("snapshot-interval"); f != nil && f.Changed {
		c.SnapshotInterval = &s.snapshotInterval
	}
	if f := fs.Lookup("snapshot-keep"); f != nil && f.Changed {
		c.SnapshotKeep = s.snapshotKeep
	}
}

// offSwitch is a boolean flag, true by default, kept inverted so that the zero serveFlags
// has the feature on.
type offSwitch struct{ off *bool }

func (o offSwitch) String() string {
	if o.off == nil {
		return "true"
	}
	return strconv.FormatBool(!*o.off)
}

func (o offSwitch) Set(v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return err
	}
	*o.off = !b
	return nil
}

func (o offSwitch) Type() string { return "bool" }
