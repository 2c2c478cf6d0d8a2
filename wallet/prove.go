package wallet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/client"
	"github.com/ipledger/ipledger/ledger"
	"github.com/ipledger/ipledger/stateproof"
)

// ErrProof means the node's answer about an object an action touches did not verify
// against the trusted validators: the action stops and nothing is signed. Check with
// errors.Is.
var ErrProof = errors.New("the node's answer does not verify")

// prover reads the objects an action touches from state proofs of one height, each
// checked against the trusted validators. The first proof fixes the height.
type prover struct {
	ctx     context.Context
	cl      *client.Client
	trust   *stateproof.Trust
	height  int64
	min     int64  // the node's committed height when the action began
	minHash string // and its app hash, in hex
	last    *stateproof.Proof
}

// use fetches one proof answer, decodes and verifies it, and keeps the height of the
// first. The first waits (up to provableWait) for the node's committed state when the
// action began: a height at or above p.min, or the same app hash (p.minHash; a block
// without transactions leaves it as it was). A block's state is provable once the next
// block carries its app hash, which CometBFT makes at once after a change, so without
// the wait an object created a moment ago would be missing.
func (p *prover) use(fetch func(height int64) (json.RawMessage, error), verify func(*stateproof.Proof) error) error {
	deadline := time.Now().Add(provableWait)
	var pr stateproof.Proof
	for {
		raw, err := fetch(p.height)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &pr); err != nil {
			return fmt.Errorf("%w: decode the state proof: %w", ErrProof, err)
		}
		if p.height != 0 || pr.Height >= p.min || strings.EqualFold(fmt.Sprintf("%X", pr.AppHash), p.minHash) || time.Now().After(deadline) {
			break
		}
		select {
		case <-p.ctx.Done():
			return p.ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if p.height != 0 && pr.Height != p.height {
		return fmt.Errorf("%w: asked for height %d, it proves height %d", ErrProof, p.height, pr.Height)
	}
	if err := verify(&pr); err != nil {
		return fmt.Errorf("%w: %w", ErrProof, err)
	}
	p.height, p.last = pr.Height, &pr
	return nil
}

// provableWait bounds the wait for the node's committed height to become provable.
const provableWait = 3 * time.Second

// resource proves who holds r: the chain of holdings down to the deepest containing it.
func (p *prover) resource(r ipledger.Resource) (*stateproof.ResourceAnswer, error) {
	var ans *stateproof.ResourceAnswer
	err := p.use(func(h int64) (json.RawMessage, error) { return p.cl.ProveResource(p.ctx, r.String(), h) }, func(pr *stateproof.Proof) (err error) {
		ans, err = pr.VerifyResource(r, p.trust)
		return err
	})
	return ans, err
}

// Get proves one state key: the prover is an ipledger.KV for ledger's query functions
// that read single keys (Org, Balance, OfferByID, LeaseByID, RouteAuthByID), so the
// wallet decodes the proven values exactly as the state machine does.
func (p *prover) Get(key []byte) ([]byte, error) {
	var v []byte
	err := p.use(func(h int64) (json.RawMessage, error) { return p.cl.ProveKey(p.ctx, key, h) }, func(pr *stateproof.Proof) (err error) {
		v, err = pr.VerifyKey(key, p.trust)
		return err
	})
	return v, err
}

var errReadOnly = errors.New("the wallet's proven state is read-only and reads single keys")

func (p *prover) Set(key, value []byte) error { return errReadOnly }
func (p *prover) Delete(key []byte) error     { return errReadOnly }
func (p *prover) Iterate(start, end []byte, reverse bool, fn func(key, value []byte) bool) error {
	return errReadOnly
}

// org proves the organisation handle; a missing one is an error naming it.
func (p *prover) org(handle string) (*ipledger.Organisation, error) {
	o, err := ledger.Org(p, handle)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, fmt.Errorf("the chain has no organisation %s (proved at height %d)", handle, p.height)
	}
	return o, nil
}

// signer proves organisation as, which signs, and that key is one of its keys.
func (p *prover) signer(as string, key ipledger.PublicKey) (*ipledger.Organisation, error) {
	o, err := p.org(as)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(o.Keys, key) {
		return nil, fmt.Errorf("the home's key %s is not bound to %s on the chain (proved at height %d)", key, as, p.height)
	}
	return o, nil
}

// heldBy proves that org holds r: the deepest holding containing all of r is org's.
func (p *prover) heldBy(r ipledger.Resource, org string) (*ipledger.Holding, error) {
	ans, err := p.resource(r)
	if err != nil {
		return nil, err
	}
	h := ans.Holding()
	if h == nil {
		return nil, fmt.Errorf("no single holding contains all of %s (proved at height %d)", r, p.height)
	}
	if h.Holder != org {
		return nil, fmt.Errorf("%s is held by %s, not %s: %s at depth %d (proved at height %d)", r, h.Holder, org, h.Handle(), h.Depth, p.height)
	}
	return h, nil
}

// pays proves the balance of org, which pays amount now: its fact, or an error when the
// balance falls short.
func (p *prover) pays(org string, amount uint64) (string, error) {
	bal, err := ledger.Balance(p, org)
	if err != nil {
		return "", err
	}
	fact := fmt.Sprintf("%s's balance is %d credits", org, bal)
	if amount > bal {
		return fact, fmt.Errorf("it pays %d credits now and %s", amount, fact)
	}
	return fact, nil
}

// proofSummary is what the confirm page says the facts were checked against.
type proofSummary struct {
	Height     int64
	AppHash    string
	Header     int64
	ChainID    string
	Signatures int
	Validators int
}

func (p *prover) summary() proofSummary {
	if p.last == nil {
		return proofSummary{}
	}
	sh := p.last.Header()
	n := 0
	for _, s := range sh.Commit.Signatures {
		if s.Signature != nil {
			n++
		}
	}
	return proofSummary{Height: p.height, AppHash: fmt.Sprintf("%X", p.last.AppHash), Header: sh.Height, ChainID: p.trust.ChainID,
		Signatures: n, Validators: len(sh.Commit.Signatures)}
}
