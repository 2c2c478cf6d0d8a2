package rdap

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// TestOpenNotices: the abuse contact of a holding names the open abuse cases on blocks
// inside it, linked to the JSON API; a holding without one names none.
func TestOpenNotices(t *testing.T) {
	w := newWorld(t, Options{})
	w.c.Block(w.c.Tx(ipledger.KindMint, ipledger.MintBody{To: "ORG-B", Amount: 50_000}, ipledgertest.Agent))
	w.c.Block(w.c.Tx(ipledger.KindReport, ipledger.ReportBody{Resource: ipledger.MustParseResource("193.0.3.0/24"), Category: "spam",
		Evidence: strings.Repeat("0f", 32)}, "ORG-B"))
	rec, _ := w.get(t, "/rdap/ip/193.0.3.1")
	body := rec.Body.String()
	if !strings.Contains(body, "Open abuse notices") || !strings.Contains(body, "case 1 on 193.0.3.0/24: spam, notice, cure by ") ||
		!strings.Contains(body, "v1/abuse/cases/1") {
		t.Fatalf("no open notice in\n%s", body)
	}
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	rec, _ = w.get(t, "/rdap/ip/193.0.1.0/24") // ORG-B's assignment: no abuse mailbox, no case
	if strings.Contains(rec.Body.String(), "Open abuse notices") {
		t.Fatalf("a notice on a block without a case:\n%s", rec.Body)
	}
}
