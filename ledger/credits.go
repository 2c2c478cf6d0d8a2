package ledger

import (
	"github.com/ipledger/ipledger"
)

// Settlement credits: integers minted and burned only by settlement agents, moved by their
// holders, by lease settlement and by the market's. Credits a bid holds (market.go) stay in
// the balance but cannot be paid, burned or held again until released. Every change keeps the sum of balances equal to the
// supply counter; arithmetic that would overflow rejects the transaction.

// requireAgent is the signer rule of mint and burn: o must be a settlement agent.
func requireAgent(o *ipledger.Organisation) error {
	if !o.SettlementAgent {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "%s is not a settlement agent", o.Handle)
	}
	return nil
}

// mint creates credits; its signer is a settlement agent (requireAgent).
func (a *apply) mint(body *ipledger.MintBody) error {
	agent := a.signers[0]
	if body.Amount == 0 {
		return ipledger.Errorf(ipledger.CodeInvalid, "mint of nothing")
	}
	if _, err := a.mustOrg(body.To); err != nil {
		return err
	}
	supply, err := a.getU64([]byte{tagCounter, counterSupply})
	if err != nil {
		return err
	}
	if supply+body.Amount < supply {
		return ipledger.Errorf(ipledger.CodeOverflow, "minting %d would overflow the supply of %d", body.Amount, supply)
	}
	if err := a.credit(body.To, body.Amount); err != nil {
		return err
	}
	a.touch("org", agent.Handle)
	return a.setU64([]byte{tagCounter, counterSupply}, supply+body.Amount)
}

// burn destroys credits of its signer, a settlement agent (requireAgent).
func (a *apply) burn(body *ipledger.BurnBody) error {
	agent := a.signers[0]
	if body.Amount == 0 {
		return ipledger.Errorf(ipledger.CodeInvalid, "burn of nothing")
	}
	if err := a.debit(agent.Handle, body.Amount); err != nil {
		return err
	}
	supply, err := a.getU64([]byte{tagCounter, counterSupply})
	if err != nil {
		return err
	}
	if supply < body.Amount {
		return ipledger.Errorf(ipledger.CodeInternal, "supply %d below a balance being burned", supply)
	}
	return a.setU64([]byte{tagCounter, counterSupply}, supply-body.Amount)
}

func (a *apply) pay(body *ipledger.PayBody) error {
	if body.Amount == 0 {
		return ipledger.Errorf(ipledger.CodeInvalid, "payment of nothing")
	}
	if body.To == a.signers[0].Handle {
		return ipledger.Errorf(ipledger.CodeInvalid, "payment to oneself")
	}
	if _, err := a.mustOrg(body.To); err != nil {
		return err
	}
	return a.move(a.signers[0].Handle, body.To, body.Amount)
}

// move pays amount from one organisation to another: CodeNoFunds if from has too little,
// CodeOverflow if to's balance would overflow.
// Both are checked before either balance changes, so a failed move changes nothing (lease
// settlement relies on that: it runs outside any transaction's overlay).
func (a *apply) move(from, to string, amount uint64) error {
	if _, _, err := a.free(from, amount); err != nil {
		return err
	}
	tb, err := a.balance(to)
	if err != nil {
		return err
	}
	if tb+amount < tb {
		return ipledger.Errorf(ipledger.CodeOverflow, "crediting %d to %s would overflow its balance of %d", amount, to, tb)
	}
	if err := a.debit(from, amount); err != nil {
		return err
	}
	return a.credit(to, amount)
}

// free returns org's balance and what of it its bids hold, or CodeNoFunds unless the rest
// covers amount.
func (a *apply) free(org string, amount uint64) (balance, held uint64, err error) {
	if balance, err = a.balance(org); err != nil {
		return 0, 0, err
	}
	if held, err = a.held(org); err != nil {
		return 0, 0, err
	}
	if balance-held < amount {
		return 0, 0, ipledger.Errorf(ipledger.CodeNoFunds, "%s has %d credits free (%d held by bids); %d needed", org, balance-held, held, amount)
	}
	return balance, held, nil
}

func (a *apply) debit(org string, amount uint64) error {
	b, _, err := a.free(org, amount)
	if err != nil {
		return err
	}
	a.touch("org", org)
	return a.setU64(balanceKey(org), b-amount)
}

func (a *apply) credit(org string, amount uint64) error {
	b, err := a.balance(org)
	if err != nil {
		return err
	}
	if b+amount < b {
		return ipledger.Errorf(ipledger.CodeOverflow, "crediting %d to %s would overflow its balance of %d", amount, org, b)
	}
	a.touch("org", org)
	return a.setU64(balanceKey(org), b+amount)
}
