package ledger

import (
	"github.com/ipledger/ipledger"
)

// The state keys and value decoders of the objects a client may ask a state proof of
// (package stateproof): the key a record is stored under and how its value decodes are
// exactly the ones the state machine uses.

// HoldingKey returns the state key of a holding of r at depth: tag ‖ family ‖ depth ‖
// first number. One depth never overlaps, so the first number names the holding.
func HoldingKey(r ipledger.Resource, depth int) []byte { return posKey(tagHolding, r, depth) }

// CoverKey returns the state key of the cover entry at depth for the CIDR-aligned block
// of prefix length bits (0 to the family's Family.Bits) containing r's first number:
// tag ‖ family ‖ depth ‖ bits ‖ the block's first number (16 bytes). The entry is present
// when a holding h of r's family at depth has that block as the smallest aligned block
// containing all of it (bits = h.Resource.CommonBits()), and its value is then h's
// HoldingKey; no two holdings at one depth share the block. A holding at depth containing
// all of r therefore has its entry at one of the keys for bits 0 through r.CommonBits().
func CoverKey(r ipledger.Resource, depth, bits int) []byte { return coverKey(r, depth, bits) }

// HoldingIDKey returns the state key under which a holding's id maps to its HoldingKey.
func HoldingIDKey(id uint64) []byte { return idKey(id) }

// OrgKey returns the state key of the organisation with handle.
func OrgKey(handle string) []byte { return orgKey(handle) }

// DecodeHolding decodes a value stored under a HoldingKey. Decoding is strict: any byte
// the encoder would not write is an error.
func DecodeHolding(b []byte) (*ipledger.Holding, error) { return decodeHolding(b) }

// DecodeOrg decodes a value stored under an OrgKey.
func DecodeOrg(b []byte) (*ipledger.Organisation, error) { return decodeOrg(b) }

// HoldingStartingBy returns the holding at depth whose first number is the greatest not
// after p's first number, or nil if there is none. It need not contain p.
func HoldingStartingBy(kv ipledger.KV, p ipledger.Resource, depth int) (*ipledger.Holding, error) {
	return state{kv}.lastStartingBy(p.Point(), depth)
}
