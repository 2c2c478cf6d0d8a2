package ipledger

import (
	"os/exec"
	"strings"
	"testing"
)

// frontEnds are the packages that read the chain through Reader only: they may import the
// root, ledger's pure queries and their own helpers, never the node, its store or CometBFT.
// The value names a package whose dependencies are allowed all the same: httpapi serves
// state proofs, and stateproof's verifier decodes CometBFT's headers and the store's key
// proofs; httpapi itself imports neither.
var frontEnds = map[string]string{"rdap": "", "whois": "", "httpapi": "stateproof"}

// forbiddenForFrontEnds are import path prefixes no front end may depend on, directly or
// not.
var forbiddenForFrontEnds = []string{
	"github.com/cometbft/",
	"github.com/ipledger/ipledger/chain",
	"github.com/ipledger/ipledger/store",
}

// TestFrontEndImports runs go list -deps on each front end and fails on any dependency in
// forbiddenForFrontEnds that its allowed package does not bring, or that it imports
// directly, with the import path that brings the first one in.
func TestFrontEndImports(t *testing.T) {
	for name, allow := range frontEnds {
		t.Run(name, func(t *testing.T) {
			g, root := importGraph(t, "./"+name)
			allowed := map[string][]string{}
			if allow != "" {
				allowed, _ = importGraph(t, "./"+allow)
			}
			var bad []string
			for p := range g {
				if _, ok := allowed[p]; forbidden(p) && !ok {
					bad = append(bad, p)
				}
			}
			for _, p := range g[root] {
				if _, ok := allowed[p]; forbidden(p) && ok {
					bad = append(bad, p) // what the allowed package brings, but imported directly
				}
			}
			if len(bad) > 0 {
				var shortest []string // the most direct way in: where to look first
				for _, b := range bad {
					if p := importPath(g, root, b); shortest == nil || len(p) < len(shortest) || len(p) == len(shortest) && b < shortest[len(shortest)-1] {
						shortest = p
					}
				}
				t.Errorf("%s depends on %d forbidden packages, e.g. %s", name, len(bad), strings.Join(shortest, " → "))
			}
		})
	}
}

func forbidden(p string) bool {
	for _, f := range forbiddenForFrontEnds {
		if p == strings.TrimSuffix(f, "/") || strings.HasPrefix(p, strings.TrimSuffix(f, "/")+"/") {
			return true
		}
	}
	return false
}

// importGraph returns what each non-standard dependency of pkg imports, and pkg's import
// path.
func importGraph(t *testing.T, pkg string) (map[string][]string, string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{range .Imports}} {{.}}{{end}}{{end}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	g := map[string][]string{}
	root := ""
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			g[f[0]] = f[1:]
			root = f[0] // go list -deps lists pkg last
		}
	}
	return g, root
}

// importPath returns a shortest chain of imports from root to dep.
func importPath(g map[string][]string, root, dep string) []string {
	prev := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == dep {
			var path []string
			for ; p != ""; p = prev[p] {
				path = append([]string{p}, path...)
			}
			return path
		}
		for _, q := range g[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return []string{dep}
}
