package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/rtr"
)

// optionExamples are two valid values, neither the default, for options where
// sampleValues cannot make them up from the flag's type (a check refuses what it would).
var optionExamples = map[string][2]string{
	"rtr-max-version":   {"0", "1"},
	"whois-public-host": {"whois.example.net", "192.0.2.43"},
	"trusted-clients":   {"10.0.0.0/8", "127.0.0.1,2001:db8::/32"},
	"disk-refuse-below": {"10GiB", "1%"},
	"disk-stop-below":   {"1GiB", "2GiB,2%"},
	"mem-limit":         {"1GiB", "off"},
	"pprof":             {"127.0.0.1:6060", "[::1]:0"},
}

// badValues are values an option's flag refuses, for options where badValue cannot make
// one up from the flag's type: an option with a check whose type takes any text.
var badValues = map[string]string{
	"rtr-max-version":          "7",
	"whois-public-host":        "whois.example.net:43",
	"trusted-clients":          "example.net",
	"disk-refuse-below":        "2GB",
	"disk-stop-below":          "100%",
	"mem-limit":                "lots",
	"p2p-max-conns-per-client": "-1",
	"timeout-commit":           "-5ms",
	"pprof":                    "0.0.0.0:6060",
}

// sampleValues returns two valid values of o, neither its default.
func sampleValues(t *testing.T, o *option) [2]string {
	t.Helper()
	if v, ok := optionExamples[o.name]; ok {
		return v
	}
	var sf serveFlags
	fs := pflag.NewFlagSet("sample", pflag.ContinueOnError)
	sf.register(fs)
	def := fs.Lookup(o.name).DefValue
	switch o.kind() {
	case "int", "int64":
		n, err := strconv.ParseInt(def, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return [2]string{strconv.FormatInt(n+1, 10), strconv.FormatInt(n+2, 10)}
	case "float64":
		f, err := strconv.ParseFloat(def, 64)
		if err != nil {
			t.Fatal(err)
		}
		return [2]string{strconv.FormatFloat(f+0.5, 'g', -1, 64), strconv.FormatFloat(f+1.5, 'g', -1, 64)}
	case "duration":
		d, err := time.ParseDuration(def)
		if err != nil {
			t.Fatal(err)
		}
		return [2]string{(d + time.Second).String(), (d + 2*time.Second).String()}
	case "bool":
		return [2]string{"false", "true"}
	}
	return [2]string{"value-one", "value-two"}
}

// badValue returns a value o's flag refuses, "" if it takes any text.
func badValue(o *option) string {
	if v, ok := badValues[o.name]; ok {
		return v
	}
	switch o.kind() {
	case "int", "int64":
		return "12x"
	case "float64":
		return "fast"
	case "duration":
		return "5 minutes"
	case "bool":
		return "maybe"
	}
	return ""
}

// layers are the values of one option given on the command line, in the environment and
// in the config file; "" gives none.
type layers struct{ flag, env, file string }

// resolveLayers resolves the serving options with o set as l says, the config file
// written and read back, as node does.
func resolveLayers(t *testing.T, o *option, l layers) (serveFlags, *pflag.FlagSet) {
	t.Helper()
	var sf serveFlags
	fs := pflag.NewFlagSet("node", pflag.ContinueOnError)
	sf.register(fs)
	var args []string
	if l.flag != "" {
		args = append(args, "--"+o.name+"="+l.flag)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	t.Setenv(envVar(o.name), l.env) // restored when the test ends
	if l.env == "" {
		os.Unsetenv(envVar(o.name))
	}
	if err := applyEnv(fs); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cfg := &Config{ChainID: "options-test"}
	if l.file != "" {
		if err := cfg.Set(o.configKey(), l.file); err != nil {
			t.Fatal(err)
		}
	}
	if err := saveConfig(home, cfg); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	if err := sf.resolve(fs, cfg); err != nil {
		t.Fatal(err)
	}
	return sf, fs
}

// TestOptionTable: every serving option is set by its flag, its environment variable and
// its config-file key, each taking precedence over the next (flag, environment, config
// file, default), and lands in its own place in serveFlags: the same place whichever
// source gave it, touching no other option. A new option is tested by being added to
// serveOptions.
func TestOptionTable(t *testing.T) {
	names := map[string]bool{}
	keys := map[string]bool{}
	for i := range serveOptions {
		o := &serveOptions[i]
		t.Run(o.name, func(t *testing.T) {
			if names[o.name] || keys[o.configKey()] {
				t.Fatalf("option %s (key %s) twice in the table", o.name, o.configKey())
			}
			names[o.name], keys[o.configKey()] = true, true
			if o.usage == "" {
				t.Fatal("no usage")
			}
			// want is the state a lone --name=v leaves: what every source must leave.
			want := func(v string) (serveFlags, string) {
				var sf serveFlags
				fs := pflag.NewFlagSet("want", pflag.ContinueOnError)
				sf.register(fs)
				if err := fs.Set(o.name, v); err != nil {
					t.Fatalf("example %q refused (give %s values in optionExamples): %v", v, o.name, err)
				}
				return sf, fs.Lookup(o.name).Value.String()
			}
			ex := sampleValues(t, o)
			a, aText := want(ex[0])
			b, bText := want(ex[1])
			if aText == bText {
				t.Fatalf("examples %q and %q are the same value", ex[0], ex[1])
			}
			var def serveFlags
			defFS := pflag.NewFlagSet("default", pflag.ContinueOnError)
			def.register(defFS)
			if reflect.DeepEqual(a, def) && reflect.DeepEqual(b, def) {
				t.Fatalf("neither %q nor %q changes serveFlags", ex[0], ex[1])
			}
			for _, c := range []struct {
				name string
				l    layers
				want serveFlags
				text string
			}{
				{"default", layers{}, def, defFS.Lookup(o.name).DefValue},
				{"flag", layers{flag: ex[0]}, a, aText},
				{"env", layers{env: ex[0]}, a, aText},
				{"file", layers{file: ex[0]}, a, aText},
				{"file b", layers{file: ex[1]}, b, bText},
				{"flag over env", layers{flag: ex[0], env: ex[1]}, a, aText},
				{"flag over env b", layers{flag: ex[1], env: ex[0]}, b, bText},
				{"env over file", layers{env: ex[0], file: ex[1]}, a, aText},
				{"env over file b", layers{env: ex[1], file: ex[0]}, b, bText},
				{"flag over file", layers{flag: ex[0], file: ex[1]}, a, aText},
				{"flag over file b", layers{flag: ex[1], file: ex[0]}, b, bText},
				{"flag over both", layers{flag: ex[0], env: ex[1], file: ex[1]}, a, aText},
			} {
				got, fs := resolveLayers(t, o, c.l)
				if s := fs.Lookup(o.name).Value.String(); s != c.text {
					t.Errorf("%s %+v: --%s is %q, want %q", c.name, c.l, o.name, s, c.text)
				}
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s %+v: serveFlags\n%+v\nwant\n%+v", c.name, c.l, got, c.want)
				}
				// No other option moved.
				fs.VisitAll(func(f *pflag.Flag) {
					if f.Name != o.name && f.Value.String() != f.DefValue {
						t.Errorf("%s %+v: --%s changed --%s to %q", c.name, c.l, o.name, f.Name, f.Value.String())
					}
				})
			}
		})
	}
}

// TestOptionRefused: a value an option's flag refuses is refused from each source with a
// message naming the source and the value: on the command line, as IPLEDGER_<FLAG> (where
// it used to be ignored) and in the config file, even where a flag overrides the file.
func TestOptionRefused(t *testing.T) {
	for i := range serveOptions {
		o := &serveOptions[i]
		bad := badValue(o)
		if bad == "" {
			continue // the flag takes any text
		}
		t.Run(o.name, func(t *testing.T) {
			var sf serveFlags
			fs := pflag.NewFlagSet("node", pflag.ContinueOnError)
			fs.SetOutput(new(bytes.Buffer))
			sf.register(fs)
			if err := fs.Parse([]string{"--" + o.name + "=" + bad}); err == nil || !strings.Contains(err.Error(), strconv.Quote(bad)) {
				t.Errorf("--%s=%s: %v", o.name, bad, err)
			}

			sf = serveFlags{}
			fs = pflag.NewFlagSet("node", pflag.ContinueOnError)
			sf.register(fs)
			t.Setenv(envVar(o.name), bad)
			err := applyEnv(fs)
			if want := envVar(o.name) + "=" + strconv.Quote(bad) + ": "; err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("environment %s=%s: error %v, want one starting %q", envVar(o.name), bad, err, want)
			}
			os.Unsetenv(envVar(o.name))

			home := t.TempDir()
			body := `{"chain_id": "x", "` + o.configKey() + `": ` + strconv.Quote(bad) + `}`
			if err := os.WriteFile(filepath.Join(home, ConfigFile), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := loadConfig(home)
			if err != nil {
				t.Fatal(err)
			}
			ex := sampleValues(t, o)
			for _, args := range [][]string{nil, {"--" + o.name + "=" + ex[0]}} {
				sf = serveFlags{}
				fs = pflag.NewFlagSet("node", pflag.ContinueOnError)
				sf.register(fs)
				if err := fs.Parse(args); err != nil {
					t.Fatal(err)
				}
				err = sf.resolve(fs, cfg)
				want := filepath.Join(home, ConfigFile) + ": " + o.configKey() + " " + strconv.Quote(bad) + ": "
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Errorf("config %s, args %v: error %v, want one starting %q", body, args, err, want)
				}
			}
		})
	}
}

// TestBadEnvStopsNode: a bad IPLEDGER_ value stops dev before it makes or starts
// anything, naming the variable and the value.
func TestBadEnvStopsNode(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{"IPLEDGER_RTR_REFRESH", "1 hour"},
		{"IPLEDGER_SNAPSHOT_INTERVAL", "1e3"},
		{"IPLEDGER_CHECKPOINTS", "maybe"},
		{"IPLEDGER_MEM_LIMIT", "2GB"},
		{"IPLEDGER_RTR_MAX_VERSION", "3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(c.name, c.value)
			home := filepath.Join(t.TempDir(), "home")
			// A refusal takes milliseconds; a dev that started anyway stops here.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var out, errOut bytes.Buffer
			code := Run(ctx, []string{"dev", "--home", home, "--http", "off", "--whois", "off", "--rtr", "off", "--rpc", "off", "--p2p", "127.0.0.1:0"}, &out, &errOut)
			if want := c.name + "=" + strconv.Quote(c.value) + ": "; code == 0 || !strings.Contains(errOut.String(), want) {
				t.Errorf("exit %d, stderr %q; want an error naming %q", code, errOut.String(), want)
			}
			if _, err := os.Stat(home); !os.IsNotExist(err) {
				t.Errorf("dev made its home before refusing: %v", err)
			}
		})
	}
}

// TestConfigFileRefused: a config file with a key no option has, or a value of the wrong
// JSON type, stops node before it starts, naming the key.
func TestConfigFileRefused(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"chain_id": "x", "timeout_comit": "200ms"}`, `unknown key "timeout_comit"`},
		{`{"chain_id": "x", "mem-limit": "1GiB", "bogus": 1}`, `unknown keys "bogus", "mem-limit"`},
		{`{"chain_id": "x", "rtr_refresh": ["1h"]}`, `rtr_refresh: want a string, a number or a boolean`},
		{`{"chain_id": "x", "witnesses": "https://w.example/=KEY"}`, `witnesses: want an array of strings`},
		{`{"chain_id": "x", "state_sync": {"rpc_servers": ["127.0.0.1:1"], "trust_heigth": 5}}`, `state_sync: json: unknown field "trust_heigth"`},
		{`{"chain_id": 7}`, `chain_id: json: cannot unmarshal number`},
	} {
		home := t.TempDir()
		if err := os.MkdirAll(filepath.Dir(chain.GenesisPath(home)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(chain.GenesisPath(home), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, ConfigFile), []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errs := run("node", "--home", home)
		if code == 0 || !strings.Contains(errs, filepath.Join(home, ConfigFile)) || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want an error naming the file and %q", c.body, code, errs, c.want)
		}
	}
}

// TestConfigFileFormat: a file as earlier versions wrote it reads the same, and a number
// or boolean option is written as a JSON number or boolean, a repeatable one as an array.
func TestConfigFileFormat(t *testing.T) {
	home := t.TempDir()
	old := `{
  "chain_id": "ipledger-local",
  "http": "127.0.0.1:18080",
  "peers": "0123456789abcdef0123456789abcdef01234567@127.0.0.1:26656",
  "trusted_clients": "127.0.0.1",
  "witnesses": ["https://w.example/=KEY"],
  "checkpoints": false,
  "snapshot_interval": 0,
  "snapshot_keep": 5,
  "state_sync": {"rpc_servers": ["127.0.0.1:26657"], "trust_height": 5, "trust_hash": "AB", "trust_period": "168h"},
  "disk_stop_below": "1GiB"
}`
	if err := os.WriteFile(filepath.Join(home, ConfigFile), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	var sf serveFlags
	fs := pflag.NewFlagSet("node", pflag.ContinueOnError)
	sf.register(fs)
	if err := sf.resolve(fs, cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.ChainID != "ipledger-local" || sf.http != "127.0.0.1:18080" || sf.guard.trusted != "127.0.0.1" || len(sf.witnesses) != 1 ||
		!sf.noCheckpoints || sf.snapshotInterval != 0 || sf.snapshotKeep != 5 || sf.diskStopBelow != "1GiB" ||
		sf.stateSync == nil || sf.stateSync.TrustHeight != 5 || sf.rpc != defaultRPC {
		t.Fatalf("read %+v", sf)
	}
	if err := errors.Join(cfg.Set("rtr_max_version", "1"), cfg.Set("timeout_commit", "250ms"), cfg.Set("api_rate_limit", "2.5")); err != nil {
		t.Fatal(err)
	}
	if err := saveConfig(home, cfg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(home, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"snapshot_interval": 0.0, "snapshot_keep": 5.0, "checkpoints": false, "witnesses": []any{"https://w.example/=KEY"},
		"rtr_max_version": 1.0, "timeout_commit": "250ms", "api_rate_limit": 2.5, "http": "127.0.0.1:18080"} {
		if !reflect.DeepEqual(m[key], want) {
			t.Errorf("%s written as %#v, want %#v", key, m[key], want)
		}
	}
	if !strings.HasPrefix(string(b), "{\n  \"chain_id\"") {
		t.Errorf("chain_id not first:\n%s", b)
	}
	// A key set by the Set the testnet and join code use, then refused.
	if err := cfg.Set("no_such_option", "1"); err == nil {
		t.Error("Set took an unknown key")
	}
	if err := cfg.Set("http", "a", "b"); err == nil {
		t.Error("Set took two values for a single-valued option")
	}
}

// TestConfigFileReachesNode: options set only in the home's config file reach a running
// dev node: timeout_commit paces its blocks, mem_limit "off" leaves the Go heap without a
// soft limit, and rtr_refresh is the refresh interval its RTR cache tells a router. None
// of the three could be set there before.
func TestConfigFileReachesNode(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	cfg := &Config{ChainID: "ipledger-dev"}
	if err := errors.Join(cfg.Set("timeout_commit", "1s"), cfg.Set("mem_limit", "off"), cfg.Set("rtr_refresh", "4321s")); err != nil {
		t.Fatal(err)
	}
	if err := createHome(home, homeOptions{chainID: cfg.ChainID}, cfg); err != nil {
		t.Fatal(err)
	}
	prev := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(prev)
	rtrAddr := ipledgertest.FreeAddr(t)
	// runDev turns RTR off on the command line; the later --rtr turns it on again.
	runDev(t, func(out string) {
		if os.Getenv("GOMEMLIMIT") == "" {
			if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
				t.Errorf("memory limit %d with mem_limit \"off\" in the config file", l)
			}
		}

		if r := rtrRefresh(t, rtrAddr); r != 4321 {
			t.Errorf("the RTR cache tells a router refresh %d, want 4321 from the config file", r)
		}

		_, rest, _ := strings.Cut(out, "JSON API: http://")
		api, _, _ := strings.Cut(rest, "/v1/status")
		for deadline := time.Now().Add(20 * time.Second); blockAt(t, api, "latest").Height == 0; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no block after 20 s")
			}
		}
		// A block that changes the state is followed by one more (CometBFT makes a block
		// after each app hash change); the pause between them is the timeout.
		code, stdout, stderr := run("tx", "register-org", "--home", home, "--node", "http://"+api, "--as", "RIPE-NCC",
			"--handle", "ORG-CONFIG", "--name", "Config Test", "--country", "NL", "--abuse-mailbox", "abuse@config.example")
		var h int64
		if _, err := fmt.Sscanf(stdout[strings.Index(stdout, " at height ")+1:], "at height %d", &h); code != 0 || err != nil {
			t.Fatalf("register-org: exit %d, %q, %q", code, stdout, stderr)
		}
		next := blockAt(t, api, strconv.FormatInt(h+1, 10))
		for deadline := time.Now().Add(20 * time.Second); next.Height == 0 && time.Now().Before(deadline); next = blockAt(t, api, strconv.FormatInt(h+1, 10)) {
			time.Sleep(100 * time.Millisecond)
		}
		// The configured second, less a margin for the clock; the default is 100 ms.
		gap := next.Time.Sub(blockAt(t, api, strconv.FormatInt(h, 10)).Time)
		t.Logf("blocks %d and %d: %v apart", h, h+1, gap)
		if next.Height == 0 || gap < 800*time.Millisecond {
			t.Errorf("blocks %d and %d: %v apart, want at least the 1 s of timeout_commit", h, h+1, gap)
		}
	}, "--home", home, "--rtr", rtrAddr)
}

// chainBlock is what TestConfigFileReachesNode reads of GET /v1/blocks/{height}.
type chainBlock struct {
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
}

// blockAt returns the block at height, the zero chainBlock if there is none yet.
func blockAt(t *testing.T, api, height string) chainBlock {
	t.Helper()
	resp, err := http.Get("http://" + api + "/v1/blocks/" + height)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b chainBlock
	if resp.StatusCode == http.StatusNotFound {
		return b
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("block %s: %d %v", height, resp.StatusCode, err)
	}
	return b
}

// rtrRefresh asks the RTR cache at addr for its data in version 1 and returns the refresh
// interval of its End of Data PDU.
func rtrRefresh(t *testing.T, addr string) uint32 {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	q, err := rtr.Append(nil, rtr.Version1, &rtr.ResetQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(q); err != nil {
		t.Fatal(err)
	}
	var buf []byte
	chunk := make([]byte, 64<<10)
	for {
		p, _, n, err := rtr.Decode(buf)
		if errors.Is(err, rtr.ErrShort) {
			m, rerr := c.Read(chunk)
			if rerr != nil {
				t.Fatalf("reading the RTR answer: %v", rerr)
			}
			buf = append(buf, chunk[:m]...)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		buf = buf[n:]
		if eod, ok := p.(*rtr.EndOfData); ok {
			return eod.Refresh
		}
	}
}

// TestLogLevelRefused: a log level the logger does not know is refused, from the command
// line and from IPLEDGER_LOG_LEVEL, where it used to log at info.
func TestLogLevelRefused(t *testing.T) {
	if code, _, errs := run("key", "list", "--home", t.TempDir(), "--log-level", "verbose"); code == 0 || !strings.Contains(errs, `invalid argument "verbose" for "--log-level" flag: want debug, info, warn or error`) {
		t.Errorf("--log-level verbose: exit %d, stderr %q", code, errs)
	}
	t.Setenv("IPLEDGER_LOG_LEVEL", "warning")
	if code, _, errs := run("key", "list", "--home", t.TempDir()); code == 0 || !strings.Contains(errs, `IPLEDGER_LOG_LEVEL="warning": want debug, info, warn or error`) {
		t.Errorf("IPLEDGER_LOG_LEVEL=warning: exit %d, stderr %q", code, errs)
	}
	t.Setenv("IPLEDGER_LOG_LEVEL", "WARN")
	if code, _, errs := run("key", "list", "--home", t.TempDir()); code != 0 {
		t.Errorf("IPLEDGER_LOG_LEVEL=WARN: exit %d, stderr %q", code, errs)
	}
}

// TestREADMEConfigExample: the config file README.md shows is one node takes.
func TestREADMEConfigExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)`(\\{\"timeout_commit\".*?\\})`").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md shows no config file starting with timeout_commit")
	}
	var cfg Config
	if err := json.Unmarshal(m[1], &cfg); err != nil {
		t.Fatalf("%s: %v", m[1], err)
	}
	var sf serveFlags
	fs := pflag.NewFlagSet("node", pflag.ContinueOnError)
	sf.register(fs)
	if err := sf.resolve(fs, &cfg); err != nil {
		t.Fatal(err)
	}
	if sf.timeoutCommit != 200*time.Millisecond || sf.memLimit != "1GiB" || sf.rtrOpts.refresh != 30*time.Minute || sf.rdapOpts.maxResults != 50 || len(sf.witnesses) != 1 {
		t.Fatalf("README's config file read as %+v", sf)
	}
}

// FuzzConfig: whatever config file reads, written and read again, resolves to the same
// options (or is refused again), and nothing panics.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(`{"chain_id": "x", "http": "127.0.0.1:1", "witnesses": ["u=k"], "checkpoints": false, "snapshot_interval": 0, "snapshot_keep": 5}`))
	f.Add([]byte(`{"timeout_commit": "200ms", "mem_limit": "1GiB", "rtr_refresh": "30m", "rdap_max_results": 50, "api_rate_limit": 2.5, "rtr_max_version": "1"}`))
	f.Add([]byte(`{"state_sync": {"rpc_servers": ["127.0.0.1:26657"], "trust_height": 5, "trust_hash": "AB", "trust_period": "168h"}, "checkpoints": "True"}`))
	f.Add([]byte(`{"bogus": 1, "witnesses": null, "peers": ""}`))
	resolved := func(c *Config) (serveFlags, error) {
		var sf serveFlags
		fs := pflag.NewFlagSet("node", pflag.ContinueOnError)
		sf.register(fs)
		err := sf.resolve(fs, c)
		return sf, err
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c1 Config
		if json.Unmarshal(b, &c1) != nil {
			return
		}
		out, err := json.Marshal(c1)
		if err != nil {
			t.Fatalf("%s: written: %v", b, err)
		}
		var c2 Config
		if err := json.Unmarshal(out, &c2); err != nil {
			t.Fatalf("%s written as %s, which reads as %v", b, out, err)
		}
		if c1.ChainID != c2.ChainID || !reflect.DeepEqual(c1.StateSync, c2.StateSync) {
			t.Fatalf("%s written as %s: chain id or state sync changed", b, out)
		}
		s1, err1 := resolved(&c1)
		s2, err2 := resolved(&c2)
		if (err1 == nil) != (err2 == nil) || err1 == nil && !reflect.DeepEqual(s1, s2) {
			t.Fatalf("%s written as %s: resolved %+v (%v), then %+v (%v)", b, out, s1, err1, s2, err2)
		}
	})
}
