package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/ledger"
)

// testHome creates a home for chainID in the test's temporary directory, with the
// default config, and returns it.
func testHome(t *testing.T, chainID string) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "home")
	if err := createHome(home, homeOptions{chainID: chainID}, &Config{}); err != nil {
		t.Fatal(err)
	}
	return home
}

// TestCreateHomeRegistries: a new home's genesis records IANA and the five RIRs in
// ipledger.Registries' order, each under its name and country (ipledger.RegistryOf) and
// with the key kept in the home.
func TestCreateHomeRegistries(t *testing.T) {
	home := testHome(t, "registries-test")
	b, err := os.ReadFile(chain.GenesisPath(home))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AppState ledger.Genesis `json:"app_state"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	keys, err := registryKeys(home, false)
	if err != nil {
		t.Fatal(err)
	}
	got := doc.AppState.Registries
	if len(got) != len(ipledger.Registries) {
		t.Fatalf("%d registries in genesis, want %d", len(got), len(ipledger.Registries))
	}
	for i, h := range ipledger.Registries {
		r, _ := ipledger.RegistryOf(h)
		o := got[i]
		if o.Handle != h || o.Name != r.Name || o.Country != r.Country || o.Name == "" || o.Country == "" ||
			len(o.Keys) != 1 || o.Keys[0] != keys[h].Public() {
			t.Errorf("genesis registry %d: %s %q %q %v; want %s %q %q and its key", i, o.Handle, o.Name, o.Country, o.Keys, h, r.Name, r.Country)
		}
	}
}

// TestJoinStateSyncOptions: init --join --state-sync checks its options and records them
// in the new home's config, from which the node gets them.
func TestJoinStateSyncOptions(t *testing.T) {
	genesis := chain.GenesisPath(testHome(t, "join-test"))
	const hash = "9E474BBE6C2E678A6F2782F4B97D1817A2BF45B1EA8318B892F75CEB0F3B6AB2"
	for _, c := range []struct {
		name string
		j    joinFlags
		want string // error text; "" for success
	}{
		{"no rpc servers", joinFlags{stateSync: true, trustPeriod: time.Hour}, "--rpc-servers"},
		{"bad hash", joinFlags{stateSync: true, rpcServers: []string{"127.0.0.1:1"}, trustHeight: 5, trustHash: "abc", trustPeriod: time.Hour}, "--trust-hash"},
		{"hash without height", joinFlags{stateSync: true, rpcServers: []string{"127.0.0.1:1"}, trustHash: hash, trustPeriod: time.Hour}, "--trust-height"},
		{"no trust period", joinFlags{stateSync: true, rpcServers: []string{"127.0.0.1:1"}, trustHeight: 5, trustHash: hash}, "--trust-period"},
		{"unreachable server", joinFlags{stateSync: true, rpcServers: []string{"127.0.0.1:1"}, trustPeriod: time.Hour}, "trusted header from"},
		{"given trust", joinFlags{stateSync: true, rpcServers: []string{"127.0.0.1:1", "127.0.0.1:2"}, trustHeight: 5, trustHash: strings.ToLower(hash), trustPeriod: 48 * time.Hour}, ""},
		{"block sync", joinFlags{trustPeriod: time.Hour}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "joiner")
			cfg := &Config{}
			if err := cfg.Set("peers", "0123456789abcdef0123456789abcdef01234567@127.0.0.1:26656"); err != nil {
				t.Fatal(err)
			}
			err := joinHome(context.Background(), home, genesis, cfg, &c.j)
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want one naming %s", err, c.want)
				}
				if homeExists(home) {
					t.Fatal("a refused join left a home behind")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			saved, err := loadConfig(home)
			if err != nil {
				t.Fatal(err)
			}
			o, err := saved.StateSync.options()
			if err != nil {
				t.Fatal(err)
			}
			if !c.j.stateSync {
				if o != nil {
					t.Fatalf("state sync configured without --state-sync: %+v", o)
				}
				return
			}
			if o.TrustHeight != 5 || o.TrustHash != hash || o.TrustPeriod != 48*time.Hour || len(o.RPCServers) != 2 {
				t.Fatalf("options %+v", o)
			}
		})
	}
}
