package ledger

import (
	"encoding/json"
	"fmt"

	"github.com/ipledger/ipledger"
)

// Encumbrance is a claim on part of a holding that blocks transfer, return, re-assignment
// and re-leasing of it and of everything above or below it in the holding tree: a running
// lease, a pending transfer or an open sell order. Every kind goes through the one check in
// encumbered; a new kind only stores records.
type Encumbrance struct {
	Kind     string            `json:"kind"` // "lease", "transfer", "order"
	Ref      string            `json:"ref"`  // the lease, transfer or order that holds it
	Resource ipledger.Resource `json:"resource"`
	Depth    int               `json:"depth"` // depth of the encumbered holding
}

func encumbranceKey(e *Encumbrance) []byte {
	k := posKey(tagEncumbrance, e.Resource, e.Depth)
	k = append(k, e.Kind...)
	k = append(k, 0)
	return append(k, e.Ref...)
}

func (s state) putEncumbrance(e *Encumbrance) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode encumbrance: %w", err)
	}
	return s.kv.Set(encumbranceKey(e), b)
}

func (s state) deleteEncumbrance(e *Encumbrance) error {
	return s.kv.Delete(encumbranceKey(e))
}

// encumbered returns an encumbrance on r within holding h, on any holding above h, or on any
// holding below h inside r; nil if r is free. chain holds h's ancestors and h itself (pool
// first).
func (s state) encumbered(chain []*ipledger.Holding, r ipledger.Resource) (*Encumbrance, error) {
	h := chain[len(chain)-1]
	// Most space is unencumbered: one seek tells whether this family has any encumbrance.
	any := false
	if err := s.kv.Iterate([]byte{tagEncumbrance, byte(r.Family())}, []byte{tagEncumbrance, byte(r.Family()) + 1}, false,
		func(_, _ []byte) bool { any = true; return false }); err != nil {
		return nil, fmt.Errorf("check encumbrances: %w", err)
	}
	if !any {
		return nil, nil
	}
	for d := 0; d <= MaxDepth; d++ {
		// Encumbrances at depth d overlapping r lie within the depth-d holding containing r
		// (an ancestor), or within h's subtree for deeper levels.
		lo := h.Resource
		if d < len(chain) {
			lo = chain[d].Resource
		}
		var found *Encumbrance
		var derr error
		err := s.kv.Iterate(posKey(tagEncumbrance, lo, d), lastKeyEnd(tagEncumbrance, r, d), false, func(_, v []byte) bool {
			var e Encumbrance
			if derr = json.Unmarshal(v, &e); derr != nil {
				return false
			}
			if e.Resource.Overlaps(r) {
				found = &e
				return false
			}
			return true
		})
		if err == nil {
			err = derr
		}
		if err != nil {
			return nil, fmt.Errorf("check encumbrances: %w", err)
		}
		if found != nil {
			return found, nil
		}
	}
	return nil, nil
}

// checkFree returns CodeEncumbered if anything encumbers r within chain's last holding.
func (s state) checkFree(chain []*ipledger.Holding, r ipledger.Resource, action string) error {
	e, err := s.encumbered(chain, r)
	if err != nil {
		return err
	}
	if e != nil {
		return ipledger.Errorf(ipledger.CodeEncumbered, "cannot %s %s: %s %s holds %s", action, r, e.Kind, e.Ref, e.Resource)
	}
	return nil
}
