package chain

import "encoding/binary"

// Side-table layout (unauthenticated; see package store for the crash contract):
//
//	'L' index(8)                          → log leaf bytes
//	'S' height(8)                         → log tree state after the block
//	'B' height(8)                         → BlockRecord JSON
//	'H' tx hash(32)                       → height(8) ‖ index(4)
//	'X' object ‖ 0 ‖ height(8) ‖ index(4) → tx hash: the per-object history index
//	'N' level(1) ‖ index(8)               → hash of a complete subtree of the log (log.go)
//	'C' "last"                            → the last checkpoint this node signed
const (
	sideLeaf       = 'L'
	sideTree       = 'S'
	sideBlock      = 'B'
	sideTxIndex    = 'H'
	sideHistory    = 'X'
	sideLogNode    = 'N'
	sideCheckpoint = 'C'
)

func u64key(tag byte, n uint64) []byte { return binary.BigEndian.AppendUint64([]byte{tag}, n) }
