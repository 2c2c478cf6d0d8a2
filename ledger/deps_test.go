package ledger

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"strings"
	"testing"
)

// TestNoNondeterminism keeps the state machine free of wall clock, randomness, the
// filesystem and the network: in its own files and in everything it imports.
func TestNoNondeterminism(t *testing.T) {
	forbiddenPkgs := []string{"os", "net", "math/rand", "math/rand/v2", "crypto/rand", "syscall", "io/ioutil", "os/exec", "net/http"}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	// The transitive closure includes the standard library's own use of os (via fmt and
	// encoding/json), so the direct imports are what this package controls; check those.
	fset := token.NewFileSet()
	files, err := parseNonTest(fset)
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range files {
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			for _, bad := range forbiddenPkgs {
				if p == bad {
					t.Errorf("%s imports %s", name, p)
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" {
				switch sel.Sel.Name {
				case "Now", "Since", "Until", "Sleep", "After", "Tick", "NewTimer", "NewTicker", "AfterFunc":
					t.Errorf("%s: calls time.%s", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			return true
		})
	}
	// math/rand cannot be checked transitively: math/big uses it internally.
	for _, bad := range []string{"net", "net/http", "os/exec"} {
		if deps[bad] {
			t.Errorf("ledger depends on %s (transitively)", bad)
		}
	}
}

func parseNonTest(fset *token.FileSet) (map[string]*ast.File, error) {
	out, err := exec.Command("go", "list", "-f", `{{join .GoFiles " "}}`, ".").Output()
	if err != nil {
		return nil, err
	}
	files := map[string]*ast.File{}
	for _, name := range strings.Fields(string(out)) {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, err
		}
		files[name] = f
	}
	return files, nil
}
