package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ipledger/ipledger/chain"
)

// TestServeFlagsRefused checks a bad serving flag stops the command with a clear message.
func TestServeFlagsRefused(t *testing.T) {
	for _, tc := range []struct{ flag, want string }{
		{"--timeout-commit=-5ms", "--timeout-commit -5ms: want a duration"},
		{"--mem-limit=lots", `--mem-limit "lots"`},
		{"--disk-refuse-below=2GB", `--disk-refuse-below: free-space threshold "2GB"`},
		{"--disk-stop-below=100%", `--disk-stop-below: free-space threshold "100%"`},
		{"--p2p-max-conns-per-client=-1", "--p2p-max-conns-per-client -1: want 0 (no cap) or more"},
	} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), []string{"dev", "--home", t.TempDir(), "--http", "off", "--whois", "off", "--rtr", "off", "--rpc", "off", "--p2p", "127.0.0.1:0", tc.flag}, &out, &errOut)
		if code == 0 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want an error naming %q", tc.flag, code, errOut.String(), tc.want)
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
	sf.resolve(fs, &Config{DiskRefuseBelow: "1GiB", DiskStopBelow: "512MiB"})
	o, err := sf.disk()
	if err != nil {
		t.Fatal(err)
	}
	if o.RefuseBelow != (chain.Threshold{Bytes: 10 << 30}) || o.StopBelow != (chain.Threshold{Bytes: 512 << 20}) {
		t.Fatalf("resolved %+v", o)
	}
	var c Config
	sf.store(fs, &c)
	if c.DiskRefuseBelow != "10GiB" || c.DiskStopBelow != "" {
		t.Fatalf("stored %+v", c)
	}
	var def serveFlags
	def.register(pflag.NewFlagSet("y", pflag.ContinueOnError))
	if o, err := def.disk(); err != nil || o.RefuseBelow != chain.DefaultRefuseBelow || o.StopBelow != chain.DefaultStopBelow {
		t.Fatalf("defaults %+v %v", o, err)
	}
}
