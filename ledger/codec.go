package ledger

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ipledger/ipledger"
)

// Holdings are the most read and written records of the state, so they are stored in a
// compact binary form rather than JSON:
//
//	0x01 (format) ‖ uvarint id ‖ resource (33 bytes, Resource.AppendBinary) ‖ depth (1 byte)
//	‖ holder ‖ status ‖ country ‖ registered      (each uvarint length ‖ bytes)
//	‖ changed (uvarint Unix nanoseconds) ‖ uvarint origin
//
// Decoding is strict: a wrong format byte, a short or long record or a bad field is an error.
const holdingFormat = 1

func encodeHolding(h *ipledger.Holding) []byte {
	b := make([]byte, 0, 96+len(h.Holder)+len(h.Status))
	b = append(b, holdingFormat)
	b = binary.AppendUvarint(b, h.ID)
	b, _ = h.Resource.AppendBinary(b)
	b = append(b, byte(h.Depth))
	for _, s := range []string{h.Holder, string(h.Status), h.Country, h.Registered} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(h.Changed.UnixNano()))
	return binary.AppendUvarint(b, h.Origin)
}

func decodeHolding(b []byte) (*ipledger.Holding, error) {
	bad := func(what string) (*ipledger.Holding, error) {
		return nil, fmt.Errorf("decode holding: %s", what)
	}
	if len(b) == 0 || b[0] != holdingFormat {
		return bad("unknown format")
	}
	b = b[1:]
	var h ipledger.Holding
	var n int
	if h.ID, n = binary.Uvarint(b); n <= 0 {
		return bad("id")
	}
	b = b[n:]
	if len(b) < 34 {
		return bad("truncated")
	}
	if err := h.Resource.UnmarshalBinary(b[:33]); err != nil {
		return bad(err.Error())
	}
	h.Depth = int(b[33])
	b = b[34:]
	var strs [4]string
	for i := range strs {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return bad("string field")
		}
		strs[i] = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	h.Holder, h.Status, h.Country, h.Registered = strs[0], ipledger.Status(strs[1]), strs[2], strs[3]
	ch, n := binary.Uvarint(b)
	if n <= 0 {
		return bad("changed")
	}
	h.Changed = time.Unix(0, int64(ch)).UTC()
	b = b[n:]
	if h.Origin, n = binary.Uvarint(b); n <= 0 {
		return bad("origin")
	}
	if n != len(b) {
		return bad("trailing bytes")
	}
	return &h, nil
}
