package vrp

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps vrp beneath the ledger: it takes the ledger's route authorisations as
// root types (FromRouteAuths), so of this module it may import the root only — not ledger,
// chain or store — and nothing of CometBFT.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/ipledger/ipledger"
	for _, p := range strings.Fields(string(out)) {
		if p == module || p == module+"/vrp" {
			continue
		}
		if strings.HasPrefix(p, module+"/") || strings.HasPrefix(p, "github.com/cometbft/") {
			t.Errorf("vrp depends on %s", p)
		}
	}
}
