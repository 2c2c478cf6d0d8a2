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
		b = appendString(b, s)
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
		var ok bool
		if strs[i], b, ok = cutString(b); !ok {
			return bad("string field")
		}
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

// Organisations are read for every transaction (the first signer's sequence and keys), so
// they are binary too:
//
//	0x01 (format) ‖ handle ‖ name ‖ country ‖ abuse mailbox ‖ registry ‖ opaque id
//	                                              (each uvarint length ‖ bytes)
//	‖ flags (1 byte: 1 registry, 2 authoritative, 4 settlement agent)
//	‖ uvarint key count ‖ 32 bytes per key ‖ uvarint sequence
//	‖ created ‖ updated                           (each varint Unix seconds ‖ uvarint nanoseconds)
//
// Decoding is strict in the same way as for holdings.
const orgFormat = 1

const (
	orgFlagRegistry = 1 << iota
	orgFlagAuthoritative
	orgFlagSettlementAgent
	orgFlagObserver
	orgFlagsKnown = orgFlagRegistry | orgFlagAuthoritative | orgFlagSettlementAgent | orgFlagObserver
)

func encodeOrg(o *ipledger.Organisation) []byte {
	b := make([]byte, 0, 64+len(o.Handle)+len(o.Name)+len(o.AbuseMailbox)+32*len(o.Keys))
	b = append(b, orgFormat)
	for _, s := range []string{o.Handle, o.Name, o.Country, o.AbuseMailbox, o.Registry, o.OpaqueID} {
		b = appendString(b, s)
	}
	var flags byte
	if o.IsRegistry {
		flags |= orgFlagRegistry
	}
	if o.Authoritative {
		flags |= orgFlagAuthoritative
	}
	if o.SettlementAgent {
		flags |= orgFlagSettlementAgent
	}
	if o.Observer {
		flags |= orgFlagObserver
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(o.Keys)))
	for _, k := range o.Keys {
		b = append(b, k[:]...)
	}
	b = binary.AppendUvarint(b, o.Sequence)
	for _, t := range []time.Time{o.Created, o.Updated} {
		b = binary.AppendVarint(b, t.Unix())
		b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	}
	return b
}

func decodeOrg(b []byte) (*ipledger.Organisation, error) {
	bad := func(what string) (*ipledger.Organisation, error) {
		return nil, fmt.Errorf("decode organisation: %s", what)
	}
	if len(b) == 0 || b[0] != orgFormat {
		return bad("unknown format")
	}
	b = b[1:]
	var o ipledger.Organisation
	for _, s := range []*string{&o.Handle, &o.Name, &o.Country, &o.AbuseMailbox, &o.Registry, &o.OpaqueID} {
		var ok bool
		if *s, b, ok = cutString(b); !ok {
			return bad("string field")
		}
	}
	if len(b) == 0 || b[0]&^orgFlagsKnown != 0 {
		return bad("flags")
	}
	o.IsRegistry = b[0]&orgFlagRegistry != 0
	o.Authoritative = b[0]&orgFlagAuthoritative != 0
	o.SettlementAgent = b[0]&orgFlagSettlementAgent != 0
	o.Observer = b[0]&orgFlagObserver != 0
	b = b[1:]
	nk, n := binary.Uvarint(b)
	if n <= 0 || nk > uint64(len(b)-n)/32 {
		return bad("keys")
	}
	b = b[n:]
	if nk > 0 {
		o.Keys = make([]ipledger.PublicKey, nk)
		for i := range o.Keys {
			copy(o.Keys[i][:], b[:32])
			b = b[32:]
		}
	}
	if o.Sequence, n = binary.Uvarint(b); n <= 0 {
		return bad("sequence")
	}
	b = b[n:]
	for _, t := range []*time.Time{&o.Created, &o.Updated} {
		sec, n := binary.Varint(b)
		if n <= 0 {
			return bad("time")
		}
		b = b[n:]
		ns, n := binary.Uvarint(b)
		if n <= 0 || ns >= 1e9 {
			return bad("time")
		}
		b = b[n:]
		*t = time.Unix(sec, int64(ns)).UTC()
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	return &o, nil
}

// appendString appends s as a field of a binary record: uvarint length ‖ bytes.
func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// cutString takes a field appendString wrote off the front of b; ok is false if b does not
// start with one.
func cutString(b []byte) (s string, rest []byte, ok bool) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return "", b, false
	}
	return string(b[n : n+int(l)]), b[n+int(l):], true
}
