package ipledgertest

import (
	"path/filepath"
	"testing"
)

// TestGolden: -update writes the file; a differing text fails naming the line.
func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.golden")
	Golden(t, path, []byte("a\nb\n"), true)
	Golden(t, path, []byte("a\nb\n"), false)
	if d := lineDiff("a\nb\n", "a\nc\n"); d != "line 2:\n  want \"b\"\n  got  \"c\"" {
		t.Fatalf("lineDiff: %q", d)
	}
}
