package httpapi

import (
	"context"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/ipledgertest"
	"github.com/ipledger/ipledger/ledger"
)

// TestValidatorChange adds a validator by a transaction of the operator of all the voting
// power and sees CometBFT's validator set follow: the ledger hands the change to consensus
// through FinalizeBlock, and it takes effect two heights later.
func TestValidatorChange(t *testing.T) {
	n, _, c := startNode(t)
	ctx := context.Background()
	iana := ipledgertest.Signer(ipledger.IANA)
	var k ledger.HexKey
	copy(k[:], ed25519.GenPrivKey().PubKey().Bytes())
	// A registry that runs no validator cannot change the set.
	res, err := c.Submit(ctx, mustTx(t, ipledger.KindSetValidator, 1, ledger.SetValidatorBody{PubKey: k, Power: 1, Operator: ipledger.ARIN}, ipledgertest.Signer(ipledger.RIPENCC)), true)
	if err != nil || res.Code != ipledger.CodeUnauthorized {
		t.Fatalf("set-validator by a non-operator: %+v %v", res, err)
	}
	commit(t, c, "set-validator", mustTx(t, ipledger.KindSetValidator, 1, ledger.SetValidatorBody{PubKey: k, Power: 1, Operator: ipledger.ARIN}, iana))
	deadline := time.Now().Add(20 * time.Second)
	for seq := uint64(2); ; seq++ {
		st, err := n.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Validators) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("validator set did not change: %+v", st.Validators)
		}
		// Blocks come with transactions; keep them coming.
		commit(t, c, "register", mustTx(t, ipledger.KindRegisterOrg, seq, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-V" + itoa(seq), Name: "V"}}}, iana))
	}
	// 10 of 11 is still more than two thirds: the single original validator goes on.
	// RIPE-NCC used sequence 1 on the rejected set-validator above.
	commit(t, c, "after", mustTx(t, ipledger.KindRegisterOrg, 2, ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-AFTER", Name: "after"}}}, ipledgertest.Signer(ipledger.RIPENCC)))
}
