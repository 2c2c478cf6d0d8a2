//go:build byzantine

package chain

import (
	"crypto/sha256"

	"github.com/ipledger/ipledger"
)

// tamper appends to every proposal a well-formed transaction for this chain whose
// signature does not verify: what no honest node proposes. Built only with the byzantine
// tag, for the fault tests.
func tamper(chainID string, txs [][]byte) [][]byte {
	seed := sha256.Sum256([]byte("byzantine proposer"))
	k, _ := ipledger.KeyFromSeed(seed[:])
	b, err := ipledger.BuildTx(chainID, ipledger.KindRegisterOrg, 1, 0,
		ipledger.RegisterOrgBody{Orgs: []ipledger.NewOrg{{Handle: "ORG-FORGED", Name: "Forged"}}}, ipledger.Signer{Org: ipledger.IANA, Key: k})
	if err != nil {
		return txs
	}
	b[len(b)-1] ^= 1 // the last byte of the signature
	return append(txs, b)
}
