package ledger

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/ipledger/ipledger"
)

// DescribeKey names the object a state key belongs to, for operators' messages: "holding
// IPL-H42 193.0.0.0/16", "organisation ORG-A", "lease 7". value is the key's stored value,
// or nil if there is none; a holding is named by its handle and range only when value
// decodes as one. A key of no known table is described by its bytes.
func DescribeKey(key, value []byte) string {
	if len(key) == 0 {
		return "the empty key"
	}
	if name, ok := numbered[key[0]]; ok && len(key) == 9 {
		return fmt.Sprintf("%s %d", name, binary.BigEndian.Uint64(key[1:]))
	}
	switch key[0] {
	case tagOrg:
		return "organisation " + string(key[1:])
	case tagHolding:
		if h, err := decodeHolding(value); err == nil {
			return fmt.Sprintf("holding %s %s", h.Handle(), h.Resource)
		}
		if len(key) == 19 {
			return fmt.Sprintf("holding at depth %d (key %x)", key[2], key)
		}
	case tagCover:
		if b, ok := coverBlock(key); ok {
			return fmt.Sprintf("holding cover entry for %s at depth %d", b, key[2])
		}
	case tagHoldingID:
		if len(key) == 9 {
			return "holding index " + ipledger.HoldingHandle(binary.BigEndian.Uint64(key[1:]))
		}
	case tagEncumbrance:
		return fmt.Sprintf("encumbrance (key %x)", key)
	case tagBalance:
		return "balance of " + string(key[1:])
	case tagHeld:
		return "held credits of " + string(key[1:])
	case tagAuthPos:
		return fmt.Sprintf("route authorisation position (key %x)", key)
	case tagDue:
		return fmt.Sprintf("time-driven event queue entry (key %x)", key)
	case tagGeo:
		return fmt.Sprintf("geolocation (key %x)", key)
	case tagCounter:
		return fmt.Sprintf("counter %q", key[1:])
	case tagMeta:
		return fmt.Sprintf("chain parameter %q", key[1:])
	case tagObserved:
		return fmt.Sprintf("observation set entry (key %x)", key)
	case tagObsEvent:
		return fmt.Sprintf("observation event (key %x)", key)
	case tagValidator:
		return fmt.Sprintf("validator %x", key[1:])
	}
	return fmt.Sprintf("key %x", key)
}

// numbered names the objects of the tables keyed by tag ‖ 8-byte id (DescribeKey names
// the holding index's by handle).
var numbered = map[byte]string{
	tagAuth:    "route authorisation",
	tagOffer:   "lease offer",
	tagLease:   "lease",
	tagListing: "listing",
	tagSale:    "sale",
	tagTrade:   "trade",
	tagPeriod:  "holding period",
}

// coverBlock decodes the block of a cover key (coverKey).
func coverBlock(key []byte) (ipledger.Resource, bool) {
	if len(key) != 20 {
		return ipledger.Resource{}, false
	}
	var r ipledger.Resource
	var err error
	switch f := ipledger.Family(key[1]); f {
	case ipledger.IPv4:
		a := netip.AddrFrom4([4]byte(key[16:20]))
		r, err = ipledger.AddrRange(a, a)
	case ipledger.IPv6:
		a := netip.AddrFrom16([16]byte(key[4:20]))
		r, err = ipledger.AddrRange(a, a)
	case ipledger.ASN:
		n := binary.BigEndian.Uint32(key[16:20])
		r, err = ipledger.ASRange(n, n)
	default:
		return ipledger.Resource{}, false
	}
	if err != nil || int(key[3]) > r.Family().Bits() || !bytes.Equal(coverKey(r, int(key[2]), int(key[3])), key) {
		return ipledger.Resource{}, false
	}
	return r.Block(int(key[3])), true
}
