// Package ledger is ipledger's deterministic state machine: it checks and applies signed
// transactions to the registry state held in an ipledger.KV. It takes height and time from
// the block and never reads a clock, draws randomness, iterates a map or does I/O, so the
// same transactions on the same state give the same state on every node. Rejections are
// result codes. A transaction that passes authentication (Authenticate) consumes its first
// signer's sequence whatever its result, so its bytes never apply again; a rejection
// changes nothing else.
package ledger

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/kvbuffer"
)

// Result is the outcome of one transaction: CodeOK, or the code and message of the
// rejection. Touched names the objects it changed ("org/HANDLE", "holding/ID") for the
// history index.
type Result struct {
	Code    ipledger.Code `json:"code"`
	Log     string        `json:"log,omitempty"`
	Touched []string      `json:"touched,omitempty"`
	// Validators are the changes to the validator set the transaction made.
	Validators []ValidatorUpdate `json:"-"`
}

// Ledger applies transactions for one chain. The zero Ledger is not usable; use New.
type Ledger struct {
	chainID string
}

// New returns the state machine of the chain chainID.
func New(chainID string) *Ledger { return &Ledger{chainID: chainID} }

// ChainID returns the chain the ledger accepts transactions for.
func (l *Ledger) ChainID() string { return l.chainID }

// Authenticate runs the checks that need state but change nothing: chain id, expiry (by
// height and by time, against block), the kind, each signer's organisation and key, and
// the first signer's sequence, which must be the next one after its last committed
// sequence plus pending (transactions of that signer already accepted into the mempool).
// Signatures themselves are checked by the caller (Tx.VerifySignatures or a BatchVerifier)
// before. CheckTx passes the next height and the last committed block's time: a
// transaction expired by then cannot commit in a later block.
func (l *Ledger) Authenticate(kv ipledger.KV, tx *ipledger.Tx, block ipledger.Block, pending uint64) error {
	if _, ok := kinds[tx.Kind]; !ok {
		// Apply would consume a sequence for it (see Apply); the mempool refuses it.
		return ipledger.Errorf(ipledger.CodeUnknownKind, "unknown transaction kind %d", tx.Kind)
	}
	_, err := l.authenticate(state{kv}, tx, block, pending)
	return err
}

// authenticate checks what makes tx its signers' own and current: what a transaction
// must pass to consume the first signer's sequence. The kind is not among them.
func (l *Ledger) authenticate(s state, tx *ipledger.Tx, block ipledger.Block, pending uint64) ([]*ipledger.Organisation, error) {
	if tx.ChainID != l.chainID {
		return nil, ipledger.Errorf(ipledger.CodeWrongChain, "transaction is for chain %q, this is %q", tx.ChainID, l.chainID)
	}
	if tx.Expiry != 0 && block.Height > tx.Expiry {
		return nil, ipledger.Errorf(ipledger.CodeExpired, "transaction expired at height %d (now %d)", tx.Expiry, block.Height)
	}
	// A zero block time (before the first block) expires nothing.
	if tx.ExpiryTime != 0 && !block.Time.IsZero() && block.Time.Unix() > tx.ExpiryTime {
		return nil, ipledger.Errorf(ipledger.CodeExpired, "transaction expired at %s (block time %s)",
			time.Unix(tx.ExpiryTime, 0).UTC().Format(time.RFC3339), block.Time.UTC().Format(time.RFC3339))
	}
	orgs := make([]*ipledger.Organisation, len(tx.Signatures))
	for i, sig := range tx.Signatures {
		o, err := s.org(sig.Org)
		if err != nil {
			return nil, err
		}
		if o == nil {
			return nil, ipledger.Errorf(ipledger.CodeUnknownSigner, "signer %s is not a registered organisation", sig.Org)
		}
		if !o.HasKey(sig.Key) {
			return nil, ipledger.Errorf(ipledger.CodeUnknownKey, "key %s is not a key of %s", sig.Key, sig.Org)
		}
		orgs[i] = o
	}
	want := orgs[0].Sequence + 1 + pending
	switch {
	case tx.Sequence < want && tx.Sequence <= orgs[0].Sequence:
		return nil, ipledger.Errorf(ipledger.CodeStaleSequence, "sequence %d of %s already used (next is %d)", tx.Sequence, orgs[0].Handle, orgs[0].Sequence+1)
	case tx.Sequence < want:
		return nil, ipledger.Errorf(ipledger.CodeStaleSequence, "sequence %d of %s already pending (next is %d)", tx.Sequence, orgs[0].Handle, want)
	case tx.Sequence > want:
		return nil, ipledger.Errorf(ipledger.CodeFutureSequence, "sequence %d of %s is ahead of the next, %d", tx.Sequence, orgs[0].Handle, want)
	}
	return orgs, nil
}

// apply is the context of one transaction being applied.
type apply struct {
	state
	block   ipledger.Block
	tx      *ipledger.Tx
	signers []*ipledger.Organisation
	touched []string
	seen    map[string]bool
	updates []ValidatorUpdate
}

func (a *apply) touch(kind, id string) {
	obj := kind + "/" + id
	if a.seen == nil {
		a.seen = map[string]bool{}
	}
	if !a.seen[obj] {
		a.seen[obj] = true
		a.touched = append(a.touched, obj) // in first-touch order; the map is only a set
	}
}

// touchHolding records a change to h, which is also a change to its holder's holdings.
func (a *apply) touchHolding(h *ipledger.Holding) {
	a.touch("holding", strconv.FormatUint(h.ID, 10))
	a.touch("org", h.Holder)
}

// signer returns the i-th signer's organisation, or an error if the transaction has fewer.
func (a *apply) signer(i int) (*ipledger.Organisation, error) {
	if i >= len(a.signers) {
		return nil, ipledger.Errorf(ipledger.CodeUnauthorized, "%s needs %d signatures, has %d", a.tx.Kind, i+1, len(a.signers))
	}
	return a.signers[i], nil
}

// counterparty checks that the other side of a two-party kind, handle (role: recipient,
// buyer), is the second signer (CodeUnauthorized) and not the first (CodeInvalid).
func (a *apply) counterparty(handle, role string) error {
	o, err := a.signer(1)
	if err != nil {
		return err
	}
	if o.Handle != handle {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "the %s %s must be the second signer (found %s)", role, handle, o.Handle)
	}
	if a.signers[0].Handle == handle {
		return ipledger.Errorf(ipledger.CodeInvalid, "%s cannot be its own %s", handle, role)
	}
	return nil
}

// signedBy reports whether handle is among the signers.
func (a *apply) signedBy(handle string) bool {
	for _, o := range a.signers {
		if o.Handle == handle {
			return true
		}
	}
	return false
}

// signersOwn loads, as found does, an object that only its owner may change: owner(v),
// usually a field of v, must be the first signer (CodeUnauthorized otherwise).
func signersOwn[T any](a *apply, tag byte, id uint64, what string, owner func(*T) string) (*T, error) {
	v, err := found[T](a.state, tag, id, what)
	if err != nil {
		return nil, err
	}
	if owner(v) != a.signers[0].Handle {
		return nil, ipledger.Errorf(ipledger.CodeUnauthorized, "%s %d is %s's", what, id, owner(v))
	}
	return v, nil
}

type kindFunc func(a *apply) error

// kindDef is what the state machine knows of a transaction kind: how to apply it and the
// type its body decodes into (the one its apply function decodes).
type kindDef struct {
	apply kindFunc
	body  func() any // a new, empty body
}

// kindOf is the kindDef of a kind whose body is a B. Its apply function runs the signer
// rules on the first signer, then decodes the body and hands it to fn: who signs is
// checked before what the body says, so a body that does not decode from a signer that
// may not send the kind is rejected for the signer.
func kindOf[B any](fn func(*apply, *B) error, signerRules ...func(*ipledger.Organisation) error) kindDef {
	return kindDef{
		apply: func(a *apply) error {
			for _, rule := range signerRules {
				if err := rule(a.signers[0]); err != nil {
					return err
				}
			}
			var body B
			if err := a.tx.DecodeBodyInto(&body); err != nil {
				return err
			}
			return fn(a, &body)
		},
		body: func() any { return new(B) },
	}
}

var kinds map[ipledger.Kind]kindDef

func init() {
	kinds = map[ipledger.Kind]kindDef{
		ipledger.KindRegisterOrg:      kindOf((*apply).registerOrg, requireRegistry),
		ipledger.KindBindKey:          kindOf((*apply).bindKey),
		ipledger.KindRotateKeys:       kindOf((*apply).rotateKeys),
		ipledger.KindUpdateOrg:        kindOf((*apply).updateOrg),
		ipledger.KindRegistryTransfer: kindOf((*apply).registryTransfer),
		ipledger.KindAllocate:         kindOf((*apply).allocate, requireRegistry),
		ipledger.KindAssign:           kindOf((*apply).assign),
		ipledger.KindTransfer:         kindOf((*apply).transfer),
		ipledger.KindReturn:           kindOf((*apply).returnHolding),
		ipledger.KindMint:             kindOf((*apply).mint, requireAgent),
		ipledger.KindBurn:             kindOf((*apply).burn, requireAgent),
		ipledger.KindPay:              kindOf((*apply).pay),
		ipledger.KindAuthorise:        kindOf((*apply).authorise),
		ipledger.KindWithdrawAuth:     kindOf((*apply).withdrawAuth),
		ipledger.KindOffer:            kindOf((*apply).offerLease),
		ipledger.KindWithdrawOffer:    kindOf((*apply).withdrawOffer),
		ipledger.KindLease:            kindOf((*apply).takeLease),
		ipledger.KindRenew:            kindOf((*apply).renewLease),
		ipledger.KindTerminate:        kindOf((*apply).terminateLease),
		ipledger.KindSetGeo:           kindOf((*apply).setGeo),
		ipledger.KindSetValidator:     kindOf((*apply).setValidator),
		ipledger.KindList:             kindOf((*apply).list),
		ipledger.KindBid:              kindOf((*apply).bid),
		ipledger.KindCancelListing:    kindOf((*apply).cancelListing),
		ipledger.KindSwap:             kindOf((*apply).swap),
		ipledger.KindCancelSale:       kindOf((*apply).cancelSale),
		ipledger.KindAsk:              kindOf((*apply).ask),
		ipledger.KindOrder:            kindOf((*apply).order),
		ipledger.KindCancelOrder:      kindOf((*apply).cancelOrder),
		ipledger.KindObserve:          kindOf((*apply).observe, requireObserver),
		ipledger.KindReport:           kindOf((*apply).report),
		ipledger.KindRespond:          kindOf((*apply).respond),
		ipledger.KindDecide:           kindOf((*apply).decide),
		ipledger.KindAppeal:           kindOf((*apply).appeal),
	}
}

// maxBodyAhead is the largest body DecodeBodyAhead decodes. Bodies are a few hundred bytes
// but for an import's batches, of up to 57,318 (importer.MaxBodyBytes): held decoded from submission to commit,
// those would add to the import's peak memory and save nothing worth it.
const maxBodyAhead = 16 << 10

// DecodeBodyAhead decodes tx's body into its kind's type and keeps it in tx
// (ipledger.Tx.KeepBody), so that Apply does not decode it again. A body that does not
// decode, or is over 16 KiB, is left for Apply. Call it before tx is shared.
func DecodeBodyAhead(tx *ipledger.Tx) {
	k, ok := kinds[tx.Kind]
	if !ok || len(tx.Body) > maxBodyAhead {
		return
	}
	if v := k.body(); ipledger.DecodeBody(tx.Body, v) == nil {
		tx.KeepBody(v)
	}
}

// Apply checks tx against the state in kv as of block and applies it. Signatures must have
// been verified by the caller. A transaction that fails authentication (see Authenticate)
// leaves kv unchanged. One that passes consumes its first signer's sequence whatever
// happens next: if its kind rejects it (or the kind is unknown, so that a later version
// knowing the kind cannot apply it then), the kind's writes are dropped and only the
// sequence is stored, and the Result carries the rejection's code with Touched naming the
// first signer. A rejection is a Result, never an error. The error is a fault of kv itself
// (or a broken invariant of the state, CodeInternal): kv may then be half written, and the
// caller must stop following the chain with the error as the cause.
func (l *Ledger) Apply(kv ipledger.KV, block ipledger.Block, tx *ipledger.Tx) (Result, error) {
	signers, err := l.authenticate(state{kv}, tx, block, 0)
	if err != nil {
		if ipledger.ErrorCode(err) == ipledger.CodeInternal {
			return Result{}, fmt.Errorf("authenticate %s: %w", tx.Kind, err)
		}
		return Result{Code: ipledger.ErrorCode(err), Log: ipledger.ErrorMessage(err)}, nil
	}
	ov := kvbuffer.New(kv)
	a := &apply{state: state{ov}, block: block, tx: tx, signers: signers}
	if k, ok := kinds[tx.Kind]; ok {
		err = k.apply(a)
	} else {
		err = ipledger.Errorf(ipledger.CodeUnknownKind, "unknown transaction kind %d", tx.Kind)
	}
	if err == nil {
		// Re-read: the kind may have changed the first signer (rotate keys, update).
		var first *ipledger.Organisation
		if first, err = a.mustOrg(signers[0].Handle); err == nil {
			first.Sequence = tx.Sequence
			a.touch("org", first.Handle) // its sequence moved: part of its history
			if err = a.putOrg(first); err == nil {
				if err = ov.FlushTo(kv); err != nil {
					return Result{}, fmt.Errorf("apply %s: write the state: %w", tx.Kind, err)
				}
				return Result{Code: ipledger.CodeOK, Touched: a.touched, Validators: a.updates}, nil
			}
		}
	}
	if ipledger.ErrorCode(err) == ipledger.CodeInternal {
		return Result{}, fmt.Errorf("apply %s: %w", tx.Kind, err)
	}
	// Rejected: the buffered writes go; the sequence is consumed in kv itself, from the
	// first signer as it was before the kind ran.
	s := state{kv}
	first, serr := s.mustOrg(signers[0].Handle)
	if serr == nil {
		first.Sequence = tx.Sequence
		serr = s.putOrg(first)
	}
	if serr != nil {
		return Result{}, fmt.Errorf("apply %s: consume the sequence of %s: %w", tx.Kind, signers[0].Handle, serr)
	}
	return Result{Code: ipledger.ErrorCode(err), Log: ipledger.ErrorMessage(err), Touched: []string{"org/" + first.Handle}}, nil
}

// dateOf formats a block time as a registration date.
func dateOf(t time.Time) string { return t.UTC().Format("2006-01-02") }

func validDate(s string) bool {
	if len(s) != 10 {
		return false
	}
	_, err := time.Parse("2006-01-02", s)
	return err == nil
}
