package cli

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/netguard"
	"github.com/ipledger/ipledger/rdap"
	"github.com/ipledger/ipledger/rtr"
)

// option is one serving option of init, node and dev. Its flag --name, its environment
// variable (envVar: IPLEDGER_ and the name in upper case, dashes as underscores) and its
// key in the home's config file (configKey) all come from this entry, and so does its
// validation: adding an option is adding an entry to serveOptions.
type option struct {
	name  string
	usage string
	// key is the config-file key where it is not the name with dashes as underscores
	// (witness: "witnesses", as earlier files have it).
	key string
	// def is the default, of the type at points to (string, int, int64, float64 or
	// time.Duration); unused where at returns a pflag.Value, whose value is the default.
	def any
	// at returns where the value goes in s: a *string, *int, *int64, *float64,
	// *time.Duration or *[]string (a repeatable flag), or a pflag.Value. The flag's type,
	// and so the value's JSON type in the config file, follows from it.
	at func(s *serveFlags) any
	// check, if set, refuses a value the flag's type accepts but the node would not; it
	// runs once the value is in s, whether it came from the command line, the environment
	// or the config file. Its error need not repeat the value.
	check func(s *serveFlags) error
}

// serveOptions are the serving options of init, node and dev, in the order of the sections
// of docs/ARCHITECTURE.md that describe them.
var serveOptions = []option{
	// Listeners.
	{name: "http", def: defaultHTTP, usage: "HTTP listen address (JSON API, /metrics); off to disable",
		at: func(s *serveFlags) any { return &s.http }},
	{name: "p2p", def: defaultP2P, usage: "CometBFT P2P listen address",
		at: func(s *serveFlags) any { return &s.p2p }},
	{name: "rpc", def: defaultRPC, usage: "CometBFT RPC listen address; off to disable",
		at: func(s *serveFlags) any { return &s.rpc }},
	{name: "peers", def: "", usage: "comma-separated persistent peers id@host:port",
		at: func(s *serveFlags) any { return &s.peers }},
	{name: "whois", def: defaultWHOIS, usage: "WHOIS listen address (RFC 3912); off to disable",
		at: func(s *serveFlags) any { return &s.whois }},
	{name: "rtr", def: defaultRTR, usage: "RPKI-to-Router cache listen address (RFC 8210); off to disable",
		at: func(s *serveFlags) any { return &s.rtr }},

	// The RTR cache and the VRPs it serves (cli/serve_rtr.go).
	{name: "rtr-max-version", def: 2, usage: "highest RTR protocol version: 2 (draft-ietf-sidrops-8210bis-10 with ASPAs, as StayRTR 0.5.1; routers that open in 1 or 0 are served in theirs), 1 (RFC 8210) or 0 (RFC 6810 only)",
		at: func(s *serveFlags) any { return &s.rtrOpts.maxVersion },
		check: func(s *serveFlags) error {
			if v := s.rtrOpts.maxVersion; v < 0 || v > 2 {
				return errors.New("want 0, 1 or 2")
			}
			return nil
		}},
	{name: "rtr-refresh", def: rtr.DefaultRefresh, usage: "RTR refresh interval told to version 1 and 2 routers (1s to 24h)",
		at: func(s *serveFlags) any { return &s.rtrOpts.refresh }},
	{name: "rtr-retry", def: rtr.DefaultRetry, usage: "RTR retry interval told to version 1 and 2 routers (1s to 2h)",
		at: func(s *serveFlags) any { return &s.rtrOpts.retry }},
	{name: "rtr-expire", def: rtr.DefaultExpire, usage: "RTR expire interval told to version 1 and 2 routers (10m to 48h, above refresh and retry)",
		at: func(s *serveFlags) any { return &s.rtrOpts.expire }},
	{name: "rtr-max-conns", def: rtr.DefaultMaxConns, usage: "most RTR connections at once",
		at: func(s *serveFlags) any { return &s.rtrOpts.maxConns }},
	{name: "rtr-notify-interval", def: rtr.DefaultNotifyInterval, usage: "least time between Serial Notify rounds (RFC 8210 asks for one minute; a shorter interval gets changes such as a lease's start to routers at once)",
		at: func(s *serveFlags) any { return &s.rtrOpts.notify }},
	{name: "vrps-file", def: "", usage: "rpki-client JSON file of VRPs, router keys and ASPAs served with the ledger's route authorisations (RTR and /v1/vrps.json); re-read when it changes, retried with backoff when it cannot be read",
		at: func(s *serveFlags) any { return &s.rtrOpts.vrpsFile }},
	{name: "slurm", def: "", usage: "SLURM file (RFC 8416) of local filters and assertions applied to the VRPs served; re-read when it changes",
		at: func(s *serveFlags) any { return &s.rtrOpts.slurm }},

	{name: "web", usage: "serve the read-only registry explorer at / on the HTTP listener (package web); false turns it off",
		at: func(s *serveFlags) any { return offSwitch{&s.noWeb} }},
	{name: "demo", usage: "ipledger dev only: on a fresh home, set up the demo organisations DEMO (key in HOME/keys, credits, an AS) and DEMO-LESSOR (a block offered for lease); false turns it off",
		at: func(s *serveFlags) any { return offSwitch{&s.noDemo} }},

	// RDAP, beside the JSON API on the HTTP listener (cli/serve_rdap.go).
	{name: "rdap-base-url", def: "", usage: "public URL of the RDAP service, e.g. https://rdap.example.net/rdap/ (default: from each request's Host)",
		at: func(s *serveFlags) any { return &s.rdapOpts.baseURL }},
	{name: "rdap-rate-limit", def: float64(rdap.DefaultRateLimit), usage: "RDAP requests per second per client (IPv4 address or IPv6 /64); negative turns the limit off",
		at: func(s *serveFlags) any { return &s.rdapOpts.rate }},
	{name: "rdap-rate-burst", def: rdap.DefaultRateBurst, usage: "RDAP requests a client may make at once",
		at: func(s *serveFlags) any { return &s.rdapOpts.burst }},
	{name: "rdap-max-results", def: rdap.DefaultMaxResults, usage: "objects in one RDAP search answer",
		at: func(s *serveFlags) any { return &s.rdapOpts.maxResults }},
	{name: "whois-public-host", def: "", usage: "public host name (or IP address, no port) of this registry's WHOIS service, given as port43 in every RDAP object (RFC 9083 §4.7); default: none",
		at:    func(s *serveFlags) any { return &s.rdapOpts.port43 },
		check: func(s *serveFlags) error { return rdap.CheckPort43(s.rdapOpts.port43) }},

	// What one client may take (cli/guard.go).
	{name: "trusted-clients", def: "", usage: "comma-separated prefixes or addresses (e.g. 127.0.0.1,10.0.0.0/8) exempt from per-client connection caps and rate limits: a load generator, monitoring, a reverse proxy (whose X-Forwarded-For then names the client)",
		at: func(s *serveFlags) any { return &s.guard.trusted },
		check: func(s *serveFlags) error {
			_, err := netguard.ParseTrusted(s.guard.trusted)
			return err
		}},
	{name: "max-conns-per-client", def: defaultPerClient, usage: "connections one client (IPv4 address or IPv6 /64) may hold open on the HTTP, WHOIS and CometBFT RPC listeners",
		at: func(s *serveFlags) any { return &s.guard.perClient }},
	{name: "rtr-max-conns-per-client", def: 8, usage: "RTR connections one client may hold open",
		at: func(s *serveFlags) any { return &s.guard.rtrPerClient }},
	{name: "p2p-max-conns-per-client", def: defaultP2PPerClient, usage: "CometBFT P2P connections one client may hold open, peers and handshakes together; 0 for no per-client cap",
		at: func(s *serveFlags) any { return &s.guard.p2pPerClient },
		check: func(s *serveFlags) error {
			if s.guard.p2pPerClient < 0 {
				return errors.New("want 0 (no cap) or more")
			}
			return nil
		}},
	{name: "api-rate-limit", def: float64(defaultAPIRate), usage: "JSON API and /metrics requests per second per client; 0 turns the limit off",
		at: func(s *serveFlags) any { return &s.guard.apiRate }},
	{name: "api-rate-burst", def: defaultAPIBurst, usage: "JSON API requests a client may make at once",
		at: func(s *serveFlags) any { return &s.guard.apiBurst }},
	{name: "http-body-timeout", def: defaultBodyTimeout, usage: "time a request body may take to arrive, plus one second per 64 KiB it declares",
		at: func(s *serveFlags) any { return &s.guard.bodyTimeout }},
	{name: "http-header-timeout", def: defaultHeaderTimeout, usage: "time a connection may take to send its request headers, and an idle kept-alive one the next request's",
		at: func(s *serveFlags) any { return &s.guard.headerTimeout }},

	// The log, snapshots, consensus, disk and memory.
	{name: "checkpoints", usage: "sign a C2SP checkpoint of the log after each block; false signs none (to measure what signing costs: the log, tiles and proofs are still served, under the last checkpoint signed)",
		at: func(s *serveFlags) any { return offSwitch{&s.noCheckpoints} }},
	{name: "witness", key: "witnesses", usage: "a witness to ask for cosignatures of the log's checkpoints, as URL=VKEY (its add-checkpoint prefix and cosignature/v1 key); repeatable",
		at: func(s *serveFlags) any { return &s.witnesses }},
	{name: "snapshot-interval", def: int64(defaultSnapshotInterval), usage: "take a state-sync snapshot every N blocks, for new nodes to join from; 0 takes none",
		at: func(s *serveFlags) any { return &s.snapshotInterval }},
	{name: "snapshot-keep", def: chain.DefaultSnapshotKeep, usage: "state-sync snapshots to keep",
		at: func(s *serveFlags) any { return &s.snapshotKeep }},
	{name: "timeout-commit", def: 100 * time.Millisecond, usage: "CometBFT's pause between blocks, counted from the end of the last block's commit (at most twice this after its decision); DESIGN.md asks for 100–200 ms",
		at: func(s *serveFlags) any { return &s.timeoutCommit },
		check: func(s *serveFlags) error {
			if s.timeoutCommit < 0 {
				return errors.New("want a duration such as 100ms (0 for the default)")
			}
			return nil
		}},
	{name: "disk-refuse-below", def: chain.DefaultRefuseBelow.String(), usage: "refuse new transactions (HTTP 503 \"unavailable\") while the free space of the home's filesystem is below this: a size, a percentage of the filesystem, or both (the smaller applies); off for never",
		at: func(s *serveFlags) any { return &s.diskRefuseBelow },
		check: func(s *serveFlags) error {
			_, err := chain.ParseThreshold(s.diskRefuseBelow)
			return err
		}},
	{name: "disk-stop-below", def: chain.DefaultStopBelow.String(), usage: "stop the node cleanly and exit non-zero when free space falls below this, and refuse to start below it (same syntax)",
		at: func(s *serveFlags) any { return &s.diskStopBelow },
		check: func(s *serveFlags) error {
			_, err := chain.ParseThreshold(s.diskStopBelow)
			return err
		}},
	{name: "pprof", def: "off", usage: "debug listener serving Go's profiles (net/http/pprof: CPU, heap, allocations, mutex and block) at /debug/pprof/, a loopback address such as 127.0.0.1:6060; off to disable",
		at:    func(s *serveFlags) any { return &s.pprof },
		check: func(s *serveFlags) error { return checkPprofAddr(s.pprof) }},
	{name: "mem-limit", def: "750MiB", usage: "soft memory limit of the Go heap (GOMEMLIMIT syntax, e.g. 800MiB, 4GiB; off for none); the environment's GOMEMLIMIT wins. The default keeps the largest import (2014-06) under 1 GiB resident",
		at: func(s *serveFlags) any { return &s.memLimit },
		check: func(s *serveFlags) error {
			_, err := parseMemLimit(s.memLimit)
			return err
		}},
}

// configKey is o's key in the home's config file.
func (o *option) configKey() string {
	if o.key != "" {
		return o.key
	}
	return strings.ReplaceAll(o.name, "-", "_")
}

// envVar is the environment variable that sets a flag: IPLEDGER_ and its name in upper
// case, dashes as underscores.
func envVar(flag string) string {
	return "IPLEDGER_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// optionByKey returns the option whose config key is key, nil if none is.
func optionByKey(key string) *option {
	for i := range serveOptions {
		if serveOptions[i].configKey() == key {
			return &serveOptions[i]
		}
	}
	return nil
}

// register adds the flag of every serving option to fs, bound to s. It panics on a
// mistake in the table (a default of another type than the field), which every test that
// registers the flags shows; nothing a user gives reaches the panics.
func (s *serveFlags) register(fs *pflag.FlagSet) {
	for i := range serveOptions {
		o := &serveOptions[i]
		var f *pflag.Flag
		switch p := o.at(s).(type) {
		case *string:
			fs.StringVar(p, o.name, o.def.(string), o.usage)
		case *int:
			fs.IntVar(p, o.name, o.def.(int), o.usage)
		case *int64:
			fs.Int64Var(p, o.name, o.def.(int64), o.usage)
		case *float64:
			fs.Float64Var(p, o.name, o.def.(float64), o.usage)
		case *time.Duration:
			fs.DurationVar(p, o.name, o.def.(time.Duration), o.usage)
		case *[]string:
			fs.StringArrayVar(p, o.name, nil, o.usage)
		case pflag.Value:
			f = fs.VarPF(p, o.name, "", o.usage)
			if p.Type() == "bool" {
				f.NoOptDefVal = "true"
			}
		default:
			panic(fmt.Sprintf("option %s: value of type %T", o.name, p))
		}
		if o.check != nil {
			f = fs.Lookup(o.name)
			f.Value = checkedValue{Value: f.Value, check: func() error { return o.check(s) }}
		}
	}
}

// checkedValue is a flag's value that refuses what check refuses once it is set. The
// refused value stays in the field: the command stops on the error.
type checkedValue struct {
	pflag.Value
	check func() error
}

func (v checkedValue) Set(s string) error {
	if err := v.Value.Set(s); err != nil {
		return err
	}
	return v.check()
}

// checkLogLevel refuses a --log-level env.logger does not know.
func checkLogLevel(v string) error {
	switch strings.ToLower(v) {
	case "debug", "info", "warn", "error":
		return nil
	}
	return errors.New("want debug, info, warn or error")
}

// applyEnv fills every flag of fs not given on the command line from its environment
// variable (envVar). A value the flag refuses is an error naming the variable: a typo in
// a service's environment must not leave the node running on the default.
func applyEnv(fs *pflag.FlagSet) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed {
			return
		}
		name := envVar(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		// Value.Set, not fs.Set, whose error would name the flag instead of the variable.
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%s: %w", name, strconv.Quote(v), err))
			return
		}
		f.Changed = true
	})
	return errors.Join(errs...)
}

// resolve sets every option neither given on the command line nor in the environment from
// the config file c, where c has it: flag, then environment, then config file, then the
// default. Every value c holds must be one the flag accepts, even where a flag or the
// environment overrides it, so a mistake in the file shows at once.
func (s *serveFlags) resolve(fs *pflag.FlagSet, c *Config) error {
	var scratch serveFlags
	sfs := pflag.NewFlagSet("config", pflag.ContinueOnError)
	scratch.register(sfs)
	for i := range serveOptions {
		o := &serveOptions[i]
		vals, ok := c.values[o.configKey()]
		if !ok {
			continue
		}
		for _, v := range vals {
			if err := sfs.Lookup(o.name).Value.Set(v); err != nil {
				return fmt.Errorf("%s: %s %s: %w", c.where(), o.configKey(), strconv.Quote(v), err)
			}
		}
		f := fs.Lookup(o.name)
		if f == nil || f.Changed {
			continue
		}
		for _, v := range vals {
			if err := f.Value.Set(v); err != nil {
				return fmt.Errorf("%s: %s %s: %w", c.where(), o.configKey(), strconv.Quote(v), err)
			}
		}
		if len(vals) == 0 {
			// An empty list: the option set to nothing, not to its default.
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				if err := sv.Replace(nil); err != nil {
					return fmt.Errorf("%s: %s: %w", c.where(), o.configKey(), err)
				}
			}
		}
	}
	s.stateSync = c.StateSync
	return nil
}

// store records in c every option given on the command line or in the environment, so the
// node started later uses it by default.
func (s *serveFlags) store(fs *pflag.FlagSet, c *Config) {
	for i := range serveOptions {
		o := &serveOptions[i]
		f := fs.Lookup(o.name)
		if f == nil || !f.Changed {
			continue
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			c.set(o, sv.GetSlice())
			continue
		}
		c.set(o, []string{f.Value.String()})
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
