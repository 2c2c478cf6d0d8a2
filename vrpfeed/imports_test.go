package vrpfeed

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImports keeps vrp and the feed on the root's side of the read seam: vrp takes the
// ledger's route authorisations as root types (vrp.FromRouteAuths) and the feed reaches
// the ledger through a Ledger function, so of this module vrp imports the root only and
// the feed the root and vrp — neither ledger, chain nor store — and neither anything of
// CometBFT.
func TestImports(t *testing.T) {
	const module = "github.com/ipledger/ipledger"
	for _, c := range []struct {
		pkg     string
		allowed []string
	}{
		{module + "/vrp", []string{module}},
		{module + "/vrpfeed", []string{module, module + "/vrp"}},
	} {
		t.Run(strings.TrimPrefix(c.pkg, module+"/"), func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", c.pkg).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			for _, p := range strings.Fields(string(out)) {
				ours := p == module || strings.HasPrefix(p, module+"/")
				if ours && p != c.pkg && !slices.Contains(c.allowed, p) || strings.HasPrefix(p, "github.com/cometbft/") {
					t.Errorf("%s depends on %s", c.pkg, p)
				}
			}
		})
	}
}
