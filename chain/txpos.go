package chain

import (
	"encoding/binary"

	"github.com/ipledger/ipledger"
)

// TxPosition returns the height of the block that committed the transaction with hash
// and its index there, from the transaction index alone (Outcome also reads the block
// record): what a server needs to find the transaction's log leaf. ok is false if the
// transaction is not committed.
func (a *App) TxPosition(hash ipledger.Hash) (height int64, index uint32, ok bool, err error) {
	pos, err := a.st.SideGet(append([]byte{sideTxIndex}, hash[:]...))
	if err != nil || len(pos) != 12 {
		return 0, 0, false, err
	}
	height = int64(binary.BigEndian.Uint64(pos))
	if height > a.Committed().Height {
		return 0, 0, false, nil // side data of a block not yet committed
	}
	return height, binary.BigEndian.Uint32(pos[8:]), true, nil
}
