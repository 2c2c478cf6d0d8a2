package chaintest

import (
	"testing"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ledger"
)

func TestNewChain(t *testing.T) {
	c := NewChain(t, "chaintest", nil)
	c.Block(c.Tx(ipledger.KindRegisterOrg, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-A", Name: "A"}}}, ipledger.RIPENCC))
	if c.Height() != 2 {
		t.Fatalf("height %d, want 2", c.Height())
	}
	snap := c.App().Committed()
	if snap.Height != 2 {
		t.Fatalf("committed height %d", snap.Height)
	}
	if o, err := ledger.Org(snap.State, "ORG-A"); err != nil || o == nil {
		t.Fatalf("ORG-A: %v %v", o, err)
	}
}
