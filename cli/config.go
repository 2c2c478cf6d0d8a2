package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger/chain"
)

// ConfigFile is the name of the node's own settings file in its home (CometBFT's files live
// under config/).
const ConfigFile = "ipledger.json"

// Config is the home's config file, a JSON object: the chain id, how a joining node
// catches up (state_sync), and a value for any serving option (serveOptions) under its
// config key, which node and dev take where neither the command line nor the environment
// gives one. A key outside these is an error, as is a value the option's flag refuses.
type Config struct {
	// ChainID is the chain the home's node runs ("chain_id").
	ChainID string
	// StateSync, written by init --join --state-sync, makes the new node catch up from a
	// snapshot; once the node has state it is ignored ("state_sync").
	StateSync *StateSyncConfig
	// values are the serving options set, by config key, each as the text its flag takes:
	// one element, or any number for a repeatable flag.
	values map[string][]string
	// path is the file the config was read from, for errors.
	path string
}

// Set sets the serving option under key to the text its flag would take (several values
// only for a repeatable flag such as "witnesses"). It fails on a key no option has.
func (c *Config) Set(key string, v ...string) error {
	o := optionByKey(key)
	if o == nil {
		return fmt.Errorf("config: unknown key %q", key)
	}
	if len(v) != 1 && o.kind() != "stringArray" {
		return fmt.Errorf("config: %s takes one value, not %d", key, len(v))
	}
	c.set(o, v)
	return nil
}

func (c *Config) set(o *option, v []string) {
	if c.values == nil {
		c.values = map[string][]string{}
	}
	c.values[o.configKey()] = v
}

// Get returns the value of the serving option under key as its flag's text, "" when the
// file does not set it (a repeatable flag's values are joined with commas).
func (c *Config) Get(key string) string {
	return strings.Join(c.values[key], ",")
}

// where names the file c was read from.
func (c *Config) where() string {
	if c.path != "" {
		return c.path
	}
	return ConfigFile
}

// MarshalJSON writes chain_id, the options set in the order of serveOptions, then
// state_sync. A number or boolean option is a JSON number or boolean (as it was before
// the options had a table), a repeatable one an array, any other a string.
func (c Config) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	field := func(key string, v any) error {
		if b.Len() > 0 {
			b.WriteByte(',')
		} else {
			b.WriteByte('{')
		}
		k, _ := json.Marshal(key)
		b.Write(k)
		b.WriteByte(':')
		raw, ok := v.(json.RawMessage)
		if !ok {
			var err error
			if raw, err = json.Marshal(v); err != nil {
				return fmt.Errorf("config %s: %w", key, err)
			}
		}
		b.Write(raw)
		return nil
	}
	if err := field("chain_id", c.ChainID); err != nil {
		return nil, err
	}
	for i := range serveOptions {
		o := &serveOptions[i]
		v, ok := c.values[o.configKey()]
		if !ok {
			continue
		}
		if err := field(o.configKey(), o.jsonValue(v)); err != nil {
			return nil, err
		}
	}
	if c.StateSync != nil {
		if err := field("state_sync", c.StateSync); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a config file. It refuses a key it does not know, and a value of
// the wrong JSON type; whether the flag takes the value is resolve's to check.
func (c *Config) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*c = Config{path: c.path}
	var unknown []string
	for _, key := range slices.Sorted(maps.Keys(m)) {
		raw := m[key]
		switch key {
		case "chain_id":
			if err := json.Unmarshal(raw, &c.ChainID); err != nil {
				return fmt.Errorf("chain_id: %w", err)
			}
			continue
		case "state_sync":
			if string(raw) == "null" {
				continue
			}
			d := json.NewDecoder(bytes.NewReader(raw))
			d.DisallowUnknownFields()
			c.StateSync = new(StateSyncConfig)
			if err := d.Decode(c.StateSync); err != nil {
				return fmt.Errorf("state_sync: %w", err)
			}
			continue
		}
		o := optionByKey(key)
		if o == nil {
			unknown = append(unknown, strconv.Quote(key))
			continue
		}
		v, err := o.textOf(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if v != nil {
			c.set(o, v)
		}
	}
	if len(unknown) == 1 {
		return fmt.Errorf("unknown key %s (ipledger node --help lists the options; a key is the flag's name with underscores)", unknown[0])
	}
	if len(unknown) > 1 {
		return fmt.Errorf("unknown keys %s (ipledger node --help lists the options; a key is the flag's name with underscores)", strings.Join(unknown, ", "))
	}
	return nil
}

// kind is the type name of o's flag: string, int, int64, float64, duration, bool or
// stringArray.
func (o *option) kind() string {
	switch p := o.at(&serveFlags{}).(type) {
	case *string:
		return "string"
	case *int:
		return "int"
	case *int64:
		return "int64"
	case *float64:
		return "float64"
	case *time.Duration:
		return "duration"
	case *[]string:
		return "stringArray"
	case pflag.Value:
		return p.Type()
	}
	return ""
}

// jsonValue is v, o's flag text, as the config file holds it.
func (o *option) jsonValue(v []string) any {
	switch o.kind() {
	case "stringArray":
		if v == nil {
			return []string{}
		}
		return v
	case "bool":
		if b, err := strconv.ParseBool(v[0]); err == nil {
			return b
		}
	case "int", "int64", "float64":
		if f, err := strconv.ParseFloat(v[0], 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && json.Valid([]byte(v[0])) {
			return json.RawMessage(v[0])
		}
	}
	return v[0]
}

// textOf returns the flag text of raw, o's value in a config file: a JSON string, number
// or boolean for a single value, an array of strings for a repeatable flag; nil for null.
func (o *option) textOf(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return nil, nil
	}
	if o.kind() == "stringArray" {
		v := []string{}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, errors.New("want an array of strings")
		}
		return v, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	case 't', 'f':
		return []string{string(raw)}, nil
	case '[', '{':
		return nil, errors.New("want a string, a number or a boolean")
	}
	return []string{string(raw)}, nil // a number, as written
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
	c := Config{path: filepath.Join(home, ConfigFile)}
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

// serveFlags are the serving options of init, node and dev: the listeners, the services
// behind them, the log, consensus, disk and memory. serveOptions says which flag,
// environment variable and config key sets each field.
type serveFlags struct {
	http, p2p, rpc, peers string
	whois, rtr            string
	memLimit              string
	pprof                 string     // --pprof: the debug listener's loopback address, "off" for none
	witnesses             []string   // URL=VKEY each
	noCheckpoints         bool       // --checkpoints=false; the zero value signs
	noWeb                 bool       // --web=false; the zero value serves the explorer
	noDemo                bool       // --demo=false; the zero value sets up dev's demo organisations
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
	// beforeHTTP, if set, runs once the node is up and before the HTTP listener opens:
	// dev's demo set-up, which no client of the API can then race for a registry's
	// sequence (cli/demo.go).
	beforeHTTP func(ctx context.Context, s *server)
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
