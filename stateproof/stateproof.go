// Package stateproof proves what the ledger's state held at a height, to a client that
// trusts nothing but the chain's genesis: a Proof carries state entries (key, value or
// absence) with membership or non-membership proofs from the authenticated state map
// (package store), the state root and log root whose hash is the app hash of that height
// (tlog.AppHash), and the CometBFT header of the next height, which carries that app hash,
// with the commit that signs it and the validator set that signed it.
//
// The node builds proofs (ResourceEntries, HoldingEntries, OrgEntries, KeyEntries over a
// committed version of the store, and NewAnchor from the light block of the next height)
// and the JSON API serves them under /v1/proof/ (package httpapi). A client checks one
// with Proof.Verify, or with the question-specific VerifyResource, VerifyHolding and
// VerifyOrg, which also decode the proven values and check that they answer the question
// asked.
//
// # Trust model
//
// A Trust names the chain id and a validator set the client trusts: the genesis
// validators (TrustGenesis), or a later set the client learnt by other means (an audit).
// A proof is accepted when
//
//   - every entry's proof leads from its key and value (or absence) to the state root
//     (store.VerifyProof);
//   - SHA-256(state root ‖ log root) is the app hash of header height+1 (CometBFT records
//     the app hash of height H in the header of H+1);
//   - the header is well formed, of the trusted chain, and the commit signs exactly it
//     (types.SignedHeader.ValidateBasic);
//   - the validator set given is the one the header names (its hash is ValidatorsHash)
//     and more than 2/3 of its voting power signed the commit, every signature present
//     checked (types.ValidatorSet.VerifyCommitLightAllSignatures); and
//   - if that set is not the trusted one, validators of the trusted set holding more than
//     1/3 of its power signed the commit too (VerifyCommitLightTrustingAllSignatures): the
//     light client's skipping rule, so at least one honest validator of the trusted set
//     vouches for the new set if fewer than 1/3 of the trusted power is faulty.
//
// Unlike CometBFT's light client there is no trusting period: a client that trusts the
// genesis set accepts a commit by validators that left the set long ago if they still
// hold more than 1/3 of the genesis power (a long-range attack needs their old keys).
// Registry networks are small sets of known operators who rarely change; a client that
// must guard against stolen retired keys trusts a recent set instead, which `ipledger
// audit` establishes by verifying every header from genesis. No header time is checked
// against the client's clock either: a proof of an old height is as good as a new one.
//
// What a proof proves beyond the entries themselves follows from invariants the state
// machine keeps (the validators signed its results): holdings at one depth never
// overlap, each holding lies inside one holding a level up, IPv6 holdings below the
// registry pools are prefixes, and each holding has exactly one cover entry
// (ledger.CoverKey), keyed by the smallest aligned block containing it. VerifyResource
// says which conclusions these allow; see ResourceEntries.
package stateproof

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	cmtmath "github.com/cometbft/cometbft/libs/math"
	"github.com/cometbft/cometbft/types"

	"github.com/ipledger/ipledger"
	"github.com/ipledger/ipledger/store"
	"github.com/ipledger/ipledger/tlog"
)

// MaxEntries bounds the entries of a Proof; decoding refuses more.
const MaxEntries = 1024

// hashLen is the size of the state root, log root and app hash.
const hashLen = 32

// ErrRejected is wrapped by every verification failure: the proof does not show what it
// claims, or does not answer the question asked. Check with errors.Is.
var ErrRejected = errors.New("state proof rejected")

func reject(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRejected, fmt.Sprintf(format, args...))
}

// Anchor ties the state root of a height to a header the validators signed: a Proof
// without its entries. The node builds one per height and shares it between answers.
type Anchor struct {
	// Height is the height whose state the entries are read from.
	Height int64 `json:"height"`
	// StateRoot is the root of the state map at Height, LogRoot the root of the
	// transparency log after Height, and AppHash SHA-256(StateRoot ‖ LogRoot).
	StateRoot []byte `json:"state_root"`
	LogRoot   []byte `json:"log_root"`
	AppHash   []byte `json:"app_hash"`
	// SignedHeader is the header of Height+1 and the commit signing it, in CometBFT's JSON
	// (as its RPC's /commit serves signed_header).
	SignedHeader json.RawMessage `json:"signed_header"`
	// Validators is the validator set of Height+1 that signed the commit, in CometBFT's
	// JSON (as its RPC's /validators lists them).
	Validators json.RawMessage `json:"validators"`

	sh   *types.SignedHeader
	vals *types.ValidatorSet
	head []byte // the JSON of the fields above, without the closing brace (NewAnchor)
}

// NewAnchor builds the anchor of height from the state and log roots of that height and
// the light block of height+1.
func NewAnchor(height int64, stateRoot, logRoot []byte, next *types.LightBlock) (*Anchor, error) {
	if next == nil || next.SignedHeader == nil || next.ValidatorSet == nil {
		return nil, errors.New("anchor: no light block")
	}
	if next.Height != height+1 {
		return nil, fmt.Errorf("anchor of %d: light block of height %d", height, next.Height)
	}
	app := tlog.AppHash(stateRoot, logRoot)
	if !bytes.Equal(app, next.AppHash) {
		return nil, fmt.Errorf("anchor of %d: the roots give app hash %X, header %d carries %X", height, app, next.Height, []byte(next.AppHash))
	}
	sh, err := cmtjson.Marshal(next.SignedHeader)
	if err != nil {
		return nil, fmt.Errorf("anchor of %d: %w", height, err)
	}
	vals, err := cmtjson.Marshal(next.ValidatorSet.Validators)
	if err != nil {
		return nil, fmt.Errorf("anchor of %d: %w", height, err)
	}
	a := &Anchor{Height: height, StateRoot: stateRoot, LogRoot: logRoot, AppHash: app,
		SignedHeader: sh, Validators: vals, sh: next.SignedHeader, vals: next.ValidatorSet}
	return a.withHead()
}

// NewAnchorJSON builds the anchor of height from the state and log roots of that height
// and, in CometBFT's JSON, the signed header of height+1 (as its RPC's /commit serves
// signed_header) and the validator set that signed it (as /validators lists them): what
// the node hands the JSON API across the read seam, so that only this package decodes
// CometBFT's types. It checks what NewAnchor checks.
func NewAnchorJSON(height int64, stateRoot, logRoot, signedHeader, validators []byte) (*Anchor, error) {
	a := &Anchor{Height: height, StateRoot: stateRoot, LogRoot: logRoot, AppHash: tlog.AppHash(stateRoot, logRoot),
		SignedHeader: signedHeader, Validators: validators}
	if err := a.decode(); err != nil {
		return nil, fmt.Errorf("anchor of %d: %w", height, err)
	}
	if a.sh.Height != height+1 {
		return nil, fmt.Errorf("anchor of %d: signed header of height %d", height, a.sh.Height)
	}
	if !bytes.Equal(a.AppHash, a.sh.AppHash) {
		return nil, fmt.Errorf("anchor of %d: the roots give app hash %X, header %d carries %X", height, a.AppHash, a.sh.Height, []byte(a.sh.AppHash))
	}
	return a.withHead()
}

// withHead sets a.head, the JSON of a's fields without the closing brace, which
// Proof.AppendJSON continues.
func (a *Anchor) withHead() (*Anchor, error) {
	type plain Anchor
	head, err := json.Marshal((*plain)(a))
	if err != nil {
		return nil, fmt.Errorf("anchor of %d: %w", a.Height, err)
	}
	a.head = head[:len(head)-1]
	return a, nil
}

// Header returns the signed header of Height+1 as last decoded or built (nil for an
// Anchor neither decoded nor built by NewAnchor).
func (a *Anchor) Header() *types.SignedHeader { return a.sh }

// Entry is one state key with its value, or with none, and the proof of it.
type Entry struct {
	// Key is the state key (ledger.HoldingKey, ledger.OrgKey, …).
	Key []byte `json:"key"`
	// Value is the value stored under Key, or null: the key is absent.
	Value []byte `json:"value"`
	// Proof is the store.Proof of Key (store.Proof.Marshal): membership when Value is
	// set, non-membership when it is null.
	Proof []byte `json:"proof"`
}

// Present reports whether the entry proves a value rather than an absence.
func (e *Entry) Present() bool { return e.Value != nil }

// Proof is a set of state entries at one height, with what makes them checkable against
// a header the validators signed. The JSON API answers /v1/proof/… with it.
type Proof struct {
	Anchor
	Entries []Entry `json:"entries"`
}

// New returns the proof of entries against anchor a.
func New(a *Anchor, entries []Entry) *Proof {
	return &Proof{Anchor: *a, Entries: entries}
}

// AppendJSON appends the JSON encoding of p, the same as encoding/json gives, to b. It
// encodes an anchor from NewAnchor once, however many proofs share it.
func (p *Proof) AppendJSON(b []byte) ([]byte, error) {
	head := p.head
	if head == nil {
		type plain Anchor
		h, err := json.Marshal((*plain)(&p.Anchor))
		if err != nil {
			return nil, fmt.Errorf("encode state proof: %w", err)
		}
		head = h[:len(h)-1]
	}
	b = append(b, head...)
	b = append(b, `,"entries":`...)
	if p.Entries == nil {
		return append(b, "null}"...), nil
	}
	b = append(b, '[')
	for i := range p.Entries {
		e := &p.Entries[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		b = ipledger.AppendJSONBytes(b, e.Key)
		b = append(b, `,"value":`...)
		b = ipledger.AppendJSONBytes(b, e.Value)
		b = append(b, `,"proof":`...)
		b = ipledger.AppendJSONBytes(b, e.Proof)
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// MarshalJSON is AppendJSON.
func (p *Proof) MarshalJSON() ([]byte, error) { return p.AppendJSON(nil) }

// UnmarshalJSON decodes a proof and everything in it: the header and validators from
// CometBFT's JSON, and each entry's proof. It checks the form (sizes, counts), not the
// content; Verify does that.
func (p *Proof) UnmarshalJSON(b []byte) error {
	type plain Proof // without this method
	var q plain
	if err := json.Unmarshal(b, &q); err != nil {
		return fmt.Errorf("decode state proof: %w", err)
	}
	if err := q.Anchor.decode(); err != nil {
		return fmt.Errorf("decode state proof: %w", err)
	}
	if len(q.Entries) > MaxEntries {
		return fmt.Errorf("decode state proof: %d entries, at most %d", len(q.Entries), MaxEntries)
	}
	for i := range q.Entries {
		e := &q.Entries[i]
		if len(e.Key) == 0 {
			return fmt.Errorf("decode state proof: entry %d has no key", i)
		}
		if err := new(store.Proof).Unmarshal(e.Proof); err != nil {
			return fmt.Errorf("decode state proof: entry %d: %w", i, err)
		}
	}
	*p = Proof(q)
	return nil
}

// decode parses the anchor's CometBFT JSON.
func (a *Anchor) decode() error {
	if a.Height < 1 {
		return fmt.Errorf("height %d", a.Height)
	}
	for _, h := range [][]byte{a.StateRoot, a.LogRoot, a.AppHash} {
		if len(h) != hashLen {
			return fmt.Errorf("a root or app hash of %d bytes", len(h))
		}
	}
	var sh types.SignedHeader
	if err := cmtjson.Unmarshal(a.SignedHeader, &sh); err != nil {
		return fmt.Errorf("signed header: %w", err)
	}
	if sh.Header == nil || sh.Commit == nil {
		return errors.New("signed header: no header or no commit")
	}
	var vals []*types.Validator
	if err := cmtjson.Unmarshal(a.Validators, &vals); err != nil {
		return fmt.Errorf("validators: %w", err)
	}
	vs, err := validatorSet(vals)
	if err != nil {
		return fmt.Errorf("validators: %w", err)
	}
	a.sh, a.vals = &sh, vs
	return nil
}

// validatorSet builds a set from a list; CometBFT panics on some invalid sets (total power
// overflow), which is an error here.
func validatorSet(vals []*types.Validator) (vs *types.ValidatorSet, err error) {
	defer func() {
		if r := recover(); r != nil {
			vs, err = nil, fmt.Errorf("%v", r)
		}
	}()
	for _, v := range vals {
		if v == nil || v.PubKey == nil {
			return nil, errors.New("a validator without a public key")
		}
	}
	return types.ValidatorSetFromExistingValidators(vals)
}

// Trust is what a client trusts: the chain id and a validator set (see the package
// documentation). The zero Trust trusts nothing.
type Trust struct {
	ChainID    string
	Validators *types.ValidatorSet
}

// TrustGenesis trusts the chain id and the validators of a genesis document.
func TrustGenesis(doc *types.GenesisDoc) (*Trust, error) {
	if doc.ChainID == "" || len(doc.Validators) == 0 {
		return nil, errors.New("trust genesis: no chain id or no validators")
	}
	vals := make([]*types.Validator, len(doc.Validators))
	for i, v := range doc.Validators {
		if v.PubKey == nil {
			return nil, fmt.Errorf("trust genesis: validator %d has no public key", i)
		}
		vals[i] = types.NewValidator(v.PubKey, v.Power)
	}
	vs, err := newValidatorSet(vals)
	if err != nil {
		return nil, fmt.Errorf("trust genesis: %w", err)
	}
	return &Trust{ChainID: doc.ChainID, Validators: vs}, nil
}

// newValidatorSet is types.NewValidatorSet (the genesis set as CometBFT builds it) with
// its panic as an error.
func newValidatorSet(vals []*types.Validator) (vs *types.ValidatorSet, err error) {
	defer func() {
		if r := recover(); r != nil {
			vs, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return types.NewValidatorSet(vals), nil
}

// TrustGenesisFile reads a CometBFT genesis file (a node's config/genesis.json) and trusts
// its chain id and validators.
func TrustGenesisFile(path string) (*Trust, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trust genesis: %w", err)
	}
	doc, err := types.GenesisDocFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("trust genesis %s: %w", path, err)
	}
	return TrustGenesis(doc)
}

// trustLevel is the share of the trusted set's power that must sign a commit by another
// set: the light client's default.
var trustLevel = cmtmath.Fraction{Numerator: 1, Denominator: 3}

// Verify checks the anchor against t: the app hash composition, the header and its commit
// (see the package documentation). Errors wrap ErrRejected. It decodes the header again
// and keeps it for Header, so one Anchor (or Proof) must not be verified from several
// goroutines at once.
func (a *Anchor) Verify(t *Trust) error {
	if t == nil || t.Validators == nil || t.ChainID == "" {
		return reject("no trusted chain id and validator set")
	}
	// Decode again: what is checked is what the fields say now.
	if err := a.decode(); err != nil {
		return reject("%v", err)
	}
	sh := a.sh
	if err := safely(func() error { return sh.ValidateBasic(t.ChainID) }); err != nil {
		return reject("signed header: %v", err)
	}
	// Vote sign bytes panic on a malformed block id, which ValidateBasic lets through.
	if err := sh.Commit.BlockID.ValidateBasic(); err != nil {
		return reject("commit: block id: %v", err)
	}
	if sh.Height != a.Height+1 {
		return reject("the header is of height %d; the app hash of %d is in the header of %d", sh.Height, a.Height, a.Height+1)
	}
	app := tlog.AppHash(a.StateRoot, a.LogRoot)
	if !bytes.Equal(app, a.AppHash) {
		return reject("state root and log root hash to app hash %X, not the %X given", app, a.AppHash)
	}
	if !bytes.Equal(app, sh.AppHash) {
		return reject("app hash %X is not the %X that header %d carries", app, []byte(sh.AppHash), sh.Height)
	}
	if !bytes.Equal(a.vals.Hash(), sh.ValidatorsHash) {
		return reject("the validator set given has hash %X; header %d names %X", a.vals.Hash(), sh.Height, []byte(sh.ValidatorsHash))
	}
	if err := safely(func() error {
		return a.vals.VerifyCommitLightAllSignatures(t.ChainID, sh.Commit.BlockID, sh.Height, sh.Commit)
	}); err != nil {
		return reject("commit of header %d: %v", sh.Height, err)
	}
	if !bytes.Equal(t.Validators.Hash(), sh.ValidatorsHash) {
		if err := safely(func() error {
			return t.Validators.VerifyCommitLightTrustingAllSignatures(t.ChainID, sh.Commit, trustLevel)
		}); err != nil {
			return reject("header %d is signed by validator set %X, and the trusted set %X did not sign it with more than 1/3 of its power: %v",
				sh.Height, []byte(sh.ValidatorsHash), t.Validators.Hash(), err)
		}
	}
	return nil
}

// safely runs a CometBFT check of untrusted data, turning a panic (its light-client
// functions expect data a light client validated first) into an error.
func safely(check func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed: %v", r)
		}
	}()
	return check()
}

// Verify checks the anchor (Anchor.Verify) and every entry's proof against the state
// root. Errors wrap ErrRejected.
func (p *Proof) Verify(t *Trust) error {
	if err := p.Anchor.Verify(t); err != nil {
		return err
	}
	return p.verifyEntries()
}

// verifyEntries checks every entry's proof against the state root.
func (p *Proof) verifyEntries() error {
	if len(p.Entries) > MaxEntries {
		return reject("%d entries, at most %d", len(p.Entries), MaxEntries)
	}
	for i := range p.Entries {
		e := &p.Entries[i]
		var sp store.Proof
		if err := sp.Unmarshal(e.Proof); err != nil {
			return reject("entry %d: %v", i, err)
		}
		if err := store.VerifyProof(p.StateRoot, e.Key, e.Value, &sp); err != nil {
			return reject("entry %d (key %x): %v", i, e.Key, err)
		}
	}
	return nil
}

// Lookup returns the entry of key, or nil if the proof has none.
func (p *Proof) Lookup(key []byte) *Entry {
	for i := range p.Entries {
		if bytes.Equal(p.Entries[i].Key, key) {
			return &p.Entries[i]
		}
	}
	return nil
}
