package ipledger

// KV is the ordered key-value state the ledger reads and writes. Keys and values passed in
// must not be modified afterwards; keys and values handed to callbacks are valid only during
// the call. The node backs it with the authenticated map (package store); tests use an
// in-memory map.
type KV interface {
	// Get returns the value of key, or nil if there is none.
	Get(key []byte) ([]byte, error)
	// Set stores value (not nil) under key.
	Set(key, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(key []byte) error
	// Iterate calls fn for each key in [start, end) in ascending order, or descending when
	// reverse is set, until fn returns false. A nil start or end is unbounded.
	Iterate(start, end []byte, reverse bool, fn func(key, value []byte) bool) error
}
