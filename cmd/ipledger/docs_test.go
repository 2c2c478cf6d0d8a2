package main

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
)

// readDoc returns a file of docs/.
func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text of a document's "## title" section, up to the next one.
func section(doc, title string) string {
	i := strings.Index(doc, "\n## "+title+"\n")
	if i < 0 {
		return ""
	}
	rest := doc[i+len(title)+5:]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// TestTransactionKindsDoc: docs/TRANSACTIONS.md's kinds table lists exactly the kinds the
// code knows, with their numbers and names.
func TestTransactionKindsDoc(t *testing.T) {
	kinds := section(readDoc(t, "TRANSACTIONS.md"), "Kinds")
	got := map[int]string{}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \| ([a-z-]+) \|`).FindAllStringSubmatch(kinds, -1) {
		n, _ := strconv.Atoi(m[1])
		got[n] = m[2]
	}
	want := map[int]string{}
	for k := 1; k < 1<<10; k++ {
		if name := ipledger.Kind(k).String(); !strings.HasPrefix(name, "kind-") {
			want[k] = name
		}
	}
	for k, name := range want {
		if got[k] != name {
			t.Errorf("TRANSACTIONS.md's kinds table: kind %d is %q, the code's is %q", k, got[k], name)
		}
	}
	for k, name := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("TRANSACTIONS.md's kinds table lists kind %d %q, which the code does not know", k, name)
		}
	}
}

// TestDocFigures: figures and references in the docs that drifted from the code and the
// repository. ARCHITECTURE.md gives the mempool's transaction limit as the node sets it
// (chain/node.go: ipledger.MaxTxBytes), BENCHMARKS.md names no script under /tmp (a
// reader has none of them) and its header's dates span every dated section.
func TestDocFigures(t *testing.T) {
	arch := readDoc(t, "ARCHITECTURE.md")
	limit := strconv.Itoa(ipledger.MaxTxBytes)
	limit = limit[:len(limit)-3] + "," + limit[len(limit)-3:]
	node := section(arch, "Node (chain/)")
	if want := "mempool transaction limit " + limit + " bytes"; !strings.Contains(strings.Join(strings.Fields(node), " "), want) {
		t.Errorf("ARCHITECTURE.md's node section does not say %q", want)
	}
	if strings.Contains(node, "mempool tx limit 1 MiB") {
		t.Error("ARCHITECTURE.md's node section says the mempool takes 1 MiB transactions")
	}

	bench := readDoc(t, "BENCHMARKS.md")
	if m := regexp.MustCompile("/tmp/[^ `]*").FindAllString(bench, -1); len(m) > 0 {
		t.Errorf("BENCHMARKS.md names files under /tmp: %v", m)
	}
	header := bench[:strings.Index(bench, "\n## ")]
	span := regexp.MustCompile(`between (\d{4}-\d\d-\d\d) and\s+(\d{4}-\d\d-\d\d)`).FindStringSubmatch(header)
	if span == nil {
		t.Fatalf("BENCHMARKS.md's header gives no dates (between DATE and DATE):\n%s", header)
	}
	for _, h := range regexp.MustCompile(`(?m)^## .*$`).FindAllString(bench, -1) {
		for _, d := range regexp.MustCompile(`\d{4}-\d\d-\d\d`).FindAllString(h, -1) {
			if d < span[1] || d > span[2] {
				t.Errorf("BENCHMARKS.md: section %q is dated outside the header's %s to %s", h, span[1], span[2])
			}
		}
	}
}
