package ledger

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/ipledger/ipledger"
)

// The validator set is ledger state: 'v' pubkey(32) → Validator. Each validator has an
// operator organisation; a change to the set takes effect only when the operators signing
// it hold more than two thirds of the current voting power, and reaches CometBFT through
// the block's validator updates.

const tagValidator = 'v'

// MaxValidatorPower bounds one validator's voting power.
const MaxValidatorPower = 1_000_000

// Validator is a member of the consensus validator set.
type Validator struct {
	PubKey   HexKey `json:"pub_key"` // ed25519 consensus key
	Power    int64  `json:"power"`
	Operator string `json:"operator"` // the organisation that runs it and signs for it
}

// HexKey is a 32-byte ed25519 public key written in hex.
type HexKey [32]byte

// MarshalText writes the key in hex.
func (k HexKey) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(k[:])), nil }

// UnmarshalText reads 64 hex digits.
func (k *HexKey) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("validator key: want 64 hex digits, got %d characters", len(b))
	}
	_, err := hex.Decode(k[:], b)
	return err
}

// ValidatorUpdate is a change to the set that a block hands to consensus; Power 0 removes.
type ValidatorUpdate struct {
	PubKey HexKey
	Power  int64
}

// SetValidatorBody adds a validator, changes its power or operator, or (Power 0) removes it.
type SetValidatorBody struct {
	PubKey   HexKey `json:"pub_key"`
	Power    int64  `json:"power"`
	Operator string `json:"operator,omitempty"`
}

func validatorKey(k HexKey) []byte { return append([]byte{tagValidator}, k[:]...) }

// Validators returns the validator set in key order.
func Validators(kv ipledger.KV) ([]Validator, error) {
	var out []Validator
	err := eachJSON(kv, tagValidator, func(v *Validator) bool { out = append(out, *v); return true })
	return out, err
}

func (a *apply) setValidator(body *SetValidatorBody) error {
	if body.Power < 0 || body.Power > MaxValidatorPower {
		return ipledger.Errorf(ipledger.CodeInvalid, "power %d outside 0..%d", body.Power, MaxValidatorPower)
	}
	if body.PubKey == (HexKey{}) {
		return ipledger.Errorf(ipledger.CodeInvalid, "no validator key")
	}
	set, err := Validators(a.kv)
	if err != nil {
		return err
	}
	var total, signed, after int64
	for _, v := range set {
		total += v.Power
		if a.signedBy(v.Operator) {
			signed += v.Power
		}
		if v.PubKey != body.PubKey {
			after += v.Power
		}
	}
	if 3*signed <= 2*total {
		return ipledger.Errorf(ipledger.CodeUnauthorized, "the signing operators hold %d of %d voting power; more than two thirds must sign a validator change", signed, total)
	}
	after += body.Power
	if after == 0 {
		return ipledger.Errorf(ipledger.CodeInvalid, "the change would leave no validator")
	}
	i := slices.IndexFunc(set, func(v Validator) bool { return v.PubKey == body.PubKey })
	if body.Power == 0 {
		if i < 0 {
			return ipledger.Errorf(ipledger.CodeNotFound, "no validator %x", body.PubKey[:])
		}
		a.updates = append(a.updates, ValidatorUpdate{PubKey: body.PubKey, Power: 0})
		a.touch("validator", hex.EncodeToString(body.PubKey[:]))
		return a.kv.Delete(validatorKey(body.PubKey))
	}
	op := body.Operator
	if op == "" && i >= 0 {
		op = set[i].Operator
	}
	if _, err := a.mustOrg(op); err != nil {
		return err
	}
	a.updates = append(a.updates, ValidatorUpdate{PubKey: body.PubKey, Power: body.Power})
	a.touch("validator", hex.EncodeToString(body.PubKey[:]))
	return a.putJSON(validatorKey(body.PubKey), &Validator{PubKey: body.PubKey, Power: body.Power, Operator: op}, "validator")
}

// initValidators writes the genesis validator set.
func (a *apply) initValidators(vals []Validator) error {
	for i, v := range vals {
		if v.Power <= 0 || v.Power > MaxValidatorPower {
			return fmt.Errorf("genesis validator %d: power %d outside 1..%d", i, v.Power, MaxValidatorPower)
		}
		if o, err := a.org(v.Operator); err != nil {
			return err
		} else if o == nil {
			return fmt.Errorf("genesis validator %d: no operator organisation %q", i, v.Operator)
		}
		if b, err := a.kv.Get(validatorKey(v.PubKey)); err != nil {
			return err
		} else if b != nil {
			return fmt.Errorf("genesis validator %x twice", v.PubKey[:])
		}
		if err := a.putJSON(validatorKey(v.PubKey), &v, "validator"); err != nil {
			return err
		}
	}
	return nil
}

// SameValidators reports whether set has exactly the keys and powers of consensus's set.
func SameValidators(set []Validator, consensus []ValidatorUpdate) bool {
	if len(set) != len(consensus) {
		return false
	}
	c := slices.Clone(consensus)
	slices.SortFunc(c, func(x, y ValidatorUpdate) int { return bytes.Compare(x.PubKey[:], y.PubKey[:]) })
	for i := range set {
		if set[i].PubKey != c[i].PubKey || set[i].Power != c[i].Power {
			return false
		}
	}
	return true
}
