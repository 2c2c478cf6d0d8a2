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

// Floorer is implemented by a KV that finds the last key of a range directly, without the
// closures and copies of a reverse Iterate stopped after one key; the ledger's most
// frequent lookup (the holding starting last by a number) is such a seek.
type Floorer interface {
	// Floor returns the greatest key in [start, end) and its value, or nil, nil when the
	// range holds none (nil bounds as for Iterate). The slices are valid until the next
	// write and must not be modified.
	Floor(start, end []byte) (key, value []byte, err error)
}

// Floor returns the greatest key of kv in [start, end) and its value, or nil, nil: through
// Floorer when kv implements it, else by a reverse Iterate (copying what it found).
func Floor(kv KV, start, end []byte) (key, value []byte, err error) {
	if f, ok := kv.(Floorer); ok {
		return f.Floor(start, end)
	}
	err = kv.Iterate(start, end, true, func(k, v []byte) bool {
		key, value = append([]byte{}, k...), append([]byte{}, v...)
		return false
	})
	return key, value, err
}
