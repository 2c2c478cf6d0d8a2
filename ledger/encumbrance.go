package ledger

import (
	"bytes"
	"fmt"

	"github.com/ipledger/ipledger"
)

// Encumbrance is a claim on part of a holding that may block actions on it and on
// everything above or below it in the holding tree: an open lease offer, a running lease, an
// open listing, a large sale in its challenge window, a holding period after a transfer, an
// ask in a class auction.
// Every kind goes through the one check in checkFree, which asks encumbranceRules whether
// the kind blocks the action; a new kind stores records and adds a column to the table.
type Encumbrance struct {
	Kind     string            `json:"kind"` // encOffer, encLease, encListing, encSale, encHeld, encAsk
	Ref      string            `json:"ref"`  // the offer, lease, listing, sale, period or ask that holds it
	Resource ipledger.Resource `json:"resource"`
	Depth    int               `json:"depth"` // depth of the encumbered holding
}

func encumbranceKey(e *Encumbrance) []byte {
	k := posKey(tagEncumbrance, e.Resource, e.Depth)
	k = append(k, e.Kind...)
	k = append(k, 0)
	return append(k, e.Ref...)
}

// putEncumbrance stores e: its key says its depth, kind and reference, its value is its
// range in binary (Resource.AppendBinary), so that scans read ranges without decoding JSON.
func (s state) putEncumbrance(e *Encumbrance) error {
	b, _ := e.Resource.AppendBinary(nil)
	return s.kv.Set(encumbranceKey(e), b)
}

// decodeEncumbrance is putEncumbrance's inverse.
func decodeEncumbrance(k, v []byte) (*Encumbrance, error) {
	var r ipledger.Resource
	if err := r.UnmarshalBinary(v); err != nil || len(k) < 20 {
		return nil, fmt.Errorf("decode encumbrance %x: bad record", k)
	}
	kind, ref, _ := bytes.Cut(k[19:], []byte{0})
	return &Encumbrance{Kind: string(kind), Ref: string(ref), Resource: r, Depth: int(k[2])}, nil
}

func (s state) deleteEncumbrance(e *Encumbrance) error {
	return s.kv.Delete(encumbranceKey(e))
}

// encumbrances calls fn for every encumbrance overlapping r within holding h, on any holding
// above h, or on any holding below h inside r, until fn returns false. chain holds h's
// ancestors and h itself (pool first).
func (s state) encumbrances(chain []*ipledger.Holding, r ipledger.Resource, fn func(*Encumbrance) bool) error {
	h := chain[len(chain)-1]
	// Most space is unencumbered: one seek tells whether this family has any encumbrance.
	any := false
	if err := s.kv.Iterate([]byte{tagEncumbrance, byte(r.Family())}, []byte{tagEncumbrance, byte(r.Family()) + 1}, false,
		func(_, _ []byte) bool { any = true; return false }); err != nil {
		return fmt.Errorf("check encumbrances: %w", err)
	}
	if !any {
		return nil
	}
	more := true
	for d := 0; d <= MaxDepth && more; d++ {
		// Encumbrances at depth d overlapping r lie within the depth-d holding containing r
		// (an ancestor), or within h's subtree for deeper levels.
		lo := h.Resource
		if d < len(chain) {
			lo = chain[d].Resource
		}
		var derr error
		err := s.kv.Iterate(posKey(tagEncumbrance, lo, d), lastKeyEnd(tagEncumbrance, r, d), false, func(k, v []byte) bool {
			var er ipledger.Resource
			if derr = er.UnmarshalBinary(v); derr != nil {
				derr = fmt.Errorf("decode encumbrance %x: %w", k, derr)
				return false
			}
			if er.Overlaps(r) {
				var e *Encumbrance
				if e, derr = decodeEncumbrance(k, v); derr != nil {
					return false
				}
				more = fn(e)
			}
			return more
		})
		if err == nil {
			err = derr
		}
		if err != nil {
			return fmt.Errorf("check encumbrances: %w", err)
		}
	}
	return nil
}

// Effects of an encumbrance kind on an action (encumbranceRules).
const (
	blocks      = iota // the action is refused
	allows             // the action goes ahead
	ifContained        // allowed when the encumbered range lies inside the action's (a sale subject to a lease)
)

// encumbranceRules is the table of action × encumbrance kind (docs/ARCHITECTURE.md has it
// as a table). An action missing from it (moving or marking pool space) is blocked by every
// kind; a kind missing from a row blocks the action.
var encumbranceRules = map[string]map[string]int{
	"transfer":  {},
	"return":    {},
	"assign":    {encHeld: allows},
	"offer":     {encHeld: allows},
	"authorise": {encOffer: allows, encListing: allows, encSale: allows, encHeld: allows, encAsk: allows},
	"sell":      {encLease: ifContained},
}

// checkFree returns CodeEncumbered if an encumbrance on r within chain's last holding (or
// above or below it) blocks action, by encumbranceRules.
func (s state) checkFree(chain []*ipledger.Holding, r ipledger.Resource, action string) error {
	var found *Encumbrance
	err := s.encumbrances(chain, r, func(e *Encumbrance) bool {
		switch encumbranceRules[action][e.Kind] {
		case allows:
			return true
		case ifContained:
			if r.Contains(e.Resource) {
				return true
			}
		}
		found = e
		return false
	})
	if err != nil {
		return err
	}
	if found != nil {
		return ipledger.Errorf(ipledger.CodeEncumbered, "cannot %s %s: %s %s holds %s", action, r, found.Kind, found.Ref, found.Resource)
	}
	return nil
}
