package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/chain"
	"github.com/ipledger/ipledger/ledger"
)

// TestCreateHomeRegistries: a new home's genesis records IANA and the five RIRs in
// ipledger.Registries' order, each under its name and country (ipledger.RegistryOf) and
// with the key kept in the home.
func TestCreateHomeRegistries(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := createHome(home, homeOptions{chainID: "registries-test"}, &Config{}); err != nil {
		t.Fatal(err)
	}
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
