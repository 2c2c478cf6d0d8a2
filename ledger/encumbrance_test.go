package ledger

import (
	"strings"
	"testing"
)

// TestEncumbranceTableDoc: docs/ARCHITECTURE.md's table of action × encumbrance kind says
// what encumbranceRules does, cell by cell ("blocks", "—" for allowed, "only if …" for
// a sale subject to a lease).
func TestEncumbranceTableDoc(t *testing.T) {
	lines := strings.Split(docAfter(t, "ARCHITECTURE.md", "| action ↓ kind → |"), "\n")
	kinds := strings.Fields(strings.ReplaceAll(lines[0], "|", " "))
	want := []string{encOffer, encLease, encListing, encSale, encHeld, encAsk}
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Fatalf("table's kinds %v, want %v", kinds, want)
	}
	rows := 0
	for _, line := range lines[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		action, _, _ := strings.Cut(strings.TrimSpace(cells[0]), " ")
		if action == "move" {
			action = "move or mark pool space" // no row of the rules: every kind blocks it
		}
		rows++
		for i, k := range kinds {
			cell := strings.TrimSpace(cells[i+1])
			var got string
			switch encumbranceRules[action][k] {
			case blocks:
				got = "blocks"
			case allows:
				got = "—"
			case ifContained:
				got = "only if"
			}
			if !strings.HasPrefix(cell, got) {
				t.Errorf("%s × %s: the doc says %q, the rules %q", action, k, cell, got)
			}
		}
	}
	if rows != len(encumbranceRules)+1 {
		t.Errorf("the doc's table has %d rows; the rules have %d actions and pool space", rows, len(encumbranceRules))
	}
}
