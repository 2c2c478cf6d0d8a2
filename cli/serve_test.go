package cli

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger/chain"
)

// TestServeFlagsRefused checks a bad serving flag stops the command with a clear message,
// naming the flag and the value, before anything starts.
func TestServeFlagsRefused(t *testing.T) {
	for _, tc := range []struct{ flag, want string }{
		{"--timeout-commit=-5ms", `invalid argument "-5ms" for "--timeout-commit" flag: want a duration`},
		{"--mem-limit=lots", `invalid argument "lots" for "--mem-limit" flag: want a size`},
		{"--disk-refuse-below=2GB", `invalid argument "2GB" for "--disk-refuse-below" flag: free-space threshold "2GB"`},
		{"--disk-stop-below=100%", `invalid argument "100%" for "--disk-stop-below" flag: free-space threshold "100%"`},
		{"--p2p-max-conns-per-client=-1", `invalid argument "-1" for "--p2p-max-conns-per-client" flag: want 0 (no cap) or more`},
		{"--whois-public-host=whois.example.net:43", `invalid argument "whois.example.net:43" for "--whois-public-host" flag: port43 "whois.example.net:43"`},
		{"--whois-public-host=whois://whois.example.net", `invalid argument "whois://whois.example.net" for "--whois-public-host" flag: port43 "whois://whois.example.net"`},
		{"--rtr-max-version=3", `invalid argument "3" for "--rtr-max-version" flag: want 0, 1 or 2`},
		{"--trusted-clients=10.0.0.0/33", `invalid argument "10.0.0.0/33" for "--trusted-clients" flag: trusted clients: "10.0.0.0/33"`},
		{"--trusted-clients=10.0.0.0/8,example.net", "--trusted-clients"},
	} {
		code, _, errs := run("dev", "--home", t.TempDir(), "--http", "off", "--whois", "off", "--rtr", "off", "--rpc", "off", "--p2p", "127.0.0.1:0", tc.flag)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want an error naming %q", tc.flag, code, errs, tc.want)
		}
	}
}

// TestDiskFlagsResolve: the free-space thresholds come from the flag, else the config
// file, else the defaults, and init keeps a given one in the config file.
func TestDiskFlagsResolve(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	var sf serveFlags
	sf.register(fs)
	if err := fs.Parse([]string{"--disk-refuse-below=10GiB"}); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{}
	if err := errors.Join(cfg.Set("disk_refuse_below", "1GiB"), cfg.Set("disk_stop_below", "512MiB")); err != nil {
		t.Fatal(err)
	}
	if err := sf.resolve(fs, cfg); err != nil {
		t.Fatal(err)
	}
	o, err := sf.disk()
	if err != nil {
		t.Fatal(err)
	}
	if o.RefuseBelow != (chain.Threshold{Bytes: 10 << 30}) || o.StopBelow != (chain.Threshold{Bytes: 512 << 20}) {
		t.Fatalf("resolved %+v", o)
	}
	var c Config
	sf.store(fs, &c)
	if c.Get("disk_refuse_below") != "10GiB" || c.Get("disk_stop_below") != "" {
		t.Fatalf("stored %+v", c)
	}
	var def serveFlags
	def.register(pflag.NewFlagSet("y", pflag.ContinueOnError))
	if o, err := def.disk(); err != nil || o.RefuseBelow != chain.DefaultRefuseBelow || o.StopBelow != chain.DefaultStopBelow {
		t.Fatalf("defaults %+v %v", o, err)
	}
}

// TestMemoryLimitFor: the soft limit follows the live heap with headroom, never above the
// ceiling, and leaves a small state to GOGC.
func TestMemoryLimitFor(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, nonHeap, want int64
	}{
		{live: 50 * mib, nonHeap: 20 * mib, want: 262 * mib},   // small: 50+20+192, above GOGC's 4×50
		{live: 380 * mib, nonHeap: 30 * mib, want: 602 * mib},  // a registry's state: headroom 192, not the ceiling
		{live: 500 * mib, nonHeap: 30 * mib, want: 750 * mib},  // an import: 500+30+250 is past the ceiling
		{live: 1000 * mib, nonHeap: 30 * mib, want: 750 * mib}, // never above the ceiling
	} {
		if got := memoryLimitFor(memoryFigures{live: tc.live, nonHeap: tc.nonHeap}, 750*mib, memHeadroom); got != tc.want {
			t.Errorf("live %d MiB, other %d MiB: limit %d MiB, want %d MiB", tc.live/mib, tc.nonHeap/mib, got/mib, tc.want/mib)
		}
	}
	// The runtime's own figures are there (the live heap as of a collection).
	runtime.GC()
	if m := readMemory(); m.live <= 0 || m.nonHeap <= 0 {
		t.Fatalf("runtime figures %+v", m)
	}
}
