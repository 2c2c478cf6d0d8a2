package ipledgertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestData: a file present is returned; a missing one skips, so the subtest reports
// skipped rather than failed, outside CI.
func TestData(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "iana"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("IPLEDGER_DATA", dir)
	t.Setenv("CI", "")
	if got, ok := DataDir(); got != dir || !ok {
		t.Fatalf("DataDir() = %q, %v", got, ok)
	}
	if got := Data(t, "iana"); got != filepath.Join(dir, "iana") {
		t.Fatalf("Data = %q", got)
	}
	var skipped bool
	t.Run("missing", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Data(t, "iana/nothing.xml")
		t.Error("Data returned for a missing file")
	})
	if !skipped {
		t.Fatal("a missing file did not skip")
	}
	t.Setenv("IPLEDGER_DATA", filepath.Join(dir, "missing"))
	if _, ok := DataDir(); ok {
		t.Fatal("DataDir ok for a missing folder")
	}
	t.Setenv("IPLEDGER_DATA", "")
	if got, _ := DataDir(); filepath.Base(got) != "data" || filepath.Base(filepath.Dir(got)) != "shared" {
		t.Fatalf("DataDir() = %q, want …/shared/data beside the module root", got)
	}
}

// recordTB records what Data asks of a test instead of stopping it.
type recordTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordTB) Helper()           {}
func (r *recordTB) Fatal(args ...any) { r.fatal = fmt.Sprint(args...) }
func (r *recordTB) Skip(args ...any)  { r.skip = fmt.Sprint(args...) }

// TestDataCI: under CI=true a missing file fails the test, naming where it is published.
func TestDataCI(t *testing.T) {
	t.Setenv("IPLEDGER_DATA", t.TempDir())
	for _, ci := range []string{"true", ""} {
		t.Setenv("CI", ci)
		r := &recordTB{TB: t}
		Data(r, "delegated/2014-06/delegated-afrinic-latest")
		msg := r.skip
		if ci == "true" {
			msg = r.fatal
		}
		if !strings.Contains(msg, "delegated-afrinic-latest") || !strings.Contains(msg, "https://ftp.ripe.net/pub/stats/") {
			t.Errorf("CI=%q: fatal %q, skip %q", ci, r.fatal, r.skip)
		}
	}
}
