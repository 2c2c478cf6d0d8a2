package cli

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ipledgertest/chaintest"
)

// TestLedgerAuths: the VRP feed's view of the ledger is the committed height and the
// route authorisations in force at the committed block's time: one that expired by then is
// left out; a reader that stops early is not called again.
func TestLedgerAuths(t *testing.T) {
	c := chaintest.NewChain(t, "rtr-test", nil)
	c.Block(c.Tx(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{
		{Handle: "ORG-A", Name: "Alpha", Keys: []ipledger.PublicKey{ipledgertest.Key("ORG-A").Public()}}}}, ipledger.RIPENCC))
	c.Block(c.Tx(ipledger.KindAllocate, ipledger.AllocateBody{Items: []ipledger.AllocateItem{
		{Resource: ipledger.MustParseResource("193.0.0.0/16"), Org: "ORG-A", Status: ipledger.StatusAllocatedPA}}}, ipledger.RIPENCC))
	// Blocks are a minute apart: the second authorisation has expired at the next block.
	soon := chaintest.GenesisTime.Add(time.Duration(c.Height()+1)*time.Minute + 30*time.Second).Unix()
	c.Block(
		c.Tx(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.0.0/16"), MaxLength: 24, ASN: 64496}, "ORG-A"),
		c.Tx(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.8.0/22"), MaxLength: 24, ASN: 64497, Expires: soon}, "ORG-A"),
	)
	l := ledgerAuths(c.App().Committed)
	read := func() (int64, []ipledger.RouteAuth) {
		t.Helper()
		h, auths := l()
		var out []ipledger.RouteAuth
		for ra, err := range auths {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ra)
		}
		return h, out
	}
	if h, got := read(); h != c.Height() || len(got) != 2 {
		t.Fatalf("height %d, %d authorisations; want %d, 2", h, len(got), c.Height())
	}
	c.Block()
	h, got := read()
	if h != c.Height() || len(got) != 1 || got[0].Prefix != netip.MustParsePrefix("193.0.0.0/16") || got[0].ASN != 64496 || got[0].Holder != "ORG-A" {
		t.Fatalf("height %d, authorisations %+v; want %d and only AS64496's", h, got, c.Height())
	}
	c.Block(c.Tx(ipledger.KindAuthorise, ipledger.AuthoriseBody{Prefix: netip.MustParsePrefix("193.0.4.0/24"), MaxLength: 24, ASN: 64498}, "ORG-A"))
	_, auths := l()
	n := 0
	for range auths {
		n++
		break // the reader must not be called again
	}
	if n != 1 {
		t.Errorf("%d authorisations before the break, want 1", n)
	}
}
