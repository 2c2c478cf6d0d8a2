package ipledger

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// frontEnds are the packages that read the chain through Reader only: they may import the
// root, ledger's pure queries and their own helpers, never the node, its store or CometBFT.
// The value names a package whose dependencies are allowed all the same: httpapi serves
// state proofs, and stateproof's verifier decodes CometBFT's headers and the store's key
// proofs; httpapi itself imports neither.
var frontEnds = map[string]string{"rdap": "", "whois": "", "httpapi": "stateproof", "web": "", "market": ""}

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

// modulePath is this module's import path.
const modulePath = "github.com/ipledger/ipledger"

// TestPackageImports checks docs/ARCHITECTURE.md's table "What each package imports"
// against go list, both ways: every package of the module has a row, and its row names
// exactly the module's packages and the outside modules its non-test files import.
func TestPackageImports(t *testing.T) {
	want, err := importsTable("docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	got := map[string]packageImports{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		got[shortName(f[0])] = classifyImports(f[1:])
	}
	for pkg, g := range got {
		w, ok := want[pkg]
		if !ok {
			t.Errorf("package %s has no row in the imports table of docs/ARCHITECTURE.md; it imports %s | %s", pkg, g.module, g.outside)
			continue
		}
		if g.module != w.module {
			t.Errorf("%s imports %s of this module; the table says %s", pkg, g.module, w.module)
		}
		if g.outside != w.outside {
			t.Errorf("%s imports %s from outside; the table says %s", pkg, g.outside, w.outside)
		}
	}
	for pkg := range want {
		if _, ok := got[pkg]; !ok {
			t.Errorf("the imports table names %s, which is not a package of the module", pkg)
		}
	}
}

// packageImports is one row of the table: comma-separated, sorted, "—" for none.
type packageImports struct{ module, outside string }

// shortName is a package's name in the table: its path in the module, "root" for the root.
func shortName(importPath string) string {
	if importPath == modulePath {
		return "root"
	}
	return strings.TrimPrefix(importPath, modulePath+"/")
}

// classifyImports splits imports into the module's packages and outside modules (their
// first three path elements, e.g. github.com/spf13/cobra); the standard library is left out.
func classifyImports(imports []string) packageImports {
	mod, ext := map[string]bool{}, map[string]bool{}
	for _, p := range imports {
		switch {
		case p == modulePath || strings.HasPrefix(p, modulePath+"/"):
			mod[shortName(p)] = true
		case strings.Contains(strings.SplitN(p, "/", 2)[0], "."):
			e := strings.Split(p, "/")
			ext[strings.Join(e[:min(3, len(e))], "/")] = true
		}
	}
	return packageImports{module: joinSorted(mod), outside: joinSorted(ext)}
}

func joinSorted(set map[string]bool) string {
	if len(set) == 0 {
		return "—"
	}
	l := make([]string, 0, len(set))
	for s := range set {
		l = append(l, s)
	}
	slices.Sort(l)
	return strings.Join(l, ", ")
}

// importsTable reads the rows between the table's markers in the document at path.
func importsTable(path string) (map[string]packageImports, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	const start, end = "<!-- imports table:", "<!-- end of imports table -->"
	s := string(b)
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		return nil, fmt.Errorf("%s: no imports table between %q and %q", path, start, end)
	}
	rows := map[string]packageImports{}
	for _, line := range strings.Split(s[i:j], "\n")[1:] {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) != 3 || strings.TrimSpace(cells[0]) == "package" || strings.HasPrefix(strings.TrimSpace(cells[0]), "---") {
			continue
		}
		pkg := strings.TrimSpace(cells[0])
		if _, dup := rows[pkg]; dup {
			return nil, fmt.Errorf("%s: package %s has two rows in the imports table", path, pkg)
		}
		rows[pkg] = packageImports{module: normalise(cells[1]), outside: normalise(cells[2])}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: the imports table has no rows", path)
	}
	return rows, nil
}

// normalise sorts a cell's comma-separated list, so the table's order is free.
func normalise(cell string) string {
	set := map[string]bool{}
	for _, s := range strings.Split(cell, ",") {
		if s = strings.TrimSpace(s); s != "" && s != "—" {
			set[s] = true
		}
	}
	return joinSorted(set)
}
