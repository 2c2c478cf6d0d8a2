package whois

import (
	"strings"
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
)

// TestOpenNotices: an address holding's answer names the open abuse cases on blocks
// overlapping it beside its abuse contact; an AS number's does not.
func TestOpenNotices(t *testing.T) {
	r := newTestRegistry(t)
	r.Apply(ipledger.KindMint, ipledger.MintBody{To: "ORG-C", Amount: 50_000}, ipledgertest.Agent)
	r.Apply(ipledger.KindReport, ipledger.ReportBody{Resource: res("193.0.2.0/24"), Category: "phishing", Evidence: strings.Repeat("0f", 32)}, "ORG-C")
	s := newTestServer(t, Options{Source: newSource(r.KV(), r.Height())})
	got := ask(s, "193.0.2.1")
	if !strings.Contains(got, "% Open abuse notice on '193.0.2.0/24': case 1 (phishing, notice, cure by ") || !strings.Contains(got, "/v1/abuse/cases/1\n") {
		t.Fatalf("no open notice in\n%s", got)
	}
	if got := ask(s, "193.2.0.1"); strings.Contains(got, "Open abuse notice") {
		t.Fatalf("a notice on a block without a case:\n%s", got)
	}
}
