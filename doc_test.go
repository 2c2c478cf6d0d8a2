package ipledger

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPackageDocs requires a package doc comment on every package of the module.
func TestPackageDocs(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Name}}\t{{.Doc}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) < 3 || f[2] == "" {
			t.Errorf("%s has no package doc comment", f[0])
			continue
		}
		want := "Package " + f[1] + " "
		if f[1] == "main" {
			want = "Command "
		}
		if !strings.HasPrefix(f[2], want) {
			t.Errorf("%s: doc should start with %q: %q", f[0], want, f[2])
		}
	}
}
