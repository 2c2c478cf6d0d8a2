package ledger

import (
	"encoding/json"
	"fmt"

	"github.com/ipledger/ipledger"
)

// Read-side queries over a state snapshot. They never change kv.

// Org returns the organisation with handle, or nil if there is none.
func Org(kv ipledger.KV, handle string) (*ipledger.Organisation, error) {
	return store{kv}.org(handle)
}

// Lookup returns the holdings that contain all of r, from the registry pool down to the
// most specific; empty if r is not covered (which genesis never allows).
func Lookup(kv ipledger.KV, r ipledger.Resource) ([]*ipledger.Holding, error) {
	return store{kv}.chain(r)
}

// HoldingByID returns the holding with id, or nil.
func HoldingByID(kv ipledger.KV, id uint64) (*ipledger.Holding, error) {
	return store{kv}.holdingByID(id)
}

// Children returns the holdings directly below h.
func Children(kv ipledger.KV, h *ipledger.Holding) ([]*ipledger.Holding, error) {
	return store{kv}.children(h, h.Resource)
}

// Holdings calls fn for every holding in key order (family, depth, first number) until fn
// returns false.
func Holdings(kv ipledger.KV, fn func(*ipledger.Holding) bool) error {
	var derr error
	err := kv.Iterate([]byte{tagHolding}, []byte{tagHolding + 1}, false, func(_, v []byte) bool {
		h, err := decodeHolding(v)
		if err != nil {
			derr = err
			return false
		}
		return fn(h)
	})
	if err == nil {
		err = derr
	}
	return err
}

// Orgs calls fn for every organisation in handle order until fn returns false.
func Orgs(kv ipledger.KV, fn func(*ipledger.Organisation) bool) error {
	var derr error
	err := kv.Iterate([]byte{tagOrg}, []byte{tagOrg + 1}, false, func(_, v []byte) bool {
		var o ipledger.Organisation
		if derr = json.Unmarshal(v, &o); derr != nil {
			derr = fmt.Errorf("decode organisation: %w", derr)
			return false
		}
		return fn(&o)
	})
	if err == nil {
		err = derr
	}
	return err
}
