//go:build !byzantine

package chain

// tamper is the identity in every real build; the byzantine build (proposal_byzantine.go)
// slips a badly signed transaction into its proposals, to test that honest validators
// reject them.
func tamper(_ string, txs [][]byte) [][]byte { return txs }
