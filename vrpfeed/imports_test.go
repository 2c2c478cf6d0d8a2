package vrpfeed

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports keeps the feed on the root's side of the read seam: of this module it may
// import the root and vrp only — the ledger reaches it as a Ledger function — and nothing
// of CometBFT.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/ipledger/ipledger"
	allowed := map[string]bool{module: true, module + "/vrp": true, module + "/vrpfeed": true}
	for _, p := range strings.Fields(string(out)) {
		if allowed[p] {
			continue
		}
		if strings.HasPrefix(p, module+"/") || strings.HasPrefix(p, "github.com/cometbft/") {
			t.Errorf("vrpfeed depends on %s", p)
		}
	}
}
